/* The connection guard: request head and body deadlines over real sockets, per-prefix counting keys
 * and limits (IPv4 address, IPv6 /64, IPv4-mapped as IPv4). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kbs/connguard.h"
#include "t.h"

#define SEC 1000000000ull

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		CHECK(inet_pton(AF_INET6, text, &a->sin6_addr) == 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		CHECK(inet_pton(AF_INET, text, &a->sin_addr) == 1);
	}
	return ss;
}

static bool
same_key(const char *a, const char *b)
{
	struct sockaddr_storage sa = addr(a), sb = addr(b);
	uint8_t ka[CS_CG_KEY_LEN], kb[CS_CG_KEY_LEN];

	CHECK(cs_cg_prefix_key((struct sockaddr *)&sa, ka));
	CHECK(cs_cg_prefix_key((struct sockaddr *)&sb, kb));
	return memcmp(ka, kb, sizeof(ka)) == 0;
}

static void
test_keys(void)
{
	struct sockaddr_storage un = {.ss_family = AF_UNIX};
	uint8_t k[CS_CG_KEY_LEN];

	CHECK(same_key("2001:db8::1", "2001:db8::ffff:1"));
	CHECK(same_key("2001:db8:0:0:1:2:3:4", "2001:db8::9"));
	CHECK(!same_key("2001:db8::1", "2001:db8:0:1::1"));
	CHECK(!same_key("10.0.0.1", "10.0.0.2"));
	CHECK(same_key("10.0.0.1", "::ffff:10.0.0.1"));
	CHECK(!same_key("0.0.0.0", "::")); /* families never share a key */
	CHECK(!cs_cg_prefix_key((struct sockaddr *)&un, k));
	CHECK(!cs_cg_prefix_key(NULL, k));
}

static void
test_prefix_limit(void)
{
	struct cs_connguard g;
	struct sockaddr_storage a1 = addr("2001:db8::1"), a2 = addr("2001:db8::2"),
	                        a3 = addr("2001:db8::3"), other = addr("2001:db8:0:1::1");
	struct cs_cg_conn *c1, *c2, *c3, *c4;

	CHECK_OK(cs_connguard_init(&g, 8, 2, 10 * SEC, 30 * SEC));
	CHECK(cs_connguard_admit(&g, (struct sockaddr *)&a1));
	CHECK((c1 = cs_connguard_open(&g, (struct sockaddr *)&a1, -1, 0)) != NULL);
	CHECK((c2 = cs_connguard_open(&g, (struct sockaddr *)&a2, -1, 0)) != NULL);
	/* A third address of the same /64 is over the limit of 2, another /64 is not. */
	CHECK(!cs_connguard_admit(&g, (struct sockaddr *)&a3));
	CHECK(cs_connguard_open(&g, (struct sockaddr *)&a3, -1, 0) == NULL);
	CHECK(cs_connguard_admit(&g, (struct sockaddr *)&other));
	CHECK((c4 = cs_connguard_open(&g, (struct sockaddr *)&other, -1, 0)) != NULL);
	CHECK(atomic_load(&g.prefix_refused) == 2);
	/* A closed connection frees its place. */
	cs_connguard_close(&g, c1);
	CHECK(cs_connguard_admit(&g, (struct sockaddr *)&a3));
	CHECK((c3 = cs_connguard_open(&g, (struct sockaddr *)&a3, -1, 0)) != NULL);
	cs_connguard_close(&g, c2);
	cs_connguard_close(&g, c3);
	cs_connguard_close(&g, c4);
	CHECK(g.npfx == 0 && g.conns == NULL);
	cs_connguard_close(&g, NULL);
	cs_connguard_fini(&g);

	/* The table holds at most cap prefixes; 0 per prefix means no per-prefix limit. */
	CHECK_OK(cs_connguard_init(&g, 2, 0, SEC, SEC));
	struct sockaddr_storage b1 = addr("10.0.0.1"), b2 = addr("10.0.0.2"), b3 = addr("10.0.0.3");
	CHECK((c1 = cs_connguard_open(&g, (struct sockaddr *)&b1, -1, 0)) != NULL);
	CHECK((c2 = cs_connguard_open(&g, (struct sockaddr *)&b1, -1, 0)) != NULL);
	CHECK((c3 = cs_connguard_open(&g, (struct sockaddr *)&b2, -1, 0)) != NULL);
	CHECK(!cs_connguard_admit(&g, (struct sockaddr *)&b3));
	CHECK(cs_connguard_open(&g, (struct sockaddr *)&b3, -1, 0) == NULL);
	cs_connguard_fini(&g); /* frees what is still open */
	cs_connguard_fini(&g); /* and is idempotent */
}

