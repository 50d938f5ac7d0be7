/* apitoken: the API's tokens and kept responses in the store (schema version 6). */
#include "apitoken.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Opens the write transaction, or joins the caller's (*own = 0). */
static int tx_begin(struct store *s, int *own, char *err, size_t errlen)
{
	*own = sqlite3_get_autocommit(store_db(s));
	return *own ? store_write_begin(s, err, errlen) : 0;
}

/* Ends what tx_begin began: commits on rc 0, rolls back otherwise; a joined transaction is left to
 * its owner. Returns rc, or the commit's error. */
static int tx_end(struct store *s, int own, int rc, char *err, size_t errlen)
{
	if (!own)
		return rc;
	if (rc) {
		store_write_rollback(s);
		return rc;
	}
	return store_write_commit(s, err, errlen);
}

/* The code of a failed step, with its message in err. */
static int sql_err(sqlite3 *db, int rc, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
	rc &= 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? DNSD_EBUSY
	       : rc == SQLITE_FULL			? DNSD_EFULL
							: DNSD_ESTORE;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : sql_err(db, rc, "preparing a query", err, errlen);
}

void apitoken_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != sizeof(md))
		memset(md, 0,
		       sizeof(md)); /* only when libcrypto is broken: matches nothing stored */
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Fills t from a row of the columns TOKEN_COLS, from column 0. */
#define TOKEN_COLS                                                                                 \
	"t.id, t.name, t.tenant_id, ifnull(n.name, ''), t.created_at, ifnull(t.last_used_at, 0), " \
	"ifnull(t.revoked_at, 0) FROM api_tokens t LEFT JOIN tenants n ON n.id = t.tenant_id "
static void token_row(sqlite3_stmt *st, struct apitoken *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	snprintf(t->name, sizeof(t->name), "%s", (const char *)sqlite3_column_text(st, 1));
	t->tenant_id = sqlite3_column_int64(st, 2);
	snprintf(t->tenant, sizeof(t->tenant), "%s", (const char *)sqlite3_column_text(st, 3));
	t->created_at = sqlite3_column_int64(st, 4);
	t->last_used_at = sqlite3_column_int64(st, 5);
	t->revoked_at = sqlite3_column_int64(st, 6);
}

/* Inside the write transaction: the row added and its text. */
static int add_row(struct store *s, const char *name, const char *tenant, struct apitoken *out,
		   char *text, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int64_t tid = 0;
	char tname[NAMES_TENANT_MAX + 1] = "";
	int rc;
	if (tenant) {
		/* Tenant names are compared without case: the stored spelling is the one shown. */
		if ((rc = prep(db, "SELECT id, name FROM tenants WHERE name = ?", &st, err,
			       errlen)))
			return rc;
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			tid = sqlite3_column_int64(st, 0);
			snprintf(tname, sizeof(tname), "%s",
				 (const char *)sqlite3_column_text(st, 1));
		} else if (rc == SQLITE_DONE)
			snprintf(err, errlen, "no tenant '%s'", tenant);
		else
			rc = sql_err(db, rc, "looking up the tenant", err, errlen);
		sqlite3_finalize(st);
		if (!tid)
			return rc == SQLITE_DONE ? DNSD_ENOENT : rc;
	}
	if ((rc = prep(db, "SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL", &st,
		       err, errlen)))
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		snprintf(err, errlen, "a token named '%s' exists: revoke it first", name);
		return DNSD_EEXIST;
	}
	unsigned char rnd[32];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, errlen, "no randomness for the token");
		return DNSD_ECRYPTO;
	}
	memcpy(text, APITOKEN_PREFIX, strlen(APITOKEN_PREFIX));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(text + strlen(APITOKEN_PREFIX) + 2 * i, 3, "%02x", rnd[i]);
	char hash[65];
	apitoken_sha256_hex(text, APITOKEN_TEXT_LEN, hash);
	if ((rc = prep(db,
		       "INSERT INTO api_tokens(name, hash, tenant_id, created_at) "
		       "VALUES (?, ?, nullif(?, 0), ?)",
		       &st, err, errlen)))
		return rc;
	int64_t now = store_now();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, tid);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_err(db, rc, "adding the token", err, errlen);
	if (out) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_last_insert_rowid(db);
		snprintf(out->name, sizeof(out->name), "%s", name);
		out->tenant_id = tid;
		snprintf(out->tenant, sizeof(out->tenant), "%s", tname);
		out->created_at = now;
	}
	return 0;
}

int apitoken_add(struct store *s, const char *name, const char *tenant, struct apitoken *out,
		 char text[APITOKEN_TEXT_LEN + 1], char *err, size_t errlen)
{
	int own, rc;
	text[0] = 0;
	if (!name || !names_tenant(name)) {
		snprintf(err, errlen,
			 "a token name is a letter or digit, then up to %d letters, digits, '.', "
			 "'_' "
			 "or '-'",
			 APITOKEN_NAME_MAX - 1);
		return DNSD_EINVAL;
	}
	if ((rc = tx_begin(s, &own, err, errlen)))
		return rc;
	rc = tx_end(s, own, add_row(s, name, tenant, out, text, err, errlen), err, errlen);
	if (rc)
		text[0] = 0;
	text[APITOKEN_TEXT_LEN] = 0;
	return rc;
}

