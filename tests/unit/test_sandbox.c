/*
 * Unit tests of the sandbox layers: RUNBOX_REQUIRE parsing and checking, the
 * JSON reports, and each layer applied for real.  Every test that changes
 * process-wide state (no_new_privs, seccomp, Landlock, namespaces, uid) runs
 * in a forked child that reports only through its exit status.  A test that
 * needs a privilege or kernel feature the machine lacks is skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/sandbox.h"

#define RUN_UID 65534
#define X32_SYSCALL_BIT 0x40000000L

static struct sandbox_caps caps;
static struct sandbox_plan plan; /* large: not on the stack */

/* Run @fn in a forked child; return its raw wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches these to fail a test: in the child they must kill. */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT };

		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* The child's verdict: 0, or the line number of the first failed check. */
#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "child check failed at line %d: %s (errno %d)\n", \
				__LINE__, #cond, errno);                                 \
			return __LINE__ % 250 + 1;                                       \
		}                                                                        \
	} while (0)

static bool refused(long r, int errnum)
{
	return r == -1 && errno == errnum;
}

static void assert_child_ok(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static bool have(enum sandbox_layer layer)
{
	return caps.layer[layer].available && caps.layer[layer].self_test == SANDBOX_SELF_TEST_OK;
}

/* --- RUNBOX_REQUIRE ---------------------------------------------------- */

static void test_require_parse(void **state)
{
	struct rb_err err;
	unsigned mask = 1;

	(void)state;
	assert_int_equal(sandbox_require_parse(NULL, &mask, &err), 0);
	assert_int_equal(mask, 0);
	assert_int_equal(sandbox_require_parse(" seccomp, landlock ,netns,uid_drop,", &mask, &err),
			 0);
	assert_int_equal(mask, SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP) |
				       SANDBOX_LAYER_BIT(SANDBOX_LAYER_LANDLOCK) |
				       SANDBOX_LAYER_BIT(SANDBOX_LAYER_NETNS) |
				       SANDBOX_LAYER_BIT(SANDBOX_LAYER_UID_DROP));
	assert_true(sandbox_require_parse("pidns,mountns,userns,no_new_privs", &mask, &err) == 0);
	assert_int_equal(__builtin_popcount(mask), 4);
	mask = 7;
	assert_true(sandbox_require_parse("seccomp,selinux", &mask, &err) < 0);
	assert_int_equal(mask, 7); /* untouched on failure */
	assert_string_equal(err.code, "invalid_config");
	assert_non_null(strstr(err.msg, "\"selinux\""));
}

static void test_require_check(void **state)
{
	struct sandbox_caps c;
	struct rb_err err;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.layer[SANDBOX_LAYER_SECCOMP].available = true;
	c.layer[SANDBOX_LAYER_SECCOMP].self_test = SANDBOX_SELF_TEST_OK;
	c.layer[SANDBOX_LAYER_LANDLOCK].available = true;
	c.layer[SANDBOX_LAYER_LANDLOCK].self_test = SANDBOX_SELF_TEST_FAILED;
	assert_int_equal(sandbox_caps_check_required(&c, SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP),
						     &err), 0);
	assert_true(sandbox_caps_check_required(&c, SANDBOX_LAYER_BIT(SANDBOX_LAYER_LANDLOCK) |
							    SANDBOX_LAYER_BIT(SANDBOX_LAYER_NETNS),
						&err) < 0);
	assert_int_equal(err.fault, RB_FAULT_UNAVAILABLE);
	assert_string_equal(err.code, "sandbox_unavailable");
	assert_non_null(strstr(err.msg, "landlock, netns"));

	memset(&plan, 0, sizeof(plan));
	plan.applied = SANDBOX_LAYER_BIT(SANDBOX_LAYER_UID_DROP);
	assert_int_equal(sandbox_plan_check_required(&plan, plan.applied, &err), 0);
	assert_true(sandbox_plan_check_required(
			    &plan, SANDBOX_LAYER_BIT(SANDBOX_LAYER_SECCOMP), &err) < 0);
	assert_non_null(strstr(err.msg, "seccomp"));
}

