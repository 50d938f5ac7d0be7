/* status: the store's counts for dnsd-api's status. */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

int status_read(struct store *s, int64_t tenant_id, struct status_counts *out, char *err,
		size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	memset(out, 0, sizeof(*out));
	out->schema_version = store_schema_version(s);
	/* One statement, one snapshot: SQLite reads it in a single implicit transaction. */
	int rc = sqlite3_prepare_v2(
		db,
		"SELECT (SELECT value FROM serial WHERE id = 1), "
		"(SELECT value FROM settings WHERE name = 'zone'), "
		"CASE WHEN ?1 = 0 THEN (SELECT count(*) FROM tenants) ELSE 1 END, "
		"(SELECT count(*) FROM domains WHERE state = 'active' AND (?1 = 0 OR tenant_id = "
		"?1))",
		-1, &st, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "reading the status: %s", sqlite3_errmsg(db));
		return DNSD_ESTORE;
	}
	sqlite3_bind_int64(st, 1, tenant_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->serial = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) == SQLITE_TEXT)
			snprintf(out->zone, sizeof(out->zone), "%s",
				 (const char *)sqlite3_column_text(st, 1));
		out->tenants = sqlite3_column_int64(st, 2);
		out->domains = sqlite3_column_int64(st, 3);
		rc = 0;
	} else {
		snprintf(err, errlen, "reading the status: %s", sqlite3_errmsg(db));
		rc = (rc & 0xff) == SQLITE_BUSY ? DNSD_EBUSY : DNSD_ESTORE;
	}
	sqlite3_finalize(st);
	return rc;
}
