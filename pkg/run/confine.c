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

static int restrict_writes(const struct confine_unpack *c, const char *tree_dir, struct rb_err *err)
{
	struct landlock_options o = {.workspace = tree_dir, .python = c->python};
	struct landlock_plan plan = {.ruleset_fd = -1};
	int r = landlock_plan_prepare(&plan, &o, err);

	if (r >= 0)
		r = landlock_plan_enter(&plan, err);
	landlock_plan_release(&plan);
	return r;
}

int confine_unpacker(void *ctx, const char *tree_dir, struct rb_err *err)
{
	const struct confine_unpack *c = ctx;
	int r = c->drop_uid ? drop_uid(c, err) : 0;

	if (r >= 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = rb_fail_sys(err, errno, "set no_new_privs for the unpacking process");
	if (r >= 0 && c->landlock)
		r = restrict_writes(c, tree_dir, err);
	return r;
}
