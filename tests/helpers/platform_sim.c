/*
 * platform_sim: run a command the way a restrictive platform (AWS Lambda,
 * Azure Functions) would, for the platform rehearsal (tests/platform).
 *
 *   platform_sim [--no-userns] [--no-ns] [--no-nested-seccomp] [--no-nnp]
 *                [--no-subreaper] [--no-pdeathsig] [--no-landlock]
 *                [--uid N] [--gid N] -- CMD [ARGS...]
 *
 * It installs an OUTER seccomp filter (default: allow) that refuses what
 * those platforms refuse:
 *   --no-userns          unshare/clone with CLONE_NEWUSER -> EPERM,
 *                        clone3 -> ENOSYS (its flags are behind a pointer;
 *                        glibc falls back to clone, which is checked)
 *   --no-ns              the same for every namespace flag (user, pid, net,
 *                        ipc, uts, mount, cgroup; time for unshare), setns
 *   --no-nested-seccomp  seccomp(SECCOMP_SET_MODE_STRICT/FILTER) and
 *                        prctl(PR_SET_SECCOMP) -> EPERM
 *   --no-nnp             prctl(PR_SET_NO_NEW_PRIVS) -> EPERM
 *   --no-subreaper       prctl(PR_SET_CHILD_SUBREAPER) -> EPERM
 *   --no-pdeathsig       prctl(PR_SET_PDEATHSIG) -> EPERM
 *   --no-landlock        landlock_* -> ENOSYS (an old kernel)
 * then, with --uid, drops to that uid (gid: --gid, default the same number;
 * no supplementary groups) and execs CMD.
 *
 * The ORDER matters.  Installing a filter needs either no_new_privs or
 * CAP_SYS_ADMIN.  Setting no_new_privs here would hand CMD a process that
 * already has it, and the --no-nnp rehearsal would prove nothing (runbox
 * would see PR_GET_NO_NEW_PRIVS == 1 and its own later layers would load).
 * So this launcher must run as root, installs the filter while it still
 * holds CAP_SYS_ADMIN, with libseccomp's SCMP_FLTATR_CTL_NNP turned OFF,
 * checks that no_new_privs is still 0, and only then drops the uid (the
 * filter allows setgroups/setresgid/setresuid: it only refuses the listed
 * calls) and execs.  The filter is inherited across fork and execve and can
 * never be removed, exactly like a platform's.
 *
 * Build: gcc -O2 -o build/platform_sim tests/helpers/platform_sim.c -lseccomp
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void die(const char *what, int e)
{
	fprintf(stderr, "platform_sim: %s: %s\n", what, strerror(e));
	exit(125);
}

static void usage(void)
{
	fprintf(stderr, "usage: platform_sim [--no-userns] [--no-ns] [--no-nested-seccomp] "
			"[--no-nnp] [--no-subreaper] [--no-pdeathsig] [--no-landlock] "
			"[--uid N] [--gid N] -- CMD [ARGS...]\n");
	exit(125);
}

static void rule(scmp_filter_ctx ctx, int err, int nr, unsigned n, const struct scmp_arg_cmp *a,
		 const char *what)
{
	int r;

	if (nr == __NR_SCMP_ERROR || nr < 0)
		return; /* not on this architecture */
	r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(err), nr, n, a);
	if (r < 0)
		die(what, -r);
}

/* Refuse @nr when its argument 0 has any bit of @flag set (one rule per bit). */
static void refuse_flag(scmp_filter_ctx ctx, int nr, unsigned long flag, const char *what)
{
	struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);

	rule(ctx, EPERM, nr, 1, &a, what);
}

static void refuse_prctl(scmp_filter_ctx ctx, int option, const char *what)
{
	struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)option);

	rule(ctx, EPERM, SCMP_SYS(prctl), 1, &a, what);
}

