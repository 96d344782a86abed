/*
 * workspace: the fresh private directory one request runs in, and its
 * removal.  Layout: <root>/{<program files>, input/, output/, .home/, .tmp/}.
 */
#ifndef RUNBOX_WORKSPACE_H
#define RUNBOX_WORKSPACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "contract/request.h"

struct workspace {
	char path[600]; /* absolute */
	int dir_fd;	/* the workspace, O_PATH-free real directory fd */
	int output_fd;	/* output/, opened before the program starts */
	bool chown;	/* files belong to uid/gid (runbox runs as root) */
	bool mounted;	/* a size-capped tmpfs of its own */
	/*
	 * A detached tmpfs (WORKSPACE_DETACHED): nothing on the host; @path is
	 * where the sandbox's mount namespace will attach @mount_fd.
	 */
	bool detached;
	int mount_fd;
	uid_t uid;
	gid_t gid;
};

/*
 * Create a workspace under @parent and write the request's program, files
 * and context into it.  When @chown is set, the program's uid/gid own what
 * it may write (the root, output/, home, tmp); input/ stays read-only.
 * With @quota_bytes > 0 the workspace is a tmpfs of that size (the caller
 * runs in a mount namespace of its own, so the mount is nobody else's).
 * On failure nothing is left behind.
 */
enum workspace_kind {
	WORKSPACE_DIR,	   /* a directory under @parent */
	WORKSPACE_MOUNTED, /* that directory with a tmpfs of quota_bytes on it */
	/*
	 * A tmpfs of quota_bytes made with fsopen()/fsmount() and attached to
	 * no directory: the run's mount namespace attaches it at a path under
	 * @parent that exists only there (so @parent must be inside the
	 * sandbox's private /tmp).  Nothing is created on the host, nothing is
	 * left if runbox is killed: it is freed with its last reference.
	 */
	WORKSPACE_DETACHED,
};

int workspace_create(struct workspace *ret, const char *parent, const struct request *req,
		     bool chown, uid_t uid, gid_t gid, enum workspace_kind kind, size_t quota_bytes,
		     struct rb_err *err);

/*
 * Write a file of runbox's own (@path relative to the workspace, its
 * directories existing) with @mode, owned by runbox, not the program: the
 * Node.js prelude.  Returns 0 or -errno.
 */
int workspace_add_file(const struct workspace *ws, const char *path, const char *data, size_t len,
		       mode_t mode);

/*
 * node_modules/NAME -> @targets[i] for each of @n packages (a scoped name
 * gets its node_modules/@scope/ directory): a JavaScript run's packages,
 * linked, never copied.  A name the request's own files already hold under
 * node_modules/ is left to them.  Returns 0 or -errno.
 */
int workspace_link_packages(const struct workspace *ws, const char *const *names,
			    const char *const *targets, size_t n);

/* Whether this kernel and privilege can make a WORKSPACE_DETACHED tmpfs. */
bool workspace_can_detach(void);

/*
 * Remove the workspace and everything in it, never following a symlink the
 * program planted, then close its fds.  Safe to call on a zeroed struct.
 */
int workspace_remove(struct workspace *ws, struct rb_err *err);

/*
 * Remove workspaces under @parent owned by @uid: left behind by a runbox
 * that was killed while it held the same uid slot (the slot's lock proves
 * no live run owns them).  Returns how many were removed, or a negative
 * errno when @parent could not be read or one of them could not be removed
 * (then the slot stays marked and the next holder tries again).
 */
int workspace_reap_stale(const char *parent, uid_t uid);

#endif
