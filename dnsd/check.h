/* check: what the check finds for a customer domain (dnsdctl check, the API's
 * POST /v1/domains/{domain}/check): each record the customer adds, looked up
 * through a recursive resolver, judged, and the way of sending that is safe for
 * the domain now. check.c looks up and judges (network only, no store);
 * chkstore.c reads what to check from the store and keeps what was found, as
 * the write library's operations (wr.h: 0 or a DNSD_E* code with w->err set,
 * one transaction each, nothing printed). */
#ifndef DNSD_CHECK_H
#define DNSD_CHECK_H
#include "registry.h"
#include "wr.h"
#include <ldns/ldns.h>
#include <stdint.h>

#define CHECK_CHAIN_MAX 8
#define CHECK_REC_MAX	(REG_MAX_SLOTS + 2)
#define CHECK_KEYS_MAX	16
#define CHECK_OTHER_MAX 64
#define CHECK_WARN_MAX	8

/* When a domain is checked again, by its state (seconds). A domain with a key
 * published and waiting is checked at the pending pace: a copy of the slot's
 * old TXT shows then, before the key may activate. */
#define CHECK_AGAIN_PENDING  (15 * 60)
#define CHECK_AGAIN_DRIFTED  (60 * 60)
#define CHECK_AGAIN_VERIFIED (24 * 60 * 60)
#define CHECK_AGAIN_FAILED   (15 * 60)

enum check_outcome {
	CO_IN_PLACE,  /* the CNAME points where it should */
	CO_FLATTENED, /* no CNAME, but what dnsd serves now: a flattening host, or a copy */
	CO_MISSING,   /* nothing at the name */
	CO_WRONG,     /* a CNAME to another target */
	CO_STALE,     /* a copy of an older key or policy */
	CO_OTHER,     /* content that dnsd never served */
	CO_OWN_DMARC, /* _dmarc not delegated: the customer's own DMARC record */
	CO_ERROR,     /* the lookup failed */
	CO_PROBING,   /* a TXT with what dnsd serves now, its marker test waiting (probe.c) */
};
extern const char *const check_outcome_name[];

/* The ways of sending on behalf of a customer. */
enum check_way { CW_ALIGNED, CW_DKIM, CW_PLATFORM };
extern const char *const check_way_name[];

struct check_record {
	char name[600], expect[600]; /* absolute, lowercase */
	const char *purpose;	     /* dkim, return-path, dmarc */
	char selector[64];
	int64_t slot_id;
	int optional, active, eligible;
	char cur_pub[1100]; /* the slot's key in the store (not revoked), "" if none */
	enum check_outcome out;
	char chain[CHECK_CHAIN_MAX][300];
	int nchain;
	char found[2200], detail[600], hint[1100];
	uint32_t ttl; /* of the TXT found at the name itself */
};

struct check_key {
	char pub[1100], state[16], selector[64], when[64];
};

struct check_domain {
	int64_t id;
	char name[256], token[32], rp[64], zone[256];
	struct check_record rec[CHECK_REC_MAX];
	int nrec, has_active;
	int quick; /* check --all: an in-place DKIM or Return-Path target is not read */
	struct check_key keys[CHECK_KEYS_MAX]; /* retired and revoked */
	int nkeys;
	struct {
		char name[256], token[32];
	} other_tokens[CHECK_OTHER_MAX]; /* the tenant's other domains */
	int nother;
	/* the DKIM marker test (probe.c): the marker dnsd serves (domains.mark,
	 * "" if none); the test in flight while mark_at != 0, judged at
	 * probe_until; what the last test found of the host ("flattens",
	 * "copies", "") and when; dnsd's DKIM TTL; the check's clock */
	char mark[16], host[16];
	int64_t mark_at, probe_until, host_at, now;
	uint32_t ttl_dkim;
	/* what this check found of it: a test to start (new_until: when to
	 * judge it), records still waiting, and the host's answer */
	int probe_start, nwaiting;
	int64_t new_until;
	char verdict[16];
	/* results; nbad: required records not in place, those waiting for the
	 * marker test left out */
	int all_ok, errors, nwarn, nbad;
	enum check_way way;
	char warn[CHECK_WARN_MAX][400];
	/* the state kept in the store, after check_save */
	char state[16];
	int64_t since;
	char changes[CHECK_REC_MAX * 2 + 1][400];
	int nchanges;
};

