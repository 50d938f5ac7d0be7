/* db: the in-memory answer data. A view is immutable once published; a change
 * builds a new view that shares every part it does not touch (copy-on-write),
 * and the replaced parts are handed back as garbage to free after a grace period. */
#ifndef DNSD_DB_H
#define DNSD_DB_H
#include <stddef.h>
#include <stdint.h>
#include "wire.h"

/* An RRset in tail form: each RR without its owner (type, class, TTL, RDLENGTH,
 * RDATA), ready to follow a compressed owner name. */
struct db_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t len;   /* octets in data */
	uint8_t data[];
};

/* Returns a new RRset of one RR built from rdata; caller owns it (free()). */
struct db_rrset *db_rrset_new(uint16_t type, uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* Returns a new RRset that is rs with one more RR appended; rs is freed. */
struct db_rrset *db_rrset_add(struct db_rrset *rs, uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* Returns a TXT RRset holding text split into 255-octet strings, or NULL. */
struct db_rrset *db_rrset_txt(const char *text, uint32_t ttl);

/* ---- static zone data, from zone files ---- */
struct db_node {
	struct db_node *next;       /* hash chain */
	uint8_t is_ent;             /* empty non-terminal: exists, has no data */
	uint8_t nrrsets;
	uint8_t name_len;
	struct db_rrset *rrsets[8]; /* one per type */
	uint8_t name[];             /* lowercase wire form */
};

struct db_zone {
	uint8_t apex[WIRE_MAXNAME];
	uint8_t apex_len;
	uint8_t apex_labels;
	uint32_t file_serial;
	uint32_t neg_ttl;           /* RFC 2308: min(SOA TTL, SOA MINIMUM) */
	struct db_rrset *soa;       /* as in the file */
	struct db_node **tab;
	size_t tabsize, nnodes;
	uint8_t digest[32];         /* of the zone's content, to tell a real change */
	char *path;
};

/* Creates an empty zone for apex (wire, any case). Caller owns it (db_zone_free). */
struct db_zone *db_zone_new(const uint8_t *apex, size_t apex_len);
/* Adds one RR (owner must be at or under the apex). Returns 0, DNSD_EINVAL, DNSD_ENOMEM. */
int db_zone_add(struct db_zone *z, const uint8_t *owner, size_t owner_len, uint16_t type,
		uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* Finds the node for a lowercase wire name, or NULL. */
const struct db_node *db_zone_find(const struct db_zone *z, const uint8_t *name, size_t len);
/* Returns the RRset of type at node, or NULL. */
const struct db_rrset *db_node_rrset(const struct db_node *n, uint16_t type);
void db_zone_free(struct db_zone *z);

/* ---- dynamic data, from the store ---- */

/* What the store hands over for one customer domain (all strings NUL-terminated,
 * owned by the caller; NULL policy strings mean "inherit"). */
#define DB_MAX_SLOTS 8
struct db_domain_spec {
	int64_t id, tenant_id;
	const char *name;            /* customer domain, text */
	const char *token;
	int removed;                 /* removed, within retention: DKIM answers p= only */
	const char *spf, *mx, *dmarc;
	int nslots;
	struct {
		const char *selector;
		const char *txt; /* full DKIM TXT value; NULL = unused or revoked;
				  * db_key_blocked = a key not fit to serve */
	} slots[DB_MAX_SLOTS];
};

/* Passed as a slot's txt: the slot holds a key that is not fit to serve (a row
 * written by hand). Its selector answers NODATA, neither the key nor the
 * "revoked" p= that would claim the key was withdrawn. */
extern const char db_key_blocked[];

struct db_policy {
	struct db_rrset *spf, *mx, *dmarc; /* NULL: not set at this level */
	uint8_t blocked;   /* 1 << DB_POL_*: set here but invalid, so nothing is answered */
};

/* Passed as a policy string: the level has a value for this kind that is not fit
 * to serve. It answers nothing rather than let a broader level stand in for it
 * (a domain's stricter SPF must not silently become the global one). */
extern const char db_policy_blocked[];

struct db_slot {
	const uint8_t *sel;         /* lowercase label: length octet, then characters */
	const struct db_rrset *txt; /* inside the domain's allocation; NULL: NODATA */
};

struct db_domain {
	uint64_t gen;               /* the edit that made it (first member: the map reads it) */
	int64_t id, tenant_id;
	uint8_t removed;
	uint8_t nslots;
	uint8_t name_len;
	char token[17];
	struct db_policy pol;
	uint8_t *name;              /* lowercase wire form, inside this allocation */
	struct db_slot slots[];
};

struct db_tenant {
	uint64_t gen;
	int64_t id;
	struct db_policy pol;
};

struct db_map;

/* The settings a view needs from the store. */
struct db_settings {
	uint32_t serial;
	uint32_t ttl_dkim, ttl_policy;
};

struct db_view {
	struct db_settings set;
	uint64_t epoch;              /* set by whoever publishes it: 1, 2, ... */
	uint64_t seq;                 /* last journal row applied */
	struct db_zone **zones;       /* static zones, shared between views */
	size_t nzones;
	struct db_zone *dyn;          /* the zone holding the dynamic subtrees, or NULL */
	struct db_rrset *dyn_soa;     /* dyn's SOA with the store's serial */
	struct db_rrset *report_txt;  /* "v=DMARC1" for D._report._dmarc.Z */
	struct db_policy global;
	struct db_map *by_token, *by_name, *tenants;
	struct db_map *ents;          /* proper suffixes of live domain names, counted */
	size_t ndomains;              /* domains with names, removed ones included */
	size_t nlive;                 /* live (not removed) domains */
};

/* Garbage: the parts a change replaced, to free once no reader can see them. */
struct db_garbage {
	void **ptrs;
	size_t n, cap;
};
void db_garbage_free(struct db_garbage *g); /* frees the parts and empties g */

/* An edit builds the next view from the current one. */
struct db_edit;

/* Starts an edit of base (NULL: an empty view over zones). The new view shares
 * base's parts; nothing in base changes. Returns NULL on ENOMEM. */
struct db_edit *db_edit_begin(const struct db_view *base, struct db_zone **zones, size_t nzones,
			      struct db_zone *dyn);
/* Inserts or replaces a domain (by id). Returns 0, DNSD_EINVAL (bad spec), DNSD_ENOMEM. */
int db_edit_put_domain(struct db_edit *e, const struct db_domain_spec *d);
/* Removes the domain with token, if present. */
int db_edit_del_domain(struct db_edit *e, const char *token);
/* Sets the policies of a tenant (id > 0) or the global ones (id == 0); NULL strings unset. */
int db_edit_put_policy(struct db_edit *e, int64_t tenant_id, const char *spf, const char *mx,
		       const char *dmarc);
/* Drops every domain and policy: for a full reload into the same edit. */
int db_edit_clear(struct db_edit *e);
void db_edit_settings(struct db_edit *e, const struct db_settings *s, uint64_t seq);
/* Finishes: returns the new view (caller publishes it) and moves what the new view no
 * longer uses, base's own struct included, into g. On failure (NULL), the edit is
 * undone, nothing of base is touched, and the edit is freed. */
struct db_view *db_edit_commit(struct db_edit *e, const struct db_view *base, struct db_garbage *g);
void db_edit_abort(struct db_edit *e);

/* Lookups for the answer path: no allocation, no locks. */
const struct db_domain *db_view_by_token(const struct db_view *v, const uint8_t *label, size_t len);

/* Walks the token map one step per call (stage 0, 1, 2, 3), only prefetching,
 * so that a batch of queries overlaps the cache misses of its lookups: call
 * stage 0 for every query of the batch, then stage 1 for every query, and so
 * on. token: 16 lowercase bytes. p carries the walk between stages. */
struct db_prefetch {
	uint64_t h;
	const void *next;
};
void db_view_prefetch_token(const struct db_view *v, const uint8_t *token, struct db_prefetch *p, int stage);
const struct db_domain *db_view_by_name(const struct db_view *v, const uint8_t *name, size_t len);
/* 1 if name (lowercase wire) is a proper suffix of a live domain's name: the empty
 * non-terminals of D._report._dmarc.Z. */
int db_view_is_ent(const struct db_view *v, const uint8_t *name, size_t len);
/* Effective policy (DB_POL_SPF, DB_POL_MX, DB_POL_DMARC) of a domain: its own, then
 * its tenant's, then the global one; NULL when none is set. */
const struct db_rrset *db_view_policy(const struct db_view *v, const struct db_domain *d, int which);
enum { DB_POL_SPF, DB_POL_MX, DB_POL_DMARC };

/* Walks the domains of a view (removed ones included), in no particular order:
 * start with a zeroed cursor; returns NULL at the end. The cursor stays valid as
 * long as the view does (views are immutable). */
struct db_cursor {
	uint32_t i, j, k;
};
const struct db_domain *db_view_next_domain(const struct db_view *v, struct db_cursor *c);

/* Calls fn for every domain (by token) that differs between views a and b:
 * (old, new), old NULL for a domain b added, new NULL for one it dropped. Parts
 * the two views share are skipped without a look, so the cost is what changed. */
void db_view_diff_domains(const struct db_view *a, const struct db_view *b,
			  void (*fn)(void *ctx, const struct db_domain *old, const struct db_domain *nw),
			  void *ctx);

/* 1 when the global policy or any tenant's differs in content between a and b. */
int db_view_policies_differ(const struct db_view *a, const struct db_view *b);

/* Frees a view and every part it holds (for tear-down, when it is the only one). */
void db_view_free_all(struct db_view *v);

/* Builds a bounce MX RRset from "10 host., 20 host2." text (blanks are spaces or
 * tabs, as policy_mx_check allows), or NULL when invalid. */
struct db_rrset *db_rrset_mx(const char *text, uint32_t ttl);

uint64_t db_hash(const uint8_t *p, size_t n);
#endif