/* --- reports ----------------------------------------------------------- */

static void test_caps_json(void **state)
{
	cJSON *o = sandbox_caps_to_json(&caps), *l;

	(void)state;
	assert_non_null(o);
	for (int i = 0; i < SANDBOX_LAYER_COUNT; i++) {
		l = cJSON_GetObjectItem(o, sandbox_layer_name((enum sandbox_layer)i));
		assert_non_null(l);
		assert_true(cJSON_IsBool(cJSON_GetObjectItem(l, "available")));
		assert_true(cJSON_IsString(cJSON_GetObjectItem(l, "self_test")));
	}
	l = cJSON_GetObjectItem(o, "landlock");
	assert_int_equal(cJSON_GetObjectItem(l, "abi")->valueint, caps.landlock_abi);
	cJSON_Delete(o);
}

static void test_disabled_plan_only_drops_uid(void **state)
{
	struct sandbox_config cfg = { .enabled = false, .drop_uid = true, .uid = RUN_UID,
				      .gid = RUN_UID, .workspace = "/tmp" };
	struct rb_err err;
	cJSON *o;

	(void)state;
	assert_int_equal(sandbox_plan_prepare(&plan, &caps, &cfg, &err), 0);
	assert_int_equal(plan.clone_flags, 0);
	assert_int_equal(plan.n_keep_fds, 0);
	assert_int_equal(plan.applied & ~SANDBOX_LAYER_BIT(SANDBOX_LAYER_UID_DROP), 0);
	o = sandbox_plan_to_json(&plan);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "seccomp")));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "landlock")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "namespaces")), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "uid_drop")) == caps.can_setuid);
	cJSON_Delete(o);
	sandbox_plan_release(&plan);
}

/* --- seccomp ------------------------------------------------------------ */

static struct seccomp_policy policy;

