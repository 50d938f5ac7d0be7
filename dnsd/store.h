/* store: the SQLite tenant store: schema and migrations, the journal and serial,
 * and the reads dnsd makes. dnsdctl writes through store_db() inside
 * store_write_begin()/store_write_commit(). */
#ifndef DNSD_STORE_H
#define DNSD_STORE_H
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "db.h"

#define STORE_SCHEMA_VERSION 8

struct store;

enum {
	STORE_CREATE = 1,   /* create the file if missing (dnsdctl init) */
	STORE_READONLY = 2, /* never write, not even migrations */
};

/* Opens the store at path and brings its schema up to date (unless READONLY).
 * A missing file without STORE_CREATE is DNSD_ENOENT; a schema newer than this
 * program is DNSD_EVERSION. *out is owned by the caller (store_close). err gets one
 * sentence on failure. */
int store_open(const char *path, int flags, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);
sqlite3 *store_db(struct store *s);
/* The schema version the file has (after migrations). */
int store_schema_version(struct store *s);

/* Settings, as stored by dnsdctl init. Returns a malloc'd copy (caller frees) or NULL. */
char *store_setting(struct store *s, const char *name);
int store_setting_int(struct store *s, const char *name, int def);

/* A write transaction: BEGIN IMMEDIATE (waiting up to the busy timeout for other
 * writers). commit seals the batch: the serial moves once if anything was journaled,
 * and the journal is trimmed. Returns 0, DNSD_EBUSY, DNSD_ESTORE (err set). */
int store_write_begin(struct store *s, char *err, size_t errlen);
int store_write_commit(struct store *s, char *err, size_t errlen);
void store_write_rollback(struct store *s);

/* Trims the journal: rows older than max_age seconds, and all but the newest
 * max_rows. Call inside a write transaction. */
int store_journal_trim(struct store *s, int64_t max_age, int64_t max_rows);

/* The current stored serial (0 if unset). */
int64_t store_serial(struct store *s);

/* Inside a write transaction: the serial the batch will be sealed at by
 * store_write_commit, if it journals anything (the same expression). */
int64_t store_batch_serial(struct store *s);

/* Called for every row dnsd refuses to serve, with a sentence saying why. */
typedef void (*store_warn_fn)(void *ctx, const char *msg);

/* What changed since a journal position. */
struct store_changes {
	int full;          /* reload everything: first load, journal trimmed past us, settings */
	uint64_t seq;      /* the journal position this read reaches */
	struct db_settings set;
	int have_zone_digest;      /* a writer recorded the zone file it read... */
	uint8_t zone_digest[32];   /* ...with this content */
};

/* Reads the changes since seq into the edit e, in one read transaction, so that
 * the edit sees one committed state. With seq 0 or when the journal no longer
 * reaches back to seq, clears e and loads everything (ch->full = 1). When nothing
 * changed, ch->seq == seq and e is untouched. Returns 0, or DNSD_ESTORE/DNSD_EBUSY
 * with err set (e may then be half-built: abort it). */
int store_read_changes(struct store *s, uint64_t seq, struct db_edit *e,
		       struct store_changes *ch, store_warn_fn warn, void *wctx, char *err,
		       size_t errlen);

/* Cheap check whether another connection committed since the last call: 1 if
 * so (or unknown), 0 if not, -1 when the store cannot be read at all (locked
 * against readers, corrupt: sqlite3_errmsg(store_db(s)) says why). */
int store_changed(struct store *s);

/* Inside a write transaction: records the hosted zone's file as the writer reads
 * it. When its content differs from the one recorded (or its serial is not below
 * the store's), the serial moves to max(value + 1, file_serial + 1), so that the
 * zone file's change is served at a serial of the store's own: dnsd, which never
 * writes the store, serves one above the store's while the file it loaded differs
 * from the one recorded. Returns 0 or DNSD_ESTORE with err. */
int store_zone_note(struct store *s, uint32_t file_serial, const uint8_t digest[32], char *err, size_t errlen);

/* 1 if m is a domain's DKIM marker as domains.mark holds it (SCHEMA_MARK_LEN characters of
 * a-z, 2-7), else 0. NULL gives 0. */
int store_mark_valid(const char *m);

/* The wall clock, or DNSD_NOW (seconds since the epoch) when set: the test clock. */
int64_t store_now(void);
#endif
