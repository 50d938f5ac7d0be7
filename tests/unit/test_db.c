/* test_db: RRsets, static zones with empty non-terminals, and the copy-on-write views:
 * an edit never changes the view it started from, and the garbage it hands back is
 * exactly what the new view no longer uses (ASan and LeakSanitizer check both). */
#include "db.h"
#include "err.h"
#include "t.h"
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>

/* ---- helpers ---- */

static int wname(const char *text, uint8_t w[WIRE_MAXNAME])
{
	return wire_name_from_text(text, w);
}

/* The RDATA of RR number idx in rs, and its TTL. */
static const uint8_t *rr_at(const struct db_rrset *rs, int idx, uint16_t *rdlen, uint32_t *ttl)
{
	const uint8_t *p = rs->data, *end = rs->data + rs->len;
	for (int i = 0; p + 10 <= end; i++) {
		uint16_t l = wire_get16(p + 8);
		if (i == idx) {
			if (rdlen)
				*rdlen = l;
			if (ttl)
				*ttl = wire_get32(p + 4);
			return p + 10;
		}
		p += 10 + l;
	}
	return NULL;
}

/* The text of a TXT RRset's first RR (its strings joined), or of an MX RRset as
 * "10 a.example.,20 b.example."; "" for NULL. */
static const char *rs_text(const struct db_rrset *rs)
{
	static char buf[70000];
	size_t n = 0;
	buf[0] = 0;
	if (!rs)
		return buf;
	if (rs->type == WIRE_T_TXT) {
		uint16_t l;
		const uint8_t *rd = rr_at(rs, 0, &l, NULL);
		for (size_t p = 0; rd && p < l; p += 1u + rd[p]) {
			memcpy(buf + n, rd + p + 1, rd[p]);
			n += rd[p];
		}
		buf[n] = 0;
	} else if (rs->type == WIRE_T_MX) {
		for (int i = 0; i < rs->count; i++) {
			uint16_t l;
			const uint8_t *rd = rr_at(rs, i, &l, NULL);
			char host[300];
			if (!rd || wire_name_to_text(rd + 2, host, sizeof(host)) < 0)
				return "(bad)";
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u %s", i ? "," : "",
					      wire_get16(rd), host);
		}
	} else {
		return "(type)";
	}
	return buf;
}

static uint32_t rs_ttl(const struct db_rrset *rs)
{
	uint32_t ttl = 0;
	if (rs)
		rr_at(rs, 0, NULL, &ttl);
	return ttl;
}

/* ---- RRsets ---- */

static void test_rrsets(void)
{
	struct db_rrset *rs = db_rrset_new(WIRE_T_A, 60, (const uint8_t *)"\x7f\0\0\1", 4);
	T_CHECK(rs != NULL);
	if (!rs)
		return;
	T_EQ_INT(rs->type, WIRE_T_A);
	T_EQ_INT(rs->count, 1);
	T_EQ_INT(rs->len, 14);
	T_CHECK(memcmp(rs->data, "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 14) ==
		0);
	rs = db_rrset_add(rs, 120, (const uint8_t *)"\x7f\0\0\2", 4);
	T_EQ_INT(rs->count, 2);
	T_EQ_INT(rs->len, 28);
	uint32_t ttl;
	uint16_t l;
	const uint8_t *rd = rr_at(rs, 1, &l, &ttl);
	T_CHECK(rd && l == 4 && ttl == 120 && rd[3] == 2);
	free(rs);
	T_CHECK(db_rrset_new(WIRE_T_TXT, 1, (const uint8_t *)"", 65536) == NULL);

	rs = db_rrset_txt("v=spf1 -all", 300);
	T_CHECK(rs && rs->type == WIRE_T_TXT && rs->count == 1 && rs->len == 10 + 12);
	T_EQ_STR(rs_text(rs), "v=spf1 -all");
	T_EQ_INT(rs_ttl(rs), 300);
	free(rs);
	static char big[70000];
	memset(big, 'k', 700);
	big[700] = 0;
	rs = db_rrset_txt(big, 1);
	T_CHECK(rs && rs->len == 10 + 700 + 3);
	T_EQ_STR(rs_text(rs), big);
	free(rs);
	memset(big, 'k', 65280); /* 256 strings of 255: 65536 octets of RDATA, one too many */
	big[65280] = 0;
	T_CHECK(db_rrset_txt(big, 1) == NULL);
	big[65025] = 0; /* 255 strings of 255: 65280 octets */
	rs = db_rrset_txt(big, 1);
	T_CHECK(rs && rs->len == 10 + 65280);
	free(rs);
	rs = db_rrset_txt("", 5);
	T_CHECK(rs && rs->len == 11 && rs->data[10] == 0);
	free(rs);

	rs = db_rrset_mx("10 bounce.esp.example., 20 B2.esp.example", 900);
	T_CHECK(rs && rs->type == WIRE_T_MX && rs->count == 2);
	T_EQ_STR(rs_text(rs), "10 bounce.esp.example.,20 b2.esp.example.");
	T_EQ_INT(rs_ttl(rs), 900);
	free(rs);
	rs = db_rrset_mx("0 a.example.", 1);
	T_EQ_STR(rs_text(rs), "0 a.example.");
	free(rs);
	rs = db_rrset_mx("65535 a.example.,1 b.example.", 1);
	T_EQ_STR(rs_text(rs), "65535 a.example.,1 b.example.");
	free(rs);
	/* tabs are blanks, as policy_mx_check takes them (a global MX with a tab
	 * once stopped dnsd applying any change) */
	rs = db_rrset_mx("10\tbounce.esp.example.,\t20 \t b2.esp.example\t", 1);
	T_EQ_STR(rs_text(rs), "10 bounce.esp.example.,20 b2.esp.example.");
	free(rs);
	static const char *const bad[] = {"",
					  "bounce.example.",
					  "10",
					  "10 ",
					  "70000 a.example.",
					  "-1 a.example.",
					  "10 a..b",
					  "x a.example.",
					  "10 a.example. junk",
					  "10,a.example.",
					  "10 a b.example."};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rs = db_rrset_mx(bad[i], 1);
		if (rs)
			fprintf(stderr, "  accepted MX '%s'\n", bad[i]);
		T_CHECK(rs == NULL);
		free(rs);
	}
}

