/*
 * help: the texts, one per subcommand (see help.h).
 */
#include "api/help.h"

#include <string.h>

static const char usage[] =
    "usage: runbox                    auto: the Lambda loop when AWS_LAMBDA_RUNTIME_API is set,\n"
    "                                 the HTTP server when FUNCTIONS_CUSTOMHANDLER_PORT is,\n"
    "                                 else one request on stdin\n"
    "       runbox stdin              read one JSON request on stdin, answer one JSON line\n"
    "       runbox exec [OPTIONS] FILE [-- ARGS...]\n"
    "                                 run a local .py, .sh, .js or .ts file the same way\n"
    "       runbox serve [--host H] [--port P]\n"
    "                                 HTTP server: POST /api/run (defaults: 127.0.0.1, 8080);\n"
    "                                 the Azure Functions custom handler\n"
    "       runbox lambda             serve AWS Lambda invocations (the Runtime API loop)\n"
    "       runbox mcp                an MCP server on stdin/stdout (tools run_python,\n"
    "                                 run_bash, list_packages)\n"
    "       runbox check              report the sandbox layers this platform gives\n"
    "       runbox bake [--lazy] [--strict] WHEEL_DIR CACHE_DIR\n"
    "       runbox bake --list CACHE_DIR\n"
    "                                 bake wheels into a dependency cache, or list one\n"
    "       runbox --help | --version\n"
    "       runbox COMMAND --help     the options, variables and an example of COMMAND\n"
    "\n"
    "A request: {\"script\": \"print(2+2)\"} -> {\"exit_code\": 0, \"stdout\": \"4\\n\", ...}\n"
    "Configuration comes from RUNBOX_* environment variables (cmd/runbox/README.md).\n"
    "\n"
    "Example:\n"
    "  echo '{\"script\": \"print(2+2)\"}' | runbox\n";

static const char stdin_help[] =
    "usage: runbox stdin\n"
    "       runbox            (the same, outside Lambda and Azure)\n"
    "\n"
    "Read one JSON request on stdin (up to RUNBOX_MAX_BODY_BYTES), run it in a fresh\n"
    "sandbox and print one JSON answer line on stdout.  No options.\n"
    "\n"
    "Environment:\n"
    "  RUNBOX_DEFAULT_TIMEOUT_S  the program's timeout when the request gives none (60)\n"
    "  RUNBOX_MAX_TIMEOUT_S      the longest timeout a request gets (300)\n"
    "  RUNBOX_MAX_BODY_BYTES     the largest request (32 MiB)\n"
    "  RUNBOX_CACHE_DIR          a wheel cache (runbox bake) for \"dependencies\"\n"
    "  RUNBOX_LOG                off, info (default) or debug: JSON log lines on stderr\n"
    "\n"
    "Exit status: 0 the program ran (its own exit code is in the answer), 2 the\n"
    "request was refused, 1 runbox failed.\n"
    "\n"
    "Example:\n"
    "  echo '{\"script\": \"print(2+2)\"}' | runbox stdin\n";

static const char exec_help[] =
    "usage: runbox exec [--timeout S] [--dep SPEC]... [--input FILE]... [--out DIR] [--quiet]\n"
    "                   FILE [-- ARGS...]\n"
    "\n"
    "Run FILE (.sh: bash; .js, .mjs, .cjs: JavaScript; .ts, .mts, .cts: TypeScript;\n"
    "anything else: Python) in a fresh sandbox, as a request would.\n"
    "The program's stdout and stderr become runbox's; its stdin is empty.\n"
    "\n"
    "Options:\n"
    "  --timeout S     seconds before it is stopped (default 60, at most RUNBOX_MAX_TIMEOUT_S)\n"
    "  --dep SPEC      a dependency, pre-installed or from the wheel cache (repeatable)\n"
    "  --input FILE    readable by the program at ./input/<base name> (repeatable)\n"
    "  --out DIR       where the files it writes to ./output/ go (default ./runbox-output);\n"
    "                  created before the program runs, removed again if it stays empty\n"
    "  --quiet         no closing \"runbox:\" line naming the files written\n"
    "  -- ARGS...      the program's arguments\n"
    "\n"
    "Environment:\n"
    "  RUNBOX_LOG            JSON log lines on stderr: off unless set (info, debug)\n"
    "  RUNBOX_MAX_TIMEOUT_S  the longest --timeout (300)\n"
    "  RUNBOX_CACHE_DIR      the wheel cache --dep can draw on\n"
    "  RUNBOX_PYTHON         the interpreter (/usr/bin/python3)\n"
    "\n"
    "Exit status: the program's exit code; 2 when runbox refuses to run it (a bad\n"
    "option, an unreadable FILE, an unknown --dep), 1 on runbox's own fault (an\n"
    "artifact it could not write).\n"
    "\n"
    "Example:\n"
    "  printf 'open(\"output/hi.txt\", \"w\").write(\"hi\")\\n' > hi.py && runbox exec hi.py\n";