static unsigned long parse_id(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > 0xfffffffeUL)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	int no_userns = 0, no_ns = 0, no_seccomp = 0, no_nnp = 0, no_subreaper = 0;
	int no_pdeathsig = 0, no_landlock = 0, i;
	long uid = -1, gid = -1;
	scmp_filter_ctx ctx;
	int r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--no-userns") == 0) {
			no_userns = 1;
		} else if (strcmp(a, "--no-ns") == 0) {
			no_ns = 1;
		} else if (strcmp(a, "--no-nested-seccomp") == 0) {
			no_seccomp = 1;
		} else if (strcmp(a, "--no-nnp") == 0) {
			no_nnp = 1;
		} else if (strcmp(a, "--no-subreaper") == 0) {
			no_subreaper = 1;
		} else if (strcmp(a, "--no-pdeathsig") == 0) {
			no_pdeathsig = 1;
		} else if (strcmp(a, "--no-landlock") == 0) {
			no_landlock = 1;
		} else if (strcmp(a, "--uid") == 0 && i + 1 < argc) {
			uid = (long)parse_id(argv[++i]);
		} else if (strcmp(a, "--gid") == 0 && i + 1 < argc) {
			gid = (long)parse_id(argv[++i]);
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	if (gid < 0)
		gid = uid;
	if (geteuid() != 0)
		die("must start as root (the filter is installed with CAP_SYS_ADMIN, "
		    "without no_new_privs)", EPERM);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		die("no_new_privs is already set: the --no-nnp rehearsal would be meaningless",
		    EINVAL);

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		die("seccomp_init", ENOMEM);
	/* The crux: libseccomp sets no_new_privs on load unless told not to. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		die("seccomp_attr_set(CTL_NNP)", -r);
	/* Non-native ABIs are runbox's business (it kills them); do not interfere. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (r < 0)
		die("seccomp_attr_set(ACT_BADARCH)", -r);

	if (no_userns || no_ns) {
		unsigned long clone_flags = CLONE_NEWUSER;
		unsigned long unshare_flags = CLONE_NEWUSER;

		if (no_ns) {
			clone_flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
				       CLONE_NEWUTS | CLONE_NEWCGROUP;
			unshare_flags = clone_flags | CLONE_NEWTIME;
			rule(ctx, EPERM, SCMP_SYS(setns), 0, NULL, "setns");
		}
		for (int bit = 0; bit < 32; bit++) {
			unsigned long f = 1UL << bit;

			if (clone_flags & f)
				refuse_flag(ctx, SCMP_SYS(clone), f, "clone");
			if (unshare_flags & f)
				refuse_flag(ctx, SCMP_SYS(unshare), f, "unshare");
		}
		rule(ctx, ENOSYS, SCMP_SYS(clone3), 0, NULL, "clone3");
	}
	if (no_seccomp) {
		struct scmp_arg_cmp strict = SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_STRICT);
		struct scmp_arg_cmp filter = SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER);

		rule(ctx, EPERM, SCMP_SYS(seccomp), 1, &strict, "seccomp");
		rule(ctx, EPERM, SCMP_SYS(seccomp), 1, &filter, "seccomp");
		refuse_prctl(ctx, PR_SET_SECCOMP, "prctl(PR_SET_SECCOMP)");
	}
	if (no_nnp)
		refuse_prctl(ctx, PR_SET_NO_NEW_PRIVS, "prctl(PR_SET_NO_NEW_PRIVS)");
	if (no_subreaper)
		refuse_prctl(ctx, PR_SET_CHILD_SUBREAPER, "prctl(PR_SET_CHILD_SUBREAPER)");
	if (no_pdeathsig)
		refuse_prctl(ctx, PR_SET_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)");
	if (no_landlock) {
		rule(ctx, ENOSYS, SCMP_SYS(landlock_create_ruleset), 0, NULL, "landlock");
		rule(ctx, ENOSYS, SCMP_SYS(landlock_add_rule), 0, NULL, "landlock");
		rule(ctx, ENOSYS, SCMP_SYS(landlock_restrict_self), 0, NULL, "landlock");
	}

	r = seccomp_load(ctx);
	if (r < 0)
		die("seccomp_load", -r);
	seccomp_release(ctx);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		die("no_new_privs got set while loading the filter", EINVAL);

	if (uid >= 0) {
		if (setgroups(0, NULL) < 0)
			die("setgroups", errno);
		if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
			die("setresgid", errno);
		if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
			die("setresuid", errno);
	}
	execvp(argv[i], argv + i);
	die(argv[i], errno);
	return 125;
}
