/* apitoken: the HTTP API's tokens (created, listed, revoked, checked) and the responses it keeps
 * for POSTs retried with an Idempotency-Key. The SQL of both lives here; dnsdctl's api-token
 * command and dnsd-api only parse, call and print. */
#ifndef DNSD_APITOKEN_H
#define DNSD_APITOKEN_H
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "store.h"

/* A token's text: this prefix (so that a leaked one is recognised in logs and code searches)
 * and 64 hexadecimal digits of randomness. */
#define APITOKEN_PREFIX	  "dnsd_"
#define APITOKEN_TEXT_LEN (5 + 64)
#define APITOKEN_NAME_MAX 64
/* How long a kept response answers a retry, in seconds. */
#define APITOKEN_IDEM_TTL 86400
/* An Idempotency-Key's longest length. */
#define APITOKEN_IDEM_KEY_MAX 255

struct apitoken {
	int64_t id;
	char name[APITOKEN_NAME_MAX + 1];
	int64_t tenant_id;			      /* 0 for a platform token */
	char tenant[NAMES_TENANT_MAX + 1];	      /* "" for a platform token */
	int64_t created_at, last_used_at, revoked_at; /* seconds since the epoch; 0 when unset */
};

/* The writes below own their transaction (BEGIN IMMEDIATE, waiting up to the store's busy
 * timeout), or, when the caller has one open, join it and leave the commit or rollback to the
 * caller (dnsd-api keeps the response of an idempotent POST in the same transaction). They
 * return 0 or a negative DNSD_E* code with one sentence in err; DNSD_EBUSY means the store stayed
 * locked by another writer and nothing was changed. */

/* Creates a token named name (names_tenant's rule), scoped to the tenant named tenant, or to the
 * whole platform when tenant is NULL. Its text (shown once, never stored) goes to text; out,
 * when not NULL, gets the row. DNSD_EINVAL (the name), DNSD_ENOENT (no such tenant), DNSD_EEXIST
 * (a token not revoked has the name), DNSD_ECRYPTO, DNSD_EBUSY, DNSD_ESTORE. */
int apitoken_add(struct store *s, const char *name, const char *tenant, struct apitoken *out,
		 char text[APITOKEN_TEXT_LEN + 1], char *err, size_t errlen);

/* Revokes the token named name that is not revoked yet; with tenant_id > 0 only one of that
 * tenant, so that a tenant's caller cannot learn that another's exists. DNSD_ENOENT when there is
 * none, DNSD_EBUSY, DNSD_ESTORE. */
int apitoken_revoke(struct store *s, const char *name, int64_t tenant_id, char *err, size_t errlen);

/* Every token, revoked ones too, by name then creation; with tenant_id > 0 only that tenant's.
 * *out is a malloc'd array of *n rows (NULL when none): the caller frees it. DNSD_ENOMEM,
 * DNSD_ESTORE. */
int apitoken_list(struct store *s, int64_t tenant_id, struct apitoken **out, size_t *n, char *err,
		  size_t errlen);

/* The token whose text is text, if it exists and is not revoked: 0 and *out, else DNSD_ENOENT
 * (a malformed text too), or DNSD_ESTORE. Notes the use in last_used_at at most once a minute,
 * and only if the write lock is free now: a check never waits for another writer. */
int apitoken_auth(struct store *s, const char *text, struct apitoken *out);

/* SHA-256 of data as 64 lowercase hexadecimal digits and a NUL. */
void apitoken_sha256_hex(const void *data, size_t n, char out[65]);

/* Inside the caller's write transaction (so that two retries of one request are one after the
 * other): the response kept for (token_id, key) in the last APITOKEN_IDEM_TTL seconds. 0 with
 * *status and *body (malloc'd: the caller frees it) when it was kept for the same request
 * (request_hash, apitoken_sha256_hex of what identifies it); DNSD_EEXIST when the key was used for
 * another request; DNSD_ENOENT when none is kept; DNSD_ESTORE. */
int apitoken_idem_find(struct store *s, int64_t token_id, const char *key, const char *request_hash,
		       int *status, char **body, char *err, size_t errlen);

/* Inside the caller's write transaction: keeps status and body for (token_id, key), and forgets
 * the responses older than APITOKEN_IDEM_TTL. DNSD_EINVAL (a key the schema refuses: empty, too
 * long, control characters), DNSD_ESTORE. */
int apitoken_idem_keep(struct store *s, int64_t token_id, const char *key, const char *request_hash,
		       int status, const char *body, char *err, size_t errlen);

#endif
