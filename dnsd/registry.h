/* registry: the store's tenants, customer domains, their slots and first keys,
 * the policies and the settings, as the write library's operations (wr.h says
 * the conventions: 0 or a DNSD_E* code with w->err and w->field set, one
 * transaction each, nothing changed on error, nothing printed). dnsdctl, the
 * API server and the job call these; the SQL for these objects lives here.
 * bulk.c adds many domains in one batch (import) through the same path as one. */
#ifndef DNSD_REGISTRY_H
#define DNSD_REGISTRY_H
#include "keys.h"
#include "wr.h"
#include <stddef.h>
#include <stdint.h>

/* Slots a domain may have, the Ed25519 pair included. */
#define REG_MAX_SLOTS 8

/* ---- names ---- */

/* A domain as given (any case, a final dot or not) in the stored form:
 * lowercase, no final dot, into out. 0, or DNSD_EINVAL (field "domain") when it
 * is no host name or does not fit. */
int reg_domain_norm(struct wr *w, const char *in, char *out, size_t n);
/* The selector of slot position pos (1-based) of a domain with nmain main
 * slots: <prefix><pos>, then the Ed25519 pair <prefix>-ed1, <prefix>-ed2.
 * Returns 1 if the position belongs to the pair. */
int reg_slot_selector(const char *prefix, int pos, int nmain, char *out, size_t n);
/* The store's selector prefix into out ("dnsd" when unset). */
const char *reg_prefix(struct wr *w, char *out, size_t n);

/* ---- tenants ---- */

/* The id of a tenant (names compare without case), 0 when there is none:
 * then, with must, DNSD_ENOENT is set (field "tenant"). */
int64_t reg_tenant_id(struct wr *w, const char *name, int must);

/* A tenant as listed: name, policies and layout point into the row being
 * read (valid during the callback only). */
struct reg_tenant {
	const char *name;
	int64_t created_at, domains;  /* domains: the active ones */
	const char *spf, *mx, *dmarc; /* its own policies; NULL: it inherits the global one */
	int slots;		      /* its new domains' main slots; 0: the store's */
	int ed25519;		      /* their Ed25519 pair: 1, 0; -1: the store's */
};

/* Adds a tenant. slots: 0 (the store's) or 2 to 8; ed25519: 1, 0 or -1 (the
 * store's). DNSD_EINVAL (field "tenant", "slots"), DNSD_EEXIST (the name, in
 * any case, is taken). */
int reg_tenant_add(struct wr *w, const char *name, int slots, int ed25519);
/* Changes what a tenant's new domains get: slots when not 0, the pair when not
 * -1 (domains already added keep theirs). DNSD_ENOENT, DNSD_EINVAL. */
int reg_tenant_set(struct wr *w, const char *name, int slots, int ed25519);
/* Deletes a tenant with no domains, and its policies. DNSD_ENOENT; DNSD_EEXIST
 * while it has domains (a purged one's token is kept: then never). */
int reg_tenant_remove(struct wr *w, const char *name);
/* Calls each for every tenant by name, or only the one named (NULL: all; one
 * that does not exist: DNSD_ENOENT). each returns 0 to go on; what else it
 * returns stops the list and is returned. */
int reg_tenant_list(struct wr *w, const char *name,
		    int (*each)(void *arg, const struct reg_tenant *t), void *arg);

/* ---- domains ---- */

struct reg_domain {
	int64_t id, tenant_id, created_at, removed_at;
	char name[256], token[32], rp[64], state[16], tenant[128];
};

/* Finds the live (active) domain of a stored name, or with any_state its
 * newest row. 1 found (d filled), 0 not (or an error, then set). */
int reg_domain_find(struct wr *w, const char *name, struct reg_domain *d, int any_state);
/* reg_domain_find for a name as given: 0, DNSD_EINVAL for a bad name, or
 * DNSD_ENOENT (field "domain") when there is no such domain. */
