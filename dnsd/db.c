/* db: the in-memory answer data: static zones, and copy-on-write views of the store. */
#include "db.h"
#include "err.h"
#include <stdlib.h>
#include <string.h>

uint64_t db_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* ---- RRsets ---- */

struct db_rrset *db_rrset_new(uint16_t type, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	struct db_rrset *rs = malloc(sizeof(*rs));
	if (!rs)
		return NULL;
	rs->type = type;
	rs->count = 0;
	rs->len = 0;
	return db_rrset_add(rs, ttl, rdata, rdlen);
}

struct db_rrset *db_rrset_add(struct db_rrset *rs, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	if (rdlen > 65535) {
		free(rs);
		return NULL;
	}
	struct db_rrset *n = realloc(rs, sizeof(*rs) + rs->len + 10 + rdlen);
	if (!n) {
		free(rs);
		return NULL;
	}
	uint8_t *p = n->data + n->len;
	wire_put16(p, n->type);
	wire_put16(p + 2, WIRE_C_IN);
	wire_put32(p + 4, ttl);
	wire_put16(p + 8, (uint16_t)rdlen);
	memcpy(p + 10, rdata, rdlen);
	n->len += 10 + (uint32_t)rdlen;
	n->count++;
	return n;
}

struct db_rrset *db_rrset_txt(const char *text, uint32_t ttl)
{
	uint8_t rd[65535];
	int n = wire_txt_rdata(text, strlen(text), rd, sizeof(rd));
	if (n < 0)
		return NULL;
	return db_rrset_new(WIRE_T_TXT, ttl, rd, (size_t)n);
}

struct db_rrset *db_rrset_mx(const char *text, uint32_t ttl)
{
	struct db_rrset *rs = NULL;
	const char *p = text;
	while (*p) {
		p += strspn(p, " \t,");
		if (!*p)
			break;
		char *end;
		unsigned long pref = strtoul(p, &end, 10);
		if (end == p || pref > 65535 || (*end != ' ' && *end != '\t'))
			goto bad;
		p = end + strspn(end, " \t");
		char host[256];
		size_t hl = strcspn(p, " \t,");
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, p, hl);
		host[hl] = 0;
		p += hl;
		uint8_t rd[2 + WIRE_MAXNAME];
		int nl = wire_name_from_text(host, rd + 2);
		if (nl < 0)
			goto bad;
		wire_put16(rd, (uint16_t)pref);
		rs = rs ? db_rrset_add(rs, ttl, rd, 2 + (size_t)nl)
			: db_rrset_new(WIRE_T_MX, ttl, rd, 2 + (size_t)nl);
		if (!rs)
			return NULL;
	}
	return rs;
bad:
	free(rs);
	return NULL;
}

/* ---- static zones ---- */

static size_t name_labels(const uint8_t *n)
{
	size_t c = 0;
	for (size_t i = 0; n[i]; i += n[i] + 1)
		c++;
	return c;
}

struct db_zone *db_zone_new(const uint8_t *apex, size_t apex_len)
{
	struct db_zone *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	memcpy(z->apex, apex, apex_len);
	wire_name_lower(z->apex, apex_len);
	z->apex_len = (uint8_t)apex_len;
	z->apex_labels = (uint8_t)name_labels(z->apex);
	z->tabsize = 64;
	z->tab = calloc(z->tabsize, sizeof(*z->tab));
	if (!z->tab) {
		free(z);
		return NULL;
	}
	return z;
}

const struct db_node *db_zone_find(const struct db_zone *z, const uint8_t *name, size_t len)
{
	struct db_node *n = z->tab[db_hash(name, len) & (z->tabsize - 1)];
	for (; n; n = n->next)
		if (n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;
	return NULL;
}

const struct db_rrset *db_node_rrset(const struct db_node *n, uint16_t type)
{
	for (int i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i]->type == type)
			return n->rrsets[i];
	return NULL;
}

static int zone_grow(struct db_zone *z)
{
	size_t ns = z->tabsize * 2;
	struct db_node **t = calloc(ns, sizeof(*t));
	if (!t)
		return DNSD_ENOMEM;
	for (size_t i = 0; i < z->tabsize; i++) {
		struct db_node *n = z->tab[i], *next;
		for (; n; n = next) {
			next = n->next;
			size_t h = db_hash(n->name, n->name_len) & (ns - 1);
			n->next = t[h];
			t[h] = n;
		}
	}
	free(z->tab);
	z->tab = t;
	z->tabsize = ns;
	return 0;
}

/* Returns the node for name, creating it (as an empty non-terminal) if needed. */
static struct db_node *zone_node(struct db_zone *z, const uint8_t *name, size_t len)
{
	struct db_node *n = (struct db_node *)db_zone_find(z, name, len);
	if (n)
		return n;
	if (z->nnodes >= z->tabsize && zone_grow(z))
		return NULL;
	n = calloc(1, sizeof(*n) + len);
	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->name_len = (uint8_t)len;
	n->is_ent = 1;
	size_t h = db_hash(name, len) & (z->tabsize - 1);
	n->next = z->tab[h];
	z->tab[h] = n;
	z->nnodes++;
	return n;
}

