/*
 * request: parse and validate one runbox request, entirely before anything
 * runs.  Pure: takes bytes and limits, returns a struct request or a
 * struct rb_err naming the field at fault and a stable code.
 */
#ifndef RUNBOX_REQUEST_H
#define RUNBOX_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "contract/config.h"
#include "base/err.h"

enum request_language { LANG_PYTHON, LANG_BASH, LANG_JAVASCRIPT, LANG_TYPESCRIPT };

/* "javascript" and "typescript" both run on Node.js. */
#define LANG_IS_NODE(l) ((l) == LANG_JAVASCRIPT || (l) == LANG_TYPESCRIPT)

struct request_file {
	char path[1025];  /* normalised, relative */
	const char *data; /* points into the JSON tree, or to @owned */
	size_t len;
	unsigned char *owned; /* decoded base64, freed by request_free */
};

struct request {
	cJSON *root; /* owns every string below that is not in a file's @owned */
	const char *script;
	size_t script_len;
	struct request_file *files;
	size_t n_files;
	const char *entry_point; /* normalised, one of files[].path */
	struct request_file *context;
	size_t n_context;
	const char **dependencies;
	size_t n_dependencies;
	double timeout_s; /* effective, after clamping */
	bool timeout_clamped;
	enum request_language language;
	const char *stdin_data;
	size_t stdin_len;
	const char **args;
	size_t n_args;
	const char **env_names;
	const char **env_values;
	size_t n_env;
	bool network;
	/* Script mode on Node.js: the script runs as an ES module (main.mjs,
	 * or TypeScript's main.ts), not as CommonJS (main.cjs). */
	bool script_is_module;
	bool session_new;	    /* "session": true */
	const char *session_id;	    /* "session": "<id>", or NULL */
	struct request_file *state; /* "state", decoded (path unused), or NULL */
	bool return_state;	    /* "return_state": true */
};

/* The longest "session" id string looked up (longer ones are unknown). */
#define REQUEST_SESSION_ID_MAX 128

/*
 * Parse @n bytes of @body.  On success *ret is filled and must be released
 * with request_free(); on failure *ret holds nothing to free.
 */
int request_parse(const char *body, size_t n, const struct runbox_limits *lim, struct request *ret,
		  struct rb_err *err);

void request_free(struct request *r);

/*
 * The program file name: the entry point, or in script mode the language's
 * own ("main.py", "main.sh", "main.ts"; for javascript "main.mjs" when
 * script_is_module, else "main.cjs").
 */
const char *request_program_path(const struct request *r);

/* The language's name as the contract spells it ("python", ...). */
const char *request_language_name(enum request_language l);

#endif
