/*
 * Group commit for the broker's audit records. Every attestation and every release (allowed or
 * denied) is recorded in the store's hash-chained audit log; one durable commit per request
 * (an fsync, ~4 ms on a VM) would cap a broker core at ~250 requests/s. Instead requests queue
 * their events and one writer thread appends everything queued as ONE audit record per commit:
 * a single event as itself ({kind, body}), several as kind "batch" with body
 * {"events": [{"kind", "time", "body"}, ...]} in arrival order.
 *
 * wait=true returns only after the event is durably committed (admin writes always; releases
 * and attestations when the configuration asks, "audit_sync": true). wait=false returns at
 * once: the record follows within CS_AUDIT_LINGER_MS and one commit (the writer lets a burst
 * gather for that long, or until CS_AUDIT_BATCH events, so that a busy broker pays one fsync per
 * batch rather than one per few requests; a waiter ends the wait at once); a crash in that window
 * (a few milliseconds) loses the records of that window, nothing else. The queue is bounded: when
 * it is full, callers block until the writer catches up, so no event is ever dropped while the
 * process lives. A failed commit is retried (events keep their order); the failure count is exposed
 * for the metrics. When the store has refused 20 commits in a row (~2 s), waiters and callers
 * facing a full queue get CS_ERR_STORE instead of blocking: the broker then refuses the release or
 * admin write.
 */
#ifndef CS_KBS_AUDIT_H
#define CS_KBS_AUDIT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct cs_store;

#define CS_AUDIT_QUEUE_MAX 4096
#define CS_AUDIT_LINGER_MS 5
#define CS_AUDIT_BATCH 256

struct cs_kbs_audit {
	struct cs_store *store; /* borrowed */
	pthread_mutex_t mu;
	pthread_cond_t work; /* the writer waits for events */
	pthread_cond_t done; /* callers wait for commits or room */
	json_t *queue;       /* owned array of {"kind","time","body"} */
	uint64_t queued;     /* events ever queued; an event's ticket is its number */
	uint64_t committed;  /* events durably committed */
	bool stop;
	bool running;
	bool idle;        /* the writer waits for work: the next event wakes it */
	unsigned waiters; /* callers waiting for their commit: the writer does not linger */
	pthread_t th;
	atomic_ulong failures; /* failed commits (retried) */
	unsigned failing;      /* consecutive failed commits, under mu */
	atomic_ulong records;  /* audit records written */
};

CS_MUST_USE enum cs_err cs_audit_start(struct cs_kbs_audit *a, struct cs_store *store);

/* Commits everything queued, then stops the writer. Safe on a never-started audit. */
void cs_audit_stop(struct cs_kbs_audit *a);

/* Queues an event (takes body, a JSON object; NULL is CS_ERR_NOMEM) at time t. */
CS_MUST_USE enum cs_err cs_audit_log(struct cs_kbs_audit *a, int64_t t, const char *kind,
                                     json_t *body, bool wait);

#endif
