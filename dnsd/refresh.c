/* refresh: the served data: the zone files, the store's changes read on the
 * refresh thread, views published and reclaimed, and the watch of the store. */
#include "server.h"
#include "answer.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "notify.h"
#include "sdnotify.h"
#include "serial.h"
#include "stats.h"
#include "xfr.h"
#include "sock.h"
#include "store.h"
#include "tsig.h"
#include "zone.h"
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* ---- data: loading, publishing, reclaiming ---- */

static void store_warn(void *ctx, const char *msg)
{
	log_msg(LOG_WARN, "%s", msg);
}

void srv_reclaim(struct server *s, int all)
{
	size_t k = 0;
	for (size_t i = 0; i < s->npend; i++) {
		struct pending *p = &s->pend[i];
		if (all || !s->net ||
		    (net_passed(s->net, p->snap) && net_oldest_pin(s->net) >= p->epoch)) {
			db_garbage_free(&p->g);
			free(p->snap);
		} else {
			s->pend[k++] = *p;
		}
	}
	s->npend = k;
}

/* Publishes the edit's view; what it replaced is freed once every worker moved on. */
/* The figures of a view now served, and the lag of the change that made it. */
static void served_stats(struct server *s, const struct db_view *nv)
{
	if (s->view && nv->set.serial != s->view->set.serial && s->noticed)
		stats_lag(&s->stats, (double)(uv_hrtime() - s->noticed) / 1e9);
	s->noticed = 0;
	if (!s->view || nv->set.serial != s->view->set.serial)
		__atomic_store_n(&s->stats.serial_since, (int64_t)time(NULL), __ATOMIC_RELAXED);
	__atomic_store_n(&s->stats.serial, (uint64_t)nv->set.serial, __ATOMIC_RELAXED);
	__atomic_store_n(&s->stats.domains, (uint64_t)nv->ndomains, __ATOMIC_RELAXED);
}

static int publish(struct server *s, struct db_edit *e)
{
	struct db_garbage g = { 0 };
	struct db_view *nv = db_edit_commit(e, s->view, &g);
	if (!nv) {
		log_msg(LOG_ERR, "out of memory building the new view; still serving serial %u",
			s->view ? s->view->set.serial : 0);
		return DNSD_ENOMEM;
	}
	nv->epoch = ++s->epoch;
	__atomic_store_n(&s->sh.view, nv, __ATOMIC_RELEASE);
	served_stats(s, nv);
	/* The change is served first; its step of the IXFR history follows (a policy
	 * every domain inherits makes it as long as the zone), before the NOTIFY that
	 * tells the secondaries. The old view stays whole meanwhile: what it lost is
	 * only freed below, after a grace period. */
	if (xfr_hist_note(s->hist, s->view, nv, (int64_t)(uv_now(&s->loop) / 1000)))
		log_msg(LOG_WARN, "out of memory recording the change for IXFR: secondaries get "
				  "the whole zone next time");
	s->view = nv;
	if (s->npend == s->cappend) {
		size_t nc = s->cappend ? s->cappend * 2 : 8;
		struct pending *np = realloc(s->pend, nc * sizeof(*np));
		if (!np) {
			/* Cannot track it: keep it forever rather than free it early. */
			free(g.ptrs);
			return 0;
		}
		s->pend = np;
		s->cappend = nc;
	}
	struct pending *p = &s->pend[s->npend];
	p->g = g;
	p->epoch = nv->epoch;
	p->snap = calloc(s->net ? (size_t)net_workers(s->net) : 1, sizeof(uint64_t));
	if (!p->snap) {
		free(g.ptrs);
		return 0;
	}
	if (s->net) {
		net_snapshot(s->net, p->snap);
		net_wake(s->net);
	}
	s->npend++;
	srv_reclaim(s, 0);
	return 0;
}

