/*
 * state: a workspace kept by the client between calls ("return_state",
 * "state"), for the platforms where no server outlives a call (Lambda,
 * Azure, any deployment scaled out without sticky routing).
 *
 * The state is an envelope around a gzip-compressed tar (libarchive):
 * "RBST", a version byte, a flags byte, the archive, and, when the
 * operator set RUNBOX_STATE_KEY, an HMAC-SHA-256 of everything before it.
 * It holds the workspace as the call left it, input/ excepted (inputs are
 * resent), regular files and directories only.  Extraction gets every
 * check a request's "files" get and more: normalised relative paths, no
 * links or special files, a cap on entries, on bytes (the workspace's)
 * and on bytes per compressed byte (against bombs), data counted as it is
 * read rather than as headers claim.
 */
#ifndef RUNBOX_STATE_H
#define RUNBOX_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

#define STATE_MAX_ENTRIES 10000 /* files and directories in one state */
#define STATE_MAX_RATIO	  100	/* extracted bytes per compressed byte, beyond the first MiB */

struct state_opts {
	const char *key;    /* RUNBOX_STATE_KEY, "" for none */
	size_t max_bytes;   /* RUNBOX_STATE_MAX_BYTES: the envelope */
	size_t max_extract; /* bytes a state may unpack to (the workspace cap) */
	double deadline;    /* packing stops here (CLOCK_MONOTONIC seconds), 0 for never */
};

/*
 * Unpack envelope @data (@n bytes) into the workspace @ws_fd, under what is
 * there (the request's own files win).  With @chown what is made belongs to
 * @uid/@gid.  A state that fails a check is refused as invalid_state (400)
 * naming the check; nothing of it is left... beyond what the caller's
 * workspace removal takes away with the rest.
 */
int state_extract(const struct state_opts *o, int ws_fd, const unsigned char *data, size_t n,
		  bool chown, uid_t uid, gid_t gid, struct rb_err *err);

/*
 * Pack the workspace @ws_fd (input/ excepted; call once every process of
 * the run is gone) into a malloc'd envelope in *ret (*ret_len bytes).
 * The workspace is surveyed first with extraction's rules, so what is
 * returned is what state_extract takes back.  Returns 0; -E2BIG
 * (state_too_large, with @err) when the compressed archive would pass
 * o->max_bytes; -EFBIG (state_too_large) when the files' sizes (sparse
 * files at their size) pass o->max_extract, the entries
 * STATE_MAX_ENTRIES, or their bytes the ratio cap; -EINVAL
 * (state_path_not_allowed, naming the path) for a name or depth
 * extraction refuses; -ETIMEDOUT (state_timeout) past o->deadline;
 * another negative errno for a fault.
 */
int state_pack(const struct state_opts *o, int ws_fd, unsigned char **ret, size_t *ret_len,
	       struct rb_err *err);

#endif