int reg_domain_need(struct wr *w, const char *arg, struct reg_domain *d, int any_state);

/* A new domain: its names, its slot layout and its first key. */
struct reg_domain_in {
	const char *name;	 /* as given */
	const char *tenant;	 /* the tenant's name */
	const char *token;	 /* NULL: a new random one */
	const char *return_path; /* the Return-Path label; NULL: the store's setting */
	int slots;		 /* main slots, 2 to 8; 0: the tenant's, else the store's */
	int ed25519;		 /* the Ed25519 pair: 1 or 0; -1: the tenant's, else the store's */
	/* The first key of the first main slot, one of: generated (algorithm; NULL
	 * is rsa-2048), an existing private key (key_file, a PEM file: its copy goes
	 * into the keys directory), or only an existing public key (public_key,
	 * base64 DER: the signer keeps the private half elsewhere). With a key,
	 * algorithm (if given) is what it must be. key_pem (key_pem_len bytes, the
	 * caller's) is a private key given as PEM text instead of key_file (the
	 * API's "key"): its errors name the field "key". */
	const char *algorithm, *key_file, *public_key;
	const char *key_pem;
	size_t key_pem_len;
	/* Why the first keys were made, for their events ("domain add", "import"). */
	const char *cause;
	/* An import's: check_only checks everything but makes no key and stages
	 * no file (the row is prepared again when its batch is written); with
	 * done_ok, a live domain that is this row already (the same tenant, the
	 * token if one is given, a key with the same public value) is no error:
	 * the prep gives a reg_new with done set, to be skipped (an import run
	 * again after it was stopped). */
	int check_only, done_ok;
};

/* A new domain checked and its key files made (staged: see wr.h), ready to be
 * written by reg_domain_add_tx. Owned by the caller: reg_new_free. */
struct reg_new {
	char *name, *tenant, *token, *rp;
	char *alg[2], *pub[2], *path[2]; /* [0] the first main key, [1] the pair's (NULL: none) */
	const char *first_event;	 /* "generated" or "imported" */
	char *cause;
	int nslots, pair, weak_bits; /* weak_bits: an RSA key under 2048 bits was given */
	int done;		     /* the domain is there already, as given (done_ok) */
	int64_t tid;		     /* the tenant's row, as the checks found it */
	uint64_t checked_txn; /* the write transaction (w->txn) the checks ran in; 0: none */
};

/* Checks a new domain against its input and the store as it is now, and does
 * the slow part outside any transaction: draws the token, generates or reads
 * the keys and stages their files. The slot layout is the input's, else the
 * tenant's, else the store's; a pair that does not fit is refused (field
 * "ed25519"), the same for one domain and for an import. Returns 0 (*out set,
 * the caller's to free) or a code: DNSD_EINVAL with the field ("domain",
 * "tenant", "token", "return_path", "slots", "ed25519", "algorithm", "key_file",
 * "key", "public_key"), DNSD_ENOENT (no such tenant), DNSD_EEXIST (the domain lives,
 * or the token was used once). */
int reg_domain_prep(struct wr *w, const struct reg_domain_in *in, struct reg_new **out);
/* Writes a prepared domain inside the caller's transaction: its token, its
 * row, its slots and its first keys (active at once: its names were never
 * answered). Checks again what may have changed since the prep (EEXIST,
 * ENOENT). Sets *id (may be NULL) to the domain's row. */
int reg_domain_add_tx(struct wr *w, const struct reg_new *nd, int64_t *id);
/* reg_domain_add_tx, which with write 0 only checks (a batch that already has
 * a bad row goes on finding the others but writes nothing more). */
int reg_domain_write(struct wr *w, const struct reg_new *nd, int write, int64_t *id);
/* Prep, then one transaction: the whole of `domain add`. d (may be NULL) gets
 * the new domain. A given RSA key under 2048 bits is taken, with a warning
 * (wr_warn). */