/* Remembers which file the open store is. */
void srv_store_file_note(struct server *s)
{
	struct stat st;
	if (stat(s->cfg.db, &st) == 0) {
		s->store_dev = st.st_dev;
		s->store_ino = st.st_ino;
		s->store_size = st.st_size;
		s->store_mtime = st.st_mtim;
	}
}

/* The store file may be deleted, or replaced (restored from a backup): SQLite
 * would go on reading the old, unlinked file. Says so once; opens the new file
 * when one is there. Returns 0 when the open store is the file at the path. */
static int store_file_check(struct server *s)
{
	struct stat st;
	char err[512];
	if (stat(s->cfg.db, &st) != 0) {
		if (!s->store_gone)
			log_msg(LOG_ERR, "the store %s is gone (%s); still serving serial %u from memory",
				s->cfg.db, strerror(errno), s->view ? s->view->set.serial : 0);
		s->store_gone = 1;
		return -1;
	}
	if (st.st_dev == s->store_dev && st.st_ino == s->store_ino) {
		/* Written behind SQLite's back (a checkpoint, or an overwrite)? Drop the
		 * cached pages so the next read sees the file as it is. The file is never
		 * opened here: closing any descriptor of it would drop SQLite's POSIX locks
		 * for the whole process. */
		if (st.st_size != s->store_size || st.st_mtim.tv_sec != s->store_mtime.tv_sec ||
		    st.st_mtim.tv_nsec != s->store_mtime.tv_nsec) {
			sqlite3_db_release_memory(store_db(s->st));
			s->store_size = st.st_size;
			s->store_mtime = st.st_mtim;
			s->store_touched = 1;
		}
		return 0;
	}
	struct store *n;
	if (store_open(s->cfg.db, STORE_READONLY, &n, err, sizeof(err))) {
		if (!s->store_gone && !s->store_bad)
			log_msg(LOG_ERR, "cannot open the new store file: %s; still serving serial %u from memory",
				err, s->view ? s->view->set.serial : 0);
		s->store_bad = 1;
		return -1;
	}
	char *zone = store_setting(n, "zone");
	if (!zone || strcmp(zone, s->store_zone)) {
		if (!s->store_bad)
			log_msg(LOG_ERR, "the store file %s now serves zone %s, not %s: not used", s->cfg.db,
				zone ? zone : "(none)", s->store_zone);
		free(zone);
		store_close(n);
		s->store_bad = 1;
		return -1;
	}
	free(zone);
	sqlite3_busy_timeout(store_db(n), 100);
	/* A store restored from an older copy does not take the serial back: the
	 * served serial stays above the last one served (serial_served). */
	store_close(s->st);
	s->st = n;
	s->store_dev = st.st_dev;
	s->store_ino = st.st_ino;
	s->store_size = st.st_size;
	s->store_mtime = st.st_mtim;
	s->reload_full = 1;
	log_msg(LOG_INFO, "%s %s: loading it in full", s->store_gone ? "the store is back at" : "a new store file at",
		s->cfg.db);
	s->store_gone = 0;
	s->store_bad = 0;
	return 0;
}

/* Reads what changed in the store and publishes it. force: build a new view even
 * if nothing did (new zones). */
/* The part of a refresh that may block in SQLite (a store locked against readers
 * can hold a read for ten seconds): it runs on libuv's thread pool, so that the
 * control loop stays free for signals. *out gets the edit to publish, or NULL
 * when nothing changed. */