/* Whether the peer of sv[1] saw end-of-file (the guard shut sv[0] down). */
static bool
peer_eof(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void
test_deadlines(void)
{
	struct cs_connguard g;
	struct sockaddr_storage a = addr("127.0.0.1");
	struct cs_cg_conn *slow, *body, *fast, *keep;
	int s1[2], s2[2], s3[2], s4[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s1) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s2) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s3) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s4) == 0);
	CHECK_OK(cs_connguard_init(&g, 16, 16, 10 * SEC, 30 * SEC));
	slow = cs_connguard_open(&g, (struct sockaddr *)&a, s1[0], 100 * SEC);
	body = cs_connguard_open(&g, (struct sockaddr *)&a, s2[0], 100 * SEC);
	fast = cs_connguard_open(&g, (struct sockaddr *)&a, s3[0], 100 * SEC);
	keep = cs_connguard_open(&g, (struct sockaddr *)&a, s4[0], 100 * SEC);
	CHECK(slow != NULL && body != NULL && fast != NULL && keep != NULL);
	/* Heads complete at 105 s; two bodies arrive at once, one drips. */
	cs_connguard_head_done(&g, body, 105 * SEC);
	cs_connguard_head_done(&g, fast, 105 * SEC);
	cs_connguard_head_done(&g, keep, 105 * SEC);
	cs_connguard_busy(fast);
	cs_connguard_busy(keep);
	/* Up to the head bound, nothing happens. */
	CHECK(cs_connguard_reap(&g, 110 * SEC - 1) == 0);
	CHECK(!peer_eof(s1[1]));
	/* Past it, only the connection whose head is still incomplete is shut down, once. */
	CHECK(cs_connguard_reap(&g, 110 * SEC) == 1);
	CHECK(peer_eof(s1[1]));
	CHECK(!peer_eof(s2[1]) && !peer_eof(s3[1]) && !peer_eof(s4[1]));
	CHECK(cs_connguard_reap(&g, 120 * SEC) == 0);
	/* The dripping body is cut at head + 30 s; requests being handled have no deadline. */
	CHECK(cs_connguard_reap(&g, 135 * SEC - 1) == 0);
	CHECK(cs_connguard_reap(&g, 135 * SEC) == 1);
	CHECK(peer_eof(s2[1]) && !peer_eof(s3[1]));
	CHECK(cs_connguard_reap(&g, 1000 * SEC) == 0);
	/* After a response the next head is due within the bound again (idle keep-alive). */
	cs_connguard_idle(&g, keep, 300 * SEC);
	CHECK(cs_connguard_reap(&g, 305 * SEC) == 0);
	CHECK(cs_connguard_reap(&g, 311 * SEC) == 1);
	CHECK(peer_eof(s4[1]) && !peer_eof(s3[1]));
	CHECK(atomic_load(&g.slow_closed) == 3);
	cs_connguard_close(&g, slow);
	cs_connguard_close(&g, body);
	cs_connguard_close(&g, fast);
	cs_connguard_close(&g, keep);
	/* The reaper thread starts and stops. */
	CHECK_OK(cs_connguard_start(&g));
	cs_connguard_fini(&g);
	for (int i = 0; i < 2; i++) {
		close(s1[i]);
		close(s2[i]);
		close(s3[i]);
		close(s4[i]);
	}
}

int
main(void)
{
	T_RUN(test_keys);
	T_RUN(test_prefix_limit);
	T_RUN(test_deadlines);
	return t_done();
}