static const char serve_help[] =
    "usage: runbox serve [--host H] [--port P]\n"
    "\n"
    "An HTTP server: POST /api/run runs a request (a JSON body, or the script itself as\n"
    "text with ?timeout_s= and ?language=), GET /api/health and GET /api/info answer\n"
    "about it, POST /run takes the Azure Functions host's envelope.  Plain runbox is this\n"
    "server on 127.0.0.1 when FUNCTIONS_CUSTOMHANDLER_PORT is set.\n"
    "\n"
    "Options:\n"
    "  --host H   the address to listen on (127.0.0.1; 0.0.0.0 for every interface)\n"
    "  --port P   the port (8080; 0 picks a free one, said in the serve_listening log line)\n"
    "\n"
    "Environment:\n"
    "  RUNBOX_CONCURRENCY        runs at once (the CPUs runbox may use)\n"
    "  RUNBOX_QUEUE              requests waiting for a run slot beyond them (64), then 503\n"
    "  RUNBOX_ANSWER_DEADLINE_S  a run ends within this of its request, queue time included\n"
    "                            (RUNBOX_MAX_TIMEOUT_S)\n"
    "  RUNBOX_TOKEN              the bearer token POST /api/run and GET /api/info need\n"
    "  RUNBOX_MAX_CONNECTIONS    open connections (256)\n"
    "  RUNBOX_MAX_CONNECTIONS_PER_CLIENT\n"
    "                            of those, one client address's (a quarter; all behind\n"
    "                            the Azure host)\n"
    "  RUNBOX_HEADER_TIMEOUT_S   a request's head must arrive within it (10)\n"
    "  RUNBOX_LOG                off, info (default) or debug\n"
    "\n"
    "SIGTERM or SIGINT: stop listening, answer the runs in progress, exit 0.\n"
    "\n"
    "Example:\n"
    "  runbox serve --port 8080 & sleep 1; curl -s localhost:8080/api/run -d 'print(2+2)'; "
    "kill $!\n";

static const char lambda_help[] =
    "usage: runbox lambda\n"
    "\n"
    "Serve AWS Lambda invocations: the Runtime API loop of a custom runtime.  A direct\n"
    "invocation's event is the request; a Function URL or API Gateway event is routed as\n"
    "runbox serve routes HTTP.  Plain runbox is this loop when AWS_LAMBDA_RUNTIME_API is set.\n"
    "No options.\n"
    "\n"
    "Environment:\n"
    "  AWS_LAMBDA_RUNTIME_API  host:port of the Runtime API (Lambda sets it; required)\n"
    "  RUNBOX_TOKEN            the bearer token a Function URL request must carry\n"
    "  RUNBOX_WORK_DIR         where workspaces go (/tmp on Lambda)\n"
    "  RUNBOX_LOG              off, info (default) or debug\n"
    "\n"
    "SIGTERM or SIGINT: exit 0 at once while waiting, or after answering the invocation\n"
    "in hand.\n"
    "\n"
    "Example (a local Runtime API, from the repository):\n"
    "  python3 tests/helpers/fake_lambda_api.py --port 9001 --invoke '{\"script\": "
    "\"print(1)\"}' -- runbox lambda\n";

