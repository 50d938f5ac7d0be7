/* server: what dnsd's parts share: the server's state (one per process), and
 * the functions main.c, refresh.c and srvmetrics.c call of each other. */
#ifndef DNSD_SERVER_H
#define DNSD_SERVER_H
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "net.h"
#include "serial.h"
#include "stats.h"
#include "store.h"
#include "version.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <uv.h>

struct xfr_hist;
struct tsig_keys;
struct notify;

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
	uint64_t epoch;	       /* of the last view published */
	struct xfr_hist *hist; /* the hosted zone's differences, for IXFR */
	struct net *net;
	struct net_shared sh;
	struct pending *pend;
	size_t npend, cappend;
	int store_bad;		    /* the store failed; said once, until it recovers */
	int store_gone;		    /* the store file is missing; said once */
	struct serial_state serial; /* how the served serial derives from the store's */
	int state_bad;		    /* the state file could not be written; said once */
	int reload_full;	    /* the next read loads everything (a new store file) */
	int store_touched;	    /* the file changed: read even if SQLite saw no commit */
	dev_t store_dev;	    /* the file the open store is */
	ino_t store_ino;
	struct timespec store_mtime; /* and how it looked at the last poll */
	off_t store_size;
	uint8_t nsid[256];
	uv_loop_t loop;
	uv_timer_t poll;
	uv_signal_t sigterm, sigint, sighup;
	pthread_t rthread; /* the background refresh */
	int rthread_up;
	int kick_fd, done_fd; /* eventfds: the loop asks it to read, it says it is done */
	uv_poll_t done_poll;
	int rquit;	       /* atomic: the refresh thread ends */
	int refreshing;	       /* it is running: the store and the view are its */
	int hup_pending;       /* a SIGHUP came meanwhile */
	int again;	       /* the store changed while a refresh ran */
	uint64_t read_started; /* when the running refresh began reading (ns) */
	uint64_t read_done;    /* and when it had read the store */
	struct db_edit *work_edit;
	int work_full;
	uv_poll_t watch;	/* inotify: a commit wakes us at once */
	int ino_fd;		/* -1: not watching (polling only) */
	int wd_dir, wd_file[2]; /* the store's directory; the store and its -wal (or -1) */
	char *store_dir;
	uv_timer_t fast; /* after a file event: look every 10 ms for a while */
	uint64_t fast_until;
	uv_timer_t settle;	 /* file events: at most one look every SETTLE_MS */
	uint64_t last_done;	 /* when the last look ended (uv_now) */
	uint64_t noticed;	 /* uv_hrtime when a change was first noticed (0: none pending) */
	struct stats_ctl stats;	 /* the control thread's figures (stats.h) */
	struct metrics *metrics; /* --metrics, when on */
	char store_base[256];	 /* the store's file name, and with -wal */
	char store_wal[260];
	struct tsig_keys *keys;	     /* --tsig-keys as last loaded (also in sh.tsig) */
	struct tsig_keys **old_keys; /* sets replaced on SIGHUP: a transfer may still use one */
	size_t nold_keys;
	struct notify *notifier; /* --notify, or NULL */
};

/* refresh.c: the served data: loading the zone files, reading the store's
 * changes (on the refresh thread), publishing views, freeing what they
 * replaced once no reader can see it, and the watch of the store's files. */
void srv_reclaim(struct server *s, int all);
/* Reads what changed and publishes it here and now (start-up, reloads). */
int srv_refresh(struct server *s, int force);
int srv_load_zones(struct server *s);
void srv_reload_zones(struct server *s);
void srv_store_file_note(struct server *s);
int srv_refresh_thread_start(struct server *s);
void srv_watch_start(struct server *s);
void srv_on_poll(uv_timer_t *t);
void srv_notify_serials(struct server *s);

/* srvmetrics.c: one scrape of --metrics (metrics_render_fn). */
void srv_render_metrics(void *arg, struct metrics_buf *b);

#endif