static int load_policy(bool network)
{
	struct seccomp_policy_options opt = { .allow_network = network, .runbox_pid = getppid() };
	struct rb_err err;

	if (seccomp_policy_build(&policy, &opt, &err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return seccomp_policy_load(&policy, &err);
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int seccomp_refusals(void *arg)
{
	int fd, sv[2];

	(void)arg;
	CHECK(load_policy(false) == 0);
	CHECK(refused(socket(AF_INET, SOCK_STREAM, 0), EACCES));
	CHECK(refused(socket(AF_INET6, SOCK_DGRAM, 0), EACCES));
	CHECK(refused(socket(AF_NETLINK, SOCK_RAW, 0), EACCES));
	CHECK(refused(socket(AF_PACKET, SOCK_RAW, 0), EACCES));
	CHECK(refused(syscall(SYS_socket, 0x100000000L | AF_INET, SOCK_STREAM, 0), EACCES));
	CHECK((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(refused(syscall(SYS_ptrace, 0, 0, 0, 0), EPERM));
	CHECK(refused(syscall(SYS_clone3, NULL, 0), ENOSYS));
	CHECK(refused(syscall(SYS_kill, -1, 0), ESRCH));
	CHECK(refused(syscall(SYS_kill, 0xffffffffL, 0), ESRCH)); /* upper bits clear */
	CHECK(refused(syscall(SYS_kill, 1, 0), ESRCH));	  /* no pid ns here */
	CHECK(refused(syscall(SYS_kill, getppid(), 0), ESRCH)); /* "runbox" */
	CHECK(refused(unshare(CLONE_NEWNS), EPERM));
	CHECK(refused(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM));
	CHECK(refused(syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0), EPERM));
	CHECK(refused(syscall(SYS_setsid), EPERM));
	CHECK(refused(syscall(SYS_bpf, 0, 0, 0), EPERM));
	CHECK(refused(syscall(SYS_io_uring_setup, 1, 0), ENOSYS)); /* as a kernel without it */
	CHECK(refused(syscall(SYS_io_uring_enter, 0, 0, 0, 0, 0, 0), EPERM));
	CHECK(refused(syscall(SYS_userfaultfd, 0), EPERM));
	CHECK(refused(syscall(SYS_keyctl, 0, 0), EPERM));
	CHECK(refused(syscall(SYS_memfd_create, "x", 0), EPERM));
	CHECK(refused(syscall(SYS_ioctl, 0, 0x100000000L | TIOCSTI, "x"), EPERM));
	CHECK(refused(fcntl(fd, F_SETOWN, 1), EPERM));
	CHECK(refused(fcntl(fd, F_SETSIG, SIGUSR1), EPERM));
	CHECK(fcntl(fd, F_GETFL) >= 0);
	CHECK(refused(syscall(SYS_prlimit64, 1, RLIMIT_NOFILE, NULL, NULL), EPERM));
	CHECK(refused(personality(ADDR_NO_RANDOMIZE), EPERM));
	CHECK(personality(0xffffffff) >= 0);
	return 0;
}

static void test_seccomp_refusals(void **state)
{
	(void)state;
	if (!have(SANDBOX_LAYER_SECCOMP))
		skip();
	assert_child_ok(in_child(seccomp_refusals, NULL));
}

/* What real programs do keeps working. */
static int seccomp_allows(void *arg)
{
	struct rlimit rl;
	pthread_t t;
	pid_t pid;
	int status;

	(void)arg;
	CHECK(load_policy(false) == 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0); /* clone3 -> clone */
	CHECK(pthread_join(t, NULL) == 0);
	pid = fork();
	if (pid == 0)
		_exit(kill(getpid(), 0) == 0 ? 7 : 1);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	return 0;
}

static void test_seccomp_allows(void **state)
{
	(void)state;
	if (!have(SANDBOX_LAYER_SECCOMP))
		skip();
	assert_child_ok(in_child(seccomp_allows, NULL));
}

static int seccomp_network(void *arg)
{
	(void)arg;
	CHECK(load_policy(true) == 0);
	CHECK(socket(AF_INET, SOCK_DGRAM, 0) >= 0);
	CHECK(socket(AF_INET6, SOCK_DGRAM, 0) >= 0);
	CHECK(refused(socket(AF_NETLINK, SOCK_RAW, 0), EACCES));
	return 0;
}

static void test_seccomp_network_allowed(void **state)
{
	(void)state;
	if (!have(SANDBOX_LAYER_SECCOMP))
		skip();
	assert_child_ok(in_child(seccomp_network, NULL));
}

/*
 * The two parts are chained into one program: deny_args never answers
 * ALLOW itself but jumps to the allowlist, and the notifying variant turns
 * only the allowlist's refusals into notifications.
 */
static void test_seccomp_chained_program(void **state)
{
	static struct seccomp_policy notify;
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
	struct seccomp_policy_options opt = { .pid_namespace = true };
	struct rb_err err;
	unsigned jumps = 0, notified = 0, deny_eperm = 0;

	(void)state;
	assert_int_equal(seccomp_policy_build(&policy, &opt, &err), 0);
	assert_true(policy.ready && !policy.notify);
	assert_true(policy.allow_at > 0 && policy.n_insns > policy.allow_at);
	for (unsigned i = 0; i < policy.allow_at; i++) {
		const struct sock_filter *f = &policy.insns[i];

		assert_false(f->code == (BPF_RET | BPF_K) && f->k == SECCOMP_RET_ALLOW);
		if (f->code == (BPF_JMP | BPF_JA)) {
			assert_int_equal(i + 1 + f->k, policy.allow_at);
			jumps++;
		}
		deny_eperm += f->code == (BPF_RET | BPF_K) && f->k == eperm;
	}
	assert_true(jumps > 0 && deny_eperm > 0); /* TIOCSTI, F_SETOWN... fail with EPERM */
	assert_true(seccomp_policy_valid(&policy));
	seccomp_policy_to_notify(&policy, &notify);
	assert_true(notify.notify && notify.n_insns == policy.n_insns);
	assert_false(seccomp_policy_valid(&notify)); /* caches hold the plain one only */
	assert_memory_equal(notify.insns, policy.insns, policy.allow_at * sizeof(policy.insns[0]));
	for (unsigned i = policy.allow_at; i < policy.n_insns; i++) {
		const struct sock_filter *a = &policy.insns[i], *b = &notify.insns[i];

		if (a->code == (BPF_RET | BPF_K) && a->k == eperm) {
			assert_int_equal(b->k, SECCOMP_RET_USER_NOTIF);
			notified++;
		} else {
			assert_memory_equal(a, b, sizeof(*a));
		}
	}
	assert_true(notified > 0);
	/* deny_args may end in its jump to the allowlist (its last answer was ALLOW). */
	notify = policy;
	notify.insns[notify.allow_at - 1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	assert_true(seccomp_policy_valid(&notify));
	/* What a cache of another layout would read as: refused, then rebuilt. */
	notify = policy;
	notify.n_insns = notify.allow_at;
	assert_false(seccomp_policy_valid(&notify));
	notify = policy;
	notify.insns[notify.n_insns - 1] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	assert_false(seccomp_policy_valid(&notify));
}

/*
 * Under the notifying variant, with nobody answering the listener, the
 * argument refusals still fail at once (a notification would hang: the
 * alarm then kills the child and the test fails).
 */
static int seccomp_notify_denies_args(void *arg)
{
	static struct seccomp_policy notify;
	struct seccomp_policy_options opt = { .runbox_pid = getppid() };
	struct rb_err err;
	int listener;

	(void)arg;
	alarm(5);
	CHECK(seccomp_policy_build(&policy, &opt, &err) == 0);
	seccomp_policy_to_notify(&policy, &notify);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK(seccomp_policy_load_notify(&notify, &policy, &listener, &err) == 0);
	CHECK(listener >= 0);
	CHECK(refused(syscall(SYS_ioctl, 0, TIOCSTI, "x"), EPERM));
	CHECK(refused(syscall(SYS_kill, -1, 0), ESRCH));
	CHECK(refused(socket(AF_INET, SOCK_STREAM, 0), EACCES));
	CHECK(getpid() > 0);
	return 0;
}

static void test_seccomp_notify_denies_args(void **state)
{
	(void)state;
	if (!have(SANDBOX_LAYER_SECCOMP))
		skip();
	assert_child_ok(in_child(seccomp_notify_denies_args, NULL));
}

static int x32_call(void *arg)
{
	(void)arg;
	if (load_policy(false) < 0)
		return 1;
	syscall(X32_SYSCALL_BIT | SYS_getpid);
	return 2; /* must not get here */
}

static long int80_getpid(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	return r;
}

static int i386_call(void *arg)
{
	if (arg && load_policy(false) < 0)
		return 1;
	return int80_getpid() > 0 ? 0 : 2;
}

static void test_seccomp_kills_other_abis(void **state)
{
	int status;

	(void)state;
	if (!have(SANDBOX_LAYER_SECCOMP))
		skip();
	status = in_child(x32_call, NULL);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	/* int 0x80 needs IA-32 emulation, which some kernels or VMs lack. */
	status = in_child(i386_call, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_message("int 0x80 unavailable here (status %#x): i386 case skipped\n",
			      status);
		return;
	}
	status = in_child(i386_call, &policy);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/*
 * The init's own filter: what init_loop does works, anything else kills.
 * @arg picks the call made after loading it: 0 none, 1 getpid, 2 an x32 call.
 */
static int init_filter(void *arg)
{
	long which = (long)arg;
	struct pollfd pfd = { .fd = -1 };
	struct rb_err err;
	int sv[2], st;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK(seccomp_policy_load_init(&err) == 0);
	CHECK(syscall(SYS_write, sv[0], "x", 1) == 1);
	CHECK(syscall(SYS_poll, &pfd, 1, 0) == 0);
	CHECK(refused(syscall(SYS_wait4, -1, &st, WNOHANG, NULL), ECHILD));
	CHECK(syscall(SYS_close_range, sv[1], sv[1], 0) == 0);
	/* With nothing to restart it fails (EINTR); what matters is it is not killed. */
	CHECK(syscall(SYS_restart_syscall) == -1);
	if (which == 1)
		syscall(SYS_getpid);
	if (which == 2)
		syscall(X32_SYSCALL_BIT | SYS_write, sv[0], "x", 1);
	/* Not _exit(): the sanitizers' interceptor makes calls the filter kills. */
	syscall(SYS_exit_group, which ? 3 : 0); /* 3: the call got through */
	return 4;
}

static void test_init_filter(void **state)
{
	int status;

	(void)state;
	if (!have(SANDBOX_LAYER_SECCOMP))
		skip();
	assert_child_ok(in_child(init_filter, (void *)0L));
	for (long which = 1; which <= 2; which++) {
		status = in_child(init_filter, (void *)which);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
	}
}

/* --- Landlock ----------------------------------------------------------- */

static char workspace[64];
static char outside[64];

static int landlock_denies(void *arg)
{
	struct landlock_options opt = { .workspace = workspace, .python = "/usr/bin/python3" };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct landlock_plan lp;
	struct rb_err err;
	char path[128];
	int fd;

	(void)arg;
	CHECK(landlock_plan_prepare(&lp, &opt, &err) == 0);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK(landlock_plan_enter(&lp, &err) == 0);
	snprintf(path, sizeof(path), "%s/ok", workspace);
	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0);
	close(fd);
	CHECK(mkdir(strcat(path, ".d"), 0755) == 0);
	snprintf(path, sizeof(path), "%s/no", outside);
	CHECK(refused(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EACCES));
	CHECK(refused(open("/etc/passwd", O_WRONLY | O_CLOEXEC), EACCES));
	CHECK((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) >= 0);
	CHECK((fd = open("/dev/null", O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0);
	CHECK(access("/usr/bin/python3", X_OK) == 0);
	if (lp.net_restricted) {
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(refused(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), EACCES));
	}
	if (lp.scoped)
		CHECK(refused(kill(getppid(), 0), EPERM)); /* outside the domain */
	return 0;
}

static void test_landlock_denies_outside_workspace(void **state)
{
	(void)state;
	if (!have(SANDBOX_LAYER_LANDLOCK))
		skip();
	assert_child_ok(in_child(landlock_denies, NULL));
}

/* --- namespaces and the whole ladder ------------------------------------- */

static int netns_no_route(void *arg)
{
	(void)arg;
	return ns_probe_child(NS_NET, geteuid() == 0);
}

static void test_netns_has_no_route(void **state)
{
	(void)state;
	if (!caps.layer[SANDBOX_LAYER_NETNS].available)
		skip();
	assert_child_ok(in_child(netns_no_route, NULL));
}

/*
 * Every layer, in the order of run/child.c's steps 7-12 and 16 (the program
 * without an init), each call one step of that table.
 */
static int enter_every_layer(struct rb_err *err)
{
	int (*const step[])(const struct sandbox_plan *, struct rb_err *) = {
	    sandbox_enter_userns, sandbox_enter_mounts,	      sandbox_enter_uts,
	    sandbox_enter_ipc,	  sandbox_enter_uid,	      sandbox_enter_no_new_privs,
	    sandbox_enter_landlock, sandbox_enter_seccomp,
	};

	for (size_t i = 0; i < sizeof(step) / sizeof(step[0]); i++)
		if (step[i](&plan, err) < 0)
			return -1;
	return 0;
}

/* Run in the clone()d child as the launcher would, then look around. */
static int full_ladder(void)
{
	struct rb_err err;
	struct utsname u;
	struct stat st;
	char path[128];
	int fd;

	CHECK(chdir(workspace) == 0);
	if (enter_every_layer(&err) < 0) {
		fprintf(stderr, "enter: %s\n", err.msg);
		return 99;
	}
	CHECK(getuid() == RUN_UID && geteuid() == RUN_UID);
	CHECK(getpid() == 1);
	CHECK(uname(&u) == 0 && strcmp(u.nodename, "runbox") == 0);
	CHECK((fd = open("written", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0);
	CHECK(write(fd, "x", 1) == 1);
	CHECK((fd = open("/tmp/private", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0);
	snprintf(path, sizeof(path), "%s/no", outside); /* hidden by the private /tmp */
	CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
	CHECK(open("/etc/runbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
	CHECK(open("/var/tmp/runbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
	CHECK(stat("/proc/2", &st) < 0); /* only our own processes */
	CHECK(refused(socket(AF_INET, SOCK_STREAM, 0), EACCES));
	CHECK(refused(syscall(SYS_ptrace, 0, 0, 0, 0), EPERM));
	return 0;
}

static void test_full_plan(void **state)
{
	struct sandbox_config cfg = { .enabled = true, .drop_uid = true, .uid = RUN_UID,
				      .gid = RUN_UID, .workspace = workspace,
				      .python = "/usr/bin/python3", .tmp_bytes = 1 << 20 };
	struct rb_err err;
	char path[128];
	struct stat st;
	long pid;
	int status;

	(void)state;
	if (!caps.can_setuid || !have(SANDBOX_LAYER_MOUNTNS) || !have(SANDBOX_LAYER_PIDNS))
		skip();
	assert_int_equal(chown(workspace, RUN_UID, RUN_UID), 0);
	assert_int_equal(sandbox_plan_prepare(&plan, &caps, &cfg, &err), 0);
	pid = syscall(SYS_clone, SIGCHLD | plan.clone_flags, 0, 0, 0, 0);
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(full_ladder());
	sandbox_plan_release(&plan);
	assert_int_equal(waitpid((pid_t)pid, &status, 0), pid);
	assert_child_ok(status);
	snprintf(path, sizeof(path), "%s/written", workspace);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, RUN_UID);
	assert_int_not_equal(stat("/tmp/private", &st), 0); /* stayed private */
}

static int setup(void **state)
{
	struct rb_err err;

	(void)state;
	assert_int_equal(sandbox_probe(&caps, &err), 0);
	strcpy(workspace, "/tmp/rb-test-ws-XXXXXX");
	strcpy(outside, "/tmp/rb-test-out-XXXXXX");
	if (!mkdtemp(workspace) || !mkdtemp(outside))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", workspace, outside);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_require_parse),
		cmocka_unit_test(test_require_check),
		cmocka_unit_test(test_caps_json),
		cmocka_unit_test(test_disabled_plan_only_drops_uid),
		cmocka_unit_test(test_seccomp_refusals),
		cmocka_unit_test(test_seccomp_allows),
		cmocka_unit_test(test_seccomp_network_allowed),
		cmocka_unit_test(test_seccomp_chained_program),
		cmocka_unit_test(test_seccomp_notify_denies_args),
		cmocka_unit_test(test_seccomp_kills_other_abis),
		cmocka_unit_test(test_init_filter),
		cmocka_unit_test(test_landlock_denies_outside_workspace),
		cmocka_unit_test(test_netns_has_no_route),
		cmocka_unit_test(test_full_plan),
	};

	return cmocka_run_group_tests_name("sandbox", tests, setup, teardown);
}