int reg_domain_add(struct wr *w, const struct reg_domain_in *in, struct reg_domain *d);
void reg_new_free(struct reg_new *nd);

/* Removes a live domain: revokes its keys (its DKIM names answer a revoked
 * key, p=, until the job purges it after the retention period) and keeps its
 * token from being used again. d (may be NULL) gets it. DNSD_EINVAL,
 * DNSD_ENOENT. */
int reg_domain_remove(struct wr *w, const char *name, struct reg_domain *d);

/* Which domains reg_domain_list gives, in the order of their names (and rows). */
struct reg_filter {
	const char *tenant; /* only this tenant's (DNSD_ENOENT when there is none); NULL: all */
	const char *state;  /* "active" or "removed"; NULL: both (purged ones never) */
	const char *q;	    /* only names holding this text (any case, as given); NULL: all */
	/* Only domains whose last check (domain_checks) is in this state: "pending"
	 * (a domain never checked is pending), "verified" or "drifted"; NULL: any. */
	const char *check;
	/* Paging: only the rows after this name and row id (the last of the page
	 * before); NULL: from the first. */
	const char *after_name;
	int64_t after_id;
	int limit; /* at most this many; 0: all */
};
/* Calls each for every domain f lets through. each returns 0 to go on; what
 * else it returns stops the list and is returned. DNSD_EINVAL (field "state",
 * "check", "q", "limit"), DNSD_ENOENT (field "tenant"). */
int reg_domain_list(struct wr *w, const struct reg_filter *f,
		    int (*each)(void *arg, const struct reg_domain *d), void *arg);

/* A slot of a domain and its live key (valid during the callback only). */
struct reg_slot {
	const char *selector, *role;
	int eligible;
	const char *algorithm, *state, *private_ref; /* NULL: no live key in the slot */
	int64_t activated_at;
};
/* Calls each for every slot of a domain, in order. */
int reg_domain_slots(struct wr *w, int64_t domain_id,
		     int (*each)(void *arg, const struct reg_slot *s), void *arg);

/* The records a customer adds for a domain, once: a CNAME per DKIM slot, the
 * Return-Path's, then the optional hosted DMARC. */
struct reg_record {
	char name[600], value[600];
	const char *purpose; /* "dkim", "return-path", "dmarc" */
	int optional;
};
#define REG_MAX_RECORDS (REG_MAX_SLOTS + 2)
/* Fills r (REG_MAX_RECORDS of them) and *n, and *ttl with the TTL to suggest.
 * These lines are pasted into the customer's zone: a token, label or selector
 * in the store that is not one (SQL past the checks) is refused
 * (DNSD_ESTORE), a selector left out with a warning. */
int reg_domain_records(struct wr *w, const struct reg_domain *d, struct reg_record *r, int *n,
		       int *ttl);

/* An event of a domain's history (valid during the callback only): a key's
 * (check 0: selector, algorithm, key_id) or what dnsdctl check found (check
 * 1: name, the record, NULL for the domain; outcome, may be NULL). */
struct reg_event {
	int check;
	int64_t at, key_id;
	const char *event, *selector, *algorithm, *name, *outcome, *cause;
};
/* Calls each for every key event of a domain, oldest first, then for every
 * check event, oldest first. */
int reg_domain_history(struct wr *w, int64_t domain_id,
		       int (*each)(void *arg, const struct reg_event *e), void *arg);

/* ---- policies (regpolicy.c) ---- */

/* Where a policy is set: globally (both ids 0), for a tenant, or for a domain. */
struct reg_scope {
	int64_t tenant_id, domain_id;
	int64_t domain_tenant; /* the domain's tenant */
	const char *level;     /* "global", "tenant" or "domain" */
	char who[256];	       /* the tenant's or the domain's name; "" globally */
};

/* The scope of a tenant's name or a domain as given (NULL, NULL: global).
 * DNSD_EINVAL (both given; a bad domain), DNSD_ENOENT (field "tenant" or
 * "domain"). */
