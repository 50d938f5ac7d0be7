/* wr: the write library's base. A struct wr is one writer's open store, the
 * settings it writes with, the first error of the operation in progress, and
 * the key files its batch has staged. Every change to the store (dnsdctl, the
 * API server, the job) is a function taking a struct wr: it returns 0 or a
 * DNSD_E* code with w->err (and w->field) set, owns its transaction, never
 * exits and never prints.
 *
 * Errors are sticky: the first one is kept, and every wr_* SQL helper does
 * nothing (returns NULL, the default, or the code) once one is set, so a
 * sequence of statements can be written straight and checked once, at the
 * point where a decision depends on it. wr_clear forgets the error, for the
 * next operation on the same writer. */
#ifndef DNSD_WR_H
#define DNSD_WR_H
#include "store.h"
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* What a writer needs to know that the store does not say (never read from
 * the store: paths and commands come from root's configuration only). */
struct wr_conf {
	const char *db;	       /* the store file */
	const char *keys;      /* the keys directory; NULL: keys/ beside the store */
	const char *zone_file; /* the hosted zone's file, recorded in each batch; may be NULL */
	int lock_ms;	       /* how long a write waits for another writer's lock (ms); 0:
				* 5000; negative: not at all */
	const char *program;   /* the program's name, which the staging recovery looks for;
				* NULL: "dnsdctl" */
};

/* Called with one sentence for what a writer notices but that is not an error
 * (a staged key left for the next run, an interrupted run's files finished). */
typedef void (*wr_warn_fn)(void *arg, const char *msg);

struct wr {
	struct wr_conf conf;
	struct store *st;
	sqlite3 *db;
	char *zone; /* the hosted zone, absolute, lowercase (owned); NULL before init */
	int rc;	    /* the first error of the operation, 0 while none */
	int depth;  /* write transactions open: more than 1 when nested (savepoints) */
	char err[1024];
	char field[64]; /* the input the error is about ("" when none): an API answers 400 naming it
			 */
	wr_warn_fn warn;
	void *warn_arg;
	/* Key files written into this batch's staging directory (undo) and where
	 * each goes once the store names it (final): see wr_stage_dir. */
	char **undo, **final;
	size_t nundo, capundo;
	char stage[4200];
	/* Statements kept for reuse (wr_qk), by the address of their SQL. */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} kept[48];
	size_t nkept;
	int lock_wait;	   /* ms a statement waits for another writer's lock (wr_lock_wait) */
	int64_t busy_from; /* when the current wait began (ms, monotonic) */
	int64_t batch_serial; /* the open batch's serial once read (first keys); 0 before */
	/* Settings read in the open write transaction, or in a read transaction
	 * the caller holds (snapshot): nobody but this writer changes them then,
	 * and it forgets them when it writes one (wr_cache_clear). A batch reads
	 * several for each of its rows. */
	struct {
		char name[32];
		char *value; /* NULL: unset */
	} scache[8];
	int nscache;
	/* The tenant last read in the same transaction (reg_tenant_id): an
	 * import's rows name one. */
	struct {
		char name[128];
		int64_t id;
		int slots, ed25519; /* as stored: 0 and -1 when NULL */
	} tcache;
	int snapshot;
	uint64_t txn; /* counts outermost write transactions: what was checked in which */
	/* The zone file as this writer read it, for store_zone_note (loaded once). */
	int zone_loaded;
	uint32_t zone_file_serial;
	uint8_t zone_digest[32];
};

/* Opens the store for writing: judges the store, its -wal and -shm as dnsdctl's
 * trust rules say (fsafe), opens it (creating it with create), and unless
 * create, reads the hosted zone (an uninitialised store is DNSD_ENOENT) and
 * finishes the key files of interrupted runs (wr_stage_recover). *w is the
 * caller's, zeroed by it (warn and warn_arg may be set first); conf's strings
 * are borrowed for w's life. Returns 0 or a code with w->err set; on error w
 * needs wr_close all the same. */
int wr_open(struct wr *w, const struct wr_conf *conf, int create);
/* Sets how long each statement waits for another writer's lock: ms, 0 not at
 * all (wr_open sets conf.lock_ms). The wait tries again every millisecond
 * rather than with SQLite's backoff (up to 100 ms between tries), so that a
 * waiting writer takes the lock in the short gap a bulk import leaves between
 * its batches instead of starving behind it. */
void wr_lock_wait(struct wr *w, int ms);
/* Rolls back what is open, takes back staged files, closes the store. Safe on
 * a zeroed or half-opened w. */
void wr_close(struct wr *w);

/* Records the first error: code, the input field it is about (NULL: none) and
 * a sentence. Returns the code in force (the first one). */