int apitoken_revoke(struct store *s, const char *name, int64_t tenant_id, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int own, rc;
	if ((rc = tx_begin(s, &own, err, errlen)))
		return rc;
	rc = prep(db,
		  "UPDATE api_tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL "
		  "AND (?3 = 0 OR tenant_id = ?3)",
		  &st, err, errlen);
	if (!rc) {
		sqlite3_bind_int64(st, 1, store_now());
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, tenant_id);
		int s3 = sqlite3_step(st);
		if (s3 != SQLITE_DONE)
			rc = sql_err(db, s3, "revoking the token", err, errlen);
		else if (sqlite3_changes(db) == 0) {
			snprintf(err, errlen, "no token named '%s' (or it is revoked already)",
				 name);
			rc = DNSD_ENOENT;
		}
		sqlite3_finalize(st);
	}
	return tx_end(s, own, rc, err, errlen);
}

int apitoken_list(struct store *s, int64_t tenant_id, struct apitoken **out, size_t *n, char *err,
		  size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	struct apitoken *v = NULL;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if ((rc = prep(db,
		       "SELECT " TOKEN_COLS
		       "WHERE ?1 = 0 OR t.tenant_id = ?1 ORDER BY t.name, t.id",
		       &st, err, errlen)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct apitoken *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				sqlite3_finalize(st);
				free(v);
				*n = 0;
				snprintf(err, errlen, "out of memory");
				return DNSD_ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		token_row(st, &v[(*n)++]);
	}
	rc = rc == SQLITE_DONE ? 0 : sql_err(db, rc, "listing the tokens", err, errlen);
	sqlite3_finalize(st);
	if (rc) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

/* Notes that t was used now, when its last note is a minute old, without waiting for the lock:
 * the note is a convenience, a request must not wait or fail for it. */
static void note_use(sqlite3 *db, struct apitoken *t, int64_t now)
{
	if (t->last_used_at > now - 60 && t->last_used_at <= now)
		return;
	sqlite3_stmt *st;
	int wait = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			wait = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_busy_timeout(db, 0);
	if (sqlite3_prepare_v2(db, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, t->id);
		if (sqlite3_step(st) == SQLITE_DONE)
			t->last_used_at = now;
		sqlite3_finalize(st);
	}
	sqlite3_busy_timeout(db, wait);
}

int apitoken_auth(struct store *s, const char *text, struct apitoken *out)
{
	size_t pl = strlen(APITOKEN_PREFIX);
	if (!text || strlen(text) != APITOKEN_TEXT_LEN || strncmp(text, APITOKEN_PREFIX, pl) ||
	    strspn(text + pl, "0123456789abcdef") != APITOKEN_TEXT_LEN - pl)
		return DNSD_ENOENT;
	char hash[65];
	apitoken_sha256_hex(text, APITOKEN_TEXT_LEN, hash);
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT " TOKEN_COLS "WHERE t.hash = ? AND t.revoked_at IS NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return DNSD_ESTORE;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		token_row(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return DNSD_ENOENT;
	if (rc != SQLITE_ROW)
		return (rc & 0xff) == SQLITE_BUSY ? DNSD_EBUSY : DNSD_ESTORE;
	note_use(db, out, store_now());
	return 0;
}

int apitoken_idem_find(struct store *s, int64_t token_id, const char *key, const char *request_hash,
		       int *status, char **body, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int rc;
	*body = NULL;
	if ((rc = prep(db,
		       "SELECT request_hash, status, body FROM api_idempotency "
		       "WHERE token_id = ? AND key = ? AND created_at > ?",
		       &st, err, errlen)))
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, store_now() - APITOKEN_IDEM_TTL);
	int s3 = sqlite3_step(st);
	if (s3 == SQLITE_DONE)
		rc = DNSD_ENOENT;
	else if (s3 != SQLITE_ROW)
		rc = sql_err(db, s3, "looking up the Idempotency-Key", err, errlen);
	else if (strcmp((const char *)sqlite3_column_text(st, 0), request_hash)) {
		snprintf(err, errlen, "this Idempotency-Key was used for another request");
		rc = DNSD_EEXIST;
	} else {
		*status = sqlite3_column_int(st, 1);
		if (!(*body = strdup((const char *)sqlite3_column_text(st, 2)))) {
			snprintf(err, errlen, "out of memory");
			rc = DNSD_ENOMEM;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int apitoken_idem_keep(struct store *s, int64_t token_id, const char *key, const char *request_hash,
		       int status, const char *body, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int64_t now = store_now();
	int rc;
	/* The forgotten ones go first: an expired response under the same key is replaced. */
	if ((rc = prep(db, "DELETE FROM api_idempotency WHERE created_at <= ?", &st, err, errlen)))
		return rc;
	sqlite3_bind_int64(st, 1, now - APITOKEN_IDEM_TTL);
	int s3 = sqlite3_step(st);
	sqlite3_finalize(st);
	if (s3 != SQLITE_DONE)
		return sql_err(db, s3, "forgetting old responses", err, errlen);
	if ((rc = prep(db,
		       "INSERT INTO api_idempotency(token_id, key, request_hash, status, body, "
		       "created_at) VALUES (?, ?, ?, ?, ?, ?)",
		       &st, err, errlen)))
		return rc;
	sqlite3_bind_int64(st, 1, token_id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, request_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, status);
	sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	s3 = sqlite3_step(st);
	sqlite3_finalize(st);
	if ((s3 & 0xff) == SQLITE_CONSTRAINT) {
		snprintf(err, errlen,
			 "an Idempotency-Key is 1 to %d characters without control characters",
			 APITOKEN_IDEM_KEY_MAX);
		return DNSD_EINVAL;
	}
	return s3 == SQLITE_DONE ? 0 : sql_err(db, s3, "keeping the response", err, errlen);
}
