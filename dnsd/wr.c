/* wr: the write library's base: the open store, the sticky first error, the
 * SQL helpers and the write transaction (wr.h says how they fit). */
#include "wr.h"
#include "err.h"
#include "fsafe.h"
#include "zone.h"
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int wr_fail(struct wr *w, int code, const char *field, const char *fmt, ...)
{
	if (w->rc)
		return w->rc;
	w->rc = code ? code : DNSD_ESTORE;
	snprintf(w->field, sizeof(w->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	return w->rc;
}

void wr_clear(struct wr *w)
{
	w->rc = 0;
	w->err[0] = 0;
	w->field[0] = 0;
}

void wr_warn(struct wr *w, const char *fmt, ...)
{
	char msg[1500];
	va_list ap;
	if (!w->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->warn(w->warn_arg, msg);
}

int wr_code(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DNSD_EBUSY;
	case SQLITE_FULL:
		return DNSD_EFULL;
	case SQLITE_CONSTRAINT:
		return DNSD_EINVAL;
	case SQLITE_NOMEM:
		return DNSD_ENOMEM;
	default:
		return DNSD_ESTORE;
	}
}

/* Sets the error from the store's last failure. */
static int store_failed(struct wr *w, int sqlite_rc)
{
	int code = wr_code(sqlite_rc);
	if (code == DNSD_EBUSY)
		return wr_fail(w, code, NULL, "%s is locked by another writer; nothing was changed",
			       w->conf.db);
	if (code == DNSD_EFULL)
		return wr_fail(w, code, NULL, "the disk holding %s is full; nothing was changed",
			       w->conf.db);
	return wr_fail(w, code, NULL, "store error: %s", sqlite3_errmsg(w->db));
}

sqlite3_stmt *wr_prep(struct wr *w, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (w->rc)
		return NULL;
	int rc = sqlite3_prepare_v2(w->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		store_failed(w, rc);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void bind_args(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	for (int i = 0; st && fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
					  SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
}

sqlite3_stmt *wr_q(struct wr *w, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = wr_prep(w, sql);
	va_list ap;
	va_start(ap, fmt);
	bind_args(st, fmt, ap);
	va_end(ap);
	return st;
}

static int kept_at(struct wr *w, sqlite3_stmt *st)
{
	for (size_t i = 0; st && i < w->nkept; i++)
		if (w->kept[i].st == st)
			return (int)i;
	return -1;
}

sqlite3_stmt *wr_qk(struct wr *w, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	if (w->rc)
		return NULL;
	for (size_t i = 0; i < w->nkept && !st; i++)
		if (w->kept[i].sql == sql)
			st = w->kept[i].st;
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else if ((st = wr_prep(w, sql)) && w->nkept < sizeof(w->kept) / sizeof(w->kept[0])) {
		w->kept[w->nkept].sql = sql;
		w->kept[w->nkept++].st = st;
	}
	va_list ap;
	va_start(ap, fmt);
	bind_args(st, fmt, ap);
	va_end(ap);
	return st;
}

void wr_done(struct wr *w, sqlite3_stmt *st)
{
	if (kept_at(w, st) >= 0)
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
}

int wr_step(struct wr *w, sqlite3_stmt *st)
{
	if (!st || w->rc)
		return 0;
	w->busy_from = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		store_failed(w, rc);
	return 0;
}

int wr_run(struct wr *w, sqlite3_stmt *st)
{
	wr_step(w, st);
	wr_done(w, st);
	return w->rc;
}

int64_t wr_int(struct wr *w, sqlite3_stmt *st, int64_t def)
{
	int64_t v = def;
	if (wr_step(w, st) && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	wr_done(w, st);
	return v;
}

char *wr_text(struct wr *w, sqlite3_stmt *st)
{
	char *v = NULL;
	if (wr_step(w, st) && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    !(v = strdup((const char *)sqlite3_column_text(st, 0))))
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	wr_done(w, st);
	return v;
}

int wr_read_begin(struct wr *w)
{
	if (w->rc)
		return -1;
	if (w->depth || !sqlite3_get_autocommit(w->db))
		return 0;
	int rc = sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		wr_fail(w, wr_code(rc), NULL, "cannot read the store: %s", sqlite3_errmsg(w->db));
		return -1;
	}
	wr_cache_clear(w);
	w->snapshot = 1;
	return 1;
}

void wr_read_end(struct wr *w)
{
	sqlite3_exec(w->db, w->rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	w->snapshot = 0;
	wr_cache_clear(w);
}

void wr_cache_clear(struct wr *w)
{
	for (int i = 0; i < w->nscache; i++)
		free(w->scache[i].value);
	w->nscache = 0;
	w->tcache.id = 0;
}

const char *wr_keys_dir(struct wr *w, char *buf, size_t n)
{
	if (w->conf.keys)
		return w->conf.keys;
	/* Never a directory named by the store: every writer (the timer's, the
	 * API's, yours) agrees through the configuration. */
	char *tmp = strdup(w->conf.db);
	snprintf(buf, n, "%s/keys", tmp ? dirname(tmp) : ".");
	free(tmp);
	return buf;
}

int wr_open(struct wr *w, const struct wr_conf *conf, int create)
{
	/* The store, and what SQLite keeps beside it: anyone else who could write
	 * them could change what the writers put into the keys and the exports. A
	 * missing directory is left to store_open to explain. */
	static const char *const what[] = {"store", "store's WAL file",
					   "store's shared-memory file"};
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char path[4200], why[1200];
	w->conf = *conf;
	if (!w->conf.program)
		w->conf.program = "dnsdctl";
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", conf->db, suffix[i]);
		int rc = fsafe_check(path, FSAFE_MISSING, why, sizeof(why));
		if (rc && rc != DNSD_ENOENT)
			return wr_fail(w, rc, NULL, "refusing the %s: %s", what[i], why);
	}
	int rc = store_open(conf->db, create ? STORE_CREATE : 0, &w->st, w->err, sizeof(w->err));
	if (rc)
		return w->rc = rc;
	w->db = store_db(w->st);
	wr_lock_wait(w, conf->lock_ms ? conf->lock_ms : 5000);
	if (!create) {
		w->zone = store_setting(w->st, "zone");
		if (!w->zone)
			return wr_fail(w, DNSD_ENOENT, NULL,
				       "%s is not initialised: run 'dnsdctl --db %s init --zone "
				       "ZONE' first",
				       conf->db, conf->db);
		wr_stage_recover(w);
	}
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SQLite's busy handler. Its count does not always start again at 0 for
 * the next statement's wait, so a wait starts where busy_from was cleared
 * (wr_step, wr_begin) or where the count is 0. */
static int lock_busy(void *arg, int count)
{
	struct wr *w = arg;
	int64_t now = mono_ms();
	if (!count || !w->busy_from)
		w->busy_from = now;
	if (now - w->busy_from >= w->lock_wait)
		return 0;
	struct timespec d = {0, 1000000};
	nanosleep(&d, NULL);
	return 1;
}

void wr_lock_wait(struct wr *w, int ms)
{
	w->lock_wait = ms > 0 ? ms : 0;
	sqlite3_busy_handler(w->db, w->lock_wait ? lock_busy : NULL, w);
}

void wr_close(struct wr *w)
{
	w->depth = 0;
	wr_cache_clear(w);
	if (w->st)
		store_write_rollback(w->st);
	wr_undo_drop(w);
	for (size_t i = 0; i < w->nkept; i++)
		sqlite3_finalize(w->kept[i].st);
	w->nkept = 0;
	free(w->undo);
	free(w->final);
	free(w->zone);
	store_close(w->st);
	w->undo = w->final = NULL;
	w->zone = NULL;
	w->st = NULL;
	w->db = NULL;
}

/* A savepoint statement of the nesting depth d. */
static int wr_savepoint(struct wr *w, const char *verb, int d)
{
	char sql[64], *msg = NULL;
	snprintf(sql, sizeof(sql), "%s wr%d", verb, d);
	int rc = sqlite3_exec(w->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		wr_fail(w, wr_code(rc), NULL, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : w->rc;
}

int wr_begin(struct wr *w)
{
	if (w->rc)
		return w->rc;
	if (w->depth > 0) {
		if (wr_savepoint(w, "SAVEPOINT", w->depth))
			return w->rc;
		w->depth++;
		return 0;
	}
	w->busy_from = 0;
	int rc = store_write_begin(w->st, w->err, sizeof(w->err));
	if (rc)
		return w->rc = rc;
	w->depth = 1;
	w->batch_serial = 0;
	w->txn++;
	wr_cache_clear(w);
	/* First in every batch: the zone file as this writer reads it, so that an
	 * edit of it is served at a serial of the store's own, and a batch after it
	 * is stamped above that (store_zone_note). A zone file that cannot be read
	 * is left for the operations that need it to report. */
	if (!w->zone_loaded && w->conf.zone_file && w->zone) {
		struct db_zone *z;
		char why[512];
		w->zone_loaded =
			zone_load(w->conf.zone_file, w->zone, w->zone, &z, why, sizeof(why)) ? -1
											     : 1;
		if (w->zone_loaded > 0) {
			w->zone_file_serial = z->file_serial;
			memcpy(w->zone_digest, z->digest, sizeof(w->zone_digest));
			db_zone_free(z);
		}
	}
	if (w->zone_loaded > 0 && (rc = store_zone_note(w->st, w->zone_file_serial, w->zone_digest,
							w->err, sizeof(w->err)))) {
		store_write_rollback(w->st);
		w->depth = 0;
		return w->rc = rc;
	}
	return 0;
}

int wr_commit(struct wr *w)
{
	if (w->rc) {
		wr_rollback(w);
		return w->rc;
	}
	if (w->depth > 1) {
		w->depth--;
		return wr_savepoint(w, "RELEASE", w->depth);
	}
	w->depth = 0;
	wr_cache_clear(w);
	char why[sizeof(w->err) - 64];
	int rc = store_write_commit(w->st, why, sizeof(why));
	if (rc) {
		wr_undo_drop(w);
		return wr_fail(w, rc, NULL, "cannot commit: %s; nothing was changed", why);
	}
	wr_stage_publish(w); /* the files written are now the store's: to their place */
	return 0;
}

void wr_rollback(struct wr *w)
{
	if (w->depth > 1) {
		/* Undo the inner part only; the outer transaction stays open. Its
		 * error, if any, is kept for the caller to see. */
		int rc = w->rc;
		w->rc = 0;
		w->depth--;
		if (!wr_savepoint(w, "ROLLBACK TO", w->depth))
			wr_savepoint(w, "RELEASE", w->depth);
		if (rc)
			w->rc = rc;
		wr_undo_drop(w);
		return;
	}
	w->depth = 0;
	wr_cache_clear(w);
	if (w->st)
		store_write_rollback(w->st);
	wr_undo_drop(w);
}
