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
	 * algorithm (if given) is what it must be. */
	const char *algorithm, *key_file, *public_key;
	/* Why the first keys were made, for their events ("domain add", "import"). */
	const char *cause;
};

/* A new domain checked and its key files made (staged: see wr.h), ready to be
 * written by reg_domain_add_tx. Owned by the caller: reg_new_free. */
struct reg_new {
	char *name, *tenant, *token, *rp;
	char *alg[2], *pub[2], *path[2]; /* [0] the first main key, [1] the pair's (NULL: none) */
	const char *first_event;	 /* "generated" or "imported" */
	char *cause;
	int nslots, pair, weak_bits; /* weak_bits: an RSA key under 2048 bits was given */
};

/* Checks a new domain against its input and the store as it is now, and does
 * the slow part outside any transaction: draws the token, generates or reads
 * the keys and stages their files. The slot layout is the input's, else the
 * tenant's, else the store's; a pair that does not fit is refused (field
 * "ed25519"), the same for one domain and for an import. Returns 0 (*out set,
 * the caller's to free) or a code: DNSD_EINVAL with the field ("domain",
 * "tenant", "token", "return_path", "slots", "ed25519", "algorithm", "key_file",
 * "public_key"), DNSD_ENOENT (no such tenant), DNSD_EEXIST (the domain lives,
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
 * the new domain. */
int reg_domain_add(struct wr *w, const struct reg_domain_in *in, struct reg_domain *d);
void reg_new_free(struct reg_new *nd);

/* bulk.c: many new domains in one batch, all or nothing. The rows were
 * prepared (reg_domain_prep) by the caller, who found nbad others bad there.
 * Each bad row (a domain or token twice in the batch; in the transaction, one
 * the store got meanwhile) is given to bad with its index and the sentence;
 * while any is bad (nbad counts), nothing is written. Returns 0, DNSD_EINVAL
 * when a row was bad (w->err says how many), or the store's error. */
int reg_import(struct wr *w, struct reg_new *const *rows, size_t n, size_t nbad,
	       void (*bad)(void *arg, size_t row, const char *msg), void *arg);

/* ---- the seam to the key lifecycle's module ----
 * regkey.c: writes k into the domain's key directory (staged until the commit,
 * taken back on rollback: wr.h) as <label>-<token>-<time><suffix>.pem, never over
 * another file; its absolute path into path. Refuses names that could leave the
 * keys directory, and a directory others could change. 0 or a code with w->err.
 * To be replaced by the keyfile module's function when it lands. */
int reg_key_file(struct wr *w, const keys_key *k, const char *domain, const char *label,
		 const char *token, const char *suffix, char *path, size_t pathlen);

#endif
