/* lifecycle: the DKIM key lifecycle in the store. Keys live in selector slots
 * and move published -> active -> retired -> revoked; every move is an event
 * with its cause. The operations here (rotate, revoke, import, put, slot
 * eligibility, and the job's due steps in maintain.c) each own their write
 * transaction: they return 0, or a DNSD_E* code with w->err (and w->field, the
 * input at fault) set, and then changed nothing and left no key file.
 * lifecycle.c holds the states and the manual steps; lcrevoke.c the revokes,
 * import and put; maintain.c the job. */
#ifndef DNSD_LIFECYCLE_H
#define DNSD_LIFECYCLE_H
#include "keys.h"
#include "ns.h"
#include "wr.h"
#include <stddef.h>
#include <stdint.h>

#define LC_DAY 86400

/* SQL for when the active key k is due for rotation: its scheduled time, else
 * its activation plus the rotation period (days, a parameter) less a part of
 * the spread (seconds) fixed by its id, so that keys made together rotate
 * apart; NULL when rotation by age is off. */
#define LC_ROTATE_DUE_SQL(days, spread)                                                            \
	"(CASE WHEN k.rotate_at IS NOT NULL THEN k.rotate_at WHEN " days " > 0 THEN "              \
	"k.activated_at + " days " * 86400 - (k.id * 2654435761) % max(" spread ", 1) ELSE "       \
	"NULL END)"

/* A domain as the lifecycle needs it. */
struct lc_domain {
	int64_t id, tenant_id;
	char name[256], token[32], state[16];
};

/* A key and its slot. */
struct lc_key {
	int64_t id, slot_id, active_after, published_at;
	char selector[64], role[16], alg[32], state[16];
	int eligible;
};

/* ---- states and the store's facts (inside or outside a transaction) ---- */

/* Finds the domain named name (any case, a trailing dot or not): the live one,
 * or with any_state the newest row. 0; DNSD_EINVAL (field "domain") for a name
 * that is no host name; DNSD_ENOENT when there is none. */
int lc_domain_find(struct wr *w, const char *name, int any_state, struct lc_domain *d);
/* t as ISO 8601 UTC into buf, or "-" for 0; returns buf. */
const char *lc_time(int64_t t, char *buf, size_t n);
/* A whole, non-negative setting, or def. */
int64_t lc_setting_i64(struct wr *w, const char *name, int64_t def);
/* The hosted zone's negative TTL (RFC 2308) from the zone file of w's
 * configuration; three hours when unknown. */
int64_t lc_negative_ttl(struct wr *w);
/* How long a key published now in slot_id must wait before it may sign:
 * the DKIM TTL (or a larger one still held in caches), or until a slot made
 * recently stops being cached as NXDOMAIN. */
int64_t lc_key_hold(struct wr *w, int64_t slot_id, int64_t now);
/* "main", or "Ed25519 pair" for the ed25519 role, for sentences. */
const char *lc_role_name(const char *role);
/* The algorithm a rotation generates: the one the role uses now (cur, may be
 * NULL), never weaker than rsa-2048. */
void lc_next_algorithm(const char *cur, const char *role, char *out, size_t n);
/* Records an event of a key. Returns w->rc. */
int lc_event(struct wr *w, int64_t key_id, int64_t domain_id, const char *ev, int64_t at,
	     const char *cause);
/* What a new key row says. */
struct lc_key_new {
	int64_t domain_id, slot_id;
	const char *alg, *pub, *path; /* path: the private key file; NULL for none */
	const char *state;	      /* "published" or "active" */
	const char *first_event;      /* "generated" or "imported" */
	const char *cause;
	/* A domain's first keys sign at once: nothing was ever answered for
	 * their names. Any other key may sign only after lc_key_hold. */
	int first_keys;
};
/* Inserts a key row and its events (inside the write transaction). Returns
 * its id, or 0 with w->rc set. */
int64_t lc_key_insert(struct wr *w, const struct lc_key_new *k);
/* Moves a key to state (active, retired, revoked) and records the event.
 * Returns w->rc. */
int lc_key_set_state(struct wr *w, int64_t kid, int64_t domain_id, const char *state, int64_t now,
		     const char *cause);
/* An eligible slot of the role with no live key, other than except, the
 * lowest position first: its id (and selector into sel, when not NULL), or 0. */
int64_t lc_free_slot(struct wr *w, int64_t domain_id, const char *role, int64_t except, char *sel,
		     size_t n);
/* The key of the domain in state and role into *k: the newest, or with oldest
 * the one longest in that state. Its id, or 0. */
int64_t lc_key_in_order(struct wr *w, int64_t domain_id, const char *role, const char *state,
			struct lc_key *k, int oldest);
/* The key key_id of the domain (any state) into *k: its id, or 0 when the domain has no such
 * key. The API revokes by id; the library by selector. */
int64_t lc_key_by_id(struct wr *w, int64_t domain_id, int64_t key_id, struct lc_key *k);
/* The live key in the slot named selector into *k: its id, or 0. *slot_id
 * and role are set when the slot exists (*slot_id 0 when not). */
int64_t lc_key_at(struct wr *w, int64_t domain_id, const char *selector, int64_t *slot_id,
		  char *role, size_t rn, struct lc_key *k);
/* Steps st to its end, collecting column 0 of each row; finalizes it. The
 * ids (caller frees; NULL when none) and *n their number; w->rc on error. */
int64_t *lc_ids(struct wr *w, sqlite3_stmt *st, size_t *n);
/* 1 when the domain has slots of the role. */
int lc_has_role(struct wr *w, int64_t domain_id, const char *role);
/* One line naming what each slot of the role holds (why none is free). */
void lc_slots_report(struct wr *w, int64_t domain_id, const char *role, char *out, size_t n);