/* The text readers of what the customer's DNS holds (fuzz_check):
 * check_tag: the value of tag in a tag=value list (DKIM, DMARC: "p", "aspf"),
 * blanks cut, into out (cut at n); 1 if the tag is there.
 * check_lines: how many lines of a "\n"-separated list start with prefix
 * ("v=spf1": then a blank, ';' or the end), the first into out (may be NULL).
 * check_brief: one line of s to show, cut to about 60 characters, in buf. */
int check_tag(const char *rec, const char *tag, char *out, size_t n);
int check_lines(const char *list, const char *prefix, char *out, size_t n);
const char *check_brief(const char *s, char *buf, size_t n);
/* 1 when the outcome counts as in place (a CNAME, or a flattened copy). */
int check_outcome_ok(enum check_outcome o);
/* Judges x, a record served directly (its name holds a TXT where the CNAME
 * belongs): the outcome o and the detail (printf); and, when fix is not NULL,
 * the hint "FIX the CNAME to EXPECT" (fix: "replace the TXT with", ...). */
void check_direct(struct check_record *x, enum check_outcome o, const char *fix, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
/* A recursive resolver: spec "ADDR[:PORT]", or NULL for the system's
 * (/etc/resolv.conf). NULL with why on failure. */
ldns_resolver *check_resolver(const char *spec, char *why, size_t n);
/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" into an address and a port
 * (53 when not given); 0, or -1 when it is not one. */
int check_parse_addr(const char *in, char *addr, size_t n, int *port);
/* Looks every record of d up through r and judges them (network only; no
 * store access, so that it can run in a thread). */
void check_run(ldns_resolver *r, struct check_domain *d);

/* ---- the store (chkstore.c) ---- */

/* Fills d with the records the domain's customer adds, its old keys, the
 * tenant's other codes and the marker test's state, from the store. */
int check_load(struct wr *w, const struct reg_domain *row, struct check_domain *d);
/* Keeps what check_run found in the store, in one transaction at now: each
 * record's state (pending, verified, drifted when a verified record is no
 * longer in place) and the domain's, with an event for each change; each DKIM
 * slot eligible exactly when its record is in place; when the domain is due
 * again; the marker test's start or answer. A failed lookup changes no state.
 * Lists the changes in d->changes, and the state in d->state and d->since. */
int check_save(struct wr *w, struct check_domain *d, int64_t now);
/* check_save for n domains in one transaction (check --all's batch), each at
 * the store's clock. */
int check_save_all(struct wr *w, struct check_domain **d, int n);
/* check --all's domains, a batch of at most limit at now: with phase 0 those
 * checked before and due again, the oldest due first; with phase 1 those never
 * checked, in id order after *after (moved on past every row read). Calls each
 * for every domain a check can be made of (a row with a token or a
 * Return-Path label that is not one, SQL past the checks, is passed by); *nread
 * gets how many rows were read. each returns 0 to go on. */
int check_due(struct wr *w, int phase, int64_t now, int limit, int64_t *after, int *nread,
	      int (*each)(void *arg, const struct reg_domain *d), void *arg);

/* What the store holds of a domain's last check (check_stored). */
struct check_state {
	char state[16]; /* pending, verified, drifted; "" when never checked */
	char way[24];	/* fully-aligned, dkim-aligned, platform-domain, "" */
	int64_t since, checked_at, verified_at, next_at;
	char host[16]; /* what the marker test found: flattens, copies, "" */
	int64_t marker_changed, marker_test_until; /* a test in flight; 0 when none */
};
/* A record as the last check judged it (valid during the callback only). */
struct check_stored_rec {
	const char *name, *purpose, *state, *outcome, *detail; /* NULL when never checked */
	const char *expect;				       /* where its CNAME points */
	int optional;
	int64_t since, checked_at, verified_at;
};
/* The domain's stored check into st, and each record it has now (the ones
 * check_load makes, with what the last check said of each, in their order)
 * through each. 0 or a code. */
int check_stored(struct wr *w, const struct reg_domain *row, struct check_state *st,
		 int (*each)(void *arg, const struct check_stored_rec *r), void *arg);

#endif