int reg_policy_scope(struct wr *w, const char *tenant, const char *domain, struct reg_scope *s);
/* Checks a value of kind ("spf", "mx", "dmarc") for scope s without storing
 * it: an SPF value's includes inside the hosted zone are followed through the
 * store (as if the value were in place) and the zone file (w->conf.zone_file).
 * DNSD_EINVAL (field kind, or "kind"), DNSD_EIO (the zone file is needed or
 * unreadable). */
int reg_policy_check(struct wr *w, const struct reg_scope *s, const char *kind, const char *value);
/* Checks, then sets (replaces) the policy of kind at s. */
int reg_policy_set(struct wr *w, const struct reg_scope *s, const char *kind, const char *value);
/* Removes it; *was_set says whether there was one. */
int reg_policy_unset(struct wr *w, const struct reg_scope *s, const char *kind, int *was_set);
/* Which kinds reg_policy_put changes. */
enum { REG_POLICY_SPF = 1, REG_POLICY_MX = 2, REG_POLICY_DMARC = 4 };
/* Sets or clears several kinds at s in one transaction, all or nothing: for
 * each kind whose bit is in flags, its value sets it (checked as
 * reg_policy_set does, with the other kinds of this call already in place) and
 * NULL clears it; the kinds not in flags are left as they are. DNSD_EINVAL
 * (field "spf", "mx" or "dmarc"), DNSD_EIO (as reg_policy_check). */
int reg_policy_put(struct wr *w, const struct reg_scope *s, const char *spf, const char *mx,
		   const char *dmarc, int flags);
/* The value set at s (*own) and the one in force there (*effective: the
 * domain's, else its tenant's, else the global one); each NULL when none,
 * else the caller's to free. */
int reg_policy_get(struct wr *w, const struct reg_scope *s, const char *kind, char **own,
		   char **effective);
/* The value of kind in force for a domain (or, with domain_id -1, for a
 * tenant's domains): malloc'd, NULL when none. */
char *reg_policy_effective(struct wr *w, int64_t domain_id, int64_t tenant_id, const char *kind);

/* ---- the store (regstore.c) ---- */

/* What init sets. Strings NULL and numbers -1 keep what the store has (a new
 * store: the default). */
struct reg_init_in {
	const char *zone; /* the hosted zone (required) */
	const char *selector_prefix, *return_path;
	long slots, ttl_dkim, ttl_policy, retention_days, rotation_days, rotation_spread_hours,
		key_retention_days;
	int64_t serial; /* the store's serial starts above it (a rebuilt store); 0: none */
	int ed25519;	/* new domains get the Ed25519 pair: 1, 0; -1: keep */
	/* The platform's global policies, set in init's transaction with reg_policy_set's
	 * checks (NULL: keep what the store has, or none). */
	const char *spf, *mx, *dmarc;
};
/* Checks init's input without the store (so that a bad one makes no store
 * file): the zone in the stored form (absolute, lowercase) into zone; the
 * serial to start above (the input's, the zone file's + 1) into *floor; a
 * complaint about the zone file (w->conf.zone_file) into zone_bad ("" none),
 * which init gives only after saying whether the store serves another zone.
 * DNSD_EINVAL with the field. */
int reg_init_check(struct wr *w, const struct reg_init_in *in, char *zone, size_t n, int64_t *floor,
		   char *zone_bad, size_t badn);
/* Creates or upgrades the store w opened (wr_open with create) for its zone,
 * and sets what the input gives, the global policies too: all or nothing.
 * DNSD_EINVAL (the input, the zone file; a policy, field "spf", "mx", "dmarc"),
 * DNSD_EEXIST (the store serves another zone; the selector prefix or slot
 * count would change under existing domains). Sets w->zone. */
int reg_init(struct wr *w, const struct reg_init_in *in);