int db_zone_add(struct db_zone *z, const uint8_t *owner, size_t owner_len, uint16_t type,
		uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	uint8_t name[WIRE_MAXNAME];
	if (owner_len > WIRE_MAXNAME || owner_len < z->apex_len)
		return DNSD_EINVAL;
	memcpy(name, owner, owner_len);
	wire_name_lower(name, owner_len);
	if (!wire_name_under(name, owner_len, z->apex, z->apex_len))
		return DNSD_EINVAL;
	struct db_node *n = zone_node(z, name, owner_len);
	if (!n)
		return DNSD_ENOMEM;
	/* Every name between the owner and the apex exists, as an empty non-terminal
	 * unless it has data of its own. */
	for (size_t i = name[0] + 1u; i + z->apex_len <= owner_len; i += name[i] + 1u)
		if (!zone_node(z, name + i, owner_len - i))
			return DNSD_ENOMEM;
	n->is_ent = 0;
	for (int i = 0; i < n->nrrsets; i++) {
		if (n->rrsets[i]->type == type) {
			struct db_rrset *rs = db_rrset_add(n->rrsets[i], ttl, rdata, rdlen);
			n->rrsets[i] = rs;
			if (!rs) {
				n->rrsets[i] = n->rrsets[--n->nrrsets];
				return DNSD_ENOMEM;
			}
			return 0;
		}
	}
	if (n->nrrsets == 8)
		return DNSD_ERANGE;
	struct db_rrset *rs = db_rrset_new(type, ttl, rdata, rdlen);
	if (!rs)
		return DNSD_ENOMEM;
	n->rrsets[n->nrrsets++] = rs;
	if (type == WIRE_T_SOA && owner_len == z->apex_len)
		z->soa = rs;
	return 0;
}

void db_zone_free(struct db_zone *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->tabsize; i++) {
		struct db_node *n = z->tab[i], *next;
		for (; n; n = next) {
			next = n->next;
			for (int j = 0; j < n->nrrsets; j++)
				free(n->rrsets[j]);
			free(n);
		}
	}
	free(z->tab);
	free(z->path);
	free(z);
}

/* ---- the persistent map: a two-level trie over a hash, copy-on-write ---- */

#define MAP_FAN 1024
#define MAP_L1(h) ((size_t)((h) >> 54))
#define MAP_L2(h) ((size_t)((h) >> 44) & (MAP_FAN - 1))

struct map_item {
	uint64_t h;
	void *item; /* its first member is the uint64_t gen of the edit that made it */
};
struct map_bucket {
	uint64_t gen;
	uint32_t n;
	struct map_item it[];
};
struct map_mid {
	uint64_t gen;
	struct map_bucket *b[MAP_FAN];
};
struct db_map {
	uint64_t gen;
	size_t count;
	struct map_mid *m[MAP_FAN];
};

static uint64_t item_gen(const void *item)
{
	return *(const uint64_t *)item;
}

struct db_edit {
	uint64_t gen;
	struct db_view *v;
	struct db_garbage old; /* parts of base that the new view replaced */
	int failed;
	int global_fresh;      /* the view's global policy was made by this edit */
};

static int garbage_push(struct db_garbage *g, void *p)
{
	if (!p)
		return 0;
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 64;
		void **np = realloc(g->ptrs, nc * sizeof(*np));
		if (!np)
			return DNSD_ENOMEM;
		g->ptrs = np;
		g->cap = nc;
	}
	g->ptrs[g->n++] = p;
	return 0;
}

void db_garbage_free(struct db_garbage *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->ptrs[i]);
	free(g->ptrs);
	g->ptrs = NULL;
	g->n = g->cap = 0;
}

/* Retires a part of the view being built: freed now if this edit made it (no
 * reader has seen it), else kept for the grace period. */
static int edit_retire(struct db_edit *e, void *p, uint64_t gen)
{
	if (!p)
		return 0;
	if (gen == e->gen) {
		free(p);
		return 0;
	}
	return garbage_push(&e->old, p);
}

/* Makes a map node writable by this edit: returns node itself if this edit made
 * it, else a copy (or a new zeroed node for NULL) and retires the original. Both
 * node kinds start with their gen. */
static void *node_own(struct db_edit *e, void *node, size_t size)
{
	if (node && *(uint64_t *)node == e->gen)
		return node;
	void *n = node ? malloc(size) : calloc(1, size);
	if (!n)
		return NULL;
	if (node) {
		memcpy(n, node, size);
		if (garbage_push(&e->old, node)) {
			free(n);
			return NULL;
		}
	}
	*(uint64_t *)n = e->gen;
	return n;
}

static struct db_map *map_own(struct db_edit *e, struct db_map **mp)
{
	struct db_map *m = node_own(e, *mp, sizeof(**mp));
	if (m)
		*mp = m;
	return m;
}

static struct map_mid *mid_own(struct db_edit *e, struct db_map *m, size_t i)
{
	struct map_mid *mid = node_own(e, m->m[i], sizeof(*mid));
	if (mid)
		m->m[i] = mid;
	return mid;
}

typedef int (*map_match_fn)(const void *item, const void *key, size_t klen);