static int refresh_read(struct server *s, int force, struct db_edit **out, int *full)
{
	struct store_changes ch;
	char err[512];
	*out = NULL;
	*full = 0;
	if (store_file_check(s))
		return DNSD_ESTORE;
	int touched = s->store_touched;
	s->store_touched = 0;
	int changed = store_changed(s->st);
	if (changed < 0) {
		if (!s->store_bad)
			log_msg(LOG_ERR, "reading the store %s: %s; still serving serial %u from memory",
				s->cfg.db, sqlite3_errmsg(store_db(s->st)), s->view ? s->view->set.serial : 0);
		s->store_bad = 1;
		return DNSD_ESTORE;
	}
	if (!force && !s->reload_full && !touched && s->view && !changed)
		return 0;
	struct db_edit *e = db_edit_begin(s->view, s->zones, s->nzones, s->dyn);
	if (!e)
		return DNSD_ENOMEM;
	s->read_started = uv_hrtime();
	uint64_t seq = s->view && !s->reload_full ? s->view->seq : 0;
	int rc = store_read_changes(s->st, seq, e, &ch, store_warn, s, err, sizeof(err));
	s->read_done = uv_hrtime();
	if (rc) {
		db_edit_abort(e);
		if (!s->store_bad)
			log_msg(LOG_ERR, "%s; still serving serial %u from memory", err,
				s->view ? s->view->set.serial : 0);
		s->store_bad = 1;
		return rc;
	}
	if (s->dyn)
		ch.set.serial = serial_served(&s->serial, ch.set.serial, ch.have_zone_digest ? ch.zone_digest : NULL,
					      s->dyn->digest, s->dyn->file_serial);
	if (ch.seq != seq || ch.full)
		db_edit_settings(e, &ch.set, ch.seq);
	if (s->store_bad)
		log_msg(LOG_INFO, "the store is readable again");
	s->store_bad = 0;
	s->reload_full = 0;
	if (ch.seq == seq && !ch.full) {
		if (!force && s->view && ch.set.serial == s->view->set.serial) {
			db_edit_abort(e);
			return 0;
		}
		db_edit_settings(e, &ch.set, seq);
	}
	*out = e;
	*full = ch.full;
	return 0;
}

/* Writes dnsd's own state when it changed; a failure is said once and retried
 * at the next change (the serial served is right meanwhile, only a restart would
 * forget how far it moved). */
static void serial_save(struct server *s)
{
	char err[512];
	if (!s->cfg.state_dir || !s->serial.dirty)
		return;
	if (serial_state_save(s->cfg.state_dir, &s->serial, err, sizeof(err))) {
		if (!s->state_bad)
			log_msg(LOG_WARN, "%s; the served serial stays right until a restart", err);
		s->state_bad = 1;
		return;
	}
	s->state_bad = 0;
}


static int refresh_publish(struct server *s, struct db_edit *e, int full)
{
	uint64_t seq0 = s->view ? s->view->seq : 0, t_pub = uv_hrtime();
	int rc = publish(s, e);
	if (!rc)
		serial_save(s);
	if (!rc)
		srv_notify_serials(s);
	if (!rc)
		log_msg(LOG_DEBUG,
			"serving serial %u (journal %llu: %llu rows applied in %.1f ms: %.1f reading the store, "
			"%.1f waiting for the loop, %.1f publishing; %zu domains%s)",
			s->view->set.serial, (unsigned long long)s->view->seq,
			(unsigned long long)(s->view->seq - seq0), (uv_hrtime() - s->read_started) / 1e6,
			(s->read_done - s->read_started) / 1e6, (t_pub - s->read_done) / 1e6,
			(uv_hrtime() - t_pub) / 1e6, s->view->ndomains, full ? ", full load" : "");
	return rc;
}

/* Reads what changed in the store and publishes it, here and now (start-up and
 * reloads, when no background refresh is running). force: build a new view even
 * if nothing changed (new zones). */
int srv_refresh(struct server *s, int force)
{
	struct db_edit *e;
	int full;
	int rc = refresh_read(s, force, &e, &full);
	if (rc || !e)
		return rc;
	return refresh_publish(s, e, full);
}