static const char mcp_help[] =
    "usage: runbox mcp\n"
    "\n"
    "An MCP server on stdin and stdout (JSON-RPC, one message a line) with the tools\n"
    "run_python, run_bash and list_packages.  It ends when stdin closes.  No options.\n"
    "\n"
    "Environment:\n"
    "  RUNBOX_MAX_TIMEOUT_S  the longest timeout_s a tool call gets (300)\n"
    "  RUNBOX_CACHE_DIR      a wheel cache for the tools' \"dependencies\"\n"
    "  RUNBOX_LOG            off, info (default) or debug, on stderr\n"
    "\n"
    "Exit status: 0 when stdin closed, 1 when stdout could not be written.\n"
    "\n"
    "Example:\n"
    "  echo "
    "'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"sh\",\"version\":\"1\"}}}' | "
    "runbox mcp\n";

static const char check_help[] =
    "usage: runbox check\n"
    "\n"
    "Probe the sandbox layers this platform gives (seccomp, Landlock, namespaces, a\n"
    "uid of its own, a control group per run) and print them as one JSON line.  No\n"
    "options.\n"
    "\n"
    "Environment:\n"
    "  RUNBOX_REQUIRE  comma-separated layers that must be there (e.g. seccomp,landlock)\n"
    "  RUNBOX_SANDBOX  off turns every kernel layer off\n"
    "  RUNBOX_CGROUP   off: no control group per run\n"
    "\n"
    "Exit status: 0, or 1 when a layer RUNBOX_REQUIRE names is missing.\n"
    "\n"
    "Example:\n"
    "  RUNBOX_REQUIRE=seccomp runbox check\n";

static const char bake_help[] =
    "usage: runbox bake [--lazy] [--strict] WHEEL_DIR CACHE_DIR\n"
    "       runbox bake --list CACHE_DIR\n"
    "\n"
    "Check each wheel (*.whl) of WHEEL_DIR against the interpreter runs use and bake it\n"
    "into CACHE_DIR, the dependency cache RUNBOX_CACHE_DIR points runs at; a wheel that\n"
    "does not fit is skipped with its reason.  Baking again changes only what changed.\n"
    "\n"
    "Options:\n"
    "  --lazy      keep the checked wheels, extracted on first use (a smaller cache)\n"
    "  --strict    exit 2 when any wheel was skipped\n"
    "  --list      print what CACHE_DIR holds\n"
    "\n"
    "Environment:\n"
    "  RUNBOX_PYTHON  the interpreter the cache is for (/usr/bin/python3)\n"
    "\n"
    "Wheels for that interpreter (an empty WHEEL_DIR makes bake print the exact line):\n"
    "  python3 -m pip download --only-binary=:all: --platform manylinux2014_x86_64 \\\n"
    "      --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp \\\n"
    "      --dest WHEEL_DIR PACKAGE...\n"
    "\n"
    "Exit status: 0, 2 for a usage error (or a skipped wheel with --strict), 1 when a\n"
    "directory cannot be read or written or the interpreter does not answer.\n"
    "\n"
    "Example:\n"
    "  mkdir -p wheels && runbox bake wheels cache && runbox bake --list cache\n";

const char *help_usage(void)
{
	return usage;
}

const char *help_for(enum frontdoor_kind kind)
{
	/* clang-format off */
	static const char *const texts[] = {
	    [FRONTDOOR_STDIN] = stdin_help, [FRONTDOOR_LAMBDA] = lambda_help,
	    [FRONTDOOR_SERVE] = serve_help, [FRONTDOOR_MCP] = mcp_help,
	    [FRONTDOOR_EXEC] = exec_help,   [FRONTDOOR_CHECK] = check_help,
	    [FRONTDOOR_BAKE] = bake_help,
	};
	/* clang-format on */

	return (unsigned)kind < sizeof(texts) / sizeof(texts[0]) && texts[kind] ? texts[kind]
										: usage;
}

bool help_is_flag(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

bool help_asked(int argc, char *const *argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (help_is_flag(argv[i]))
			return true;
	return false;
}