static void *map_get(const struct db_map *m, uint64_t h, const void *key, size_t klen,
		     map_match_fn match)
{
	if (!m)
		return NULL;
	const struct map_mid *mid = m->m[MAP_L1(h)];
	if (!mid)
		return NULL;
	const struct map_bucket *b = mid->b[MAP_L2(h)];
	if (!b)
		return NULL;
	for (uint32_t i = 0; i < b->n; i++)
		if (b->it[i].h == h && match(b->it[i].item, key, klen))
			return b->it[i].item;
	return NULL;
}

/* Sets (item != NULL) or removes (item == NULL) the entry matching key. *old gets
 * the item it replaced, if any. */
static int map_set(struct db_edit *e, struct db_map **mp, uint64_t h, const void *key,
		   size_t klen, map_match_fn match, void *item, void **old)
{
	*old = NULL;
	struct db_map *m = map_own(e, mp);
	if (!m)
		return DNSD_ENOMEM;
	struct map_mid *mid = mid_own(e, m, MAP_L1(h));
	if (!mid)
		return DNSD_ENOMEM;
	struct map_bucket *b = mid->b[MAP_L2(h)];
	uint32_t n = b ? b->n : 0, at = n;
	for (uint32_t i = 0; i < n; i++)
		if (b->it[i].h == h && match(b->it[i].item, key, klen))
			at = i;
	if (at == n && !item)
		return 0;
	uint32_t nn = n + (at == n ? 1 : 0) - (item ? 0 : 1);
	struct map_bucket *nb = NULL;
	if (nn) {
		nb = malloc(sizeof(*nb) + nn * sizeof(nb->it[0]));
		if (!nb)
			return DNSD_ENOMEM;
		nb->gen = e->gen;
		nb->n = 0;
		for (uint32_t i = 0; i < n; i++)
			if (i != at)
				nb->it[nb->n++] = b->it[i];
		if (item)
			nb->it[nb->n++] = (struct map_item){ h, item };
	}
	if (at < n)
		*old = b->it[at].item;
	m->count = m->count + nn - n; /* nn - n alone would wrap: both unsigned */
	mid->b[MAP_L2(h)] = nb;
	if (b && edit_retire(e, b, b->gen))
		return DNSD_ENOMEM;
	return 0;
}

/* Calls fn on every item of m. */
static void map_walk(struct db_map *m, void (*fn)(void *item, void *ctx), void *ctx)
{
	if (!m)
		return;
	for (size_t i = 0; i < MAP_FAN; i++) {
		struct map_mid *mid = m->m[i];
		if (!mid)
			continue;
		for (size_t j = 0; j < MAP_FAN; j++) {
			struct map_bucket *b = mid->b[j];
			for (uint32_t k = 0; b && k < b->n; k++)
				fn(b->it[k].item, ctx);
		}
	}
}

/* Calls fn for the items in the parts of the map that the edit gen made: an
 * item that edit made can only sit in a bucket it owns, under nodes it owns,
 * so the walk costs what the edit touched, not the size of the map. */
static void map_walk_gen(struct db_map *m, uint64_t gen, void (*fn)(void *item, void *ctx), void *ctx)
{
	if (!m || m->gen != gen)
		return;
	for (size_t i = 0; i < MAP_FAN; i++) {
		struct map_mid *mid = m->m[i];
		if (!mid || mid->gen != gen)
			continue;
		for (size_t j = 0; j < MAP_FAN; j++) {
			struct map_bucket *b = mid->b[j];
			if (!b || b->gen != gen)
				continue;
			for (uint32_t k = 0; k < b->n; k++)
				fn(b->it[k].item, ctx);
		}
	}
}

/* Frees the map's nodes (those made by gen, or all when gen is 0), not its items. */
static void map_free_nodes(struct db_map *m, uint64_t gen)
{
	if (!m || (gen && m->gen != gen))
		return;
	for (size_t i = 0; i < MAP_FAN; i++) {
		struct map_mid *mid = m->m[i];
		if (!mid || (gen && mid->gen != gen))
			continue;
		for (size_t j = 0; j < MAP_FAN; j++)
			if (mid->b[j] && (!gen || mid->b[j]->gen == gen))
				free(mid->b[j]);
		free(mid);
	}
	free(m);
}

/* ---- domains and tenants ---- */

static int match_token(const void *item, const void *key, size_t klen)
{
	const struct db_domain *d = item;
	return klen == 16 && memcmp(d->token, key, 16) == 0;
}

static int match_name(const void *item, const void *key, size_t klen)
{
	const struct db_domain *d = item;
	return d->name_len == klen && memcmp(d->name, key, klen) == 0;
}

static int match_tenant(const void *item, const void *key, size_t klen)
{
	const struct db_tenant *t = item;
	return t->id == *(const int64_t *)key;
}

/* A proper suffix of live domain names, with how many names it is a suffix of. */
struct db_ent {
	uint64_t gen;
	uint32_t count;
	uint8_t len;
	uint8_t name[];
};

static int match_ent(const void *item, const void *key, size_t klen)
{
	const struct db_ent *t = item;
	return t->len == klen && memcmp(t->name, key, klen) == 0;
}

