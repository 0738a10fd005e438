/* Connection guard: request-head deadlines and per-prefix connection counts (see connguard.h). */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "kbs/connguard.h"

#define REAP_TICK_NS (250ull * 1000 * 1000)

bool
cs_cg_prefix_key(const struct sockaddr *sa, uint8_t key[CS_CG_KEY_LEN])
{
	memset(key, 0, CS_CG_KEY_LEN);
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key[0] = 4;
		memcpy(key + 1, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = 4;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a->s6_addr, 8); /* the /64 */
		}
		return true;
	}
	return false;
}

enum cs_err
cs_connguard_init(struct cs_connguard *g, size_t cap, unsigned per_prefix, uint64_t head_ns,
                  uint64_t body_ns)
{
	memset(g, 0, sizeof(*g));
	ENSURE(cap > 0, CS_ERR_INVAL);
	g->pfx = calloc(cap, sizeof(*g->pfx));
	ENSURE(g->pfx != NULL, CS_ERR_NOMEM);
	g->cap = cap;
	g->per_prefix = per_prefix;
	g->head_ns = head_ns;
	g->body_ns = body_ns;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	return CS_OK;
}

void
cs_connguard_fini(struct cs_connguard *g)
{
	struct cs_cg_conn *cc, *next;

	if (g->pfx == NULL)
		return;
	if (g->running) {
		pthread_mutex_lock(&g->mu);
		g->stop = true;
		pthread_cond_signal(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->reaper, NULL);
		g->running = false;
	}
	for (cc = g->conns; cc != NULL; cc = next) {
		next = cc->next;
		free(cc);
	}
	g->conns = NULL;
	free(g->pfx);
	g->pfx = NULL;
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

static void *
reaper_main(void *arg)
{
	struct cs_connguard *g = arg;

	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts); /* pthread_cond_timedwait's default clock */
		ts.tv_nsec += (long)REAP_TICK_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->mu);
		(void)cs_connguard_reap(g, cs_clock_mono_ns());
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

enum cs_err
cs_connguard_start(struct cs_connguard *g)
{
	ENSURE(!g->running, CS_ERR_STATE);
	ENSURE(pthread_create(&g->reaper, NULL, reaper_main, g) == 0, CS_ERR_NOMEM);
	g->running = true;
	return CS_OK;
}

/* Called with g->mu held. */
static struct cs_cg_prefix *
find(struct cs_connguard *g, const uint8_t key[CS_CG_KEY_LEN])
{
	for (size_t i = 0; i < g->npfx; i++)
		if (memcmp(g->pfx[i].key, key, CS_CG_KEY_LEN) == 0)
			return &g->pfx[i];
	return NULL;
}

bool
cs_connguard_admit(struct cs_connguard *g, const struct sockaddr *sa)
{
	uint8_t key[CS_CG_KEY_LEN];
	const struct cs_cg_prefix *p;
	bool ok;

	if (!cs_cg_prefix_key(sa, key))
		return true; /* not an IP client (none is listened for) */
	pthread_mutex_lock(&g->mu);
	p = find(g, key);
	ok = g->per_prefix == 0 || p == NULL || p->n < g->per_prefix;
	ok = ok && (p != NULL || g->npfx < g->cap);
	pthread_mutex_unlock(&g->mu);
	if (!ok)
		atomic_fetch_add(&g->prefix_refused, 1);
	return ok;
}

struct cs_cg_conn *
cs_connguard_open(struct cs_connguard *g, const struct sockaddr *sa, int fd, uint64_t now_ns)
{
	struct cs_cg_conn *cc = calloc(1, sizeof(*cc));
	struct cs_cg_prefix *p;

	if (cc == NULL)
		return NULL;
	(void)cs_cg_prefix_key(sa, cc->key);
	cc->fd = fd;
	atomic_store(&cc->deadline_ns, now_ns + g->head_ns);
	pthread_mutex_lock(&g->mu);
	p = find(g, cc->key);
	if (p == NULL && g->npfx < g->cap) {
		p = &g->pfx[g->npfx++];
		memcpy(p->key, cc->key, CS_CG_KEY_LEN);
		p->n = 0;
	}
	if (p == NULL || (g->per_prefix != 0 && p->n >= g->per_prefix)) {
		pthread_mutex_unlock(&g->mu);
		atomic_fetch_add(&g->prefix_refused, 1);
		free(cc);
		return NULL;
	}
	p->n++;
	cc->next = g->conns;
	if (g->conns != NULL)
		g->conns->prev = cc;
	g->conns = cc;
	pthread_mutex_unlock(&g->mu);
	return cc;
}

void
cs_connguard_head_done(struct cs_connguard *g, struct cs_cg_conn *cc, uint64_t now_ns)
{
	if (cc != NULL)
		atomic_store(&cc->deadline_ns, now_ns + g->body_ns);
}

void
cs_connguard_busy(struct cs_cg_conn *cc)
{
	if (cc != NULL)
		atomic_store(&cc->deadline_ns, 0);
}

void
cs_connguard_idle(struct cs_connguard *g, struct cs_cg_conn *cc, uint64_t now_ns)
{
	if (cc != NULL)
		atomic_store(&cc->deadline_ns, now_ns + g->head_ns);
}

void
cs_connguard_close(struct cs_connguard *g, struct cs_cg_conn *cc)
{
	struct cs_cg_prefix *p;

	if (cc == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	p = find(g, cc->key);
	if (p != NULL && --p->n == 0)
		*p = g->pfx[--g->npfx]; /* the last entry fills the hole */
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		g->conns = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	pthread_mutex_unlock(&g->mu);
	free(cc);
}

size_t
cs_connguard_reap(struct cs_connguard *g, uint64_t now_ns)
{
	size_t n = 0;

	pthread_mutex_lock(&g->mu);
	for (struct cs_cg_conn *cc = g->conns; cc != NULL; cc = cc->next) {
		uint64_t d = atomic_load(&cc->deadline_ns);

		if (d == 0 || d > now_ns)
			continue;
		/* Under the lock: the descriptor is still this connection's (see the header). */
		shutdown(cc->fd, SHUT_RDWR);
		atomic_store(&cc->deadline_ns, 0);
		n++;
	}
	pthread_mutex_unlock(&g->mu);
	atomic_fetch_add(&g->slow_closed, n);
	return n;
}
