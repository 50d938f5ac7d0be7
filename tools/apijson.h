/* apijson: the JSON shapes that dnsdctl (api-token, key list) and dnsd-api both print, built with
 * jansson, so that a token reads the same from either. */
#ifndef DNSD_APIJSON_H
#define DNSD_APIJSON_H
#include <jansson.h>
#include <stdint.h>

#include "apitoken.h"
#include "lifecycle.h"
#include "registry.h"

/* t as an ISO 8601 UTC string, or JSON null for 0. A new reference. */
json_t *apijson_time(int64_t t);

/* s as a JSON string, each byte of it that does not start a valid UTF-8 sequence as U+FFFD
 * (jansson takes only UTF-8; what a customer's DNS serves is bytes); JSON null for NULL. A new
 * reference, NULL when out of memory. */
json_t *apijson_text(const char *s);

/* A token as an object: name, scope ("platform" or "tenant"), tenant (null for the platform),
 * created_at, last_used_at, revoked_at (null when unset). A new reference, NULL when out of
 * memory. */
json_t *apijson_token(const struct apitoken *t);

/* The n tokens of v as an array of apijson_token objects. A new reference, NULL when out of
 * memory. */
json_t *apijson_tokens(const struct apitoken *v, size_t n);

/* A tenant as an object: name, created_at, domains (active), slots (null: the store's), ed25519
 * (true, false; null: the store's) and policy {spf, mx, dmarc}, its own (null: inherited). A new
 * reference, NULL when out of memory. */
json_t *apijson_tenant(const struct reg_tenant *t);

/* A domain as an object: domain, tenant, token, state, return_path, created_at, removed_at. A
 * new reference, NULL when out of memory. */
json_t *apijson_domain(const struct reg_domain *d);

/* The n records of r as an array of {name, type, value, purpose, optional}. A new reference,
 * NULL when out of memory. */
json_t *apijson_records(const struct reg_record *r, int n);

/* A string, or JSON null for NULL. A new reference. */
json_t *apijson_str(const char *s);
/* Whose names a key's object takes: each is a stable interface of its own. */
enum apijson_key_style {
	APIJSON_KEY_API, /* dnsd-api's: the times as created_at, published_at... */
	APIJSON_KEY_CLI, /* dnsdctl key list --json's: created, published...; with
			  * published_serial and private_key */
};
/* A key of a domain as an object: id, selector, role, algorithm, state, public_key (base64 DER
 * as the store holds it, null when none), and its times (created, published, activated,
 * retired, revoked, active_after, rotate_due: ISO 8601 or null), named and ordered as style
 * says. Text that is not UTF-8 has U+FFFD for each bad byte (apijson_text). A new reference,
 * NULL when out of memory. */
json_t *apijson_key(const struct lc_key_info *k, enum apijson_key_style style);

#endif