/* Loads every zone file; on any error nothing changes. */
int srv_load_zones(struct server *s)
{
	struct db_zone **zs = calloc(s->cfg.nzones, sizeof(*zs));
	struct db_zone *dyn = NULL;
	char err[512];
	if (!zs)
		return DNSD_ENOMEM;
	for (size_t i = 0; i < s->cfg.nzones; i++) {
		int rc = zone_load(s->cfg.zones[i], s->store_zone, s->store_zone, &zs[i], err, sizeof(err));
		for (size_t j = 0; !rc && j < i; j++)
			if (zs[j]->apex_len == zs[i]->apex_len &&
			    !memcmp(zs[j]->apex, zs[i]->apex, zs[i]->apex_len)) {
				snprintf(err, sizeof(err), "zone files %s and %s have the same apex",
					 zs[j]->path, zs[i]->path);
				rc = DNSD_EINVAL;
			}
		if (rc) {
			log_msg(LOG_ERR, "%s", err);
			for (size_t j = 0; j <= i; j++)
				db_zone_free(zs[j]);
			free(zs);
			return rc;
		}
	}
	uint8_t sw[WIRE_MAXNAME];
	int sl = wire_name_from_text(s->store_zone, sw);
	for (size_t i = 0; i < s->cfg.nzones; i++)
		if (sl == zs[i]->apex_len && !memcmp(sw, zs[i]->apex, (size_t)sl))
			dyn = zs[i];
	if (!dyn) {
		log_msg(LOG_ERR, "the store serves zone %s, but no --zone file has that apex", s->store_zone);
		for (size_t j = 0; j < s->cfg.nzones; j++)
			db_zone_free(zs[j]);
		free(zs);
		return DNSD_EINVAL;
	}
	struct db_zone **old = s->zones;
	size_t nold = s->nzones;
	s->zones = zs;
	s->nzones = s->cfg.nzones;
	s->dyn = dyn;
	if (s->view || old) {
		int rc = srv_refresh(s, 1);
		if (rc) {
			/* Keep serving the old zones. */
			s->zones = old;
			s->nzones = nold;
			for (size_t j = 0; j < s->cfg.nzones; j++)
				db_zone_free(zs[j]);
			free(zs);
			for (size_t j = 0; j < nold; j++)
				if (old[j]->apex_len == sl && !memcmp(old[j]->apex, sw, (size_t)sl))
					s->dyn = old[j];
			return rc;
		}
		/* The old zones are freed once no worker can still be reading them. */
		if (s->net) {
			/* Wait for the workers to move on, then free (a reload is rare). */
			uint64_t *snap = calloc((size_t)net_workers(s->net), sizeof(uint64_t));
			if (snap) {
				net_snapshot(s->net, snap);
				net_wake(s->net);
				while (!net_passed(s->net, snap)) {
					net_wake(s->net);
					usleep(1000);
				}
				free(snap);
			}
		}
		for (size_t j = 0; j < nold; j++)
			db_zone_free(old[j]);
		free(old);
	}
	return 0;
}

/* The background refresh runs on a thread of its own. Reading the store
 * competes with the workers for the CPU, and the answers come first: the thread
 * runs at the lowest priority, and a change uses the time the answers leave
 * (measured: make bench, the live change test). It says it is done by writing an
 * eventfd that the loop watches. (libuv's thread pool says it with
 * uv_async_send, whose receiver spins until the sender has finished sending: a
 * sender at the lowest priority, preempted by the loop it woke, kept the loop
 * spinning on the workers' CPU.) */
