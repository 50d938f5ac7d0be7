/* schema: schema version 4 of the store, the CHECK constraints that refuse what no valid row
 * holds, and the migration that rebuilds the tables to add them; version 5's check state; version 6's API tokens. The
 * store module runs them. */
#ifndef DNSD_SCHEMA_H
#define DNSD_SCHEMA_H
#include <sqlite3.h>
#include <stddef.h>

/* The SQL of migration 4 (version 3 to 4): each table with checks is renamed aside, made again
 * with them, filled from the old one and the old one dropped. Run it with schema_migrate_v4, never
 * alone: the indexes and triggers of the tables are remade from what the store had. */
extern const char schema_v4_sql[];

/* Migrates db from version 3 to 4, inside the caller's write transaction, with foreign keys off
 * (a rebuild would trip them; this checks them itself). First looks for rows the new checks refuse,
 * and rows whose references point nowhere: if there are any, nothing is changed and err names
 * them (the first few; their text quoted with control characters escaped). Then rebuilds the
 * tables and remakes their indexes and triggers (the journal's among them) from their saved SQL.
 * Returns 0, DNSD_EINVAL (refused rows), or DNSD_ESTORE (err says why). */
int schema_migrate_v4(sqlite3 *db, char *err, size_t errlen);

/* The SQL of migration 5 (version 4 to 5): the state dnsdctl check keeps per customer domain
 * (domain_checks) and per record (record_checks), pending, verified or drifted with the time of
 * each change, and their audit trail (check_events). New tables only. */
extern const char schema_v5_sql[];

/* The SQL of migration 6 (version 5 to 6): the HTTP API's tokens (api_tokens, each stored as
 * the SHA-256 of its text) and the responses kept for retried POSTs (api_idempotency). New
 * tables only. */
extern const char schema_v6_sql[];

/* The length of a domain's DKIM marker (domains.mark). */
#define SCHEMA_MARK_LEN 6

/* The SQL of migration 7 (version 6 to 7): domains.mark, the marker dnsd serves as n= in the
 * domain's DKIM TXT records, and the probe dnsdctl check runs with it (domain_checks.mark_at,
 * probe_until, host, host_at). New columns only. */
extern const char schema_v7_sql[];

#endif