/* Adds delta to the count of every proper suffix of name (the root excluded). */
static int ents_adjust(struct db_edit *e, const uint8_t *name, size_t len, int delta)
{
	for (size_t i = name[0] + 1u; i < len && name[i]; i += name[i] + 1u) {
		const uint8_t *sfx = name + i;
		size_t sl = len - i;
		uint64_t h = db_hash(sfx, sl);
		struct db_ent *old = map_get(e->v->ents, h, sfx, sl, match_ent);
		uint32_t c = (uint32_t)((old ? old->count : 0) + delta);
		if (old && old->gen == e->gen && c) {
			old->count = c; /* made by this edit: no reader sees it yet */
			continue;
		}
		struct db_ent *n = NULL;
		if (c) {
			if (!(n = malloc(sizeof(*n) + sl)))
				return DNSD_ENOMEM;
			n->gen = e->gen;
			n->count = c;
			n->len = (uint8_t)sl;
			memcpy(n->name, sfx, sl);
		}
		void *prev;
		int r = map_set(e, &e->v->ents, h, sfx, sl, match_ent, n, &prev);
		if (r) {
			free(n);
			return r;
		}
		if (prev && edit_retire(e, prev, item_gen(prev)))
			return DNSD_ENOMEM;
	}
	return 0;
}

static void policy_free(struct db_policy *p)
{
	free(p->spf);
	free(p->mx);
	free(p->dmarc);
}

static int policy_retire(struct db_edit *e, struct db_policy *p, uint64_t gen)
{
	if (edit_retire(e, p->spf, gen) || edit_retire(e, p->mx, gen) ||
	    edit_retire(e, p->dmarc, gen))
		return DNSD_ENOMEM;
	return 0;
}

static void domain_free(struct db_domain *d)
{
	if (!d)
		return;
	policy_free(&d->pol);
	free(d); /* its name, selectors and key RRsets live in the same block */
}

static int domain_retire(struct db_edit *e, struct db_domain *d)
{
	if (!d)
		return 0;
	if (d->gen == e->gen) {
		domain_free(d);
		return 0;
	}
	if (policy_retire(e, &d->pol, d->gen))
		return DNSD_ENOMEM;
	return edit_retire(e, d, d->gen);
}

/* Builds the policy RRsets; a string that does not convert is an error. */
const char db_policy_blocked[] = "(blocked)";
const char db_key_blocked[] = "(blocked key)";

static int policy_build(struct db_policy *p, const char *spf, const char *mx, const char *dmarc,
			uint32_t ttl)
{
	memset(p, 0, sizeof(*p));
	if (spf == db_policy_blocked)
		p->blocked |= 1 << DB_POL_SPF, spf = NULL;
	if (mx == db_policy_blocked)
		p->blocked |= 1 << DB_POL_MX, mx = NULL;
	if (dmarc == db_policy_blocked)
		p->blocked |= 1 << DB_POL_DMARC, dmarc = NULL;
	if ((spf && !(p->spf = db_rrset_txt(spf, ttl))) ||
	    (mx && !(p->mx = db_rrset_mx(mx, ttl))) ||
	    (dmarc && !(p->dmarc = db_rrset_txt(dmarc, ttl)))) {
		policy_free(p);
		return DNSD_EINVAL;
	}
	return 0;
}

/* One allocation per domain: the struct, its slots, its name, its selectors
 * and the TXT RRsets of its keys, so that an answer touches one block (which
 * the batch prefetch brings in) and a domain costs no malloc overhead per key.
 * The 1M-domain memory budget is mostly this block. */
static struct db_domain *domain_build(const struct db_domain_spec *s, uint32_t ttl_dkim,
				      uint32_t ttl_policy, uint64_t gen)
{
	uint8_t name[WIRE_MAXNAME];
	int nl = wire_name_from_text(s->name, name);
	if (nl < 0 || !s->token || strlen(s->token) != 16 || s->nslots < 0 ||
	    s->nslots > DB_MAX_SLOTS)
		return NULL;
	/* The TXT rdata of every slot first, to size the block. */
	uint8_t *rd[DB_MAX_SLOTS] = { 0 };
	int rdl[DB_MAX_SLOTS];
	size_t size = sizeof(struct db_domain) + (size_t)s->nslots * sizeof(struct db_slot) + (size_t)nl;
	struct db_domain *d = NULL;
	for (int i = 0; i < s->nslots; i++) {
		size_t sl = s->slots[i].selector ? strlen(s->slots[i].selector) : 0;
		if (sl == 0 || sl > 63)
			goto bad;
		const char *txt = (s->slots[i].txt && !s->removed) ? s->slots[i].txt : "v=DKIM1; p=";
		size += 1 + sl;
		size = (size + 7) & ~(size_t)7;
		if (txt == db_key_blocked)
			continue; /* no RRset: NODATA */
		size_t tl = strlen(txt);
		if (!(rd[i] = malloc(tl + tl / 255 + 2)))
			goto bad;
		rdl[i] = wire_txt_rdata(txt, tl, rd[i], tl + tl / 255 + 2);
		if (rdl[i] < 0 || rdl[i] > 65535 - 10)
			goto bad;
		size += sizeof(struct db_rrset) + 10 + (size_t)rdl[i];
	}
	if (!(d = calloc(1, size)))
		goto bad;
	d->gen = gen;
	d->id = s->id;
	d->tenant_id = s->tenant_id;
	d->removed = s->removed ? 1 : 0;
	memcpy(d->token, s->token, 17);
	uint8_t *p = (uint8_t *)&d->slots[s->nslots];
	d->name = p;
	memcpy(d->name, name, (size_t)nl);
	d->name_len = (uint8_t)nl;
	p += nl;
	if (!d->removed && policy_build(&d->pol, s->spf, s->mx, s->dmarc, ttl_policy))
		goto bad;
	for (int i = 0; i < s->nslots; i++) {
		size_t sl = strlen(s->slots[i].selector);
		p[0] = (uint8_t)sl;
		memcpy(p + 1, s->slots[i].selector, sl);
		wire_name_lower(p, sl + 1);
		d->slots[i].sel = p;
		p += 1 + sl;
		p = (uint8_t *)(((uintptr_t)p + 7) & ~(uintptr_t)7);
		d->nslots++;
		if (!rd[i])
			continue; /* a blocked key: txt stays NULL */
		struct db_rrset *rs = (struct db_rrset *)p;
		rs->type = WIRE_T_TXT;
		rs->count = 1;
		rs->len = 10 + (uint32_t)rdl[i];
		wire_put16(rs->data, WIRE_T_TXT);
		wire_put16(rs->data + 2, WIRE_C_IN);
		wire_put32(rs->data + 4, ttl_dkim);
		wire_put16(rs->data + 8, (uint16_t)rdl[i]);
		memcpy(rs->data + 10, rd[i], (size_t)rdl[i]);
		d->slots[i].txt = rs;
		p += sizeof(*rs) + rs->len;
	}
	for (int i = 0; i < s->nslots; i++)
		free(rd[i]);
	return d;
bad:
	for (int i = 0; i < s->nslots; i++)
		free(rd[i]);
	domain_free(d);
	return NULL;
}

