/* tsig: transaction signatures (RFC 8945) over raw DNS wire messages. */
#include "tsig.h"
#include "err.h"
#include "fsafe.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLASS_ANY 255

struct alg {
	const char *name, *digest;
	const uint8_t *wire;
	uint8_t wire_len, mac_len;
};

static const struct alg algs[] = {
	{"hmac-sha256", "SHA256", (const uint8_t *)"\x0bhmac-sha256", 13, 32},
	{"hmac-sha384", "SHA384", (const uint8_t *)"\x0bhmac-sha384", 13, 48},
	{"hmac-sha512", "SHA512", (const uint8_t *)"\x0bhmac-sha512", 13, 64},
	{"hmac-sha1", "SHA1", (const uint8_t *)"\x09hmac-sha1", 11, 20},
};

const char *tsig_status_name(int status)
{
	switch (status) {
	case TSIG_OK:
		return "OK";
	case TSIG_NONE:
		return "unsigned";
	case TSIG_BADKEY:
		return "BADKEY";
	case TSIG_BADSIG:
		return "BADSIG";
	case TSIG_BADTIME:
		return "BADTIME";
	default:
		return "FORMERR";
	}
}

/* ---- the key file ---- */

/* s as it may be shown in an error: printable ASCII, at most 64 characters. */
static const char *shown(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 4 < cap && n < 64; s++)
		buf[n++] = (*s > 0x20 && *s < 0x7f) ? *s : '?';
	if (*s && n + 4 < cap)
		n += (size_t)snprintf(buf + n, cap - n, "...");
	buf[n] = 0;
	return buf;
}

/* Decodes base64 text with libcrypto. Returns the length, or -1 when the text
 * is not base64 or decodes to more than cap. */
static int b64_decode(const char *text, uint8_t *out, size_t cap)
{
	size_t tl = strlen(text);
	if (!tl || tl > (cap / 3 + 1) * 4 || tl % 4)
		return -1;
	uint8_t buf[(TSIG_MAX_KEY / 3 + 2) * 3];
	EVP_ENCODE_CTX *e = EVP_ENCODE_CTX_new();
	int n1 = 0, n2 = 0;
	if (!e)
		return -1;
	EVP_DecodeInit(e);
	int rc = EVP_DecodeUpdate(e, buf, &n1, (const unsigned char *)text, (int)tl);
	if (rc >= 0)
		rc = EVP_DecodeFinal(e, buf + n1, &n2);
	EVP_ENCODE_CTX_free(e);
	int n = n1 + n2;
	if (rc < 0 || n <= 0 || (size_t)n > cap) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n;
}

void tsig_keys_free(struct tsig_keys *keys)
{
	if (!keys)
		return;
	for (size_t i = 0; i < keys->n; i++)
		EVP_MAC_CTX_free(keys->keys[i].hmac);
	free(keys->keys);
	EVP_MAC_free(keys->mac);
	free(keys);
}

/* Parses one key line (split into its three words) into k. Returns 0, or
 * DNSD_EINVAL / DNSD_ECRYPTO with why set. */