static void *refresh_main(void *arg)
{
	struct server *s = arg;
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	pthread_setname_np(pthread_self(), "dnsd-refresh");
	for (;;) {
		uint64_t v;
		ssize_t r = read(s->kick_fd, &v, sizeof(v));
		if (r < 0 && errno == EINTR)
			continue;
		if (__atomic_load_n(&s->rquit, __ATOMIC_ACQUIRE) || r < 0)
			break;
		if (refresh_read(s, 0, &s->work_edit, &s->work_full))
			__atomic_fetch_add(&s->stats.refresh_failures, 1, __ATOMIC_RELAXED);
		v = 1;
		while (write(s->done_fd, &v, sizeof(v)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

static void kick(struct server *s);
static void kick_soon(struct server *s);

static void refresh_done(uv_poll_t *h, int status, int events)
{
	struct server *s = h->data;
	uint64_t v;
	if (read(s->done_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return; /* not ours yet (EAGAIN) */
	s->refreshing = 0;
	if (s->work_edit)
		refresh_publish(s, s->work_edit, s->work_full);
	else if (uv_now(&s->loop) > s->fast_until)
		s->noticed = 0; /* what was noticed changed nothing served */
	s->work_edit = NULL;
	uv_update_time(&s->loop);
	s->last_done = uv_now(&s->loop);
	srv_reclaim(s, 0);
	if (s->hup_pending) {
		s->hup_pending = 0;
		srv_reload_zones(s);
	}
	if (s->again) {
		s->again = 0;
		kick_soon(s);
	}
}

/* Looks for store changes now, in the background; if a look is running
 * already, one more follows it. */
static void kick(struct server *s)
{
	srv_reclaim(s, 0);
	if (s->refreshing) {
		s->again = 1;
		return;
	}
	s->again = 0;
	s->refreshing = 1;
	uint64_t v = 1;
	if (write(s->kick_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		s->refreshing = 0;
}

/* Starts the refresh thread (signals stay with the loop). Returns 0 or -1. */
int srv_refresh_thread_start(struct server *s)
{
	s->kick_fd = eventfd(0, EFD_CLOEXEC);
	s->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->kick_fd < 0 || s->done_fd < 0 || uv_poll_init(&s->loop, &s->done_poll, s->done_fd))
		return -1;
	s->done_poll.data = s;
	uv_poll_start(&s->done_poll, UV_READABLE, refresh_done);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->rthread, NULL, refresh_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -1;
	s->rthread_up = 1;
	return 0;
}

/* A writer's transaction writes the -wal file many times before its commit
 * (each spilled page is an event): looking after every event kept the refresh
 * thread reading nothing, back to back, for as long as the write lasted, on the
 * CPU the answers need. So file events start at most one look every SETTLE_MS. */
#define SETTLE_MS 2

static void on_settle(uv_timer_t *t)
{
	kick(t->data);
}

static void kick_soon(struct server *s)
{
	if (s->refreshing) {
		s->again = 1;
		return;
	}
	if (uv_is_active((uv_handle_t *)&s->settle))
		return;
	uint64_t now = uv_now(&s->loop);
	if (now >= s->last_done + SETTLE_MS)
		kick(s);
	else
		uv_timer_start(&s->settle, on_settle, s->last_done + SETTLE_MS - now, 0);
}

void srv_on_poll(uv_timer_t *t)
{
	struct server *s = t->data;
	if (!s->noticed)
		s->noticed = uv_hrtime();
	kick(s);
}

static void on_fast(uv_timer_t *t)
{
	struct server *s = t->data;
	if (uv_now(&s->loop) > s->fast_until)
		uv_timer_stop(t);
	else
		kick(s);
}

/* The store's files are watched with inotify, each for writes (a commit
 * writes the -wal file, a checkpoint or a copy over it the store), and the
 * directory only for names appearing or going (the -wal file made anew, a
 * store restored by a rename): other files in that directory, such as a log
 * written line by line, never wake dnsd. (A watch of the whole directory woke
 * it on every write of any file there: 17 % of its CPU at 30,000 qps with a
 * busy log beside the store, make bench's fixed load.) The poll stays, for
 * file systems that do not report changes. */
static void watch_file(struct server *s, int i)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", s->store_dir, i ? s->store_wal : s->store_base);
	int wd = inotify_add_watch(s->ino_fd, path, IN_MODIFY);
	if (s->wd_file[i] >= 0 && s->wd_file[i] != wd && s->wd_file[i] != s->wd_file[!i])
		inotify_rm_watch(s->ino_fd, s->wd_file[i]); /* the file there before */
	s->wd_file[i] = wd; /* -1 while there is no such file */
}

static void on_store_event(uv_poll_t *h, int status, int events)
{
	struct server *s = h->data;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;
	ssize_t n;
	if (status < 0 || !(events & UV_READABLE))
		return;
	while ((n = read(s->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				watch_file(s, 0);
				watch_file(s, 1);
				hit = 1;
			} else if (ev->wd == s->wd_dir) {
				int i = !ev->len ? -1 : !strcmp(ev->name, s->store_base) ? 0 : !strcmp(ev->name, s->store_wal) ? 1 : -1;
				if (i >= 0) {
					watch_file(s, i);
					hit = 1;
				}
			} else if (ev->wd == s->wd_file[0] || ev->wd == s->wd_file[1]) {
				if (ev->mask & IN_IGNORED) /* its file is gone */
					s->wd_file[ev->wd == s->wd_file[1]] = -1;
				else
					hit = 1;
			}
		}
	}
	if (!hit)
		return;
	if (!s->noticed)
		s->noticed = uv_hrtime();
	/* The event comes when the writer writes its pages, which may be before
	 * its commit is visible (the WAL index is shared memory, which reports
	 * nothing): look now, then every 10 ms for 150 ms. */
	kick_soon(s);
	s->fast_until = uv_now(&s->loop) + 150;
	if (!uv_is_active((uv_handle_t *)&s->fast))
		uv_timer_start(&s->fast, on_fast, 10, 10);
}

/* Starts the watch of the store's files; says so when it cannot. */
void srv_watch_start(struct server *s)
{
	char *abs = realpath(s->cfg.db, NULL), *base = abs ? strrchr(abs, '/') : NULL;
	s->ino_fd = s->wd_dir = s->wd_file[0] = s->wd_file[1] = -1;
	if (!base || strlen(base + 1) + 4 >= sizeof(s->store_base)) {
		free(abs);
		return;
	}
	snprintf(s->store_base, sizeof(s->store_base), "%s", base + 1);
	snprintf(s->store_wal, sizeof(s->store_wal), "%s-wal", base + 1);
	*base = 0;
	s->store_dir = abs;
	if ((s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    (s->wd_dir = inotify_add_watch(s->ino_fd, *abs ? abs : "/",
					   IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)) < 0 ||
	    uv_poll_init(&s->loop, &s->watch, s->ino_fd)) {
		log_msg(LOG_INFO, "cannot watch %s for changes (%s): polling every %u ms only", *abs ? abs : "/",
			strerror(errno), s->cfg.poll_ms);
		if (s->ino_fd >= 0)
			close(s->ino_fd);
		s->ino_fd = -1;
		return;
	}
	watch_file(s, 0);
	watch_file(s, 1);
	s->watch.data = s;
	uv_timer_init(&s->loop, &s->fast);
	s->fast.data = s;
	uv_poll_start(&s->watch, UV_READABLE, on_store_event);
}

/* Tells the secondaries (--notify) the serial of every zone served; the
 * notifier sends only what changed. Called after every publish (store changes,
 * zone files reloaded) and once at start. */
void srv_notify_serials(struct server *s)
{
	if (!s->notifier || !s->view)
		return;
	for (size_t i = 0; i < s->nzones; i++) {
		const struct db_zone *z = s->zones[i];
		const struct db_rrset *soa = z == s->dyn ? s->view->dyn_soa : z->soa;
		uint32_t serial = z == s->dyn ? s->view->set.serial : z->file_serial;
		if (soa && soa->len >= 10)
			notify_zone(s->notifier, z->apex, z->apex_len, serial, soa->data + 10,
				    wire_get16(soa->data + 8), wire_get32(soa->data + 4));
		else
			notify_zone(s->notifier, z->apex, z->apex_len, serial, NULL, 0, 0);
	}
}

void srv_reload_zones(struct server *s)
{
	log_msg(LOG_INFO, "SIGHUP: reloading zone files");
	if (srv_load_zones(s) == 0)
		log_msg(LOG_INFO, "zone files reloaded; serving serial %u", s->view->set.serial);
	else {
		__atomic_fetch_add(&s->stats.reload_failures, 1, __ATOMIC_RELAXED);
		log_msg(LOG_ERR, "zone reload refused; still serving the previous zone data");
	}
}