int wr_fail(struct wr *w, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Forgets the error, for the next operation. */
void wr_clear(struct wr *w);
/* Says msg through the warn callback (nothing when none is set). */
void wr_warn(struct wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A prepared statement (the caller finalizes it; wr_run, wr_int and wr_text
 * do), or NULL once an error is set or preparing fails (which sets it). */
sqlite3_stmt *wr_prep(struct wr *w, const char *sql);
/* wr_prep with arguments bound: fmt has one letter per argument, s (const
 * char *, NULL binds NULL) or i (int64_t). */
sqlite3_stmt *wr_q(struct wr *w, const char *sql, const char *fmt, ...);
/* wr_q for a statement run many times (a batch's rows): prepared once per
 * writer and kept until wr_close, found again by the address of sql (a string
 * literal, or another that lives as long as w), its bindings replaced at each
 * use. Preparing costs more than running for the tables with triggers and
 * checks (an insert into domains): a batch of many rows needs this. wr_run,
 * wr_int and wr_text reset a kept statement instead of finalizing it; after
 * wr_step, end either kind with wr_done. */
sqlite3_stmt *wr_qk(struct wr *w, const char *sql, const char *fmt, ...);
/* Ends a statement: resets a kept one, finalizes another. NULL is nothing. */
void wr_done(struct wr *w, sqlite3_stmt *st);
/* Steps st once and finalizes it. Returns w->rc (a failed step sets it). NULL
 * st is the error already set. */
int wr_run(struct wr *w, sqlite3_stmt *st);
/* Steps once, gives column 0 (def when no row or NULL) and finalizes. */
int64_t wr_int(struct wr *w, sqlite3_stmt *st, int64_t def);
/* Steps once, gives column 0 as a malloc'd string (caller frees; NULL when no
 * row, NULL, or error) and finalizes. */
char *wr_text(struct wr *w, sqlite3_stmt *st);
/* Steps st for the next row: 1 for a row, 0 when done or on error (then set).
 * Does not finalize. */
int wr_step(struct wr *w, sqlite3_stmt *st);
/* The code for a SQLite result: busy and locked are DNSD_EBUSY, a full disk
 * DNSD_EFULL, a constraint DNSD_EINVAL, else DNSD_ESTORE. */
int wr_code(int sqlite_rc);

/* Opens the write transaction (BEGIN IMMEDIATE, waiting at most conf.lock_ms
 * for another writer: then DNSD_EBUSY) and first records the zone file this
 * writer reads, so an edit of it is served at a serial of the store's own.
 * Commit seals the batch (store_write_commit) and moves the staged key files
 * to their places; rollback takes the staged files back. Each returns w->rc.
 *
 * They nest: inside an open transaction, begin opens a savepoint, commit
 * releases it (the change is kept for the outer commit, which alone seals the
 * batch and moves the files) and rollback undoes the inner part only, and the
 * files staged since the outermost begin. So an operation that owns its
 * transaction can run inside a caller's (the API keeps a request's reply under
 * its Idempotency-Key in the same transaction as the change). */
int wr_begin(struct wr *w);
int wr_commit(struct wr *w);
void wr_rollback(struct wr *w);

/* One read transaction for several reads (one snapshot, the lock taken
 * once): opens it unless a transaction is open already. Returns 1 when it
 * opened it (end it with wr_read_end), 0 when one was open, -1 on error (set).
 * While it is open the writer keeps the settings and the tenant it reads. */
int wr_read_begin(struct wr *w);
void wr_read_end(struct wr *w);
/* Forgets the settings kept (scache): after writing one, and when the
 * transaction they were read in ends. */
void wr_cache_clear(struct wr *w);

/* The keys directory: conf.keys, or keys/ beside the store, into buf. */
const char *wr_keys_dir(struct wr *w, char *buf, size_t n);

/* wstage.c: key files are written into a staging directory of this run,
 * <keys>/.stage-<pid>-<n>/<domain>/<file> (one per batch), and moved to <keys>/<domain>/<file> only once
 * the store has committed the rows that name them (wr_commit calls
 * wr_stage_publish). A batch that fails takes them back (wr_undo_drop, from
 * wr_rollback); one that was killed leaves its staging directory, which the next
 * writer's wr_open finishes (wr_stage_recover): files the store names go to
 * their place, the others are deleted.
 * wr_stage_dir makes the staging directory under kabs (the absolute key
 * directory) if not made yet; wr_undo_add remembers a staged file and its final
 * path. Both return 0 or a code with w->err set. */
int wr_stage_dir(struct wr *w, const char *kabs);
int wr_undo_add(struct wr *w, const char *staged, const char *final);
void wr_undo_drop(struct wr *w);
void wr_stage_publish(struct wr *w);
void wr_stage_recover(struct wr *w);

#endif
