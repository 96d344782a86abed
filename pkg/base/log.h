/*
 * log: one JSON line per event on runbox's stderr (never stdout, which
 * carries responses in stdin mode).
 */
#ifndef RUNBOX_LOG_H
#define RUNBOX_LOG_H

#include <cjson/cJSON.h>

enum log_level { LOG_OFF = 0, LOG_INFO = 1, LOG_DEBUG = 2 };

void log_set_level(int level);
int log_get_level(void);

/*
 * Write @fields (taken over and freed) as one line, adding "ts" and "level".
 * Does nothing above the configured level.
 */
void log_event(enum log_level level, const char *event, cJSON *fields);

/* A short message with no fields. */
void log_msg(enum log_level level, const char *event, const char *msg);

/* 16 hex chars of randomness for a request id (@buf holds 17 bytes). */
void log_new_id(char *buf);

/* A short (16 hex chars) FNV-1a hash of @n bytes, for "which program was this". */
void log_short_hash(const void *data, size_t n, char *buf);

#endif