/* ---- reads ---- */

/* A key as key list shows it. Strings are valid during the callback only. */
struct lc_key_info {
	int64_t id, published_serial;
	const char *selector, *role, *alg, *state, *public_key, *private_key; /* may be NULL */
	/* created, published, activated, retired, revoked, active_after,
	 * rotate_due: seconds, 0 when not (yet) */
	int64_t at[7];
};
/* Calls each for every key of the domain (any state, removed domains too),
 * oldest first, until it returns non-zero (which is returned). 0, or a code
 * with w->err set (DNSD_ENOENT: no such domain). */
int lc_key_list(struct wr *w, const char *domain,
		int (*each)(void *arg, const struct lc_key_info *k), void *arg);

/* ---- operations ---- */

/* A key made by an operation. */
struct lc_key_out {
	char domain[256], selector[64], alg[32], state[16], path[4096];
	int64_t key_id, active_after;
};

/* key rotate: generates a key (alg NULL: lc_next_algorithm) and publishes it
 * in a free eligible slot of the role (NULL: main); the job activates it once
 * it is served and held long enough. */
struct lc_rotate_in {
	const char *domain, *role, *algorithm;
};
int lc_key_rotate(struct wr *w, const struct lc_rotate_in *in, struct lc_key_out *out);

/* key rotate --all: schedules every active key activated at least
 * older_than_days ago (of one tenant, when not NULL), that is not in the
 * middle of a rotation, to rotate at times spread evenly over over_hours. */
struct lc_rotate_all_in {
	int64_t older_than_days, over_hours;
	const char *tenant;
};
struct lc_rotate_all_out {
	int64_t scheduled, first, last;
};
int lc_key_rotate_all(struct wr *w, const struct lc_rotate_all_in *in,
		      struct lc_rotate_all_out *out);

/* slot set: marks a slot eligible (or not) for new keys. *changed: 0 when it
 * already was. */
int lc_slot_set(struct wr *w, const char *domain, const char *selector, int eligible, int *changed);

/* key revoke (emergency): the key in the selector is revoked at once; if it
 * was active, the role's published key takes over, or a new key generated
 * before the transaction does, active now. */
struct lc_revoke_in {
	const char *domain, *selector, *reason; /* reason may be NULL */
};
struct lc_revoke_out {
	char domain[256], role[16], replacement_selector[64];
	int64_t revoked, replacement, window_until, now;
	int was_active;
	const char *how; /* how the replacement came (static), NULL when none */
};
int lc_key_revoke(struct wr *w, const struct lc_revoke_in *in, struct lc_revoke_out *out);

/* key revoke --all: every live key of the chosen domains (those of a tenant,
 * or those listed) is revoked in one transaction, and each role that had an
 * active key gets a new key, generated before it, active at once (unless
 * no_replace). Domains listed that do not exist are an error (nothing done). */
struct lc_revoke_all_in {
	const char *tenant;	    /* or NULL */
	const char *const *domains; /* or NULL; ndomains of them */
	size_t ndomains;
	const char *reason; /* may be NULL */
	int no_replace;
};
struct lc_revoke_all_out {
	int64_t domains, revoked, replaced, unreplaced;
};
int lc_key_revoke_all(struct wr *w, const struct lc_revoke_all_in *in,
		      struct lc_revoke_all_out *out);

/* key import: a private key given as a file (or as PEM text in pem/pem_len,
 * named source in messages) is copied into the key directory and published in
 * the selector (NULL: a free eligible slot of the role its algorithm fits), or
 * made active at once with activate (retiring the role's active key).
 * key put (replace): the same, at the selector, whose live key is revoked in
 * the same transaction: the selector never answers p= between the two keys. The
 * new key takes the replaced key's state (active stays active); an empty slot
 * is filled as import does. */
struct lc_import_in {
	const char *domain, *selector;
	const char *file;	  /* or NULL: pem */
	const char *pem, *source; /* PEM text and its name, when file is NULL */
	size_t pem_len;
	int activate, replace;
};
struct lc_import_out {
	struct lc_key_out key;
	int64_t replaced; /* the key key put revoked, 0 when none */
	int bits, is_ed25519;
	/* key put of the key the selector holds already: nothing changed, key is that key (its
	 * path the stored private key's). */
	int unchanged;
};
int lc_key_import(struct wr *w, const struct lc_import_in *in, struct lc_import_out *out);

/* ---- the job (maintain.c) ---- */

struct lc_maintain_in {
	int64_t max_keys; /* successors generated at most per run (0 to 1000000) */
	/* Called with one line for each step taken or waiting (may be NULL). */
	void (*note)(void *arg, const char *line);
	void *note_arg;
};
struct lc_maintain_out {
	int revoked, activated, published, waiting, purged, more_due;
	int64_t blocked, skipped, serial;
	int retention_days;
	struct ns_answer *ns; /* what each name server answered (lc_maintain_free) */
	size_t nns;
};
/* The job, every due step in one batch: asks the name servers for their serial
 * and generates the successors of the keys due for rotation (both before the
 * lock), then commits: the answers, the retired keys past retention revoked,
 * the published keys served everywhere and held long enough activated (their
 * role's active key retired), the successors published, and the removed
 * domains past retention purged. Then the caller refreshes the exports. 0, or
 * a code with w->err set (nothing changed). */
int lc_maintain(struct wr *w, const struct lc_maintain_in *in, struct lc_maintain_out *out);
void lc_maintain_free(struct lc_maintain_out *out);

#endif
