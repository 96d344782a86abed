/*
 * serve: `runbox serve`, the HTTP front door and the Azure Functions custom
 * handler.  libmicrohttpd parses HTTP (keep-alive, chunked bodies) with one
 * thread per connection; route.h decides what a request means; each run
 * goes to a forked one-shot worker (worker.h) once it has a run slot.
 *
 * Limits (RUNBOX_* knobs, see config.h): RUNBOX_CONCURRENCY runs at once
 * (default: the CPUs runbox may use), RUNBOX_QUEUE requests waiting for a
 * slot beyond them (then 503 + Retry-After), RUNBOX_MAX_CONNECTIONS open
 * connections, RUNBOX_MAX_HEADER_BYTES of request line and headers,
 * RUNBOX_REQUEST_TIMEOUT_S for a request's headers and body to arrive,
 * RUNBOX_IDLE_TIMEOUT_S of silence before a connection is closed.
 *
 * SIGTERM or SIGINT: stop listening, refuse new runs with 503, let the runs
 * in progress finish and answer, then exit 0.  A second signal exits at
 * once (the workers and programs die with the server).
 */
#ifndef RUNBOX_SERVE_H
#define RUNBOX_SERVE_H

#include "run/executor.h"

#define SERVE_DEFAULT_HOST "127.0.0.1"
#define SERVE_DEFAULT_PORT 8080

/*
 * Serve on @host (a numeric IPv4 or IPv6 address, or a name) and @port (0:
 * any free port; the "serve_listening" log line says which) until a signal.
 * Returns the process exit status: 0 after a clean shutdown, 1 when the
 * server could not start.
 */
int serve_main(struct executor *ex, const char *host, unsigned port);

/* `runbox serve [--host H] [--port P]`: parse the options, then serve_main. */
int serve_cmd(struct executor *ex, int argc, char **argv);

#endif
