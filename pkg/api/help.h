/*
 * help: what `runbox --help` and `runbox COMMAND --help` print.  Pure text:
 * for each subcommand its synopsis, its options, the environment variables
 * that matter to it, the exit status and one example that runs as pasted.
 * The reference (cmd/runbox/README.md) says the rest.
 */
#ifndef RUNBOX_HELP_H
#define RUNBOX_HELP_H

#include <stdbool.h>

#include "api/cli.h"

/* The overview of every subcommand (`runbox --help`). */
const char *help_usage(void);

/* The help of subcommand @kind; never NULL. */
const char *help_for(enum frontdoor_kind kind);

/* True when @arg asks for help: --help, -h. */
bool help_is_flag(const char *arg);

/*
 * Whether the words after a subcommand ask for its help: --help or -h
 * before any "--" (after which words are a program's arguments).
 */
bool help_asked(int argc, char *const *argv);

#endif