/* ---- views and edits ---- */

static uint64_t edit_gen_counter;

struct db_edit *db_edit_begin(const struct db_view *base, struct db_zone **zones, size_t nzones,
			      struct db_zone *dyn)
{
	struct db_edit *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->gen = __atomic_add_fetch(&edit_gen_counter, 1, __ATOMIC_RELAXED);
	e->v = calloc(1, sizeof(*e->v));
	if (!e->v) {
		free(e);
		return NULL;
	}
	if (base) {
		*e->v = *base;
		e->v->dyn_soa = NULL;
		e->v->report_txt = NULL;
	} else {
		e->v->set.ttl_dkim = e->v->set.ttl_policy = 3600;
	}
	e->v->zones = zones;
	e->v->nzones = nzones;
	e->v->dyn = dyn;
	return e;
}

int db_edit_put_domain(struct db_edit *e, const struct db_domain_spec *s)
{
	struct db_domain *d = domain_build(s, e->v->set.ttl_dkim, e->v->set.ttl_policy, e->gen);
	if (!d)
		return DNSD_EINVAL;
	void *old = NULL, *oldn = NULL;
	int r = map_set(e, &e->v->by_token, db_hash((const uint8_t *)d->token, 16), d->token, 16,
			match_token, d, &old);
	if (r) {
		domain_free(d);
		e->failed = 1;
		return r;
	}
	struct db_domain *od = old;
	/* The by-name map points at the same entries; it serves only live domains. */
	if (od && !od->removed) {
		const void *cur = map_get(e->v->by_name, db_hash(od->name, od->name_len), od->name,
					  od->name_len, match_name);
		if (cur == od)
			r = map_set(e, &e->v->by_name, db_hash(od->name, od->name_len), od->name,
				    od->name_len, match_name, NULL, &oldn);
		if (!r)
			r = ents_adjust(e, od->name, od->name_len, -1);
	}
	if (!r && !d->removed)
		r = map_set(e, &e->v->by_name, db_hash(d->name, d->name_len), d->name, d->name_len,
			    match_name, d, &oldn);
	if (!r && !d->removed)
		r = ents_adjust(e, d->name, d->name_len, +1);
	if (!r)
		r = domain_retire(e, od);
	if (r)
		e->failed = 1;
	e->v->ndomains = e->v->by_token ? e->v->by_token->count : 0;
	e->v->nlive = e->v->by_name ? e->v->by_name->count : 0;
	return r;
}

int db_edit_del_domain(struct db_edit *e, const char *token)
{
	if (strlen(token) != 16)
		return DNSD_EINVAL;
	void *old = NULL, *oldn = NULL;
	int r = map_set(e, &e->v->by_token, db_hash((const uint8_t *)token, 16), token, 16,
			match_token, NULL, &old);
	struct db_domain *od = old;
	if (!r && od && !od->removed &&
	    map_get(e->v->by_name, db_hash(od->name, od->name_len), od->name, od->name_len,
		    match_name) == od)
		r = map_set(e, &e->v->by_name, db_hash(od->name, od->name_len), od->name,
			    od->name_len, match_name, NULL, &oldn);
	if (!r && od && !od->removed)
		r = ents_adjust(e, od->name, od->name_len, -1);
	if (!r)
		r = domain_retire(e, od);
	if (r)
		e->failed = 1;
	e->v->ndomains = e->v->by_token ? e->v->by_token->count : 0;
	e->v->nlive = e->v->by_name ? e->v->by_name->count : 0;
	return r;
}