static int parse_key(struct tsig_keys *ks, struct tsig_key *k, char *name, char *algname,
		     char *secret, char *why, size_t whylen)
{
	char sn[80];
	const struct alg *a = NULL;
	uint8_t key[TSIG_MAX_KEY];
	int wl = wire_name_from_text(name, k->wire);
	if (wl < 0 || wire_name_to_text(k->wire, k->name, sizeof(k->name)) < 0) {
		snprintf(why, whylen, "bad key name '%s'", shown(name, sn, sizeof(sn)));
		return DNSD_EINVAL;
	}
	k->wire_len = (uint8_t)wl;
	size_t al = strlen(algname);
	if (al && algname[al - 1] == '.')
		algname[--al] = 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcasecmp(algname, algs[i].name))
			a = &algs[i];
	if (!a) {
		snprintf(why, whylen,
			 "key %s: unknown algorithm '%s' (use hmac-sha256, hmac-sha384, "
			 "hmac-sha512 or hmac-sha1)",
			 k->name, shown(algname, sn, sizeof(sn)));
		return DNSD_EINVAL;
	}
	k->alg = a->name;
	k->alg_wire = a->wire;
	k->alg_wire_len = a->wire_len;
	k->mac_len = a->mac_len;
	int kl = b64_decode(secret, key, sizeof(key));
	if (kl < 0) {
		snprintf(why, whylen, "key %s: the secret is not base64 (of at most %d octets)",
			 k->name, TSIG_MAX_KEY);
		return DNSD_EINVAL;
	}
	if (kl < TSIG_MIN_KEY) {
		OPENSSL_cleanse(key, sizeof(key));
		snprintf(why, whylen,
			 "key %s: the secret has %d octets, fewer than %d (make one with "
			 "'openssl rand -base64 32')",
			 k->name, kl, TSIG_MIN_KEY);
		return DNSD_EINVAL;
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *m = EVP_MAC_CTX_new(ks->mac);
	if (!m || !EVP_MAC_init(m, key, (size_t)kl, params)) {
		EVP_MAC_CTX_free(m);
		OPENSSL_cleanse(key, sizeof(key));
		snprintf(why, whylen, "key %s: libcrypto cannot make %s", k->name, a->name);
		return DNSD_ECRYPTO;
	}
	OPENSSL_cleanse(key, sizeof(key));
	k->hmac = m;
	return 0;
}

int tsig_keys_parse(FILE *f, const char *fname, struct tsig_keys **out, char *err, size_t errlen)
{
	char *line = NULL, why[1400];
	size_t cap = 0, capkeys = 0;
	ssize_t got;
	int n = 0, rc = 0;
	struct tsig_keys *ks = calloc(1, sizeof(*ks));
	*out = NULL;
	if (!ks || !(ks->mac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
		snprintf(err, errlen, "%s: %s", fname,
			 ks ? "libcrypto has no HMAC" : "out of memory");
		tsig_keys_free(ks);
		return ks ? DNSD_ECRYPTO : DNSD_ENOMEM;
	}
	while ((got = getline(&line, &cap, f)) >= 0) {
		n++;
		if (memchr(line, 0, (size_t)got)) {
			snprintf(err, errlen, "%s, line %d: a NUL byte", fname, n);
			rc = DNSD_EINVAL;
			break;
		}
		line[strcspn(line, "#\r\n")] = 0;
		char *w[4] = {0}, *save = NULL;
		int nw = 0;
		for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			if (nw < 4)
				w[nw++] = t;
			else
				nw = 5;
		if (!nw)
			continue;
		if (nw != 3) {
			snprintf(err, errlen,
				 "%s, line %d: expected NAME ALGORITHM BASE64SECRET, e.g. "
				 "'xfr-key. hmac-sha256 c2VjcmV0...'",
				 fname, n);
			rc = DNSD_EINVAL;
			break;
		}
		if (ks->n == capkeys) {
			size_t nc = capkeys ? capkeys * 2 : 8;
			struct tsig_key *nk = realloc(ks->keys, nc * sizeof(*nk));
			if (!nk) {
				snprintf(err, errlen, "%s: out of memory", fname);
				rc = DNSD_ENOMEM;
				break;
			}
			ks->keys = nk;
			capkeys = nc;
		}
		struct tsig_key *k = &ks->keys[ks->n];
		memset(k, 0, sizeof(*k));
		if ((rc = parse_key(ks, k, w[0], w[1], w[2], why, sizeof(why)))) {
			snprintf(err, errlen, "%s, line %d: %s", fname, n, why);
			break;
		}
		ks->n++;
		for (size_t i = 0; i + 1 < ks->n; i++)
			if (!strcmp(ks->keys[i].name, k->name)) {
				snprintf(err, errlen, "%s, line %d: key %s is given twice", fname,
					 n, k->name);
				rc = DNSD_EINVAL;
			}
		if (rc)
			break;
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", fname, strerror(errno));
		rc = DNSD_EIO;
	}
	if (line) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	if (rc) {
		tsig_keys_free(ks);
		return rc;
	}
	*out = ks;
	return 0;
}

int tsig_keys_load(const char *path, struct tsig_keys **out, char *err, size_t errlen)
{
	struct stat st;
	char why[512];
	*out = NULL;
	/* The file itself, by its descriptor (what is read is what was judged). */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen,
				 "TSIG key file %s is a symbolic link: give the file it points to",
				 path);
		else
			snprintf(err, errlen, "cannot read TSIG key file %s: %s", path,
				 strerror(errno));
		return errno == ELOOP ? DNSD_EPERM : DNSD_EIO;
	}
	int rc = 0;
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot read TSIG key file %s: %s", path, strerror(errno));
		rc = DNSD_EIO;
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "TSIG key file %s is not a regular file", path);
		rc = DNSD_EPERM;
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "TSIG key file %s belongs to uid %u, neither root nor dnsd's user (uid "
			 "%u): chown it",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		rc = DNSD_EPERM;
	} else if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
		snprintf(err, errlen,
			 "TSIG key file %s is %s (mode %04o): the secrets must be readable by "
			 "dnsd only; chmod o-rw,g-w it",
			 path,
			 (st.st_mode & S_IWOTH)	  ? "writable by every user"
			 : (st.st_mode & S_IWGRP) ? "writable by its group"
						  : "readable by every user",
			 (unsigned)(st.st_mode & 07777));
		rc = DNSD_EPERM;
	} else if ((rc = fsafe_check(path, FSAFE_READ, why, sizeof(why)))) {
		/* The directories above: no one else may swap the file. */
		snprintf(err, errlen, "TSIG key file: %s", why);
		rc = rc == DNSD_ENOENT ? DNSD_EIO : DNSD_EPERM;
	}
	FILE *f = rc ? NULL : fdopen(fd, "r");
	if (!rc && !f) {
		snprintf(err, errlen, "cannot read TSIG key file %s: %s", path, strerror(errno));
		rc = DNSD_EIO;
	}
	if (!f) {
		close(fd);
		return rc;
	}
	rc = tsig_keys_parse(f, path, out, err, errlen);
	fclose(f);
	return rc;
}

