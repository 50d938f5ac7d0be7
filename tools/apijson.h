/* apijson: the JSON shapes that dnsdctl's api-token command and dnsd-api both print, built with
 * jansson, so that a token reads the same from either. */
#ifndef DNSD_APIJSON_H
#define DNSD_APIJSON_H
#include <jansson.h>
#include <stdint.h>

#include "apitoken.h"
#include "registry.h"
#include "lifecycle.h"

/* t as an ISO 8601 UTC string, or JSON null for 0. A new reference. */
json_t *apijson_time(int64_t t);

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
/* A key of a domain as the API lists it: id, selector, role, algorithm, state, public_key (base64
 * DER as the store holds it, null when none), and its times (created_at, published_at,
 * activated_at, retired_at, revoked_at, active_after, rotate_due: ISO 8601 or null). A new
 * reference, NULL when out of memory. */
json_t *apijson_key(const struct lc_key_info *k);

#endif