int db_edit_put_policy(struct db_edit *e, int64_t tenant_id, const char *spf, const char *mx,
		       const char *dmarc)
{
	struct db_policy p;
	if (policy_build(&p, spf, mx, dmarc, e->v->set.ttl_policy))
		return DNSD_EINVAL;
	if (tenant_id == 0) {
		/* The global policy lives in the view struct itself. */
		if (e->global_fresh) {
			policy_free(&e->v->global);
		} else if (garbage_push(&e->old, e->v->global.spf) ||
			   garbage_push(&e->old, e->v->global.mx) ||
			   garbage_push(&e->old, e->v->global.dmarc)) {
			policy_free(&p);
			e->failed = 1;
			return DNSD_ENOMEM;
		}
		e->v->global = p;
		e->global_fresh = 1;
		return 0;
	}
	struct db_tenant *t = NULL;
	void *old = NULL;
	int r = DNSD_ENOMEM;
	if (p.spf || p.mx || p.dmarc || p.blocked) {
		t = calloc(1, sizeof(*t));
		if (!t) {
			policy_free(&p);
			e->failed = 1;
			return DNSD_ENOMEM;
		}
		t->gen = e->gen;
		t->id = tenant_id;
		t->pol = p;
	}
	r = map_set(e, &e->v->tenants, db_hash((const uint8_t *)&tenant_id, sizeof(tenant_id)),
		    &tenant_id, sizeof(tenant_id), match_tenant, t, &old);
	if (r) {
		if (t) {
			policy_free(&t->pol);
			free(t);
		}
		e->failed = 1;
		return r;
	}
	struct db_tenant *ot = old;
	if (ot && (policy_retire(e, &ot->pol, ot->gen) || edit_retire(e, ot, ot->gen))) {
		e->failed = 1;
		return DNSD_ENOMEM;
	}
	return 0;
}

static void collect_domain(void *item, void *ctx)
{
	struct db_edit *e = ctx;
	if (domain_retire(e, item))
		e->failed = 1;
}

static void collect_tenant(void *item, void *ctx)
{
	struct db_edit *e = ctx;
	struct db_tenant *t = item;
	if (policy_retire(e, &t->pol, t->gen) || edit_retire(e, t, t->gen))
		e->failed = 1;
}

static void collect_ent(void *item, void *ctx)
{
	struct db_edit *e = ctx;
	if (edit_retire(e, item, item_gen(item)))
		e->failed = 1;
}

/* Retires every node of a map: those this edit made are freed, others kept. */
static void map_retire_nodes(struct db_edit *e, struct db_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < MAP_FAN; i++) {
		struct map_mid *mid = m->m[i];
		if (!mid)
			continue;
		for (size_t j = 0; j < MAP_FAN; j++)
			if (mid->b[j] && edit_retire(e, mid->b[j], mid->b[j]->gen))
				e->failed = 1;
		if (edit_retire(e, mid, mid->gen))
			e->failed = 1;
	}
	if (edit_retire(e, m, m->gen))
		e->failed = 1;
}

int db_edit_clear(struct db_edit *e)
{
	map_walk(e->v->by_token, collect_domain, e);
	map_walk(e->v->tenants, collect_tenant, e);
	map_retire_nodes(e, e->v->by_token);
	map_retire_nodes(e, e->v->by_name);
	map_walk(e->v->ents, collect_ent, e);
	map_retire_nodes(e, e->v->tenants);
	map_retire_nodes(e, e->v->ents);
	e->v->by_token = e->v->by_name = e->v->tenants = e->v->ents = NULL;
	e->v->ndomains = e->v->nlive = 0;
	if (e->global_fresh)
		policy_free(&e->v->global);
	else if (garbage_push(&e->old, e->v->global.spf) || garbage_push(&e->old, e->v->global.mx) ||
		 garbage_push(&e->old, e->v->global.dmarc))
		e->failed = 1;
	memset(&e->v->global, 0, sizeof(e->v->global));
	e->global_fresh = 1;
	return e->failed ? DNSD_ENOMEM : 0;
}

void db_edit_settings(struct db_edit *e, const struct db_settings *s, uint64_t seq)
{
	e->v->set = *s;
	e->v->seq = seq;
}

/* Frees what this edit made that is reachable from its view: for abort. */
static void free_fresh_item(void *item, void *ctx)
{
	struct db_edit *e = ctx;
	if (item_gen(item) == e->gen)
		domain_free(item);
}

static void free_fresh_tenant(void *item, void *ctx)
{
	struct db_edit *e = ctx;
	struct db_tenant *t = item;
	if (t->gen == e->gen) {
		policy_free(&t->pol);
		free(t);
	}
}

static void free_fresh_ent(void *item, void *ctx)
{
	struct db_edit *e = ctx;
	if (item_gen(item) == e->gen)
		free(item);
}

void db_edit_abort(struct db_edit *e)
{
	if (!e)
		return;
	map_walk_gen(e->v->by_token, e->gen, free_fresh_item, e);
	map_walk_gen(e->v->tenants, e->gen, free_fresh_tenant, e);
	map_free_nodes(e->v->by_token, e->gen);
	map_free_nodes(e->v->by_name, e->gen);
	map_free_nodes(e->v->tenants, e->gen);
	map_walk_gen(e->v->ents, e->gen, free_fresh_ent, e);
	map_free_nodes(e->v->ents, e->gen);
	if (e->global_fresh)
		policy_free(&e->v->global);
	free(e->old.ptrs);
	free(e->v);
	free(e);
}

