/*
 * admission: per-client shares of the body budget in an open-addressing
 * table (see admission.h).  An address has a slot only while it holds
 * bytes, so the table never holds more addresses than there are
 * connections.
 */
#include "api/admission.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct admission_key admission_key_of(const struct sockaddr *sa)
{
	static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct admission_key k = {{0}, 0};

	if (sa && sa->sa_family == AF_INET) {
		memcpy(k.addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		k.len = 4;
	} else if (sa && sa->sa_family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d on a dual-stack socket. */
		k.len = memcmp(a, v4_mapped, 12) == 0 ? 4 : 16;
		memcpy(k.addr, k.len == 4 ? a + 12 : a, k.len);
	}
	return k;
}

static bool same(const struct admission_key *a, const struct admission_key *b)
{
	return a->len == b->len && memcmp(a->addr, b->addr, a->len) == 0;
}

/* FNV-1a of the key. */
static size_t hash(const struct admission_key *k)
{
	unsigned long long h = 1469598103934665603ULL;

	for (unsigned i = 0; i < k->len; i++)
		h = (h ^ k->addr[i]) * 1099511628211ULL;
	return (size_t)(h ^ k->len);
}

int admission_init(struct admission *a, size_t budget, size_t client_budget, size_t max_clients)
{
	size_t n = 16;

	while (n < 2 * max_clients + 2)
		n *= 2;
	memset(a, 0, sizeof(*a));
	a->slots = calloc(n, sizeof(*a->slots));
	if (!a->slots)
		return -ENOMEM;
	a->n_slots = n;
	a->budget = budget;
	a->client_budget = client_budget;
	return 0;
}

void admission_free(struct admission *a)
{
	free(a->slots);
	a->slots = NULL;
	a->n_slots = 0;
}

/* The slot of @k, or the free slot where it would go. */
static struct admission_slot *find(const struct admission *a, const struct admission_key *k)
{
	size_t mask = a->n_slots - 1, i = hash(k) & mask;

	while (a->slots[i].used && !same(&a->slots[i].key, k))
		i = (i + 1) & mask;
	return &a->slots[i];
}

/* Empty slot @s, moving later entries of its run back so that every lookup still finds them. */
static void vacate(struct admission *a, struct admission_slot *s)
{
	size_t mask = a->n_slots - 1, hole = (size_t)(s - a->slots), i = hole;

	for (;;) {
		size_t home;

		i = (i + 1) & mask;
		if (!a->slots[i].used)
			break;
		home = hash(&a->slots[i].key) & mask;
		/* Movable into the hole when its home is not cyclically in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			a->slots[hole] = a->slots[i];
			hole = i;
		}
	}
	a->slots[hole] = (struct admission_slot){0};
}

enum admission_verdict admission_hold(struct admission *a, const struct admission_key *k, size_t n)
{
	struct admission_slot *s = find(a, k);
	size_t mine = s->used ? s->held : 0;

	if (n > a->client_budget || mine > a->client_budget - n)
		return ADMISSION_CLIENT_FULL;
	if (n > a->budget || a->held > a->budget - n)
		return ADMISSION_SERVER_FULL;
	if (!n)
		return ADMISSION_OK;
	if (!s->used)
		*s = (struct admission_slot){.key = *k, .used = true};
	s->held += n;
	a->held += n;
	return ADMISSION_OK;
}

void admission_release(struct admission *a, const struct admission_key *k, size_t n)
{
	struct admission_slot *s = find(a, k);

	if (!s->used || !n)
		return;
	if (n > s->held)
		n = s->held;
	s->held -= n;
	a->held -= n;
	if (!s->held)
		vacate(a, s);
}

size_t admission_held_by(const struct admission *a, const struct admission_key *k)
{
	const struct admission_slot *s = find(a, k);

	return s->used ? s->held : 0;
}

bool admission_too_slow(double since, double now, size_t got, double rate, double grace_s)
{
	double late = now - since - grace_s;

	return rate > 0 && late > 0 && (double)got < rate * late;
}
