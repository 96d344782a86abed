/*
 * confine: uid, no_new_privs, Landlock, in that order (see confine.h): the
 * uid first, while runbox still may change it; no_new_privs before
 * Landlock, which requires it of an unprivileged process.
 */
#define _GNU_SOURCE
#include "run/confine.h"

#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox/landlock.h"

static int drop_uid(const struct confine_unpack *c, struct rb_err *err)
{
	if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	    setresuid(c->uid, c->uid, c->uid) < 0)
		return rb_fail_sys(err, errno, "switch the unpacking process to uid %u",
				   (unsigned)c->uid);
	return 0;
}

/*
 * The ruleset is built before the uid drop: the state directory above the
 * tree may be closed to the unpack uid, which only ever uses the tree
 * through an open descriptor and as its working directory.
 */
int confine_unpacker(void *ctx, const char *tree_dir, struct rb_err *err)
{
	const struct confine_unpack *c = ctx;
	struct landlock_options o = {.workspace = tree_dir, .python = c->python};
	struct landlock_plan plan = {.ruleset_fd = -1};
	int r = c->landlock ? landlock_plan_prepare(&plan, &o, err) : 0;

	if (r >= 0 && c->drop_uid)
		r = drop_uid(c, err);
	if (r >= 0 && c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = rb_fail_sys(err, errno, "set no_new_privs for the unpacking process");
	if (r >= 0 && c->landlock)
		r = landlock_plan_enter(&plan, err);
	landlock_plan_release(&plan);
	return r;
}
