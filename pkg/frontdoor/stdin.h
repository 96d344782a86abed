/*
 * stdin: the local pipe front door.  One request on stdin, one JSON
 * line on stdout.
 */
#ifndef RUNBOX_STDIN_H
#define RUNBOX_STDIN_H

#include <stddef.h>

#include "run/executor.h"

/* Serve one request from stdin; returns the process exit status. */
int stdin_run(struct executor *ex);

#endif