const struct tsig_key *tsig_key_find(const struct tsig_keys *keys, const char *name)
{
	uint8_t wire[WIRE_MAXNAME];
	int wl = wire_name_from_text(name, wire);
	if (!keys || wl < 0)
		return NULL;
	for (size_t i = 0; i < keys->n; i++)
		if (keys->keys[i].wire_len == wl && !memcmp(keys->keys[i].wire, wire, (size_t)wl))
			return &keys->keys[i];
	return NULL;
}

/* ---- messages ---- */

/* A TSIG record found in a message. */
struct found {
	size_t start; /* where the record begins: the message without it ends here */
	uint8_t name[WIRE_MAXNAME], alg[WIRE_MAXNAME];
	int name_len, alg_len;
	uint64_t time;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	const uint8_t *mac, *other;
};

static uint64_t get48(const uint8_t *p)
{
	return (uint64_t)wire_get16(p) << 32 | wire_get32(p + 2);
}

static void put48(uint8_t *p, uint64_t v)
{
	wire_put16(p, (uint16_t)(v >> 32));
	wire_put32(p + 2, (uint32_t)v);
}

/* Finds the TSIG record: it must be the last of the additional section, and
 * the only one. Returns 0 (found), 1 (none), -1 (malformed). */
static int find_tsig(const uint8_t *msg, size_t len, struct found *t)
{
	uint8_t name[WIRE_MAXNAME];
	if (len < WIRE_HDR)
		return -1;
	struct wire_cur c = {msg, len, WIRE_HDR};
	unsigned qd = wire_get16(msg + 4), an = wire_get16(msg + 6), ns = wire_get16(msg + 8),
		 ar = wire_get16(msg + 10);
	for (unsigned i = 0; i < qd; i++) {
		if (wire_read_name(&c, name) < 0 || c.pos + 4 > len)
			return -1;
		c.pos += 4;
	}
	unsigned total = an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		size_t start = c.pos;
		int nl = wire_read_name(&c, name);
		if (nl < 0 || c.pos + 10 > len)
			return -1;
		uint16_t type = wire_get16(msg + c.pos), cls = wire_get16(msg + c.pos + 2);
		uint32_t ttl = wire_get32(msg + c.pos + 4);
		size_t rdlen = wire_get16(msg + c.pos + 8), rd = c.pos + 10;
		if (rd + rdlen > len)
			return -1;
		c.pos = rd + rdlen;
		if (type != WIRE_T_TSIG)
			continue;
		if (i < an + ns || i != total - 1 || c.pos != len || cls != CLASS_ANY || ttl != 0)
			return -1;
		t->start = start;
		memcpy(t->name, name, (size_t)nl);
		wire_name_lower(t->name, (size_t)nl);
		t->name_len = nl;
		/* The RDATA: the algorithm's name is never compressed. */
		struct wire_cur r = {msg, rd + rdlen, rd};
		size_t p = rd;
		while (p < rd + rdlen && msg[p] && msg[p] < 64)
			p += 1u + msg[p];
		if (p >= rd + rdlen || msg[p])
			return -1;
		if ((t->alg_len = wire_read_name(&r, t->alg)) < 0)
			return -1;
		wire_name_lower(t->alg, (size_t)t->alg_len);
		p = r.pos;
		if (p + 10 > rd + rdlen)
			return -1;
		t->time = get48(msg + p);
		t->fudge = wire_get16(msg + p + 6);
		t->mac_len = wire_get16(msg + p + 8);
		p += 10;
		if (p + t->mac_len + 6 > rd + rdlen)
			return -1;
		t->mac = msg + p;
		p += t->mac_len;
		t->orig_id = wire_get16(msg + p);
		t->error = wire_get16(msg + p + 2);
		t->other_len = wire_get16(msg + p + 4);
		p += 6;
		t->other = msg + p;
		if (p + t->other_len != rd + rdlen)
			return -1;
		return 0;
	}
	if (c.pos != len)
		return -1;
	return 1;
}

