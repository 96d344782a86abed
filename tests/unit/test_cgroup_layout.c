/*
 * Unit tests for pkg/sandbox/cgroup_layout: where a process's control
 * groups are, read from /proc/self/cgroup and /proc/self/mountinfo texts
 * as hosts write them (a VM with v1 hierarchies, systemd's v2, a container
 * with and without a cgroup namespace), and the files' flat formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sandbox/cgroup_layout.h"

/* v1 as on a VM: cpu and cpuacct apart, memory in a per-job group, and an empty v2. */
static const char v1_cgroup[] = "9:name=systemd:/\n"
				"8:pids:/\n"
				"4:memory:/process_api/05b9\n"
				"2:cpuacct:/\n"
				"1:cpu:/\n"
				"0::/\n";
static const char v1_mounts[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_v1_each_controller_in_its_hierarchy(void **state)
{
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(v1_cgroup, v1_mounts, &l);
	assert_string_equal(l.v1[CGROUP_MEMORY], "/sys/fs/cgroup/memory/process_api/05b9");
	assert_string_equal(l.v1[CGROUP_PIDS], "/sys/fs/cgroup/pids");
	/* "cpu", not the "cpuacct" hierarchy that merely starts with the same letters. */
	assert_string_equal(l.v1[CGROUP_CPU], "/sys/fs/cgroup/cpu");
	assert_string_equal(l.v2, "/sys/fs/cgroup/unified");
	assert_string_equal(l.why_not, "");
}

/* "cpu,cpuacct" mounted together, as most distributions do. */
static void test_v1_shared_hierarchy(void **state)
{
	static const char cg[] = "3:cpu,cpuacct:/user.slice\n5:memory:/user.slice\n"
				 "6:pids:/user.slice/user-1000.slice\n";
	static const char mi[] =
	    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	    "32 25 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(cg, mi, &l);
	assert_string_equal(l.v1[CGROUP_CPU], "/sys/fs/cgroup/cpu,cpuacct/user.slice");
	assert_string_equal(l.v1[CGROUP_MEMORY], "/sys/fs/cgroup/memory/user.slice");
	assert_string_equal(l.v1[CGROUP_PIDS], "/sys/fs/cgroup/pids/user.slice/user-1000.slice");
	assert_string_equal(l.v2, "");
}

/* systemd's unified hierarchy: one line "0::PATH", one cgroup2 mount. */
static void test_v2_systemd(void **state)
{
	static const char cg[] = "0:/system.slice/runbox.service\n"; /* malformed: no "::" */
	static const char cg2[] = "0::/system.slice/runbox.service\n";
	static const char mi[] = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 "
				 "rw,nsdelegate,memory_recursiveprot\n";
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(cg, mi, &l);
	assert_string_equal(l.v2, "");
	assert_string_not_equal(l.why_not, "");
	cgroup_layout_find(cg2, mi, &l);
	assert_string_equal(l.v2, "/sys/fs/cgroup/system.slice/runbox.service");
	for (int c = 0; c < CGROUP_CONTROLLERS; c++)
		assert_string_equal(l.v1[c], "");
}

/* A container with its own cgroup namespace: it sees its group as "/". */
static void test_container_with_cgroup_namespace(void **state)
{
	static const char cg[] = "0::/\n";
	static const char mi[] =
	    "700 690 0:30 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(cg, mi, &l);
	assert_string_equal(l.v2, "/sys/fs/cgroup");
}

/*
 * A container without one: the mount shows only the container's part of
 * the hierarchy (its root is the container's group), and the process's
 * path is the full one.  A group outside what the mount shows is not found.
 */
static void test_container_mount_root(void **state)
{
	static const char cg[] = "0::/docker/abc123/worker\n";
	static const char mi[] =
	    "700 690 0:30 /docker/abc123 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	static const char outside[] = "0::/docker/other\n";
	static const char prefix_only[] = "0::/docker/abc1234\n";
	static const char escaped[] = "0::/..\n";
	static const char mi_root[] = "700 690 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(cg, mi, &l);
	assert_string_equal(l.v2, "/sys/fs/cgroup/worker");
	cgroup_layout_find(outside, mi, &l);
	assert_string_equal(l.v2, "");
	cgroup_layout_find(prefix_only, mi, &l);
	assert_string_equal(l.v2, "");
	/* Outside a cgroup namespace's view the kernel writes "/..". */
	cgroup_layout_find(escaped, mi_root, &l);
	assert_string_equal(l.v2, "");
}

/* Mount points with a space are written \040 in mountinfo. */
static void test_escaped_mount_point(void **state)
{
	static const char cg[] = "0::/a\n";
	static const char mi[] = "1 1 0:1 / /mnt/my\\040groups rw - cgroup2 none rw\n";
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(cg, mi, &l);
	assert_string_equal(l.v2, "/mnt/my groups/a");
}

/* No hierarchy at all (Lambda): nothing found, and a reason. */
static void test_nothing_mounted(void **state)
{
	static const char cg[] = "0::/\n";
	static const char mi[] = "1 0 8:1 / / rw - ext4 /dev/root rw\n";
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_find(cg, mi, &l);
	assert_string_equal(l.v2, "");
	assert_string_not_equal(l.why_not, "");
	cgroup_layout_find("", "", &l);
	assert_string_not_equal(l.why_not, "");
}

static void test_list_has(void **state)
{
	(void)state;
	assert_true(cgroup_list_has("cpuset cpu io memory pids\n", "cpu"));
	assert_true(cgroup_list_has("cpuset cpu io memory pids\n", "pids"));
	assert_false(cgroup_list_has("cpuset io memory pids\n", "cpu"));
	assert_false(cgroup_list_has("", "memory"));
}

static void test_keyed_value(void **state)
{
	static const char events[] = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
	static const char v1[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n";
	unsigned long long v = 99;

	(void)state;
	assert_int_equal(cgroup_keyed_value(events, "oom_kill", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(cgroup_keyed_value(v1, "oom_kill", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cgroup_keyed_value("oom_kill_disable 0\n", "oom_kill", &v), -ENOENT);
	assert_int_equal(cgroup_keyed_value("oom_kill x\n", "oom_kill", &v), -EINVAL);
}

static void test_parse_limit(void **state)
{
	(void)state;
	assert_int_equal(cgroup_parse_limit("max\n"), 0);
	assert_int_equal(cgroup_parse_limit("9223372036854771712\n"), 0); /* v1's "none" */
	assert_int_equal(cgroup_parse_limit("2147483648\n"), 2147483648ULL);
	assert_int_equal(cgroup_parse_limit(""), 0);
}

/* Only names runbox makes are ever swept. */
static void test_names(void **state)
{
	char name[CGROUP_NAME_BYTES];

	(void)state;
	cgroup_name(0x0123456789abcdefULL, name);
	assert_string_equal(name, "runbox-0123456789abcdef");
	assert_true(cgroup_name_is_ours(name));
	assert_false(cgroup_name_is_ours("runbox-0123456789abcde"));
	assert_false(cgroup_name_is_ours("runbox-0123456789ABCDEF"));
	assert_false(cgroup_name_is_ours("runbox-0123456789abcdef0"));
	assert_false(cgroup_name_is_ours("libpod_parent"));
	assert_false(cgroup_name_is_ours("system.slice"));
}

static void test_cpu_quota(void **state)
{
	(void)state;
	assert_int_equal(cgroup_cpu_quota_us(0.5, 100000), 50000);
	assert_int_equal(cgroup_cpu_quota_us(2, 100000), 200000);
	assert_int_equal(cgroup_cpu_quota_us(0.001, 100000), 1000); /* the kernel's minimum */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_each_controller_in_its_hierarchy),
	    cmocka_unit_test(test_v1_shared_hierarchy),
	    cmocka_unit_test(test_v2_systemd),
	    cmocka_unit_test(test_container_with_cgroup_namespace),
	    cmocka_unit_test(test_container_mount_root),
	    cmocka_unit_test(test_escaped_mount_point),
	    cmocka_unit_test(test_nothing_mounted),
	    cmocka_unit_test(test_list_has),
	    cmocka_unit_test(test_keyed_value),
	    cmocka_unit_test(test_parse_limit),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_cpu_quota),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
