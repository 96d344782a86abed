/*
 * syscall_probe: make one system call and say how it went, so a seccomp or
 * Landlock policy can be tested with no interpreter in the way (after
 * bubblewrap's test helper).
 *
 *   syscall_probe [--i386|--x32] NAME [ARG...]
 *
 * NAME is a system call name (resolved by libseccomp for the native ABI) or
 * a number.  Each ARG is an integer (decimal, 0x hex, negative) or "s:TEXT"
 * for a pointer to TEXT.  --i386 makes the call through int 0x80 with NAME
 * as an i386 number; --x32 sets the x32 bit on the native number.
 *
 * Prints "ok <return value>" or "errno <n> <ENAME>" and exits 0 either way;
 * exits 2 on a usage error.  A call the policy kills never prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L
#define MAX_ARGS 6

static int usage(void)
{
	fprintf(stderr, "usage: syscall_probe [--i386|--x32] NAME [ARG...] (at most 6 args)\n");
	return 2;
}

static int parse_arg(const char *s, long *ret)
{
	char *end;

	if (strncmp(s, "s:", 2) == 0) {
		*ret = (long)(s + 2);
		return 0;
	}
	errno = 0;
	*ret = (long)strtoull(s, &end, 0);
	if (s[0] == '-')
		*ret = strtol(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static long syscall_i386(long nr, const long *a)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
			 : "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

int main(int argc, char **argv)
{
	long args[MAX_ARGS] = { 0 }, nr, r;
	int i = 1, abi = 0;
	char *end;

	if (i < argc && strcmp(argv[i], "--i386") == 0)
		abi = 1, i++;
	else if (i < argc && strcmp(argv[i], "--x32") == 0)
		abi = 2, i++;
	if (i >= argc || argc - i - 1 > MAX_ARGS)
		return usage();
	nr = strtol(argv[i], &end, 0);
	if (*end)
		nr = seccomp_syscall_resolve_name(argv[i]);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return usage();
	for (int a = 0; i + 1 + a < argc; a++)
		if (parse_arg(argv[i + 1 + a], &args[a]) < 0)
			return usage();
	errno = 0;
	if (abi == 1)
		r = syscall_i386(nr, args);
	else
		r = syscall(nr | (abi == 2 ? X32_SYSCALL_BIT : 0), args[0], args[1], args[2],
			    args[3], args[4], args[5]);
	if (r == -1 && errno)
		printf("errno %d %s\n", errno, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	else
		printf("ok %ld\n", r);
	return 0;
}