/* The TSIG variables (RFC 8945 4.3.3): all of them, or only the timers. */
struct vars {
	const uint8_t *name, *alg, *other;
	size_t name_len, alg_len, other_len;
	uint64_t time;
	uint16_t fudge, error;
	int timers_only;
};

/* The MAC over [prior MAC], the message (its first 12 octets from hdr, the rest
 * from msg), and the variables, into out. Returns its length or DNSD_ECRYPTO. */
static int compute(const struct tsig_key *k, const uint8_t *prior, size_t prior_len,
		   const uint8_t hdr[WIRE_HDR], const uint8_t *msg, size_t len,
		   const struct vars *v, uint8_t *out)
{
	uint8_t b[2 * WIRE_MAXNAME + 24];
	size_t n = 0, outl = 0;
	EVP_MAC_CTX *m = EVP_MAC_CTX_dup(k->hmac);
	if (!m)
		return DNSD_ECRYPTO;
	int ok = 1;
	if (prior) {
		uint8_t pl[2];
		wire_put16(pl, (uint16_t)prior_len);
		ok = EVP_MAC_update(m, pl, 2) && EVP_MAC_update(m, prior, prior_len);
	}
	ok = ok && EVP_MAC_update(m, hdr, WIRE_HDR) &&
	     EVP_MAC_update(m, msg + WIRE_HDR, len - WIRE_HDR);
	if (!v->timers_only) {
		memcpy(b, v->name, v->name_len);
		n = v->name_len;
		wire_put16(b + n, CLASS_ANY);
		wire_put32(b + n + 2, 0);
		n += 6;
		memcpy(b + n, v->alg, v->alg_len);
		n += v->alg_len;
	}
	put48(b + n, v->time);
	wire_put16(b + n + 6, v->fudge);
	n += 8;
	if (!v->timers_only) {
		wire_put16(b + n, v->error);
		wire_put16(b + n + 2, (uint16_t)v->other_len);
		n += 4;
	}
	ok = ok && EVP_MAC_update(m, b, n);
	if (!v->timers_only && v->other_len)
		ok = ok && EVP_MAC_update(m, v->other, v->other_len);
	ok = ok && EVP_MAC_final(m, out, &outl, TSIG_MAX_MAC);
	EVP_MAC_CTX_free(m);
	return ok && outl == k->mac_len ? (int)outl : DNSD_ECRYPTO;
}

