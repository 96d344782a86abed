/*
 * sandbox: the layers applied to a program run, in one fixed order.
 * See sandbox.h for the three phases.
 */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

int sandbox_probe(struct sandbox_caps *ret, struct rb_err *err)
{
	(void)err;
	memset(ret, 0, sizeof(*ret));
	ret->probed = true;
	ret->can_setuid = geteuid() == 0;
	return 0;
}

int sandbox_plan_prepare(struct sandbox_plan *plan, const struct sandbox_caps *caps,
			 const struct sandbox_config *cfg, struct rb_err *err)
{
	(void)err;
	memset(plan, 0, sizeof(*plan));
	plan->cfg = *cfg;
	plan->caps = *caps;
	plan->uid_dropped = cfg->drop_uid && caps->can_setuid;
	return 0;
}

/* Drop to the run's uid and gid, with no supplementary groups. */
static int drop_uid(const struct sandbox_plan *plan, struct rb_err *err)
{
	if (!plan->uid_dropped)
		return 0;
	if (setgroups(0, NULL) < 0)
		return rb_fail_sys(err, errno, "setgroups");
	if (setresgid(plan->cfg.gid, plan->cfg.gid, plan->cfg.gid) < 0)
		return rb_fail_sys(err, errno, "setresgid(%u)", (unsigned)plan->cfg.gid);
	if (setresuid(plan->cfg.uid, plan->cfg.uid, plan->cfg.uid) < 0)
		return rb_fail_sys(err, errno, "setresuid(%u)", (unsigned)plan->cfg.uid);
	return 0;
}

int sandbox_plan_enter(const struct sandbox_plan *plan, struct rb_err *err)
{
	int r;

	r = drop_uid(plan, err);
	if (r < 0)
		return r;
	return 0;
}

void sandbox_plan_release(struct sandbox_plan *plan)
{
	(void)plan;
}

cJSON *sandbox_plan_to_json(const struct sandbox_plan *plan)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, "uid_drop", plan->uid_dropped);
	return o;
}