struct db_view *db_edit_commit(struct db_edit *e, const struct db_view *base, struct db_garbage *g)
{
	struct db_view *v = e->v;
	uint8_t rd[512];
	if (e->failed)
		goto fail;
	if (v->dyn && v->dyn->soa && v->dyn->soa->len >= 10 + 20) {
		/* The served SOA is the file's with the store's serial in it. */
		struct db_rrset *soa = malloc(sizeof(*soa) + v->dyn->soa->len);
		if (!soa)
			goto fail;
		memcpy(soa, v->dyn->soa, sizeof(*soa) + v->dyn->soa->len);
		uint16_t rdlen = wire_get16(soa->data + 8);
		if (rdlen >= 20)
			wire_put32(soa->data + 10 + rdlen - 20, v->set.serial);
		v->dyn_soa = soa;
	}
	int n = wire_txt_rdata("v=DMARC1", 8, rd, sizeof(rd));
	if (!(v->report_txt = db_rrset_new(WIRE_T_TXT, v->set.ttl_policy, rd, (size_t)n)))
		goto fail;
	if (base) {
		if (garbage_push(&e->old, base->dyn_soa) || garbage_push(&e->old, base->report_txt) ||
		    garbage_push(&e->old, (void *)base))
			goto fail;
	}
	/* Reserve first, so that the move cannot fail half way. */
	if (g->cap - g->n < e->old.n) {
		size_t nc = g->n + e->old.n + 64;
		void **np = realloc(g->ptrs, nc * sizeof(*np));
		if (!np)
			goto fail;
		g->ptrs = np;
		g->cap = nc;
	}
	if (e->old.n)
		memcpy(g->ptrs + g->n, e->old.ptrs, e->old.n * sizeof(void *));
	g->n += e->old.n;
	free(e->old.ptrs);
	free(e);
	return v;
fail:
	free(v->dyn_soa);
	free(v->report_txt);
	v->dyn_soa = v->report_txt = NULL;
	db_edit_abort(e);
	return NULL;
}

const struct db_domain *db_view_by_token(const struct db_view *v, const uint8_t *label, size_t len)
{
	if (len != 16)
		return NULL;
	return map_get(v->by_token, db_hash(label, 16), label, 16, match_token);
}

void db_view_prefetch_token(const struct db_view *v, const uint8_t *token, struct db_prefetch *p, int stage)
{
	switch (stage) {
	case 0: {
		p->next = NULL;
		p->h = db_hash(token, 16);
		const struct db_map *m = v->by_token;
		const struct map_mid *mid = m ? m->m[MAP_L1(p->h)] : NULL;
		if (mid) {
			p->next = &mid->b[MAP_L2(p->h)];
			__builtin_prefetch(p->next);
		}
		return;
	}
	case 1:
		if (p->next && (p->next = *(struct map_bucket *const *)p->next))
			__builtin_prefetch(p->next);
		return;
	case 2: {
		const struct map_bucket *b = p->next;
		p->next = NULL;
		for (uint32_t i = 0; b && i < b->n; i++)
			if (b->it[i].h == p->h) {
				p->next = b->it[i].item;
				__builtin_prefetch(p->next);
				__builtin_prefetch((const char *)p->next + 64);
				break;
			}
		return;
	}
	case 3: {
		const struct db_domain *d = p->next;
		if (d && d->nslots && d->slots[0].txt)
			__builtin_prefetch(d->slots[0].txt);
		return;
	}
	}
}

const struct db_domain *db_view_by_name(const struct db_view *v, const uint8_t *name, size_t len)
{
	return map_get(v->by_name, db_hash(name, len), name, len, match_name);
}

int db_view_is_ent(const struct db_view *v, const uint8_t *name, size_t len)
{
	return map_get(v->ents, db_hash(name, len), name, len, match_ent) != NULL;
}

const struct db_rrset *db_view_policy(const struct db_view *v, const struct db_domain *d, int which)
{
	if (which < DB_POL_SPF || which > DB_POL_DMARC)
		return NULL;
	const struct db_policy *levels[3] = { &d->pol, NULL, &v->global };
	int64_t tid = d->tenant_id;
	const struct db_tenant *t = map_get(v->tenants, db_hash((const uint8_t *)&tid, sizeof(tid)),
					    &tid, sizeof(tid), match_tenant);
	levels[1] = t ? &t->pol : NULL;
	for (int i = 0; i < 3; i++) {
		if (!levels[i])
			continue;
		if (levels[i]->blocked & (1 << which))
			return NULL;
		const struct db_rrset *rs = which == DB_POL_SPF ? levels[i]->spf
					    : which == DB_POL_MX ? levels[i]->mx
								 : levels[i]->dmarc;
		if (rs)
			return rs;
	}
	return NULL;
}

static void free_domain_cb(void *item, void *ctx)
{
	domain_free(item);
}

static void free_tenant_cb(void *item, void *ctx)
{
	struct db_tenant *t = item;
	policy_free(&t->pol);
	free(t);
}

static void free_ent_cb(void *item, void *ctx)
{
	free(item);
}