/* ---- static zones ---- */

/* Writes the MNAME and RNAME of the test SOA into rd; returns their length. */
static int soa_names(uint8_t *rd)
{
	uint8_t m[WIRE_MAXNAME], r[WIRE_MAXNAME];
	int ml = wname("ns1.auth.esp.example.", m), rl = wname("hostmaster.esp.example.", r);
	memcpy(rd, m, (size_t)ml);
	memcpy(rd + ml, r, (size_t)rl);
	return ml + rl;
}

static int zadd(struct db_zone *z, const char *owner, uint16_t type, const void *rd, size_t n)
{
	uint8_t w[WIRE_MAXNAME];
	int l = wname(owner, w);
	if (l < 0)
		return l;
	return db_zone_add(z, w, (size_t)l, type, 3600, rd, n);
}

static const struct db_node *zfind(const struct db_zone *z, const char *name)
{
	uint8_t w[WIRE_MAXNAME];
	int l = wname(name, w);
	return l < 0 ? NULL : db_zone_find(z, w, (size_t)l);
}

static void test_zone(void)
{
	const uint8_t apex[] = "\004Auth\003ESP\007example\000";
	struct db_zone *z = db_zone_new(apex, sizeof(apex) - 1);
	const struct db_node *n;

	T_CHECK(z != NULL);
	if (!z)
		return;
	T_CHECK(memcmp(z->apex, "\004auth\003esp\007example\000", sizeof(apex) - 1) == 0);
	T_EQ_INT(z->apex_len, sizeof(apex) - 1);
	T_EQ_INT(z->apex_labels, 3);
	T_CHECK(zfind(z, "auth.esp.example.") == NULL); /* nothing yet */

	/* a deep owner: every name up to the apex exists */
	T_EQ_INT(zadd(z, "A.B.C.auth.esp.example.", WIRE_T_A, "\x7f\0\0\3", 4), 0);
	n = zfind(z, "a.b.c.auth.esp.example.");
	T_CHECK(n && !n->is_ent && n->nrrsets == 1);
	T_CHECK(n && n->name_len == 24 && memcmp(n->name, "\001a\001b\001c", 6) == 0);
	T_CHECK(n && db_node_rrset(n, WIRE_T_A) != NULL && db_node_rrset(n, WIRE_T_TXT) == NULL);
	n = zfind(z, "b.c.auth.esp.example.");
	T_CHECK(n && n->is_ent && n->nrrsets == 0);
	n = zfind(z, "c.auth.esp.example.");
	T_CHECK(n && n->is_ent && n->nrrsets == 0);
	n = zfind(z, "auth.esp.example.");
	T_CHECK(n && n->is_ent);
	T_CHECK(zfind(z, "esp.example.") == NULL);
	T_CHECK(zfind(z, "x.b.c.auth.esp.example.") == NULL);
	T_CHECK(zfind(z, "b.auth.esp.example.") == NULL);
	T_EQ_INT(z->nnodes, 4);

	/* data at an empty non-terminal makes it a real node; the A stays where it is */
	T_EQ_INT(zadd(z, "c.auth.esp.example.", WIRE_T_TXT, "\002hi", 3), 0);
	n = zfind(z, "c.auth.esp.example.");
	T_CHECK(n && !n->is_ent && db_node_rrset(n, WIRE_T_TXT));
	n = zfind(z, "b.c.auth.esp.example.");
	T_CHECK(n && n->is_ent);
	/* a second owner under an existing ENT does not reset it, nor create duplicates */
	T_EQ_INT(zadd(z, "x.b.c.auth.esp.example.", WIRE_T_A, "\x7f\0\0\4", 4), 0);
	T_EQ_INT(z->nnodes, 5);
	n = zfind(z, "c.auth.esp.example.");
	T_CHECK(n && !n->is_ent);

	/* the SOA, and RRsets growing RR by RR */
	uint8_t soa[2 * WIRE_MAXNAME + 20];
	int sl = soa_names(soa);
	memcpy(soa + sl,
	       "\x00\x00\x00\x05\x00\x00\x0e\x10\x00\x00\x02\x58\x00\x12\x75\x00\x00\x00\x01\x2c",
	       20);
	T_EQ_INT(zadd(z, "auth.esp.example.", WIRE_T_SOA, soa, (size_t)sl + 20), 0);
	n = zfind(z, "auth.esp.example.");
	T_CHECK(n && !n->is_ent && z->soa && z->soa == db_node_rrset(n, WIRE_T_SOA));
	T_EQ_INT(zadd(z, "auth.esp.example.", WIRE_T_NS, "\003ns1\000", 5), 0);
	T_EQ_INT(zadd(z, "auth.esp.example.", WIRE_T_NS, "\003ns2\000", 5), 0);
	n = zfind(z, "auth.esp.example.");
	T_CHECK(n && n->nrrsets == 2 && db_node_rrset(n, WIRE_T_NS) &&
		db_node_rrset(n, WIRE_T_NS)->count == 2);
	T_CHECK(z->soa == db_node_rrset(n, WIRE_T_SOA));

	/* at most 8 types at a node */
	uint16_t types[] = {1, 2, 5, 6, 15, 16, 28, 99, 100};
	for (int i = 0; i < 8; i++)
		T_EQ_INT(zadd(z, "many.auth.esp.example.", types[i], "\0", 1), 0);
	T_EQ_INT(zadd(z, "many.auth.esp.example.", types[8], "\0", 1), DNSD_ERANGE);
	T_EQ_INT(zadd(z, "many.auth.esp.example.", types[3], "\0", 1), 0); /* an existing type */

	/* owners outside the apex */
	T_EQ_INT(zadd(z, "example.", WIRE_T_A, "\0\0\0\0", 4), DNSD_EINVAL);
	T_EQ_INT(zadd(z, "esp.example.", WIRE_T_A, "\0\0\0\0", 4), DNSD_EINVAL);
	T_EQ_INT(zadd(z, "auth.esp.example.org.", WIRE_T_A, "\0\0\0\0", 4), DNSD_EINVAL);
	T_EQ_INT(zadd(z, "xauth.esp.example.", WIRE_T_A, "\0\0\0\0", 4), DNSD_EINVAL);
	/* the apex's octets at the end of a name, but not on a label boundary:
	 * "x\004auth.esp.example." is a sibling of the zone, not inside it */
	const uint8_t sneaky[] = "\006x\004auth\003esp\007example\000";
	T_EQ_INT(db_zone_add(z, sneaky, sizeof(sneaky) - 1, WIRE_T_A, 1,
			     (const uint8_t *)"\0\0\0\0", 4),
		 DNSD_EINVAL);
	T_CHECK(db_zone_find(z, sneaky, sizeof(sneaky) - 1) == NULL);

	/* thousands of names: the table grows and every name is still found */
	char name[64];
	int added = 0, found = 0;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%d.g%d.auth.esp.example.", i, i % 50);
		added += zadd(z, name, WIRE_T_A, "\x0a\0\0\1", 4) == 0;
	}
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%d.g%d.auth.esp.example.", i, i % 50);
		n = zfind(z, name);
		found += n && !n->is_ent && db_node_rrset(n, WIRE_T_A) != NULL;
	}
	T_EQ_INT(added, 3000);
	T_EQ_INT(found, 3000);
	int ents = 0;
	for (int g = 0; g < 50; g++) {
		snprintf(name, sizeof(name), "g%d.auth.esp.example.", g);
		n = zfind(z, name);
		ents += n && n->is_ent;
	}
	T_EQ_INT(ents, 50);
	T_CHECK(z->tabsize >= z->nnodes);
	T_CHECK((z->tabsize & (z->tabsize - 1)) == 0);
	T_CHECK(zfind(z, "h3000.g0.auth.esp.example.") == NULL);
	db_zone_free(z);
	db_zone_free(NULL);

	/* a zone at the root holds any name */
	z = db_zone_new((const uint8_t *)"", 1);
	T_CHECK(z && z->apex_labels == 0 && z->apex_len == 1);
	T_EQ_INT(zadd(z, "a.b.", WIRE_T_A, "\0\0\0\0", 4), 0);
	T_CHECK(zfind(z, "b.") && zfind(z, "b.")->is_ent);
	T_CHECK(zfind(z, ".") && zfind(z, ".")->is_ent);
	db_zone_free(z);
}

