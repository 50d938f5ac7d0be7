/* exporter: the signer's exports rewritten soon after a domain is added or removed over the API,
 * by one thread, at most once a second however many requests asked for it. A rewrite reads every
 * active key and writes the tables whole, so one per sign-up would make a burst of sign-ups on a
 * store of 100,000 domains cost a full rewrite each; coalesced, the burst costs one or two, and
 * the signer follows within about a second. Key changes (revoke, import, put) still rewrite them
 * before their reply (API_EXPORTS): the caller of an emergency revoke must know the signer is off
 * the key when it hears back. */
#include "api.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int dirty, stopping, running;
static pthread_t thread;

#define EXPORTER_PAUSE_MS 1000 /* between two rewrites */

static void warn_log(void *arg, const char *msg)
{
	(void)arg;
	log_msg(LOG_WARN, "exports: %s", msg);
}

static void rewrite(struct wr *w)
{
	if (!w->st) {
		w->warn = warn_log;
		if (wr_open(w, &api_conf.wr, 0)) {
			log_msg(LOG_ERR,
				"exports: cannot open the store (%s); the next dnsdctl maintain "
				"rewrites them",
				w->err);
			wr_close(w);
			*w = (struct wr){0};
			return;
		}
	}
	int changed = 0;
	wr_clear(w);
	if (export_write(w, &api_conf.exports, &changed))
		log_msg(LOG_ERR,
			"exports: not rewritten after a domain change: %s; the next dnsdctl "
			"maintain rewrites them",
			w->err);
}

static void *exporter(void *arg)
{
	(void)arg;
	struct wr w = {0};
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!dirty && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (!dirty)
			break; /* stopping with nothing pending */
		dirty = 0;
		pthread_mutex_unlock(&mu);
		rewrite(&w);
		pthread_mutex_lock(&mu);
		if (stopping)
			continue; /* a last mark is rewritten at once, without the pause */
		/* The pause that coalesces: marks made meanwhile wait for its end. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += EXPORTER_PAUSE_MS / 1000;
		while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&mu);
	wr_close(&w);
	return NULL;
}

int api_exporter_start(void)
{
	if (pthread_create(&thread, NULL, exporter, NULL))
		return -1;
	running = 1;
	return 0;
}

void api_exporter_mark(void)
{
	pthread_mutex_lock(&mu);
	dirty = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

void api_exporter_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	running = 0;
}
