/*
 * log: structured lines on fd 2, written with one write() so concurrent
 * lines do not interleave.
 */
#define _GNU_SOURCE
#include "base/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int current = LOG_INFO;

void log_set_level(int level)
{
	current = level;
}

int log_get_level(void)
{
	return current;
}

void log_event(enum log_level level, const char *event, cJSON *fields)
{
	static const char *const names[] = {"off", "info", "debug"};
	struct timespec ts;
	long long ms;
	char *line;
	size_t len;

	if ((int)level > current || current == LOG_OFF) {
		cJSON_Delete(fields);
		return;
	}
	if (!fields)
		fields = cJSON_CreateObject();
	if (!fields)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000; /* whole milliseconds */
	cJSON_AddNumberToObject(fields, "ts", (double)ms / 1e3);
	cJSON_AddStringToObject(fields, "level", names[level]);
	cJSON_AddStringToObject(fields, "event", event);
	line = cJSON_PrintUnformatted(fields);
	cJSON_Delete(fields);
	if (!line)
		return;
	len = strlen(line);
	line[len] = '\n'; /* replaces the NUL; written by length */
	if (write(STDERR_FILENO, line, len + 1) < 0) {
		/* nowhere left to report it */
	}
	free(line);
}

void log_msg(enum log_level level, const char *event, const char *msg)
{
	cJSON *f = cJSON_CreateObject();

	if (f)
		cJSON_AddStringToObject(f, "message", msg);
	log_event(level, event, f);
}

void log_new_id(char *buf)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	snprintf(buf, 17, "%016llx", (unsigned long long)v);
}

void log_short_hash(const void *data, size_t n, char *buf)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	snprintf(buf, 17, "%016llx", (unsigned long long)h);
}