struct reg_status {
	int schema_version;
	int64_t serial, tenants, domains, keys; /* domains: active; keys: in DNS (not revoked) */
	int64_t keys_in[3];			/* active, published, retired */
	int64_t journal_rows, nameservers, nameservers_current;
};
int reg_status(struct wr *w, struct reg_status *s);

/* bulk.c: many new domains (an import), checked whole first, then written in
 * batches, each its own transaction, so that other writers take their turns
 * between them. A file with a bad row changes nothing: every row is checked
 * (reg_import_check) before the first is written (reg_import_add). A row that
 * is in the store already as given (the same tenant, token if given, and key)
 * is done, not bad: running an import again after it was stopped finishes it.
 *
 * reg_import_new starts one on w (NULL on error, then set); reg_import_free
 * ends it, rolling back a batch not committed. */
struct reg_import;
struct reg_import *reg_import_new(struct wr *w);
void reg_import_free(struct reg_import *im);
/* Checks one row (in read transaction kept open across the rows until
 * reg_import_checked): all that reg_domain_prep checks, and that the file has
 * no domain or token twice (the later row is bad). *done is set when the row
 * is in the store already. Returns 0 or the row's code with w->err set
 * (DNSD_EINVAL, DNSD_ENOENT, DNSD_EEXIST: the row is bad; the caller clears it
 * with wr_clear and goes on) or the store's. */
int reg_import_check(struct reg_import *im, const struct reg_domain_in *in, int *done);
void reg_import_checked(struct reg_import *im);
/* Prepares and writes one row into the batch open (opening one when none is:
 * the write lock is held from there to reg_import_commit). *done: the row was
 * there already, nothing written. On error the batch is rolled back (its
 * staged key files taken back) and the code returned (the store changed since
 * the check: a row now bad). */
int reg_import_add(struct reg_import *im, const struct reg_domain_in *in, int *done);
/* How long the batch open has held the write lock (ms; 0: none open). */
int64_t reg_import_held(const struct reg_import *im);
/* Commits the batch open, if any (the serial moves; its key files go to their
 * places); *n gets how many domains it wrote. Returns 0 or the code. */
int reg_import_commit(struct reg_import *im, size_t *n);

/* ---- names that would answer nothing (regwarn.c) ---- */

/* A name a domain's customer is told to CNAME whose target answers nothing now. */
struct reg_dangling {
	char name[600], target[600]; /* the customer's name, and what it points to */
	const char *purpose;	     /* "dkim", "return-path", "dmarc" (reg_record's) */
	const char *missing;	     /* "spf", "mx", "dmarc": no such policy in force; "key":
				      * the selector's role has no active key */
	const char *fix;	     /* the command that fixes it: "dnsdctl spf set", ... */
};
/* Each Return-Path target lacking SPF, and MX, counts once. */
#define REG_MAX_DANGLING (REG_MAX_RECORDS + 1)
/* Fills out (REG_MAX_DANGLING of them) and *n with d's records that would answer nothing:
 * the Return-Path's target with no SPF or no MX in force for d, the hosted DMARC's with no
 * DMARC, a DKIM selector whose role has no active key. 0, or the store's error (as
 * reg_domain_records). */
int reg_domain_dangling(struct wr *w, const struct reg_domain *d, struct reg_dangling *out, int *n);

/* The same over the store's active domains, by kind: how many domains miss each and the first
 * few of them by name. */
enum {
	REG_DANGLING_SPF,
	REG_DANGLING_MX,
	REG_DANGLING_DMARC,
	REG_DANGLING_KEY,
	REG_DANGLING_KINDS
};
#define REG_DANGLING_FIRST 3
struct reg_dangling_sum {
	int64_t count[REG_DANGLING_KINDS];
	char first[REG_DANGLING_KINDS][REG_DANGLING_FIRST][256]; /* "" past count */
};
int reg_dangling_summary(struct wr *w, struct reg_dangling_sum *s);

#endif
