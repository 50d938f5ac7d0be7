/* main: dnsd's options, start-up, the control loop (store polling, reloads,
 * reclaiming old views) and shutdown. The answering happens in net's workers. */
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

#define DNSD_VERSION "0.1.0"
struct pending {
	struct db_garbage g;
	uint64_t *snap;
	uint64_t epoch; /* the view that replaced these parts: a transfer reading an
			 * older one still needs them */
};

struct server {
	struct config cfg;
	struct db_zone **zones;
	size_t nzones;
	struct db_zone *dyn;
	char *store_zone;
	struct store *st;
	struct db_view *view;
	uint64_t epoch;          /* of the last view published */
	struct xfr_hist *hist;   /* the hosted zone's differences, for IXFR */
	struct net *net;
	struct net_shared sh;
	struct pending *pend;
	size_t npend, cappend;
	int store_bad;           /* the store failed; said once, until it recovers */
	int store_gone;          /* the store file is missing; said once */
	struct serial_state serial; /* how the served serial derives from the store's */
	int state_bad;           /* the state file could not be written; said once */
	int reload_full;         /* the next read loads everything (a new store file) */
	int store_touched;       /* the file changed: read even if SQLite saw no commit */
	dev_t store_dev;         /* the file the open store is */
	ino_t store_ino;
	struct timespec store_mtime; /* and how it looked at the last poll */
	off_t store_size;
	uint8_t nsid[256];
	uv_loop_t loop;
	uv_timer_t poll;
	uv_signal_t sigterm, sigint, sighup;
	pthread_t rthread;       /* the background refresh */
	int rthread_up;
	int kick_fd, done_fd;    /* eventfds: the loop asks it to read, it says it is done */
	uv_poll_t done_poll;
	int rquit;               /* atomic: the refresh thread ends */
	int refreshing;          /* it is running: the store and the view are its */
	int hup_pending;         /* a SIGHUP came meanwhile */
	int again;               /* the store changed while a refresh ran */
	uint64_t read_started;   /* when the running refresh began reading (ns) */
	uint64_t read_done;      /* and when it had read the store */
	struct db_edit *work_edit;
	int work_full;
	uv_poll_t watch;         /* inotify: a commit wakes us at once */
	int ino_fd;              /* -1: not watching (polling only) */
	int wd_dir, wd_file[2];  /* the store's directory; the store and its -wal (or -1) */
	char *store_dir;
	uv_timer_t fast;         /* after a file event: look every 10 ms for a while */
	uint64_t fast_until;
	uv_timer_t settle;       /* file events: at most one look every SETTLE_MS */
	uint64_t last_done;      /* when the last look ended (uv_now) */
	uint64_t noticed;        /* uv_hrtime when a change was first noticed (0: none pending) */
	struct stats_ctl stats;  /* the control thread's figures (stats.h) */
	struct metrics *metrics; /* --metrics, when on */
	char store_base[256];    /* the store's file name, and with -wal */
	char store_wal[260];
	struct tsig_keys *keys;  /* --tsig-keys as last loaded (also in sh.tsig) */
	struct tsig_keys **old_keys; /* sets replaced on SIGHUP: a transfer may still use one */
	size_t nold_keys;
	struct notify *notifier; /* --notify, or NULL */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dnsd --db DB --zone FILE [--zone FILE...] [--listen ADDR:PORT...] [options]\n"
		"\n"
		"Authoritative DNS for hosted email-authentication records (DKIM, SPF, bounce MX,\n"
		"DMARC), answered from the SQLite tenant store that dnsdctl manages.\n"
		"\n"
		"  --db PATH            the store (created by 'dnsdctl init')\n"
		"  --zone FILE          a zone file; one of them must be the store's zone (repeatable)\n"
		"  --listen ADDR:PORT   UDP and TCP address, e.g. 127.0.0.1:53 or [::1]:53; port 0\n"
		"                       picks one (repeatable; default 127.0.0.1:53)\n"
		"  --threads N          worker threads, one event loop each (default: CPUs)\n"
		"  --max-udp BYTES      largest UDP answer with EDNS (default 1232, 512..4096)\n"
		"  --tcp-idle MS        close idle TCP connections after MS (default 10000)\n"
		"  --tcp-query-timeout MS  close a TCP connection that takes longer than MS\n"
		"                       to send one whole query (default 5000)\n"
		"  --tcp-max-conns N    TCP connections in all (default 1000)\n"
		"  --tcp-max-per-client N  TCP connections from one address (default 64)\n"
		"  --tcp-max-unsent BYTES  stop reading a TCP connection whose answers wait\n"
		"                       unsent past BYTES, until they drain (default 65536)\n"
		"  --tcp-max-unsent-total BYTES  the same for all connections together, shared\n"
		"                       out over the workers (default 16777216)\n"
		"  --rrl-rate N         response rate limit: UDP responses per second per source\n"
		"                       prefix (/24, /56) and response; 0 turns it off (default 100)\n"
		"  --rrl-slip N         every Nth limited response is sent truncated, so real\n"
		"                       resolvers retry over TCP; 0 never (default 2)\n"
		"  --identity TEXT      answer id.server and hostname.bind (CHAOS TXT) with TEXT;\n"
		"                       without it they are REFUSED\n"
		"  --version-string TEXT  answer version.bind and version.server; default REFUSED\n"
		"  --nsid TEXT|0xHEX    send this NSID (RFC 5001) to queries that ask for it\n"
		"  --user NAME          drop to this user (and its group) after binding sockets;\n"
		"                       it needs to read the store, never to write it\n"
		"  --state-dir DIR      dnsd's own state (the serial it last served): a directory\n"
		"                       only dnsd writes, never the store's (default: none, kept\n"
		"                       in memory)\n"
		"  --tsig-keys FILE     TSIG keys (RFC 8945), one 'NAME ALGORITHM BASE64' a line;\n"
		"                       readable by dnsd only; read again on SIGHUP\n"
		"  --allow-transfer 'ADDR[/LEN] [key NAME]'  who may AXFR/IXFR the zones, and\n"
		"                       with which TSIG key (repeatable; default: nobody)\n"
		"  --notify 'ADDR[:PORT] [key NAME]'  send NOTIFY to this secondary when a\n"
		"                       zone's serial changes, signed with key NAME (repeatable)\n"
		"  --xfr-max N          concurrent outgoing zone transfers (default 16)\n"
		"  --ixfr-max-age SECONDS  keep IXFR history this long (default 604800)\n"
		"  --ixfr-max-bytes BYTES  and at most this much of it; 0: AXFR only\n"
		"                       (default 67108864)\n"
		"  --poll MS            how often to look for store changes (default 200)\n"
		"  --ready-file PATH    write the bound addresses there once answering\n"
		"  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                       (default: off)\n"
		"  --log-level LEVEL    error, warning, info (default) or debug\n"
		"  --log-target T       stderr (default; with journald's priorities when it is the\n"
		"                       journal) or syslog\n"
		"  --check-config       check the options, the config files and what they name\n"
		"                       (keys, store, zone files), list every error, and exit\n"
		"  --config FILE        read options from FILE: one 'option value' a line,\n"
		"                       option names without the dashes, # starts a comment\n"
		"  --version            print the version\n"
		"  --help               this text\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop after the answers in flight; SIGHUP reloads zone files\n"
		"and the TSIG keys.\n");
}

