/*
 * admission: how much of an HTTP server one client may hold while its
 * requests arrive, as bookkeeping without sockets or threads (the server
 * locks around it), so that the rules are unit-tested on their own.
 *
 * Request bodies are counted as their bytes arrive, never by what a
 * Content-Length declares: a client that declares 32 MiB and sends one
 * byte holds one byte.  The server's whole budget for bodies held at once
 * (RUNBOX_MAX_PENDING_BODY_BYTES) has a share per client address
 * (RUNBOX_MAX_PENDING_BODY_BYTES_PER_CLIENT), so that one client cannot
 * take it all.  A body must also keep coming: after a grace period it must
 * average a minimum rate (RUNBOX_MIN_BODY_BYTES_PER_S), or the connection
 * is cut.  Connections per address are libmicrohttpd's to count.
 */
#ifndef RUNBOX_ADMISSION_H
#define RUNBOX_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A client address: IPv4 (an IPv4-mapped IPv6 one included) or IPv6. */
struct admission_key {
	unsigned char addr[16];
	unsigned char len; /* 4 or 16; 0: unknown (a UNIX socket): one shared key */
};

/* The key of @sa (NULL or an unknown family: the shared empty key). */
struct admission_key admission_key_of(const struct sockaddr *sa);

struct admission_slot {
	struct admission_key key;
	size_t held;
	bool used;
};

struct admission {
	size_t budget, held;  /* every body held, and how many bytes may be */
	size_t client_budget; /* what one address may hold */
	struct admission_slot *slots;
	size_t n_slots; /* a power of two, twice the most addresses that can hold bytes */
};

/*
 * @max_clients bounds the addresses that hold bytes at once (one per open
 * connection at most).  Returns 0 or -ENOMEM.  Free with admission_free().
 */
int admission_init(struct admission *a, size_t budget, size_t client_budget, size_t max_clients);
void admission_free(struct admission *a);

enum admission_verdict {
	ADMISSION_OK,
	ADMISSION_CLIENT_FULL, /* this address holds its share */
	ADMISSION_SERVER_FULL, /* every body together holds the budget */
};

/* Count @n more bytes of a body from @k, if both budgets allow (else nothing changes). */
enum admission_verdict admission_hold(struct admission *a, const struct admission_key *k, size_t n);

/* Give back @n bytes @k held (a request answered or gone). */
void admission_release(struct admission *a, const struct admission_key *k, size_t n);

/* What @k holds now. */
size_t admission_held_by(const struct admission *a, const struct admission_key *k);

/*
 * Whether a body that started at @since and has @got bytes by @now is too
 * slow: after @grace_s seconds it must have averaged @rate bytes a second
 * over the time since the grace ended (@rate 0: no rule).
 */
bool admission_too_slow(double since, double now, size_t got, double rate, double grace_s);

#endif
