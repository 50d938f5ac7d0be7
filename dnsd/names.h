/* names: the shape of every name, label and path that dnsd and dnsdctl take from the store, whose
 * rows anyone with SQL may have written, and a safe way to quote such text in a message. */
#ifndef DNSD_NAMES_H
#define DNSD_NAMES_H
#include <stddef.h>

/* The longest tenant name, and the longest selector prefix (room for "-ed2" and more). */
#define NAMES_TENANT_MAX 64
#define NAMES_PREFIX_MAX 40

/* A customer domain as the store holds it: what policy_name_check accepts without underscores (LDH
 * labels of 1..63 characters, at least two labels, at most 253 characters, a top-level label not
 * all digits), in lowercase and without a trailing dot. Returns 0 or DNSD_EINVAL with one sentence
 * in err (err may be NULL). */
int names_domain(const char *s, char *err, size_t errlen);

/* One lowercase LDH label of 1..max characters (max at most 63), neither starting nor ending with a
 * hyphen: a DKIM selector, a Return-Path label, the selector prefix. Returns 1 if s is one, else 0
 * (NULL gives 0). */
int names_label(const char *s, size_t max);

/* A tenant name: a letter or a digit, then up to NAMES_TENANT_MAX - 1 letters, digits, '.', '_' or
 * '-' ("." , ".." and "-x" are not names). Tenant names are compared without case. Returns 1 or 0.
 */
int names_tenant(const char *s);

/* A private key path fit for a line of the signer's exports: absolute, with no empty, "." or ".."
 * component, and none of the characters that would end or split a line of OpenDKIM's or Rspamd's
 * tables (control characters, blanks, ':', '#', '"', '\\', DEL). Returns 1 or 0. */
int names_key_path(const char *s);

/* Copies s (NULL: "(null)") into out for quoting in a log line or on a terminal: control
 * characters, DEL and bytes above 0x7e become \xNN, a backslash becomes \\, and text that does not
 * fit outlen is cut with "...". Returns out. outlen must be at least 8. */
const char *names_show(char *out, size_t outlen, const char *s);

/* Copies s into out as valid UTF-8: each byte that does not start a valid sequence (a stray
 * continuation byte, an overlong form, a surrogate, past U+10FFFF, a cut sequence) becomes
 * U+FFFD; text that does not fit n is cut before a whole character. What a customer's DNS serves
 * is bytes, and JSON (jansson, the API) takes only UTF-8. Returns out. n must be at least 1. */
char *names_utf8(char *out, size_t n, const char *s);

#endif