/* ---- data: loading, publishing, reclaiming ---- */

static void store_warn(void *ctx, const char *msg)
{
	log_msg(LOG_WARN, "%s", msg);
}

static void reclaim(struct server *s, int all)
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
	reclaim(s, 0);
	return 0;
}

/* Remembers which file the open store is. */
static void store_file_note(struct server *s)
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

static void notify_serials(struct server *s);

static int refresh_publish(struct server *s, struct db_edit *e, int full)
{
	uint64_t seq0 = s->view ? s->view->seq : 0, t_pub = uv_hrtime();
	int rc = publish(s, e);
	if (!rc)
		serial_save(s);
	if (!rc)
		notify_serials(s);
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
static int refresh(struct server *s, int force)
{
	struct db_edit *e;
	int full;
	int rc = refresh_read(s, force, &e, &full);
	if (rc || !e)
		return rc;
	return refresh_publish(s, e, full);
}

/* Loads every zone file; on any error nothing changes. */
static int load_zones(struct server *s)
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
		int rc = refresh(s, 1);
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

static void reload_zones(struct server *s);
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
	reclaim(s, 0);
	if (s->hup_pending) {
		s->hup_pending = 0;
		reload_zones(s);
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
	reclaim(s, 0);
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
static int refresh_thread_start(struct server *s)
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

static void on_poll(uv_timer_t *t)
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
static void watch_start(struct server *s)
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

/* ---- zone transfers: the TSIG keys ---- */

/* Whether every key that --allow-transfer and --notify name is in ks. Says
 * which is not. */
static int keys_cover(struct server *s, const struct tsig_keys *ks)
{
	for (size_t i = 0; i < s->cfg.nallow_xfr + s->cfg.nnotify; i++) {
		int acl = i < s->cfg.nallow_xfr;
		const char *key = acl ? s->cfg.allow_xfr[i].key : s->cfg.notify[i - s->cfg.nallow_xfr].key;
		if (key && !tsig_key_find(ks, key)) {
			log_msg(LOG_ERR, "--%s names TSIG key %s, which %s%s", acl ? "allow-transfer" : "notify",
				key, s->cfg.tsig_keys ? "is not in " : "needs --tsig-keys",
				s->cfg.tsig_keys ? s->cfg.tsig_keys : "");
			return -1;
		}
	}
	return 0;
}

/* Loads --tsig-keys at start (before privileges are dropped). Returns 0, 1
 * (cannot read it) or 2 (a key named that it does not hold). */
static int keys_load(struct server *s)
{
	char err[1024];
	if (s->cfg.tsig_keys && tsig_keys_load(s->cfg.tsig_keys, &s->keys, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	if (keys_cover(s, s->keys))
		return 2;
	s->sh.tsig = s->keys;
	s->sh.acl = s->cfg.allow_xfr;
	s->sh.nacl = s->cfg.nallow_xfr;
	if (s->keys)
		log_msg(LOG_INFO, "%zu TSIG keys from %s", s->keys->n, s->cfg.tsig_keys);
	return 0;
}

/* SIGHUP: the key file again. A set that cannot be read, or lacks a key that
 * is named, leaves the old one in use; the old one is kept until exit, as a
 * transfer may be signing with it. */
static void keys_reload(struct server *s)
{
	char err[1024];
	struct tsig_keys *ks, **o;
	if (!s->cfg.tsig_keys)
		return;
	if (tsig_keys_load(s->cfg.tsig_keys, &ks, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s; still using the TSIG keys loaded before", err);
		return;
	}
	if (keys_cover(s, ks) || !(o = realloc(s->old_keys, (s->nold_keys + 1) * sizeof(*o)))) {
		log_msg(LOG_ERR, "TSIG keys of %s not used; still using those loaded before", s->cfg.tsig_keys);
		tsig_keys_free(ks);
		return;
	}
	s->old_keys = o;
	s->old_keys[s->nold_keys++] = s->keys;
	s->keys = ks;
	__atomic_store_n(&s->sh.tsig, ks, __ATOMIC_RELEASE);
	if (s->notifier)
		notify_set_keys(s->notifier, ks);
	log_msg(LOG_INFO, "SIGHUP: %zu TSIG keys from %s", ks->n, s->cfg.tsig_keys);
}

/* Tells the secondaries (--notify) the serial of every zone served; the
 * notifier sends only what changed. Called after every publish (store changes,
 * zone files reloaded) and once at start. */
static void notify_serials(struct server *s)
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

/* Starts the NOTIFY sender (after the loop exists). Returns 0 or -1. */
static int notify_start(struct server *s)
{
	char err[512];
	if (!s->cfg.nnotify)
		return 0;
	if (notify_new(&s->loop, s->cfg.notify, s->cfg.nnotify, s->keys, &s->notifier, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	notify_serials(s);
	return 0;
}

static void keys_free(struct server *s)
{
	for (size_t i = 0; i < s->nold_keys; i++)
		tsig_keys_free(s->old_keys[i]);
	free(s->old_keys);
	tsig_keys_free(s->keys);
}

static void on_stop(uv_signal_t *h, int sig)
{
	struct server *s = h->data;
	log_msg(LOG_INFO, "signal %d: stopping", sig);
	sdnotify_send("STOPPING=1");
	uv_stop(&s->loop);
}

static void reload_zones(struct server *s)
{
	log_msg(LOG_INFO, "SIGHUP: reloading zone files");
	if (load_zones(s) == 0)
		log_msg(LOG_INFO, "zone files reloaded; serving serial %u", s->view->set.serial);
	else {
		__atomic_fetch_add(&s->stats.reload_failures, 1, __ATOMIC_RELAXED);
		log_msg(LOG_ERR, "zone reload refused; still serving the previous zone data");
	}
}

static void on_hup(uv_signal_t *h, int sig)
{
	struct server *s = h->data;
	keys_reload(s);
	/* The background refresh owns the store while it runs: reload after it. */
	if (s->refreshing)
		s->hup_pending = 1;
	else
		reload_zones(s);
}

/* --nsid: text, or 0x followed by hex digits. */
static int set_nsid(struct server *s)
{
	const char *v = s->cfg.nsid;
	size_t n = 0;
	if (!strncmp(v, "0x", 2)) {
		for (v += 2; v[0] && v[1] && n < sizeof(s->nsid); v += 2) {
			unsigned b;
			if (sscanf(v, "%2x", &b) != 1)
				break;
			s->nsid[n++] = (uint8_t)b;
		}
		if (*v || !n) {
			fprintf(stderr, "dnsd: bad --nsid '%s': text, or 0x and an even number of hex digits\n",
				s->cfg.nsid);
			return -1;
		}
	} else {
		n = strlen(v) < sizeof(s->nsid) ? strlen(v) : sizeof(s->nsid);
		memcpy(s->nsid, v, n);
	}
	s->sh.acfg.nsid = s->nsid;
	s->sh.acfg.nsid_len = (uint16_t)n;
	return 0;
}

/* --user: after the sockets are bound, before any worker thread starts. */
/* --state-dir: a directory of dnsd's own, never the store's (the writers own
 * that one), and its state, which a bad file only resets. */
static int state_dir_check(struct server *s)
{
	char err[512], *dir = realpath(s->cfg.state_dir, NULL), *db = realpath(s->cfg.db, NULL);
	struct stat st;
	int rc = 0;
	if (!dir || stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		log_msg(LOG_ERR, "--state-dir %s: %s", s->cfg.state_dir, dir ? "not a directory" : strerror(errno));
		rc = -1;
	} else if (db) {
		char *slash = strrchr(db, '/');
		if (slash && (size_t)(slash - db) == strlen(dir) && !strncmp(db, dir, (size_t)(slash - db))) {
			log_msg(LOG_ERR, "--state-dir %s is the store's directory: dnsd keeps its own state apart "
					 "from what the writers own",
				s->cfg.state_dir);
			rc = -1;
		}
	}
	if (!rc && serial_state_load(s->cfg.state_dir, &s->serial, err, sizeof(err)))
		log_msg(LOG_WARN, "%s: starting afresh", err);
	free(dir);
	free(db);
	return rc;
}

/* ---- metrics ---- */

static void counter(struct metrics_buf *b, const char *name, const char *help, uint64_t v)
{
	metrics_family(b, name, "counter", help);
	metrics_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(struct metrics_buf *b, const char *name, const char *help, long long v)
{
	metrics_family(b, name, "gauge", help);
	metrics_printf(b, "%s %lld\n", name, v);
}

/* One scrape, on the metrics listener's thread: the workers' counters summed,
 * and the control thread's figures (each read atomically). */
static void render_metrics(void *arg, struct metrics_buf *b)
{
	struct server *s = arg;
	struct stats_worker w;
	static const char *const tr[] = { "udp", "tcp" };
	static const char *const rc[16] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
					    [9] = "NOTAUTH", [10] = "NOTZONE" };
	net_stats(s->net, &w);
	metrics_family(b, "dnsd_queries_total", "counter", "DNS messages received, by transport.");
	for (int i = 0; i < STATS_NTRANSPORTS; i++)
		metrics_printf(b, "dnsd_queries_total{transport=\"%s\"} %llu\n", tr[i],
			       (unsigned long long)w.queries[i]);
	metrics_family(b, "dnsd_query_types_total", "counter", "DNS messages received, by question type.");
	for (int i = 0; i < STATS_NTYPES; i++)
		metrics_printf(b, "dnsd_query_types_total{type=\"%s\"} %llu\n", stats_type_names[i],
			       (unsigned long long)w.qtype[i]);
	metrics_family(b, "dnsd_answers_total", "counter", "Responses sent, by transport (a zone transfer once).");
	for (int i = 0; i < STATS_NTRANSPORTS; i++)
		metrics_printf(b, "dnsd_answers_total{transport=\"%s\"} %llu\n", tr[i],
			       (unsigned long long)w.answers[i]);
	metrics_family(b, "dnsd_answer_rcodes_total", "counter", "Responses sent, by RCODE.");
	for (int i = 0; i < 16; i++)
		if (rc[i] || w.rcode[i]) {
			char n[8];
			snprintf(n, sizeof(n), "%d", i);
			metrics_printf(b, "dnsd_answer_rcodes_total{rcode=\"%s\"} %llu\n", rc[i] ? rc[i] : n,
				       (unsigned long long)w.rcode[i]);
		}
	counter(b, "dnsd_truncated_total", "UDP responses with TC set (RRL slips included).", w.truncated);
	counter(b, "dnsd_malformed_total", "Messages given no response or FORMERR.", w.malformed);
	metrics_family(b, "dnsd_rrl_actions_total", "counter", "Response rate limiting: responses dropped or slipped.");
	metrics_printf(b, "dnsd_rrl_actions_total{action=\"dropped\"} %llu\n", (unsigned long long)w.rrl_dropped);
	metrics_printf(b, "dnsd_rrl_actions_total{action=\"slipped\"} %llu\n", (unsigned long long)w.rrl_slipped);
	counter(b, "dnsd_udp_send_dropped_total", "UDP responses lost to a full socket buffer.", w.udp_send_dropped);
	metrics_family(b, "dnsd_tcp_connections_total", "counter", "TCP connections accepted, or refused over a limit.");
	metrics_printf(b, "dnsd_tcp_connections_total{result=\"accepted\"} %llu\n",
		       (unsigned long long)w.tcp_accepted);
	metrics_printf(b, "dnsd_tcp_connections_total{result=\"refused\"} %llu\n",
		       (unsigned long long)w.tcp_refused);
	gauge(b, "dnsd_tcp_connections_open", "TCP connections open now.", (long long)net_tcp_open(s->net));
	counter(b, "dnsd_transfers_total", "Zone transfers (AXFR, IXFR) begun.", w.xfr_started);
	struct stats_ctl *c = &s->stats;
	uint64_t serial = __atomic_load_n(&c->serial, __ATOMIC_RELAXED);
	int64_t since = __atomic_load_n(&c->serial_since, __ATOMIC_RELAXED);
	gauge(b, "dnsd_serial", "The SOA serial served.", (long long)serial);
	gauge(b, "dnsd_serial_age_seconds", "Seconds since the served serial changed.",
	      since ? (long long)(time(NULL) - since) : 0);
	gauge(b, "dnsd_domains", "Customer domains in the served view.",
	      (long long)__atomic_load_n(&c->domains, __ATOMIC_RELAXED));
	metrics_family(b, "dnsd_refresh_lag_seconds", "histogram",
		       "From noticing a store commit to serving it.");
	uint64_t cum = 0;
	for (int i = 0; i <= STATS_LAG_BUCKETS; i++) {
		cum += __atomic_load_n(&c->lag_count[i], __ATOMIC_RELAXED);
		if (i < STATS_LAG_BUCKETS)
			metrics_printf(b, "dnsd_refresh_lag_seconds_bucket{le=\"%g\"} %llu\n", stats_lag_bounds[i],
				       (unsigned long long)cum);
		else
			metrics_printf(b, "dnsd_refresh_lag_seconds_bucket{le=\"+Inf\"} %llu\n",
				       (unsigned long long)cum);
	}
	metrics_printf(b, "dnsd_refresh_lag_seconds_sum %.6f\n",
		       (double)__atomic_load_n(&c->lag_sum_us, __ATOMIC_RELAXED) / 1e6);
	metrics_printf(b, "dnsd_refresh_lag_seconds_count %llu\n", (unsigned long long)cum);
	counter(b, "dnsd_refresh_failures_total", "Looks at the store that failed (the last view stays served).",
		__atomic_load_n(&c->refresh_failures, __ATOMIC_RELAXED));
	counter(b, "dnsd_zone_reload_failures_total", "Zone file reloads refused (the old zones stay served).",
		__atomic_load_n(&c->reload_failures, __ATOMIC_RELAXED));
	struct mallinfo2 mi = mallinfo2();
	gauge(b, "dnsd_heap_bytes", "Bytes allocated on the heap (mostly the served view).",
	      (long long)(mi.uordblks + mi.hblkhd));
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%ld %ld", &pages, &rss) == 2)
		gauge(b, "process_resident_memory_bytes", "Resident memory of dnsd.", rss * sysconf(_SC_PAGESIZE));
	if (f)
		fclose(f);
}

/* --check-config: every error of the configuration, each with its file and
 * line, and of what it names (the TSIG keys, the state directory, the store,
 * each zone file), without binding a socket or starting anything. Returns the
 * exit status: 0 when dnsd would start, 1 otherwise. */
static int check_config(struct server *s)
{
	char err[512];
	unsigned bad = s->cfg.nreported;
	if (!s->cfg.db || !s->cfg.nzones) {
		log_msg(LOG_ERR, "--db and at least one --zone are needed (see dnsd --help)");
		bad++;
	}
	if (s->cfg.nlisten && sock_overlap(s->cfg.listen, s->cfg.nlisten, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		bad++;
	}
	if (keys_load(s))
		bad++;
	if (s->cfg.state_dir && s->cfg.db && state_dir_check(s))
		bad++;
	if (s->cfg.user && !getpwnam(s->cfg.user)) {
		log_msg(LOG_ERR, "--user %s: no such user", s->cfg.user);
		bad++;
	}
	if (s->cfg.db && store_open(s->cfg.db, STORE_READONLY, &s->st, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		bad++;
	} else if (s->cfg.db && !(s->store_zone = store_setting(s->st, "zone"))) {
		log_msg(LOG_ERR, "%s has no zone: run 'dnsdctl --db %s init --zone ZONE' first", s->cfg.db,
			s->cfg.db);
		bad++;
	}
	/* Each zone file on its own, so that every bad one is named. */
	int dyn = 0;
	uint8_t sw[WIRE_MAXNAME];
	int sl = s->store_zone ? wire_name_from_text(s->store_zone, sw) : -1;
	for (size_t i = 0; i < s->cfg.nzones; i++) {
		struct db_zone *z;
		const char *apex = s->store_zone ? s->store_zone : ".";
		if (zone_load(s->cfg.zones[i], apex, apex, &z, err, sizeof(err))) {
			log_msg(LOG_ERR, "%s", err);
			bad++;
			continue;
		}
		dyn |= sl == z->apex_len && !memcmp(sw, z->apex, (size_t)sl);
		db_zone_free(z);
	}
	if (s->store_zone && s->cfg.nzones && !dyn) {
		log_msg(LOG_ERR, "the store serves zone %s, but no --zone file has that apex", s->store_zone);
		bad++;
	}
	if (bad) {
		fprintf(stderr, "dnsd: %u error%s in the configuration\n", bad, bad == 1 ? "" : "s");
		return 1;
	}
	printf("dnsd: the configuration is good: zone %s from %s, %zu zone file%s, %zu listener%s\n",
	       s->store_zone, s->cfg.db, s->cfg.nzones, s->cfg.nzones == 1 ? "" : "s",
	       s->cfg.nlisten ? s->cfg.nlisten : 1, s->cfg.nlisten > 1 ? "s" : "");
	return 0;
}

/* --check-config's errors, one a line, as they are found. */
static void report_error(void *arg, const char *msg)
{
	(void)arg;
	log_msg(LOG_ERR, "%s", msg);
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_msg(LOG_ERR, "--user %s: no such user", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		log_msg(LOG_ERR, "--user %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_msg(LOG_ERR, "--user %s: privileges could be regained; stopping", user);
		return -1;
	}
	log_msg(LOG_INFO, "running as user %s (uid %u)", user, (unsigned)pw->pw_uid);
	return 0;
}

static int write_ready(struct server *s)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg.ready_file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < s->cfg.nlisten; i++)
		fprintf(f, "%s\n", s->cfg.listen[i].text);
	if (s->metrics)
		fprintf(f, "metrics %s\n", s->cfg.metrics.text);
	if (fclose(f) || rename(tmp, s->cfg.ready_file))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct server *s = &srv;
	char err[512];
	int rc;

	/* Applying a change allocates and frees a few MB (new domains and map nodes,
	 * then what they replaced). With glibc's default 128 KB trim threshold every
	 * change handed memory back to the kernel and faulted it in again the next
	 * time, and each trim's TLB flush interrupted the workers: at 70 % load, p99
	 * around a change of 1,000 keys 1.75-2.51 ms with this (median 2.2), 2.65-3.20
	 * ms without (median 2.8), and the change served after 57-123 ms (median 78)
	 * against 35-167 ms (median 124): make bench's live test, 6 and 5 runs, with
	 * the writer then on the client's CPU, which inflated both p99 figures (see
	 * docs/benchmarks.md); the difference between them is what this buys.
	 * Freeing more than this at once (a whole view, after a full reload) still
	 * returns it. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);

	config_init(&s->cfg);
	/* --check-config may come last: its report of every error starts with the first. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--check-config")) {
			s->cfg.report = report_error;
			log_open("dnsd", LOG_TO_PLAIN);
		}
	rc = config_args(&s->cfg, argc, argv, err, sizeof(err));
	if (rc == CONFIG_HELP) {
		usage(stdout);
		return 0;
	}
	if (rc == CONFIG_VERSION) {
		printf("dnsd %s\n", DNSD_VERSION);
		return 0;
	}
	if (s->cfg.check) {
		if (rc == DNSD_ENOMEM)
			log_msg(LOG_ERR, "%s", err);
		rc = rc == DNSD_ENOMEM ? 1 : check_config(s);
		store_close(s->st);
		free(s->store_zone);
		config_free(&s->cfg);
		return rc;
	}
	if (rc) {
		fprintf(stderr, "dnsd: %s\n", err);
		return 2;
	}
	if (s->cfg.log_level >= 0)
		log_set_level(s->cfg.log_level);
	log_open("dnsd", s->cfg.log_target && !strcmp(s->cfg.log_target, "syslog") ? LOG_TO_SYSLOG : LOG_TO_STDERR);
	if (!s->cfg.db || !s->cfg.nzones) {
		fprintf(stderr, "dnsd: --db and at least one --zone are needed (see dnsd --help)\n");
		return 2;
	}
	if (!s->cfg.nlisten) {
		net_parse_addr("127.0.0.1:53", &s->cfg.listen[0]);
		s->cfg.nlisten = 1;
	}
	if (sock_overlap(s->cfg.listen, s->cfg.nlisten, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 2;
	}
	if (!s->cfg.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		s->cfg.threads = n < 1 ? 1 : n > 64 ? 64 : (int)n;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((rc = keys_load(s)))
		return rc;

	if (s->cfg.state_dir && state_dir_check(s))
		return 1;
	if ((rc = store_open(s->cfg.db, STORE_READONLY, &s->st, err, sizeof(err)))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	/* The control loop must not wait on a writer: a busy store is tried again at
	 * the next poll. */
	sqlite3_busy_timeout(store_db(s->st), 100);
	store_file_note(s);
	s->store_zone = store_setting(s->st, "zone");
	if (!s->store_zone) {
		log_msg(LOG_ERR, "%s has no zone: run 'dnsdctl --db %s init --zone ZONE' first", s->cfg.db,
			s->cfg.db);
		return 1;
	}
	if (load_zones(s))
		return 1;
	if (s->cfg.ixfr_max_bytes && !(s->hist = xfr_hist_new(s->cfg.ixfr_max_bytes, s->cfg.ixfr_max_age))) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	if (refresh(s, 1)) {
		log_msg(LOG_ERR, "cannot load the store %s", s->cfg.db);
		return 1;
	}
	s->sh.view = s->view;
	s->sh.acfg.max_udp = (uint16_t)s->cfg.max_udp;
	s->sh.tcp_idle_ms = s->cfg.tcp_idle_ms;
	s->sh.tcp_max_conns = s->cfg.tcp_max_conns;
	s->sh.tcp_max_per_client = s->cfg.tcp_max_per_client;
	s->sh.tcp_query_timeout_ms = s->cfg.tcp_query_timeout_ms;
	s->sh.tcp_max_unsent = s->cfg.tcp_max_unsent;
	s->sh.tcp_max_unsent_total = s->cfg.tcp_max_unsent_total;
	s->sh.rrl.rate = s->cfg.rrl_rate;
	s->sh.rrl.slip = s->cfg.rrl_slip;
	s->sh.acfg.identity = s->cfg.identity;
	s->sh.acfg.version = s->cfg.version;
	s->sh.acl = s->cfg.allow_xfr;
	s->sh.nacl = s->cfg.nallow_xfr;
	s->sh.xfr_max = s->cfg.xfr_max > NET_MAX_XFR ? NET_MAX_XFR : s->cfg.xfr_max;
	s->sh.hist = s->hist;
	if (s->cfg.nsid && set_nsid(s))
		return 2;
	if (net_bind(s->cfg.listen, s->cfg.nlisten, s->cfg.threads, &s->net, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	reclaim(s, 1); /* no reader has seen anything yet */
	if (s->cfg.have_metrics &&
	    metrics_start(&s->cfg.metrics, render_metrics, s, &s->metrics, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	if (s->cfg.user && drop_privileges(s->cfg.user))
		return 1;
	if (net_start(s->net, &s->sh)) {
		log_msg(LOG_ERR, "cannot start the worker threads");
		return 1;
	}
	uv_loop_init(&s->loop);
	if (notify_start(s))
		return 1;
	if (refresh_thread_start(s)) {
		log_msg(LOG_ERR, "cannot start the refresh thread: %s", strerror(errno));
		return 1;
	}
	uv_timer_init(&s->loop, &s->poll);
	uv_timer_init(&s->loop, &s->settle);
	s->poll.data = s->settle.data = s;
	uv_timer_start(&s->poll, on_poll, s->cfg.poll_ms, s->cfg.poll_ms);
	watch_start(s);
	uv_signal_init(&s->loop, &s->sigterm);
	uv_signal_init(&s->loop, &s->sigint);
	uv_signal_init(&s->loop, &s->sighup);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	uv_signal_start(&s->sigterm, on_stop, SIGTERM);
	uv_signal_start(&s->sigint, on_stop, SIGINT);
	uv_signal_start(&s->sighup, on_hup, SIGHUP);

	for (size_t i = 0; i < s->cfg.nlisten; i++)
		log_msg(LOG_INFO, "listening on %s (udp, tcp)", s->cfg.listen[i].text);
	if (s->metrics)
		log_msg(LOG_INFO, "metrics on http://%s/metrics", s->cfg.metrics.text);
	log_msg(LOG_INFO, "dnsd %s serving %s from %s: serial %u, %zu domains, %d workers", DNSD_VERSION,
		s->store_zone, s->cfg.db, s->view->set.serial, s->view->ndomains, s->cfg.threads);
	if (s->cfg.ready_file && write_ready(s))
		log_msg(LOG_WARN, "cannot write %s: %s", s->cfg.ready_file, strerror(errno));
	/* Under systemd (Type=notify) the start is done when the workers answer. */
	char state[160];
	snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %s, serial %u, %zu domains", s->store_zone,
		 s->view->set.serial, s->view->ndomains);
	if (sdnotify_send(state) < 0)
		log_msg(LOG_WARN, "cannot tell systemd that dnsd is ready ($NOTIFY_SOCKET)");

	uv_run(&s->loop, UV_RUN_DEFAULT);

	metrics_stop(s->metrics);
	net_stop(s->net);
	if (s->refreshing) {
		/* A store read is stuck (a store locked against readers): the answers in
		 * flight are done, so leave without waiting for SQLite. */
		if (s->cfg.ready_file)
			unlink(s->cfg.ready_file);
		log_msg(LOG_INFO, "stopped (a store read was still waiting; not waited for)");
		_exit(0);
	}
	__atomic_store_n(&s->rquit, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (s->rthread_up && write(s->kick_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		pthread_join(s->rthread, NULL);
	close(s->kick_fd);
	uv_close((uv_handle_t *)&s->done_poll, NULL);
	net_free(s->net);
	s->net = NULL;
	reclaim(s, 1);
	free(s->pend);
	db_view_free_all(s->view);
	xfr_hist_free(s->hist);
	for (size_t i = 0; i < s->nzones; i++)
		db_zone_free(s->zones[i]);
	free(s->zones);
	free(s->store_zone);
	store_close(s->st);
	uv_close((uv_handle_t *)&s->poll, NULL);
	uv_close((uv_handle_t *)&s->settle, NULL);
	if (s->ino_fd >= 0) {
		uv_close((uv_handle_t *)&s->watch, NULL);
		uv_close((uv_handle_t *)&s->fast, NULL);
	}
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);
	notify_free(s->notifier);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	close(s->done_fd);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	free(s->store_dir);
	uv_loop_close(&s->loop);
	if (s->cfg.ready_file)
		unlink(s->cfg.ready_file);
	log_msg(LOG_INFO, "stopped");
	keys_free(s);
	config_free(&s->cfg);
	return 0;
}
