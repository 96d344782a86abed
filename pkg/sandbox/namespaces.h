/*
 * namespaces: the child's own pid, net, ipc, uts and mount namespaces, and a
 * user namespace when runbox is not root.
 *
 * The launcher creates the namespaces with clone(ns_plan.clone_flags).  The
 * parent prepares everything else as fixed data: the uid/gid map lines, the
 * tmpfs options, and the list of mount points read from /proc/self/mountinfo.
 * In the child, ns_enter_*() write the maps, make every mount read-only,
 * mount a size-capped private /tmp and /dev/shm, bind the workspace back
 * read-write at its own path, mount a fresh /proc for the new pid namespace,
 * and set the host name.  The workspace, /tmp and /dev/shm are then the only
 * writable places; the net namespace has no interface but a loopback that
 * is down.
 */
#ifndef RUNBOX_NAMESPACES_H
#define RUNBOX_NAMESPACES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

#define NS_MAX_MOUNTS	     128
#define NS_MOUNT_PATHS_BYTES 8192
#define NS_MAX_RO_BINDS	     2

/* Namespace kinds, in the order they are reported. */
enum ns_kind { NS_USER, NS_PID, NS_NET, NS_IPC, NS_UTS, NS_MOUNT, NS_KIND_COUNT };

/* Name of @kind as reported ("user", "pid", ...). */
const char *ns_kind_name(enum ns_kind kind);

/* CLONE_NEW* flag of @kind. */
unsigned long ns_kind_flag(enum ns_kind kind);

struct ns_options {
	bool enabled;		       /* false: no namespace at all */
	bool allow_network;	       /* keep the host's network namespace */
	bool available[NS_KIND_COUNT]; /* from the probe */
	bool as_root;		       /* runbox is root: no user namespace needed */
	uid_t uid;		       /* runbox's euid/egid, for the maps of a user namespace */
	gid_t gid;
	const char *workspace;
	bool workspace_detached; /* attach the tmpfs of workspace_fd at @workspace */
	int workspace_fd;
	size_t tmp_bytes;	/* size of the private /tmp and /dev/shm (0: 64 MiB) */
	bool readonly_remounts; /* remount every mount point read-only (no Landlock) */
	/* directories bound back read-only at their own path after the private
	 * /tmp is mounted (the dependency trees); NULL ends */
	const char *ro_binds[NS_MAX_RO_BINDS];
};

struct ns_mount {
	unsigned long flags;	 /* MS_NOSUID|MS_NODEV|MS_NOEXEC|atime flags to preserve */
	unsigned short path_off; /* into ns_plan.mount_paths */
};

struct ns_plan {
	unsigned long clone_flags;
	char uid_map[48];
	char gid_map[48];
	char tmpfs_opts[96];
	char workspace[PATH_MAX];
	bool workspace_detached;
	int workspace_fd;
	int n_mounts;
	struct ns_mount mounts[NS_MAX_MOUNTS];
	char mount_paths[NS_MOUNT_PATHS_BYTES];
	int n_ro_binds;
	char ro_binds[NS_MAX_RO_BINDS][PATH_MAX]; /* resolved with realpath() */
	/*
	 * Parents of ro_binds outside /tmp that the run's uid could not pass
	 * (the state directory, 0700, holds the lazily extracted trees): a
	 * small tmpfs on each lets it reach the tree, and hides the rest.
	 */
	int n_masks;
	char masks[NS_MAX_RO_BINDS][PATH_MAX];
};

/*
 * Fill @ret for one run (in the parent): clone flags from what is available
 * and wanted, and, with a mount namespace, the mount points to remount
 * read-only.  Returns 0 or a negative errno (too many mounts, unreadable
 * mountinfo).
 */
int ns_plan_prepare(struct ns_plan *ret, const struct ns_options *opt, struct rb_err *err);

/*
 * In the child created with clone(plan->clone_flags), before the uid drop:
 * write the uid/gid maps of a new user namespace.  Raw system calls only.
 */
int ns_enter_user(const struct ns_plan *plan, struct rb_err *err);

/*
 * In the child, after ns_enter_user(), before the uid drop: the mount
 * namespace (read-only everything, private /tmp and /dev/shm, the masks,
 * the workspace back read-write, the ro_binds back read-only, a fresh
 * /proc), then chdir() into the workspace.  Raw system calls only.
 */
int ns_enter_mounts(const struct ns_plan *plan, struct rb_err *err);

/*
 * In the child, after ns_enter_mounts(), before the uid drop: SysV IPC
 * limits of a new ipc namespace (segments end with their last attachment),
 * where ns_sets_ipc_limits() says they can be set.  Anywhere else the
 * seccomp policy refuses SysV IPC.
 */
int ns_enter_ipc(const struct ns_plan *plan, struct rb_err *err);
bool ns_sets_ipc_limits(unsigned long clone_flags);

/* In the child: host name "runbox" in a new uts namespace. */
int ns_enter_uts(const struct ns_plan *plan, struct rb_err *err);

/*
 * Body of the probe child for @kind (plain fork, not yet in any new
 * namespace): create the namespace and check that it isolates (a new pid
 * namespace hides the parent, a new net namespace has no route, a mount in
 * it is private, a host name set in it stays there).  @as_root false: a
 * user namespace is created with it.  Returns an exit status: 0 ok, an
 * errno when the namespace could not be created, 200 when it did not
 * isolate.
 */
int ns_probe_child(enum ns_kind kind, bool as_root);

/*
 * ns_probe_child() for every kind at once, in one user namespace (runbox is
 * not root): 0 when all of them work and isolate, else what the first
 * failure returned (then only the one-by-one probes can tell which).
 */
int ns_probe_child_all(void);

/*
 * Move the calling process (single-threaded) into a user namespace and a
 * mount namespace of its own, its uid and gid mapped to themselves: an
 * unprivileged runbox then owns a mount namespace in which it may mount
 * size-capped tmpfs workspaces that nobody else sees.  Host mounts still
 * propagate in; nothing propagates out.  Of the capabilities the namespace
 * gives, only CAP_SYS_ADMIN is kept.  Returns 0 or a negative errno.
 */
int ns_unshare_own(struct rb_err *err);

/* ns_probe_child()'s answer when a pid namespace works but its /proc cannot be mounted. */
#define NS_PROBE_NO_FRESH_PROC 201

#endif
