/*
 * Connection guard for custos-kbs: defences libmicrohttpd 0.9.75 does not have.
 *
 * 1. A bound on the request head. MHD's connection timeout is an idle timeout: a client that
 *    sends one header line every few seconds is never idle, so a few hosts can hold every
 *    connection slot (slowloris). Every connection gets a deadline by which its request head
 *    must be complete: head_ns after it was accepted, and again head_ns after each response
 *    (so an idle keep-alive connection lives at most head_ns between requests). Once the head is
 *    complete the body is due within body_ns (the same drip, one byte at a time, on the body);
 *    while the broker works on the request and answers, there is no deadline. A reaper thread
 *    shuts down the socket of a connection past its deadline; MHD then sees end-of-file and
 *    closes it the usual way.
 * 2. Connections per client prefix. MHD counts connections per exact address, but one IPv6 host
 *    usually owns a whole /64: the guard counts per IPv4 address and per IPv6 /64 (an IPv4-mapped
 *    IPv6 address counts as its IPv4 address).
 *
 * Thread-safe. The per-connection handle lives from cs_connguard_open to cs_connguard_close; the
 * socket must stay open until cs_connguard_close returns (MHD closes it after its "closed"
 * notification), so the reaper never touches a recycled descriptor.
 */
#ifndef CS_KBS_CONNGUARD_H
#define CS_KBS_CONNGUARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/err.h"

#define CS_CG_KEY_LEN 9 /* family byte, then 4 (IPv4) or 8 (IPv6 /64) address bytes */

struct cs_cg_prefix {
	uint8_t key[CS_CG_KEY_LEN];
	unsigned n; /* live connections from this prefix */
};

struct cs_cg_conn {
	struct cs_cg_conn *prev, *next;
	int fd;
	uint8_t key[CS_CG_KEY_LEN];
	_Atomic uint64_t deadline_ns; /* monotonic; 0 while a request head is complete */
};

struct cs_connguard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cs_cg_conn *conns; /* live connections (owned) */
	struct cs_cg_prefix *pfx; /* owned, cap entries; npfx in use */
	size_t npfx, cap;
	unsigned per_prefix; /* 0: no limit */
	uint64_t head_ns, body_ns;
	pthread_t reaper;
	bool running, stop;
	atomic_ulong slow_closed;    /* connections shut down for a late request head */
	atomic_ulong prefix_refused; /* connections refused over the per-prefix limit */
};

/* The counting key of a client address: false for a family other than IPv4 and IPv6. */
bool cs_cg_prefix_key(const struct sockaddr *sa, uint8_t key[CS_CG_KEY_LEN]);

/* cap: the most live connections (the daemon's connection limit). */
enum cs_err cs_connguard_init(struct cs_connguard *g, size_t cap, unsigned per_prefix,
                              uint64_t head_ns, uint64_t body_ns)
        __attribute__((warn_unused_result));
/* Stops the reaper and frees every handle; _fini of a zeroed guard is a no-op. */
void cs_connguard_fini(struct cs_connguard *g);
/* Starts the reaper thread (a tick of 250 ms). */
enum cs_err cs_connguard_start(struct cs_connguard *g) __attribute__((warn_unused_result));

/* The accept policy: whether a connection from sa fits under the per-prefix limit now. */
bool cs_connguard_admit(struct cs_connguard *g, const struct sockaddr *sa);
/*
 * Counts a new connection (socket fd, accepted at monotonic now_ns). Returns owned-by-the-guard
 * handle, or NULL when the prefix is over its limit (admission raced) or memory ran out: the
 * caller then shuts the socket down.
 */
struct cs_cg_conn *cs_connguard_open(struct cs_connguard *g, const struct sockaddr *sa, int fd,
                                     uint64_t now_ns);
/* The request head is complete (at monotonic now_ns): the body is due body_ns after it. */
void cs_connguard_head_done(struct cs_connguard *g, struct cs_cg_conn *cc, uint64_t now_ns);
/* The request is read (or answered early): no deadline while it is handled and answered. */
void cs_connguard_busy(struct cs_cg_conn *cc);
/* The response is sent: the next request head is due head_ns after now_ns. */
void cs_connguard_idle(struct cs_connguard *g, struct cs_cg_conn *cc, uint64_t now_ns);
/* Uncounts and frees the handle (NULL is a no-op). */
void cs_connguard_close(struct cs_connguard *g, struct cs_cg_conn *cc);
/* Shuts down every socket whose head deadline passed at now_ns; returns how many. */
size_t cs_connguard_reap(struct cs_connguard *g, uint64_t now_ns);

#endif