/* ---- views ---- */

#define NBASE 5000
#define NMAX  5010
enum { ID_TCOL = NBASE + 1, ID_NCOL = NBASE + 4, ID_ADD = NBASE + 7 };

static char tokens[NMAX + 1][17];
static char names[3][NMAX + 1][40]; /* by version 1..2 (0 unused) */

/* What a view should hold for a domain. */
struct want {
	uint8_t present, removed, ver;
};

static const char *dkim_txt(int i, int ver, int slot)
{
	static char b[64];
	if (slot == 0)
		snprintf(b, sizeof(b), "v=DKIM1; k=rsa; p=K%dv%d", i, ver);
	else if (slot == 2 && i % 10 == 0)
		snprintf(b, sizeof(b), "v=DKIM1; k=ed25519; p=E%dv%d", i, ver);
	else
		return NULL;
	return b;
}

static const char *own_spf(int i)
{
	static char b[64];
	if (i % 7)
		return NULL;
	snprintf(b, sizeof(b), "v=spf1 include:d%d.spf.example -all", i);
	return b;
}

static int64_t tenant_of(int i)
{
	return 1 + i % 3;
}

static int put(struct db_edit *e, int i, int ver, int removed)
{
	struct db_domain_spec s = {0};
	char t0[64], t2[64];
	s.id = i;
	s.tenant_id = tenant_of(i);
	s.name = names[ver][i];
	s.token = tokens[i];
	s.removed = removed;
	s.spf = own_spf(i);
	s.nslots = 3;
	s.slots[0].selector = "esp1";
	s.slots[1].selector = "ESP2";
	s.slots[2].selector = "esp3";
	if (dkim_txt(i, ver, 0))
		snprintf(t0, sizeof(t0), "%s", dkim_txt(i, ver, 0)), s.slots[0].txt = t0;
	if (dkim_txt(i, ver, 2))
		snprintf(t2, sizeof(t2), "%s", dkim_txt(i, ver, 2)), s.slots[2].txt = t2;
	return db_edit_put_domain(e, &s);
}

/* The policy texts of each level, by version of the view. */
struct pols {
	const char *spf[4], *mx[4], *dmarc[4]; /* index 0: global, 1..3: tenants */
};
static const struct pols pol_v1 = {
	{"v=spf1 include:_spf.auth.esp.example -all", "v=spf1 include:t1.example -all", NULL, NULL},
	{"10 bounce.auth.esp.example.", NULL, "10 mx.t2.example.,20 mx2.t2.example.", NULL},
	{"v=DMARC1; p=none", "v=DMARC1; p=reject", NULL, NULL},
};
static const struct pols pol_v2 = {
	{"v=spf1 include:_spf.auth.esp.example -all", "v=spf1 include:t1.example -all",
	 "v=spf1 ip4:198.51.100.0/24 -all", NULL},
	{"10 bounce.auth.esp.example.", NULL, NULL, NULL},
	{"v=DMARC1; p=none", "v=DMARC1; p=reject", NULL, "v=DMARC1; p=quarantine"},
};

static int put_pols(struct db_edit *e, const struct pols *p)
{
	int rc = 0;
	for (int t = 0; t < 4; t++)
		rc |= db_edit_put_policy(e, t, p->spf[t], p->mx[t], p->dmarc[t]);
	return rc;
}

