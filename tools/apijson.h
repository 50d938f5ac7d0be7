/* apijson: the JSON shapes that dnsdctl's api-token command and dnsd-api both print, built with
 * jansson, so that a token reads the same from either. */
#ifndef DNSD_APIJSON_H
#define DNSD_APIJSON_H
#include <jansson.h>
#include <stdint.h>

#include "apitoken.h"

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

#endif