void db_view_free_all(struct db_view *v)
{
	if (!v)
		return;
	map_walk(v->by_token, free_domain_cb, NULL);
	map_walk(v->tenants, free_tenant_cb, NULL);
	map_walk(v->ents, free_ent_cb, NULL);
	map_free_nodes(v->ents, 0);
	map_free_nodes(v->by_token, 0);
	map_free_nodes(v->by_name, 0);
	map_free_nodes(v->tenants, 0);
	policy_free(&v->global);
	free(v->dyn_soa);
	free(v->report_txt);
	free(v);
}

/* ---- walking and comparing views (zone transfers) ---- */

const struct db_domain *db_view_next_domain(const struct db_view *v, struct db_cursor *c)
{
	const struct db_map *m = v->by_token;
	if (!m)
		return NULL;
	for (; c->i < MAP_FAN; c->i++, c->j = 0, c->k = 0) {
		const struct map_mid *mid = m->m[c->i];
		if (!mid)
			continue;
		for (; c->j < MAP_FAN; c->j++, c->k = 0) {
			const struct map_bucket *b = mid->b[c->j];
			if (b && c->k < b->n)
				return b->it[c->k++].item;
		}
	}
	return NULL;
}

/* The items of two buckets at one place in the map, matched by token. */
static void diff_buckets(const struct map_bucket *a, const struct map_bucket *b,
			 void (*fn)(void *, const struct db_domain *, const struct db_domain *), void *ctx)
{
	uint32_t na = a ? a->n : 0, nb = b ? b->n : 0;
	for (uint32_t i = 0; i < na; i++) {
		const struct db_domain *od = a->it[i].item, *nd = NULL;
		for (uint32_t k = 0; k < nb && !nd; k++)
			if (b->it[k].h == a->it[i].h && match_token(b->it[k].item, od->token, 16))
				nd = b->it[k].item;
		if (od != nd)
			fn(ctx, od, nd);
	}
	for (uint32_t k = 0; k < nb; k++) {
		const struct db_domain *nd = b->it[k].item;
		int found = 0;
		for (uint32_t i = 0; i < na && !found; i++)
			found = a->it[i].h == b->it[k].h && match_token(a->it[i].item, nd->token, 16);
		if (!found)
			fn(ctx, NULL, nd);
	}
}

/* Calls fn for every place where maps a and b hold different buckets (NULL for
 * none), skipping the parts they share; stops when fn returns non-zero. */
static int map_diff(const struct db_map *ma, const struct db_map *mb,
		    int (*fn)(const struct map_bucket *, const struct map_bucket *, void *), void *ctx)
{
	if (ma == mb)
		return 0;
	for (size_t i = 0; i < MAP_FAN; i++) {
		const struct map_mid *x = ma ? ma->m[i] : NULL, *y = mb ? mb->m[i] : NULL;
		if (x == y)
			continue;
		for (size_t j = 0; j < MAP_FAN; j++) {
			const struct map_bucket *bx = x ? x->b[j] : NULL, *by = y ? y->b[j] : NULL;
			int r;
			if (bx != by && (r = fn(bx, by, ctx)))
				return r;
		}
	}
	return 0;
}

struct diff_cb {
	void (*fn)(void *ctx, const struct db_domain *old, const struct db_domain *nw);
	void *ctx;
};

static int diff_domain_buckets(const struct map_bucket *a, const struct map_bucket *b, void *ctx)
{
	const struct diff_cb *d = ctx;
	diff_buckets(a, b, d->fn, d->ctx);
	return 0;
}

void db_view_diff_domains(const struct db_view *a, const struct db_view *b,
			  void (*fn)(void *ctx, const struct db_domain *old, const struct db_domain *nw),
			  void *ctx)
{
	struct diff_cb d = { fn, ctx };
	map_diff(a ? a->by_token : NULL, b ? b->by_token : NULL, diff_domain_buckets, &d);
}

static int rrset_same(const struct db_rrset *a, const struct db_rrset *b)
{
	if (a == b)
		return 1;
	if (!a || !b || a->type != b->type || a->len != b->len)
		return 0;
	return memcmp(a->data, b->data, a->len) == 0;
}

static int policy_same(const struct db_policy *a, const struct db_policy *b)
{
	return a->blocked == b->blocked && rrset_same(a->spf, b->spf) && rrset_same(a->mx, b->mx) &&
	       rrset_same(a->dmarc, b->dmarc);
}

/* 1 when the tenants of two buckets differ: each of either side must be in the
 * other with the same policy. */
static int tenant_buckets_differ(const struct map_bucket *bx, const struct map_bucket *by, void *ctx)
{
	uint32_t nx = bx ? bx->n : 0, ny = by ? by->n : 0;
	if (nx != ny)
		return 1;
	for (uint32_t k = 0; k < nx; k++) {
		const struct db_tenant *t = bx->it[k].item, *u = NULL;
		for (uint32_t l = 0; l < ny && !u; l++)
			if (((const struct db_tenant *)by->it[l].item)->id == t->id)
				u = by->it[l].item;
		if (!u || !policy_same(&t->pol, &u->pol))
			return 1;
	}
	return 0;
}

int db_view_policies_differ(const struct db_view *a, const struct db_view *b)
{
	if (!policy_same(&a->global, &b->global))
		return 1;
	return map_diff(a->tenants, b->tenants, tenant_buckets_differ, NULL);
}