static const char *effective(const struct pols *p, int i, int which)
{
	const char *const *lv = which == DB_POL_SPF  ? p->spf
				: which == DB_POL_MX ? p->mx
						     : p->dmarc;
	if (which == DB_POL_SPF && own_spf(i))
		return own_spf(i);
	if (lv[tenant_of(i)])
		return lv[tenant_of(i)];
	return lv[0] ? lv[0] : "";
}

/* Checks every domain of a view against the model; returns the number of domains
 * that did not match (and prints the first few). */
static int check_view(const struct db_view *v, const struct want *w, const struct pols *p,
		      uint32_t ttl_dkim, uint32_t ttl_policy)
{
	int bad = 0, live = 0, all = 0;
	uint8_t wn[WIRE_MAXNAME];
	for (int i = 1; i <= NMAX; i++) {
		const struct db_domain *d = db_view_by_token(v, (const uint8_t *)tokens[i], 16);
		int ok = 1;
		if (!w[i].present) {
			ok = d == NULL;
			for (int ver = 1; ver <= 2; ver++) {
				int l = wname(names[ver][i], wn);
				const struct db_domain *dn = db_view_by_name(v, wn, (size_t)l);
				ok &= dn == NULL || dn->id != i;
			}
		} else if (!d) {
			ok = 0;
		} else {
			all++;
			int ver = w[i].ver;
			int l = wname(names[ver][i], wn);
			ok &= d->id == i && d->tenant_id == tenant_of(i) &&
			      d->removed == w[i].removed;
			ok &= memcmp(d->token, tokens[i], 17) == 0;
			ok &= d->name_len == l && memcmp(d->name, wn, (size_t)l) == 0;
			ok &= d->nslots == 3 && memcmp(d->slots[1].sel, "\004esp2", 5) == 0 &&
			      memcmp(d->slots[0].sel, "\004esp1", 5) == 0;
			for (int s = 0; s < 3; s++) {
				const char *want = w[i].removed		 ? "v=DKIM1; p="
						   : dkim_txt(i, ver, s) ? dkim_txt(i, ver, s)
									 : "v=DKIM1; p=";
				ok &= d->slots[s].txt &&
				      strcmp(rs_text(d->slots[s].txt), want) == 0 &&
				      rs_ttl(d->slots[s].txt) == ttl_dkim;
			}
			const struct db_domain *dn = db_view_by_name(v, wn, (size_t)l);
			if (w[i].removed) {
				ok &= dn == NULL || dn->id != i;
			} else {
				live++;
				ok &= dn == d;
				for (int which = 0; which < 3; which++) {
					const struct db_rrset *rs = db_view_policy(v, d, which);
					ok &= strcmp(rs_text(rs), effective(p, i, which)) == 0;
					ok &= !rs || rs_ttl(rs) == ttl_policy;
				}
			}
		}
		if (!ok && bad++ < 5)
			fprintf(stderr, "  domain %d (%s) does not match the model\n", i,
				w[i].present ? names[w[i].ver][i] : "absent");
	}
	(void)all; /* the count is checked on its own, with v->ndomains */
	return bad;
}

/* Finds n indexes >= from whose keys (made by mk) land in the same map bucket
 * (the top 20 bits of db_hash pick it); returns 0 if none was found. */
static int find_collisions(void (*mk)(int, char *, size_t *), int from, int *out, int n)
{
	static uint8_t cnt[1 << 20];
	char key[64];
	size_t kl;
	memset(cnt, 0, sizeof(cnt));
	for (int i = from; i < from + 2000000; i++) {
		mk(i, key, &kl);
		uint32_t b = (uint32_t)(db_hash((const uint8_t *)key, kl) >> 44);
		if (++cnt[b] == (uint8_t)n) {
			int k = 0;
			for (int j = from; j <= i && k < n; j++) {
				mk(j, key, &kl);
				if ((uint32_t)(db_hash((const uint8_t *)key, kl) >> 44) == b)
					out[k++] = j;
			}
			return k == n;
		}
	}
	return 0;
}

static void mk_token(int i, char *key, size_t *kl)
{
	snprintf(key, 17, "c%015d", i);
	*kl = 16;
}

static void mk_name(int i, char *key, size_t *kl)
{
	char t[40];
	snprintf(t, sizeof(t), "col%d.example", i);
	int l = wire_name_from_text(t, (uint8_t *)key);
	*kl = (size_t)l;
}

static struct db_zone *make_dyn(void)
{
	const uint8_t apex[] = "\004auth\003esp\007example\000";
	struct db_zone *z = db_zone_new(apex, sizeof(apex) - 1);
	uint8_t soa[2 * WIRE_MAXNAME + 20];
	int sl = soa_names(soa);
	memcpy(soa + sl,
	       "\x00\x00\x00\x05\x00\x00\x0e\x10\x00\x00\x02\x58\x00\x12\x75\x00\x00\x00\x01\x2c",
	       20);
	if (z && zadd(z, "auth.esp.example.", WIRE_T_SOA, soa, (size_t)sl + 20)) {
		db_zone_free(z);
		return NULL;
	}
	return z;
}

static uint32_t soa_serial(const struct db_rrset *soa)
{
	uint16_t l;
	const uint8_t *rd = soa ? rr_at(soa, 0, &l, NULL) : NULL;
	return rd && l >= 20 ? wire_get32(rd + l - 20) : 0xFFFFFFFFu;
}