/* Appends a TSIG record to msg and counts it in ARCOUNT. */
static int append(uint8_t *msg, size_t *len, size_t cap, const uint8_t *name, size_t nl,
		  const uint8_t *alg, size_t al, const struct vars *v, const uint8_t *mac,
		  size_t ml)
{
	size_t rdlen = al + 16 + ml + v->other_len, need = nl + 10 + rdlen;
	if (cap > 65535)
		cap = 65535;
	if (*len < WIRE_HDR || *len + need > cap)
		return DNSD_ESPACE;
	uint16_t ar = wire_get16(msg + 10);
	if (ar == 0xffff)
		return DNSD_ESPACE;
	uint8_t *p = msg + *len;
	memcpy(p, name, nl);
	p += nl;
	wire_put16(p, WIRE_T_TSIG);
	wire_put16(p + 2, CLASS_ANY);
	wire_put32(p + 4, 0);
	wire_put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, alg, al);
	p += al;
	put48(p, v->time);
	wire_put16(p + 6, v->fudge);
	wire_put16(p + 8, (uint16_t)ml);
	p += 10;
	if (ml)
		memcpy(p, mac, ml);
	p += ml;
	wire_put16(p, wire_get16(msg)); /* original ID: the message's */
	wire_put16(p + 2, v->error);
	wire_put16(p + 4, (uint16_t)v->other_len);
	p += 6;
	if (v->other_len)
		memcpy(p, v->other, v->other_len);
	*len += need;
	wire_put16(msg + 10, (uint16_t)(ar + 1));
	return 0;
}

/* The header as it was signed: the original ID, and ARCOUNT without the TSIG. */
static void signed_header(const uint8_t *msg, const struct found *t, uint8_t hdr[WIRE_HDR])
{
	memcpy(hdr, msg, WIRE_HDR);
	wire_put16(hdr, t->orig_id);
	wire_put16(hdr + 10, (uint16_t)(wire_get16(msg + 10) - 1));
}

static int time_ok(uint64_t now, uint64_t t, uint16_t fudge)
{
	return (now > t ? now - t : t - now) <= fudge;
}

