/* policy: validation of SPF, DMARC, MX and domain-name text: by dnsdctl before it writes the store, and by
 * dnsd on every policy row it loads. */
#ifndef DNSD_POLICY_H
#define DNSD_POLICY_H
#include <stddef.h>

/* The longest SPF, DMARC or MX value accepted, in characters. Such a TXT answer (9 strings, 2,057 octets of
 * data) fits any TCP message and comes whole over UDP to a client that offers 2.2 KB of EDNS; RFC 7208 3.4
 * asks SPF for much less (450 octets), and receivers read DMARC records of a few hundred. docs/schema.md
 * says why. */
#define POLICY_MAX_LEN 2048

/* What an SPF term asks of a name inside the hosted zone. */
enum {
	POLICY_SPF_TXT,  /* the SPF record (include:, redirect=), written to out */
	POLICY_SPF_A,    /* an A record (exists:) */
	POLICY_SPF_ADDR, /* an A or AAAA record (a:) */
	POLICY_SPF_MX,   /* an MX record (mx:) */
};

/* Looks up what (POLICY_SPF_*) at an absolute, lowercase name inside the hosted zone. For POLICY_SPF_TXT,
 * writes the SPF policy (the TXT starting "v=spf1") NUL-terminated to out. Returns 1 if found, 0 if the name
 * has none (a void lookup), or a negative DNSD_E* code. */
typedef int (*policy_spf_lookup_fn)(void *ctx, const char *name, int what, char *out, size_t outlen);

/* Validates an SPF record by RFC 7208 syntax. zone is the hosted zone, absolute, lowercase, with trailing dot
 * (e.g. "auth.esp.example."). include: and redirect= targets that are inside zone (equal to it or under it,
 * case-insensitive, with or without trailing dot) are expanded through lookup (lookup may be NULL: then such
 * targets count as one term and are not expanded), recursively, and their terms are counted too. The other
 * terms that point into zone are checked as receivers would find them: a: needs an A or AAAA record there,
 * mx: an MX, exists: an A (through lookup, when there is one); ptr: and any target built with macros are
 * refused, since the zone serves no PTR targets and no wildcards.
 * Counts DNS-querying terms (include, a, mx, ptr, exists, redirect) against the RFC 7208 §4.6.4 limit of 10, and
 * void lookups (inside-zone targets that lookup says do not exist) against the limit of 2; include loops inside
 * the zone are an error. *lookups_out (may be NULL) receives the total count (so far, on failure).
 * On failure, writes one clear sentence into err (e.g. "SPF: unknown mechanism 'ipv4:192.0.2.1'") and returns
 * DNSD_EINVAL, or the negative code lookup returned (err then names the target). Returns 0 when valid.
 * err may be NULL or errlen 0: the sentence is then dropped. */
int policy_spf_check(const char *spf, const char *zone, policy_spf_lookup_fn lookup, void *ctx,
		     int *lookups_out, char *err, size_t errlen);

/* Validates a DMARC record (RFC 7489, tolerating RFC 9989 tags np, psd, t) of at most POLICY_MAX_LEN
 * characters: v=DMARC1 first; p= required
 * (none|quarantine|reject); sp, np same set; pct 0..100; adkim/aspf r|s; fo colon-separated of 0,1,d,s; rf afrf;
 * ri non-negative 32-bit integer; rua/ruf comma-separated mailto: URIs with a syntactically valid address and
 * optional !size suffix (digits + optional k/m/g/t); psd y|n|u; t y|n; unknown and duplicate tags are errors
 * (they are typos in a validator); tags separated by ';' with optional whitespace; trailing ';' allowed.
 * Returns 0 or DNSD_EINVAL with one clear sentence in err. */
int policy_dmarc_check(const char *dmarc, char *err, size_t errlen);

/* Validates a bounce MX list: one or more "PREFERENCE HOST" separated by commas, e.g.
 * "10 bounce.esp.example., 20 b2.esp.example". PREFERENCE 0..65535; HOST a valid host name (as
 * policy_name_check without underscores); a host listed twice is an error. At most 10 entries and
 * POLICY_MAX_LEN characters.
 * Returns 0 or DNSD_EINVAL with err. */
int policy_mx_check(const char *mx, char *err, size_t errlen);

/* Validates a domain name given as text (customer domains and host names): LDH labels 1..63 octets (letters,
 * digits, hyphen, not starting or ending with hyphen; underscore allowed only when allow_underscore), at least
 * two labels, total <= 253 characters without the trailing dot, trailing dot optional, no empty labels, not
 * all-numeric TLD. Returns 0 or DNSD_EINVAL with err like "domain 'exa mple.com': label 'exa mple' has a
 * character that is not a letter, digit or hyphen". */
int policy_name_check(const char *name, int allow_underscore, char *err, size_t errlen);

#endif