static void test_views(void)
{
	static struct want w1[NMAX + 1], w2[NMAX + 1], w3[NMAX + 1];
	int tcol[3], ncol[3];
	struct db_zone *dyn = make_dyn();
	struct db_zone *zones[1] = {dyn};
	struct db_garbage g = {0};

	T_CHECK(dyn != NULL);
	if (!dyn)
		return;
	for (int i = 1; i <= NMAX; i++) {
		snprintf(tokens[i], sizeof(tokens[i]), "t%015d", i);
		snprintf(names[1][i], sizeof(names[1][i]), "D%d.Example", i);
		snprintf(names[2][i], sizeof(names[2][i]), "r%d.example", i);
	}
	/* three tokens in one bucket, and three names in one bucket */
	T_CHECK(find_collisions(mk_token, 0, tcol, 3));
	T_CHECK(find_collisions(mk_name, 0, ncol, 3));
	for (int k = 0; k < 3; k++) {
		size_t kl;
		mk_token(tcol[k], tokens[ID_TCOL + k], &kl);
		snprintf(names[1][ID_NCOL + k], sizeof(names[1][0]), "col%d.example", ncol[k]);
		snprintf(names[2][ID_NCOL + k], sizeof(names[2][0]), "col%d.example", ncol[k]);
	}

	/* view 1: built from nothing */
	struct db_edit *e = db_edit_begin(NULL, zones, 1, dyn);
	T_CHECK(e != NULL);
	if (!e)
		return;
	struct db_settings s1 = {100, 600, 900};
	db_edit_settings(e, &s1, 41);
	int rc = 0;
	for (int i = 1; i < ID_ADD; i++) {
		w1[i] = (struct want){1, i % 50 == 0, 1};
		rc |= put(e, i, 1, w1[i].removed);
	}
	rc |= put_pols(e, &pol_v1);
	T_EQ_INT(rc, 0);
	struct db_view *v1 = db_edit_commit(e, NULL, &g);
	T_CHECK(v1 != NULL);
	if (!v1)
		return;
	T_EQ_INT(g.n, 0); /* nothing was replaced */
	T_EQ_INT(v1->seq, 41);
	T_EQ_INT(v1->set.serial, 100);
	T_EQ_INT(v1->ndomains, ID_ADD - 1);
	T_CHECK(v1->dyn == dyn && v1->nzones == 1 && v1->zones == zones);
	T_EQ_INT(soa_serial(v1->dyn_soa), 100);
	T_EQ_INT(soa_serial(dyn->soa), 5); /* the file's SOA is not changed */
	T_EQ_STR(rs_text(v1->report_txt), "v=DMARC1");
	T_EQ_INT(rs_ttl(v1->report_txt), 900);
	T_EQ_INT(check_view(v1, w1, &pol_v1, 600, 900), 0);
	/* lookups take exact keys */
	T_CHECK(db_view_by_token(v1, (const uint8_t *)tokens[1], 15) == NULL);
	T_CHECK(db_view_by_token(v1, (const uint8_t *)"T000000000000001", 16) == NULL);
	uint8_t wn[WIRE_MAXNAME];
	int l = wname("d1.example.", wn);
	T_CHECK(db_view_by_name(v1, wn, (size_t)l) != NULL);
	T_CHECK(db_view_by_name(v1, wn, (size_t)l - 1) == NULL);

	/* view 2: on top of view 1 */
	const struct db_domain *before[NMAX + 1];
	for (int i = 1; i <= NMAX; i++)
		before[i] = db_view_by_token(v1, (const uint8_t *)tokens[i], 16);
	memcpy(w2, w1, sizeof(w2));
	e = db_edit_begin(v1, zones, 1, dyn);
	T_CHECK(e != NULL);
	if (!e)
		return;
	struct db_settings s2 = {101, 600, 900};
	db_edit_settings(e, &s2, 42);
	static const int repl[] = {5, 12, 1000, ID_TCOL, ID_NCOL, 100};
	static const int del[] = {6, 13, 2000, ID_TCOL + 1, ID_NCOL + 1};
	rc = 0;
	for (size_t k = 0; k < sizeof(repl) / sizeof(repl[0]); k++) {
		w2[repl[k]] = (struct want){1, w1[repl[k]].removed, 2};
		rc |= put(e, repl[k], 2, w2[repl[k]].removed);
	}
	for (size_t k = 0; k < sizeof(del) / sizeof(del[0]); k++) {
		w2[del[k]].present = 0;
		rc |= db_edit_del_domain(e, tokens[del[k]]);
	}
	for (int i = ID_ADD; i <= NMAX; i++) {
		w2[i] = (struct want){1, 0, 2};
		rc |= put(e, i, 2, 0);
	}
	w2[7] = (struct want){1, 1, 2}; /* live, now removed */
	rc |= put(e, 7, 2, 1);
	w2[50] = (struct want){1, 0, 2}; /* removed, now live again */
	rc |= put(e, 50, 2, 0);
	rc |= db_edit_put_policy(e, 2, pol_v2.spf[2], pol_v2.mx[2], pol_v2.dmarc[2]);
	rc |= db_edit_put_policy(e, 3, pol_v2.spf[3], pol_v2.mx[3], pol_v2.dmarc[3]);
	T_EQ_INT(rc, 0);
	struct db_view *v2 = db_edit_commit(e, v1, &g);
	T_CHECK(v2 != NULL && v2 != v1);
	if (!v2)
		return;
	T_CHECK(g.n > 0);

	/* (a) the old view answers exactly as before */
	T_EQ_INT(check_view(v1, w1, &pol_v1, 600, 900), 0);
	int same = 0;
	for (int i = 1; i <= NMAX; i++)
		same += db_view_by_token(v1, (const uint8_t *)tokens[i], 16) == before[i];
	T_EQ_INT(same, NMAX);
	T_EQ_INT(v1->ndomains, ID_ADD - 1);
	T_EQ_INT(v1->seq, 41);
	T_EQ_INT(soa_serial(v1->dyn_soa), 100);
	/* (b) the new view has the changes, and shares what it did not touch */
	T_EQ_INT(check_view(v2, w2, &pol_v2, 600, 900), 0);
	T_EQ_INT(v2->ndomains, ID_ADD - 1 - 5 + (NMAX - ID_ADD + 1));
	T_EQ_INT(v2->seq, 42);
	T_EQ_INT(soa_serial(v2->dyn_soa), 101);
	int shared = 0, untouched = 0;
	for (int i = 1; i <= NMAX; i++) {
		if (!w1[i].present || !w2[i].present || w2[i].ver != 1)
			continue;
		untouched++;
		shared += db_view_by_token(v2, (const uint8_t *)tokens[i], 16) == before[i];
	}
	T_EQ_INT(shared, untouched);
	T_CHECK(untouched > 4900);
	/* the colliding token left in its bucket, and the colliding name */
	T_CHECK(db_view_by_token(v2, (const uint8_t *)tokens[ID_TCOL + 2], 16) ==
		before[ID_TCOL + 2]);
	l = wname(names[1][ID_NCOL + 2], wn);
	T_CHECK(db_view_by_name(v2, wn, (size_t)l) == before[ID_NCOL + 2]);
	/* (d) precedence, spelled out for a few domains */
	const struct db_domain *d21 = db_view_by_token(v2, (const uint8_t *)tokens[21], 16);
	const struct db_domain *d3 = db_view_by_token(v2, (const uint8_t *)tokens[3], 16);
	const struct db_domain *d8 = db_view_by_token(v2, (const uint8_t *)tokens[8], 16);
	T_CHECK(d21 && d3 && d8);
	if (d21 && d3 && d8) {
		/* tenant 1, with an SPF of its own: the domain's wins over the tenant's */
		T_EQ_INT(d21->tenant_id, 1);
		T_EQ_STR(rs_text(db_view_policy(v2, d21, DB_POL_SPF)),
			 "v=spf1 include:d21.spf.example -all");
		T_EQ_STR(rs_text(db_view_policy(v2, d21, DB_POL_DMARC)), "v=DMARC1; p=reject");
		/* tenant 1, none of its own: the tenant's SPF and DMARC, the global MX */
		T_EQ_INT(d3->tenant_id, 1);
		T_EQ_STR(rs_text(db_view_policy(v2, d3, DB_POL_SPF)),
			 "v=spf1 include:t1.example -all");
		T_EQ_STR(rs_text(db_view_policy(v2, d3, DB_POL_MX)), "10 bounce.auth.esp.example.");
		T_EQ_STR(rs_text(db_view_policy(v2, d3, DB_POL_DMARC)), "v=DMARC1; p=reject");
		/* tenant 3: the global SPF; its new DMARC in view 2, the global one in view 1 */
		T_EQ_INT(d8->tenant_id, 3);
		T_EQ_STR(rs_text(db_view_policy(v2, d8, DB_POL_SPF)),
			 "v=spf1 include:_spf.auth.esp.example -all");
		T_EQ_STR(rs_text(db_view_policy(v2, d8, DB_POL_DMARC)), "v=DMARC1; p=quarantine");
		T_EQ_STR(rs_text(db_view_policy(v1, before[8], DB_POL_DMARC)), "v=DMARC1; p=none");
	}
	const struct db_domain *d2 = db_view_by_token(v2, (const uint8_t *)tokens[2], 16);
	T_CHECK(d2 && d2->tenant_id == 3);
	const struct db_domain *d11 = db_view_by_token(v2, (const uint8_t *)tokens[11], 16);
	T_CHECK(d11 && d11->tenant_id == 3);
	const struct db_domain *d10 = db_view_by_token(v2, (const uint8_t *)tokens[10], 16);
	if (d10) {
		T_EQ_INT(d10->tenant_id, 2);
		T_EQ_STR(rs_text(db_view_policy(v2, d10, DB_POL_SPF)),
			 "v=spf1 ip4:198.51.100.0/24 -all");
		T_EQ_STR(rs_text(db_view_policy(v2, d10, DB_POL_MX)),
			 "10 bounce.auth.esp.example.");
		T_EQ_STR(rs_text(db_view_policy(v1, before[10], DB_POL_MX)),
			 "10 mx.t2.example.,20 mx2.t2.example.");
		T_EQ_STR(rs_text(db_view_policy(v1, before[10], DB_POL_SPF)),
			 "v=spf1 include:_spf.auth.esp.example -all");
	}
	/* (e) removed domains: p= in every slot, not by name */
	const struct db_domain *d7 = db_view_by_token(v2, (const uint8_t *)tokens[7], 16);
	T_CHECK(d7 && d7->removed);
	if (d7)
		for (int s = 0; s < 3; s++)
			T_EQ_STR(rs_text(d7->slots[s].txt), "v=DKIM1; p=");
	l = wname(names[2][7], wn);
	T_CHECK(db_view_by_name(v2, wn, (size_t)l) == NULL);
	l = wname(names[1][7], wn);
	T_CHECK(db_view_by_name(v2, wn, (size_t)l) == NULL);
	T_CHECK(db_view_by_name(v1, wn, (size_t)l) == before[7]);
	T_CHECK(d7 && d7->pol.spf == NULL); /* its own SPF is not built */

	/* (c) the garbage goes; the new view does not notice */
	db_garbage_free(&g);
	T_EQ_INT(g.n, 0);
	T_CHECK(g.ptrs == NULL);
	T_EQ_INT(check_view(v2, w2, &pol_v2, 600, 900), 0);
	T_EQ_INT(soa_serial(v2->dyn_soa), 101);
	T_EQ_STR(rs_text(v2->report_txt), "v=DMARC1");

	/* (f) a full reload into an edit: clear, then load a subset */
	e = db_edit_begin(v2, zones, 1, dyn);
	T_CHECK(e != NULL);
	if (!e)
		return;
	struct db_settings s3 = {102, 300, 1800};
	db_edit_settings(e, &s3, 43);
	T_EQ_INT(db_edit_clear(e), 0);
	memset(w3, 0, sizeof(w3));
	rc = 0;
	for (int i = 1; i <= 200; i++) {
		w3[i] = (struct want){1, i % 50 == 0, 1};
		rc |= put(e, i, 1, w3[i].removed);
	}
	rc |= put_pols(e, &pol_v1);
	T_EQ_INT(rc, 0);
	struct db_view *v3 = db_edit_commit(e, v2, &g);
	T_CHECK(v3 != NULL);
	if (!v3)
		return;
	T_CHECK(g.n > (size_t)NBASE); /* every domain of v2 at least */
	T_EQ_INT(check_view(v2, w2, &pol_v2, 600, 900), 0);
	db_garbage_free(&g);
	T_EQ_INT(check_view(v3, w3, &pol_v1, 300, 1800), 0);
	T_EQ_INT(v3->ndomains, 200);
	T_EQ_INT(soa_serial(v3->dyn_soa), 102);
	T_EQ_INT(rs_ttl(v3->report_txt), 1800);

	/* one more edit that changes only the global policy: the old global RRsets are garbage */
	e = db_edit_begin(v3, zones, 1, dyn);
	T_EQ_INT(db_edit_put_policy(e, 0, "v=spf1 -all", NULL, NULL), 0);
	struct db_view *v4 = db_edit_commit(e, v3, &g);
	T_CHECK(v4 != NULL);
	if (!v4)
		return;
	T_EQ_STR(rs_text(v3->global.spf), "v=spf1 include:_spf.auth.esp.example -all");
	T_EQ_STR(rs_text(v3->global.mx), "10 bounce.auth.esp.example.");
	db_garbage_free(&g);
	T_EQ_STR(rs_text(v4->global.spf), "v=spf1 -all");
	T_CHECK(v4->global.mx == NULL && v4->global.dmarc == NULL);
	T_EQ_INT(v4->ndomains, 200);
	T_EQ_INT(v4->seq, 43); /* settings carry over */
	T_EQ_INT(v4->set.serial, 102);
	const struct db_domain *d3b = db_view_by_token(v4, (const uint8_t *)tokens[3], 16);
	T_CHECK(d3b && strcmp(rs_text(db_view_policy(v4, d3b, DB_POL_SPF)),
			      "v=spf1 include:t1.example -all") == 0);
	const struct db_domain *d2b = db_view_by_token(v4, (const uint8_t *)tokens[2], 16);
	T_CHECK(d2b && strcmp(rs_text(db_view_policy(v4, d2b, DB_POL_SPF)), "v=spf1 -all") == 0);
	T_CHECK(d2b && db_view_policy(v4, d2b, DB_POL_DMARC) == NULL);

	db_view_free_all(v4);
	db_zone_free(dyn);
}