int tsig_verify(const struct tsig_keys *keys, const uint8_t *msg, size_t len, uint64_t now,
		struct tsig_ctx *ctx, size_t *len_without)
{
	struct found t;
	uint8_t hdr[WIRE_HDR], mac[TSIG_MAX_MAC];
	memset(ctx, 0, sizeof(*ctx));
	*len_without = len;
	int f = find_tsig(msg, len, &t);
	if (f)
		return f > 0 ? TSIG_NONE : TSIG_FORMERR;
	*len_without = t.start;
	memcpy(ctx->name, t.name, (size_t)t.name_len);
	ctx->name_len = (uint8_t)t.name_len;
	memcpy(ctx->alg, t.alg, (size_t)t.alg_len);
	ctx->alg_len = (uint8_t)t.alg_len;
	ctx->time_signed = t.time;
	ctx->fudge = t.fudge;
	const struct tsig_key *k = NULL;
	for (size_t i = 0; keys && i < keys->n; i++)
		if (keys->keys[i].wire_len == t.name_len &&
		    !memcmp(keys->keys[i].wire, t.name, (size_t)t.name_len))
			k = &keys->keys[i];
	if (!k || k->alg_wire_len != t.alg_len || memcmp(k->alg_wire, t.alg, (size_t)t.alg_len))
		return TSIG_BADKEY;
	/* A MAC longer than the hash, or truncated below half of it (or 10
	 * octets), is malformed (RFC 8945 5.2.2.1); a shorter one that is allowed
	 * there is not accepted here (BADSIG, where the RFC says BADTRUNC). */
	if (t.mac_len > k->mac_len || t.mac_len < 10 || t.mac_len < k->mac_len / 2)
		return TSIG_FORMERR;
	if (t.mac_len != k->mac_len)
		return TSIG_BADSIG;
	struct vars v = {t.name,
			 t.alg,
			 t.other,
			 (size_t)t.name_len,
			 (size_t)t.alg_len,
			 t.other_len,
			 t.time,
			 t.fudge,
			 t.error,
			 0};
	signed_header(msg, &t, hdr);
	if (compute(k, NULL, 0, hdr, msg, t.start, &v, mac) < 0)
		return TSIG_BADSIG;
	if (CRYPTO_memcmp(mac, t.mac, k->mac_len))
		return TSIG_BADSIG;
	ctx->key = k;
	memcpy(ctx->mac, mac, k->mac_len);
	ctx->mac_len = k->mac_len;
	if (!time_ok(now, t.time, t.fudge))
		return TSIG_BADTIME;
	return TSIG_OK;
}

int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	const struct tsig_key *k = ctx->key;
	uint8_t mac[TSIG_MAX_MAC];
	if (!k || *len < WIRE_HDR)
		return DNSD_EINVAL;
	struct vars v = {k->wire, k->alg_wire, NULL,	   k->wire_len, k->alg_wire_len,
			 0,	  now,	       TSIG_FUDGE, 0,		ctx->nmsg > 0};
	size_t need = k->wire_len + 10 + k->alg_wire_len + 16 + k->mac_len;
	if (*len + need > (cap > 65535 ? 65535 : cap))
		return DNSD_ESPACE;
	if (compute(k, ctx->mac, ctx->mac_len, msg, msg, *len, &v, mac) < 0)
		return DNSD_ECRYPTO;
	int rc = append(msg, len, cap, k->wire, k->wire_len, k->alg_wire, k->alg_wire_len, &v, mac,
			k->mac_len);
	if (rc)
		return rc;
	memcpy(ctx->mac, mac, k->mac_len);
	ctx->mac_len = k->mac_len;
	ctx->nmsg++;
	return 0;
}

int tsig_sign_error(struct tsig_ctx *ctx, int status, uint8_t *msg, size_t *len, size_t cap,
		    uint64_t now)
{
	uint8_t mac[TSIG_MAX_MAC], other[6];
	if (*len < WIRE_HDR || !ctx->name_len || !ctx->alg_len)
		return DNSD_EINVAL;
	if (status == TSIG_BADTIME && ctx->key) {
		const struct tsig_key *k = ctx->key;
		/* Signed: the request's time, and ours in the other data. */
		put48(other, now);
		struct vars v = {
			k->wire, k->alg_wire,	   other,      k->wire_len,  k->alg_wire_len,
			6,	 ctx->time_signed, ctx->fudge, TSIG_BADTIME, 0};
		size_t need = k->wire_len + 10 + k->alg_wire_len + 16 + k->mac_len + 6;
		if (*len + need > (cap > 65535 ? 65535 : cap))
			return DNSD_ESPACE;
		msg[3] = (uint8_t)((msg[3] & 0xf0) | TSIG_RCODE_NOTAUTH);
		if (compute(k, ctx->mac, ctx->mac_len, msg, msg, *len, &v, mac) < 0)
			return DNSD_ECRYPTO;
		return append(msg, len, cap, k->wire, k->wire_len, k->alg_wire, k->alg_wire_len, &v,
			      mac, k->mac_len);
	}
	if (status != TSIG_BADKEY && status != TSIG_BADSIG)
		return DNSD_EINVAL;
	/* Unsigned: the request's key name and algorithm, an empty MAC. */
	struct vars v = {ctx->name, ctx->alg, NULL,	  ctx->name_len,    ctx->alg_len,
			 0,	    now,      TSIG_FUDGE, (uint16_t)status, 0};
	size_t need = ctx->name_len + 10 + ctx->alg_len + 16;
	if (*len + need > (cap > 65535 ? 65535 : cap))
		return DNSD_ESPACE;
	msg[3] = (uint8_t)((msg[3] & 0xf0) | TSIG_RCODE_NOTAUTH);
	return append(msg, len, cap, ctx->name, ctx->name_len, ctx->alg, ctx->alg_len, &v, NULL, 0);
}

