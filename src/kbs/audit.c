/* Group commit of audit events into the store's hash-chained log (see audit.h). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "kbs/audit.h"
#include "store/store.h"

#define WAIT_GIVE_UP 20 /* failed commits in a row, ~2 s of retries */

/* Appends the batch as one record. */
static enum cs_err
commit(struct cs_kbs_audit *a, json_t *batch)
{
	json_t *ev, *body;
	enum cs_err err;

	if (json_array_size(batch) == 1) {
		ev = json_array_get(batch, 0);
		return cs_store_audit_append(a->store,
		                             json_integer_value(json_object_get(ev, "time")),
		                             json_string_value(json_object_get(ev, "kind")),
		                             json_object_get(ev, "body"), NULL);
	}
	body = json_pack("{s:O}", "events", batch);
	if (body == NULL)
		return CS_ERR_NOMEM;
	ev = json_array_get(batch, json_array_size(batch) - 1);
	err = cs_store_audit_append(a->store, json_integer_value(json_object_get(ev, "time")),
	                            "batch", body, NULL);
	json_decref(body);
	return err;
}

/* Lets a burst gather (audit.h), unless stopping, someone waits, or the batch is full. */
static void
linger(struct cs_kbs_audit *a)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += CS_AUDIT_LINGER_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!a->stop && a->waiters == 0 && a->failing == 0 &&
	       json_array_size(a->queue) < CS_AUDIT_BATCH)
		if (pthread_cond_timedwait(&a->work, &a->mu, &until) == ETIMEDOUT)
			break;
}

static void *
writer(void *arg)
{
	struct cs_kbs_audit *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		json_t *batch = NULL, *fresh;
		uint64_t upto;
		enum cs_err err;

		a->idle = true;
		while (json_array_size(a->queue) == 0 && !a->stop)
			pthread_cond_wait(&a->work, &a->mu);
		a->idle = false;
		if (json_array_size(a->queue) == 0 && a->stop)
			break;
		linger(a);
		/* Without a fresh queue the batch stays where it is (retried below, never lost). */
		if ((fresh = json_array()) != NULL) {
			batch = a->queue;
			a->queue = fresh;
		}
		upto = a->queued;
		pthread_mutex_unlock(&a->mu);

		err = batch != NULL ? commit(a, batch) : CS_ERR_NOMEM;

		pthread_mutex_lock(&a->mu);
		if (err == CS_OK) {
			a->committed = upto;
			a->failing = 0;
			atomic_fetch_add(&a->records, 1);
			json_decref(batch);
		} else {
			/* Put the events back in front of newer ones, then retry shortly. */
			atomic_fetch_add(&a->failures, 1);
			a->failing++;
			if (batch != NULL && json_array_extend(batch, a->queue) == 0) {
				json_decref(a->queue);
				a->queue = batch;
			} else if (batch != NULL) {
				/* No memory to put them in front: behind the newer ones, then. */
				if (json_array_extend(a->queue, batch) != 0)
					atomic_fetch_add(&a->failures, 1);
				json_decref(batch);
			}
			struct timespec ts = {0, 100 * 1000 * 1000};
			pthread_mutex_unlock(&a->mu);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&a->mu);
		}
		pthread_cond_broadcast(&a->done);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

enum cs_err
cs_audit_start(struct cs_kbs_audit *a, struct cs_store *store)
{
	memset(a, 0, sizeof(*a));
	a->store = store;
	a->queue = json_array();
	ENSURE(a->queue != NULL, CS_ERR_NOMEM);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->done, NULL);
	if (pthread_create(&a->th, NULL, writer, a) != 0) {
		json_decref(a->queue);
		a->queue = NULL;
		return CS_ERR_NOMEM;
	}
	a->running = true;
	return CS_OK;
}

void
cs_audit_stop(struct cs_kbs_audit *a)
{
	if (!a->running)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->mu);
	json_decref(a->queue);
	a->queue = NULL;
	a->running = false;
}

enum cs_err
cs_audit_log(struct cs_kbs_audit *a, int64_t t, const char *kind, json_t *body, bool wait)
{
	uint64_t ticket;
	enum cs_err err;
	json_t *ev;

	if (body == NULL)
		return CS_ERR_NOMEM;
	if (!a->running) { /* never started, or stopped: the lock is gone too */
		json_decref(body);
		return CS_ERR_STATE;
	}
	ev = json_pack("{s:s,s:I,s:o}", "kind", kind, "time", (json_int_t)t, "body", body);
	if (ev == NULL)
		return CS_ERR_NOMEM;
	pthread_mutex_lock(&a->mu);
	while (json_array_size(a->queue) >= CS_AUDIT_QUEUE_MAX && !a->stop &&
	       a->failing < WAIT_GIVE_UP)
		pthread_cond_wait(&a->done, &a->mu);
	if (a->stop || json_array_size(a->queue) >= CS_AUDIT_QUEUE_MAX) {
		/* Stopped, or the queue is full behind a store that keeps failing: the caller
		 * learns that its event cannot be recorded (a release is then refused). */
		err = a->stop ? CS_ERR_STATE : CS_ERR_STORE;
		pthread_mutex_unlock(&a->mu);
		json_decref(ev);
		return err;
	}
	if (json_array_append_new(a->queue, ev) != 0) {
		pthread_mutex_unlock(&a->mu);
		return CS_ERR_NOMEM;
	}
	ticket = ++a->queued;
	/* The writer is woken when idle, when someone waits, or when a batch is full; otherwise it
	 * is gathering (linger) or committing and takes this event with the next batch. */
	if (a->idle || wait || json_array_size(a->queue) >= CS_AUDIT_BATCH)
		pthread_cond_signal(&a->work);
	if (wait)
		a->waiters++;
	/* A waiter gives up (its event stays queued and is still retried) once the store has
	 * refused WAIT_GIVE_UP commits in a row, so that a broken store fails requests instead of
	 * hanging them. */
	while (wait && a->committed < ticket && a->failing < WAIT_GIVE_UP)
		pthread_cond_wait(&a->done, &a->mu);
	err = wait && a->committed < ticket ? CS_ERR_STORE : CS_OK;
	if (wait)
		a->waiters--;
	pthread_mutex_unlock(&a->mu);
	return err;
}