static int put_simple(struct db_edit *e, int64_t id, const char *name, const char *token,
		      int removed)
{
	struct db_domain_spec s = {0};
	s.id = id;
	s.tenant_id = 1;
	s.name = name;
	s.token = token;
	s.removed = removed;
	s.nslots = 1;
	s.slots[0].selector = "s1";
	s.slots[0].txt = "v=DKIM1; k=ed25519; p=AAAA";
	return db_edit_put_domain(e, &s);
}

static const struct db_domain *by_name(const struct db_view *v, const char *name)
{
	uint8_t w[WIRE_MAXNAME];
	int l = wname(name, w);
	return l < 0 ? NULL : db_view_by_name(v, w, (size_t)l);
}

static const struct db_domain *by_tok(const struct db_view *v, const char *t)
{
	return db_view_by_token(v, (const uint8_t *)t, strlen(t));
}

/* Commits e over base into the returned view and frees the garbage at once (no readers). */
static struct db_view *commit(struct db_edit *e, struct db_view *base)
{
	struct db_garbage g = {0};
	struct db_view *v = db_edit_commit(e, base, &g);
	db_garbage_free(&g);
	return v;
}

static void test_edit_edges(void)
{
	const char *T1 = "aaaaaaaaaaaaaaaa", *T2 = "bbbbbbbbbbbbbbbb", *T3 = "cccccccccccccccc";
	struct db_edit *e = db_edit_begin(NULL, NULL, 0, NULL);
	struct db_view *v;

	T_CHECK(e != NULL);
	if (!e)
		return;
	/* an empty view: defaults, and no SOA without a dynamic zone */
	v = commit(e, NULL);
	T_CHECK(v && v->ndomains == 0 && v->dyn_soa == NULL && v->set.ttl_dkim == 3600);
	T_CHECK(v && by_tok(v, T1) == NULL && by_name(v, "x.example") == NULL);

	/* invalid specs are refused, and the edit goes on */
	e = db_edit_begin(v, NULL, 0, NULL);
	struct db_domain_spec s = {0};
	char longsel[70];
	memset(longsel, 's', 64);
	longsel[64] = 0;
	s.id = 9;
	s.tenant_id = 1;
	s.name = "ok.example";
	s.token = "short";
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.token = NULL;
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.token = "dddddddddddddddddd"; /* 18 */
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.token = T3;
	s.name = "bad..example";
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.name = "ok.example";
	s.nslots = DB_MAX_SLOTS + 1;
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.nslots = 2;
	s.slots[0].selector = "s1";
	s.slots[1].selector = "";
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.slots[1].selector = longsel;
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	longsel[63] = 0;
	s.slots[1].selector = "s2";
	s.mx = "not an mx";
	T_EQ_INT(db_edit_put_domain(e, &s), DNSD_EINVAL);
	s.mx = "10 mx.ok.example.";
	s.slots[1].selector = longsel; /* 63: fine */
	T_EQ_INT(db_edit_put_domain(e, &s), 0);
	T_EQ_INT(db_edit_put_policy(e, 1, NULL, "nonsense", NULL), DNSD_EINVAL);
	T_EQ_INT(db_edit_put_policy(e, 0, NULL, "nonsense", NULL), DNSD_EINVAL);
	T_EQ_INT(db_edit_del_domain(e, "short"), DNSD_EINVAL);
	T_EQ_INT(db_edit_del_domain(e, T2), 0); /* not there: nothing to do */
	v = commit(e, v);
	T_CHECK(v != NULL);
	if (!v)
		return;
	T_EQ_INT(v->ndomains, 1);
	const struct db_domain *d = by_tok(v, T3);
	T_CHECK(d && d->nslots == 2 && d->slots[1].sel[0] == 63);
	T_CHECK(d && strcmp(rs_text(d->slots[0].txt), "v=DKIM1; p=") == 0); /* no key yet */
	T_CHECK(d && strcmp(rs_text(db_view_policy(v, d, DB_POL_MX)), "10 mx.ok.example.") == 0);
	T_CHECK(d && db_view_policy(v, d, DB_POL_SPF) == NULL);

	/* a blocked key: its selector has no TXT (NODATA), the other slots theirs */
	e = db_edit_begin(v, NULL, 0, NULL);
	s.slots[0].txt = db_key_blocked;
	s.slots[1].txt = "v=DKIM1; k=ed25519; p=x";
	T_EQ_INT(db_edit_put_domain(e, &s), 0);
	v = commit(e, v);
	d = by_tok(v, T3);
	T_CHECK(d && d->nslots == 2 && d->slots[0].txt == NULL &&
		memcmp(d->slots[0].sel, "\002s1", 3) == 0);
	T_CHECK(d && strcmp(rs_text(d->slots[1].txt), "v=DKIM1; k=ed25519; p=x") == 0);
	/* once removed, it answers p= as every slot of a removed domain does */
	e = db_edit_begin(v, NULL, 0, NULL);
	s.removed = 1;
	T_EQ_INT(db_edit_put_domain(e, &s), 0);
	v = commit(e, v);
	d = by_tok(v, T3);
	T_CHECK(d && d->slots[0].txt && strcmp(rs_text(d->slots[0].txt), "v=DKIM1; p=") == 0);
	s.removed = 0;
	s.slots[0].txt = s.slots[1].txt = NULL;

	/* a domain added and then deleted: the count goes back */
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(put_simple(e, 1, "one.example", T1, 0), 0);
	v = commit(e, v);
	T_EQ_INT(v->ndomains, 2);
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(db_edit_del_domain(e, T1), 0);
	T_EQ_INT(db_edit_del_domain(e, T3), 0);
	v = commit(e, v);
	T_CHECK(by_tok(v, T1) == NULL && by_name(v, "one.example") == NULL);
	T_EQ_INT(v->ndomains, 0);

	/* put twice in one edit: the second wins, the first is freed (LeakSanitizer) */
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(put_simple(e, 1, "one.example", T1, 0), 0);
	T_EQ_INT(put_simple(e, 1, "uno.example", T1, 0), 0);
	T_EQ_INT(db_edit_put_policy(e, 0, "v=spf1 a -all", NULL, NULL), 0);
	T_EQ_INT(db_edit_put_policy(e, 0, "v=spf1 mx -all", NULL, NULL), 0);
	T_EQ_INT(db_edit_put_policy(e, 1, "v=spf1 a -all", NULL, NULL), 0);
	T_EQ_INT(db_edit_put_policy(e, 1, "v=spf1 ptr -all", NULL, NULL), 0);
	v = commit(e, v);
	T_EQ_INT(v->ndomains, 1);
	T_CHECK(by_name(v, "one.example") == NULL && by_name(v, "uno.example") == by_tok(v, T1));
	d = by_tok(v, T1);
	T_CHECK(d && strcmp(rs_text(db_view_policy(v, d, DB_POL_SPF)), "v=spf1 ptr -all") == 0);

	/* a tenant policy set to nothing falls back to the global one */
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(db_edit_put_policy(e, 1, NULL, NULL, NULL), 0);
	v = commit(e, v);
	d = by_tok(v, T1);
	T_CHECK(d && strcmp(rs_text(db_view_policy(v, d, DB_POL_SPF)), "v=spf1 mx -all") == 0);

	/* a removed name added again under a new token: by name finds the live one */
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(put_simple(e, 2, "uno.example", T2, 0), 0); /* the new registration */
	T_EQ_INT(put_simple(e, 1, "uno.example", T1, 1), 0); /* the old one, now removed */
	v = commit(e, v);
	T_CHECK(by_tok(v, T2) && by_name(v, "uno.example") == by_tok(v, T2));
	T_CHECK(by_tok(v, T1) && by_tok(v, T1)->removed);
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(db_edit_del_domain(e, T1), 0); /* the retention period ends */
	v = commit(e, v);
	T_CHECK(by_tok(v, T1) == NULL && by_name(v, "uno.example") == by_tok(v, T2));
	T_EQ_INT(v->ndomains, 1);

	/* an aborted edit leaves its base alone and frees what it made */
	const struct db_domain *keep = by_tok(v, T2);
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(put_simple(e, 3, "three.example", T3, 0), 0);
	T_EQ_INT(put_simple(e, 2, "renamed.example", T2, 0), 0);
	T_EQ_INT(db_edit_put_policy(e, 5, "v=spf1 -all", NULL, NULL), 0);
	/* the global policy too: abort must free the RRsets it made (LeakSanitizer), as
	 * dnsd aborts an edit whenever a store read fails after the policies loaded */
	T_EQ_INT(db_edit_put_policy(e, 0, "v=spf1 a -all", "10 mx.example.", "v=DMARC1; p=none"),
		 0);
	db_edit_abort(e);
	T_CHECK(v->global.spf && strcmp(rs_text(v->global.spf), "v=spf1 mx -all") == 0);
	T_CHECK(v->global.mx == NULL);
	T_CHECK(by_tok(v, T2) == keep && by_name(v, "uno.example") == keep);
	T_CHECK(by_tok(v, T3) == NULL && by_name(v, "renamed.example") == NULL);
	T_EQ_INT(v->ndomains, 1);
	db_edit_abort(NULL);

	/* clear on a view and commit: nothing left */
	e = db_edit_begin(v, NULL, 0, NULL);
	T_EQ_INT(db_edit_clear(e), 0);
	v = commit(e, v);
	T_CHECK(v && v->ndomains == 0 && by_tok(v, T2) == NULL &&
		by_name(v, "uno.example") == NULL);
	T_CHECK(v && v->global.spf == NULL);

	struct db_garbage g = {0};
	db_garbage_free(&g);
	db_view_free_all(v);
	db_view_free_all(NULL);
}

int main(void)
{
	T_RUN(test_rrsets);
	T_RUN(test_zone);
	T_RUN(test_views);
	T_RUN(test_edit_edges);
	return t_done();
}