int tsig_sign_request(const struct tsig_key *key, struct tsig_ctx *ctx, uint8_t *msg, size_t *len,
		      size_t cap, uint64_t now)
{
	uint8_t mac[TSIG_MAX_MAC];
	memset(ctx, 0, sizeof(*ctx));
	if (!key || *len < WIRE_HDR)
		return DNSD_EINVAL;
	struct vars v = {key->wire,
			 key->alg_wire,
			 NULL,
			 key->wire_len,
			 key->alg_wire_len,
			 0,
			 now,
			 TSIG_FUDGE,
			 0,
			 0};
	size_t need = key->wire_len + 10 + key->alg_wire_len + 16 + key->mac_len;
	if (*len + need > (cap > 65535 ? 65535 : cap))
		return DNSD_ESPACE;
	if (compute(key, NULL, 0, msg, msg, *len, &v, mac) < 0)
		return DNSD_ECRYPTO;
	int rc = append(msg, len, cap, key->wire, key->wire_len, key->alg_wire, key->alg_wire_len,
			&v, mac, key->mac_len);
	if (rc)
		return rc;
	ctx->key = key;
	memcpy(ctx->mac, mac, key->mac_len);
	ctx->mac_len = key->mac_len;
	return 0;
}

int tsig_verify_response(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now,
			 size_t *len_without)
{
	struct found t;
	uint8_t hdr[WIRE_HDR], mac[TSIG_MAX_MAC];
	const struct tsig_key *k = ctx->key;
	*len_without = len;
	if (!k)
		return TSIG_BADKEY;
	int f = find_tsig(msg, len, &t);
	if (f)
		return f > 0 ? TSIG_NONE : TSIG_FORMERR;
	*len_without = t.start;
	if (t.name_len != k->wire_len || memcmp(t.name, k->wire, k->wire_len) ||
	    t.alg_len != k->alg_wire_len || memcmp(t.alg, k->alg_wire, k->alg_wire_len))
		return TSIG_BADKEY;
	if ((t.error == TSIG_BADKEY || t.error == TSIG_BADSIG) && !t.mac_len)
		return t.error;
	if (t.mac_len != k->mac_len)
		return TSIG_BADSIG;
	struct vars v = {
		t.name, t.alg,	 t.other, (size_t)t.name_len, (size_t)t.alg_len, t.other_len,
		t.time, t.fudge, t.error, ctx->nmsg > 0};
	signed_header(msg, &t, hdr);
	if (compute(k, ctx->mac, ctx->mac_len, hdr, msg, t.start, &v, mac) < 0 ||
	    CRYPTO_memcmp(mac, t.mac, k->mac_len))
		return TSIG_BADSIG;
	if (t.error)
		return t.error == TSIG_BADTIME ? TSIG_BADTIME : TSIG_BADSIG;
	if (!time_ok(now, t.time, t.fudge))
		return TSIG_BADTIME;
	memcpy(ctx->mac, mac, k->mac_len);
	ctx->nmsg++;
	return TSIG_OK;
}
