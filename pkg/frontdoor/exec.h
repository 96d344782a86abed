/*
 * exec: `runbox exec`, the command for people.  It turns a local file
 * into a contract request, runs it through the same executor as every front
 * door, prints the program's output to its own, writes artifacts into a
 * local directory and exits with the program's exit code.
 */
#ifndef RUNBOX_EXEC_H
#define RUNBOX_EXEC_H

#include "run/executor.h"

/* @argv holds the words after "exec".  Returns the process exit status. */
int exec_main(struct executor *ex, int argc, char **argv);

#endif
