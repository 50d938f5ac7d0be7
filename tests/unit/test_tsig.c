/* test_tsig: the TSIG key file (each refusal), and signatures checked against
 * ldns's: requests ldns signs verify here (tampered ones do not), answers and
 * chains of answers signed here verify with ldns, the error answers, and a
 * request signed here with its response signed by ldns. Ends with the cost of
 * signing one 64 KiB message here and through ldns. */
#include "err.h"
#include "t_store.h"
#include "tsig.h"

#include <ldns/ldns.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 32 octets, and 64 for the SHA-512 key. */
#define SECRET	"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
#define SECRET2 "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXIt"
#define WRONG	"d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmct"

static const char *file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) || chmod(path, mode))
		abort();
	return path;
}

static int parse(const char *text, struct tsig_keys **ks, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		abort();
	int rc = tsig_keys_parse(f, "k.conf", ks, err, errlen);
	fclose(f);
	return rc;
}

static struct tsig_keys *keys;

static void test_parse(void)
{
	char err[512] = "";
	T_EQ_INT(parse("# keys\n"
		       "\n"
		       "Xfr-Key hmac-sha256 " SECRET "   # the secondaries\n"
		       "  big.example.\tHMAC-SHA512.\t" SECRET2 "\n"
		       "old hmac-sha1 " SECRET "\r\n"
		       "mid hmac-sha384 " SECRET "\n",
		       &keys, err, sizeof(err)),
		 0);
	T_EQ_INT(keys->n, 4);
	const struct tsig_key *k = tsig_key_find(keys, "XFR-KEY.");
	T_CHECK(k != NULL);
	T_EQ_STR(k ? k->name : NULL, "xfr-key.");
	T_EQ_STR(k ? k->alg : NULL, "hmac-sha256");
	T_EQ_INT(k ? k->mac_len : 0, 32);
	T_CHECK(tsig_key_find(keys, "big.example") == &keys->keys[1]);
	T_EQ_INT(keys->keys[1].mac_len, 64);
	T_EQ_INT(keys->keys[2].mac_len, 20);
	T_EQ_INT(keys->keys[3].mac_len, 48);
	T_CHECK(tsig_key_find(keys, "nope.") == NULL);
	T_CHECK(tsig_key_find(NULL, "xfr-key.") == NULL);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{"a..b hmac-sha256 " SECRET "\n", "k.conf, line 1: bad key name 'a..b'"},
		{"\n\nk hmac-md5 " SECRET "\n",
		 "k.conf, line 3: key k.: unknown algorithm 'hmac-md5' (use hmac-sha256, "
		 "hmac-sha384, hmac-sha512 or hmac-sha1)"},
		{"k hmac-sha256 c2VjcmV0!!c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=\n",
		 "k.conf, line 1: key k.: the secret is not base64 (of at most 1024 octets)"},
		{"k hmac-sha256 c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ\n",
		 "k.conf, line 1: key k.: the secret is not base64 (of at most 1024 octets)"},
		{"k hmac-sha256 c2hvcnQtc2VjcmV0\n",
		 "k.conf, line 1: key k.: the secret has 12 octets, fewer than 16 (make one "
		 "with 'openssl rand -base64 32')"},
		{"k hmac-sha256 " SECRET "\nK. hmac-sha1 " SECRET2 "\n",
		 "k.conf, line 2: key k. is given twice"},
		{"k hmac-sha256\n", "k.conf, line 1: expected NAME ALGORITHM BASE64SECRET, e.g. "
				    "'xfr-key. hmac-sha256 c2VjcmV0...'"},
		{"k hmac-sha256 " SECRET " extra\n",
		 "k.conf, line 1: expected NAME ALGORITHM BASE64SECRET, e.g. 'xfr-key. "
		 "hmac-sha256 c2VjcmV0...'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tsig_keys *ks = (struct tsig_keys *)1;
		T_EQ_INT(parse(bad[i].text, &ks, err, sizeof(err)), DNSD_EINVAL);
		T_EQ_STR(err, bad[i].want);
		T_CHECK(ks == NULL);
		/* The secret never shows. */
		T_CHECK(!strstr(err, "LXNlY3J") && !strstr(err, "b3RoZXIt") &&
			!strstr(err, "c2hvcnQt"));
	}
}

/* The file's owner and mode, and a link. */
static void test_load(void)
{
	char err[512], want[700];
	struct tsig_keys *ks = NULL;
	const char *p = file("keys", "k hmac-sha256 " SECRET "\n", 0600);
	char path[256];
	snprintf(path, sizeof(path), "%s", p);
	T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), 0);
	T_CHECK(ks && ks->n == 1);
	tsig_keys_free(ks);
	chmod(path, 0640);
	T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), 0);
	tsig_keys_free(ks);

	chmod(path, 0644);
	T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), DNSD_EPERM);
	snprintf(want, sizeof(want),
		 "TSIG key file %s is readable by every user (mode 0644): the secrets must be "
		 "readable by dnsd only; chmod o-rw,g-w it",
		 path);
	T_EQ_STR(err, want);
	T_CHECK(ks == NULL);
	chmod(path, 0620);
	T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), DNSD_EPERM);
	T_CHECK(strstr(err, "writable by its group (mode 0620)") != NULL);
	chmod(path, 0602);
	T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), DNSD_EPERM);
	T_CHECK(strstr(err, "writable by every user") != NULL);
	chmod(path, 0600);

	char link[300];
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	T_EQ_INT(symlink(path, link), 0);
	T_EQ_INT(tsig_keys_load(link, &ks, err, sizeof(err)), DNSD_EPERM);
	snprintf(want, sizeof(want),
		 "TSIG key file %s is a symbolic link: give the file it points to", link);
	T_EQ_STR(err, want);
	T_EQ_INT(tsig_keys_load(tmpdir, &ks, err, sizeof(err)), DNSD_EPERM);
	T_CHECK(strstr(err, "not a regular file") != NULL);
	T_EQ_INT(tsig_keys_load("/nonexistent/keys", &ks, err, sizeof(err)), DNSD_EIO);
	T_EQ_STR(err, "cannot read TSIG key file /nonexistent/keys: No such file or directory");

	/* Another user's file (only root can make one here). */
	if (geteuid() == 0) {
		T_EQ_INT(chown(path, 65534, 65534), 0);
		T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), DNSD_EPERM);
		T_CHECK(strstr(err, "belongs to uid 65534, neither root nor dnsd's user") != NULL);
		T_EQ_INT(chown(path, 0, 0), 0);
	}
	/* A directory others may write, without the sticky bit. */
	char sub[300], inner[400];
	snprintf(sub, sizeof(sub), "%s/open", tmpdir);
	T_EQ_INT(mkdir(sub, 0777), 0);
	T_EQ_INT(chmod(sub, 0777), 0);
	snprintf(inner, sizeof(inner), "%s/keys", sub);
	FILE *f = fopen(inner, "w");
	T_CHECK(f != NULL);
	if (f) {
		fputs("k hmac-sha256 " SECRET "\n", f);
		fclose(f);
		chmod(inner, 0600);
		T_EQ_INT(tsig_keys_load(inner, &ks, err, sizeof(err)), DNSD_EPERM);
		T_CHECK(strstr(err, "is writable by every user (mode 0777): others could swap") !=
			NULL);
	}
	/* A bad line: the file and line, never the secret. */
	file("keys", "k hmac-sha256 " SECRET "\nj hmac-sha256 c2hvcnQ=\n", 0600);
	T_EQ_INT(tsig_keys_load(path, &ks, err, sizeof(err)), DNSD_EINVAL);
	snprintf(want, sizeof(want),
		 "%s, line 2: key j.: the secret has 5 octets, fewer than 16 (make one with "
		 "'openssl rand -base64 32')",
		 path);
	T_EQ_STR(err, want);
}

/* ---- messages ---- */

/* A query for name/type made and signed by ldns; its wire in *wire. */
static ldns_pkt *ldns_query(const char *name, ldns_rr_type type, const char *kname,
			    const char *secret, const char *alg, uint8_t **wire, size_t *len)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	ldns_pkt *p = ldns_pkt_query_new(qn, type, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, 0x4242);
	if (kname && ldns_pkt_tsig_sign(p, kname, secret, 300, alg, NULL) != LDNS_STATUS_OK)
		abort();
	if (ldns_pkt2wire(wire, p, len) != LDNS_STATUS_OK)
		abort();
	return p;
}

/* An answer to a query of id: header, question, n TXT records of about 50
 * octets (a pointer to the question's name), as a transfer sends. */
static size_t answer(uint8_t *buf, size_t cap, uint16_t id, int n)
{
	static const uint8_t q[] = "\x07"
				   "example\x03"
				   "com\x00\x00\xfc\x00\x01";
	size_t len = WIRE_HDR;
	memset(buf, 0, WIRE_HDR);
	wire_put16(buf, id);
	buf[2] = 0x84; /* QR, AA */
	wire_put16(buf + 4, 1);
	memcpy(buf + len, q, sizeof(q) - 1);
	len += sizeof(q) - 1;
	int i;
	for (i = 0; i < n && len + 53 <= cap; i++) {
		uint8_t *r = buf + len;
		wire_put16(r, 0xc00c);
		wire_put16(r + 2, WIRE_T_TXT);
		wire_put16(r + 4, 1);
		wire_put32(r + 6, 3600);
		wire_put16(r + 10, 41);
		r[12] = 40;
		for (int j = 0; j < 40; j++)
			r[13 + j] = (uint8_t)('a' + (i + j) % 26);
		len += 53;
	}
	wire_put16(buf + 6, (uint16_t)i);
	return len;
}

static void test_verify(void)
{
	uint8_t *wire;
	size_t len, without;
	struct tsig_ctx ctx;
	uint64_t now = (uint64_t)time(NULL);

	/* Signed by ldns: verifies. */
	ldns_pkt *p = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET,
				 "hmac-sha256.", &wire, &len);
	T_EQ_INT(tsig_verify(keys, wire, len, now, &ctx, &without), TSIG_OK);
	T_CHECK(ctx.key == tsig_key_find(keys, "xfr-key"));
	T_EQ_INT(without, 29); /* header and question */
	T_EQ_INT(ctx.mac_len, 32);
	/* With the key name in capitals too. */
	uint8_t *w2;
	size_t l2;
	ldns_pkt *p2 = ldns_query("example.com.", LDNS_RR_TYPE_SOA, "XFR-Key.", SECRET,
				  "hmac-sha256.", &w2, &l2);
	T_EQ_INT(tsig_verify(keys, w2, l2, now, &ctx, &without), TSIG_OK);
	ldns_pkt_free(p2);
	free(w2);
	/* No keys at all: BADKEY. */
	T_EQ_INT(tsig_verify(NULL, wire, len, now, &ctx, &without), TSIG_BADKEY);
	/* Old: BADTIME, and also in the future. */
	T_EQ_INT(tsig_verify(keys, wire, len, now + 301 + 2, &ctx, &without), TSIG_BADTIME);
	T_EQ_INT(tsig_verify(keys, wire, len, now - 303, &ctx, &without), TSIG_BADTIME);
	T_EQ_INT(tsig_verify(keys, wire, len, now + 250, &ctx, &without), TSIG_OK);
	/* Tampered: a letter of the name, the ID, the MAC. */
	for (size_t at = 13; at < len; at += 7) {
		uint8_t *t = malloc(len);
		memcpy(t, wire, len);
		t[at] ^= 0x01; /* not 0x20: names compare in any case */
		int st = tsig_verify(keys, t, len, now, &ctx, &without);
		/* Flipping a bit of a length breaks the shape, of the TSIG's type its
		 * presence, of its name its key; anything else breaks the MAC. */
		if (st != TSIG_BADSIG && st != TSIG_FORMERR && st != TSIG_BADKEY && st != TSIG_NONE)
			fprintf(stderr, "octet %zu flipped: %s\n", at, tsig_status_name(st));
		T_CHECK(st == TSIG_BADSIG || st == TSIG_FORMERR || st == TSIG_BADKEY ||
			st == TSIG_NONE);
		if (at == 13 || at == 27) /* the name's first letter, the class */
			T_EQ_INT(st, TSIG_BADSIG);
		free(t);
	}
	/* The ID may change (a forwarder): the original ID is what was signed. */
	wire[0] ^= 0xff;
	T_EQ_INT(tsig_verify(keys, wire, len, now, &ctx, &without), TSIG_OK);
	wire[0] ^= 0xff;
	/* Unsigned. */
	uint8_t *u;
	size_t ul;
	ldns_pkt *pu = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, NULL, NULL, NULL, &u, &ul);
	T_EQ_INT(tsig_verify(keys, u, ul, now, &ctx, &without), TSIG_NONE);
	T_EQ_INT(without, ul);
	ldns_pkt_free(pu);
	free(u);
	/* An unknown key, and the right name with another secret. */
	uint8_t *w3;
	size_t l3;
	ldns_pkt *p3 = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "other-key.", SECRET,
				  "hmac-sha256.", &w3, &l3);
	T_EQ_INT(tsig_verify(keys, w3, l3, now, &ctx, &without), TSIG_BADKEY);
	T_EQ_INT(ctx.name_len, 11);
	ldns_pkt_free(p3);
	free(w3);
	p3 = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.", WRONG, "hmac-sha256.", &w3,
			&l3);
	T_EQ_INT(tsig_verify(keys, w3, l3, now, &ctx, &without), TSIG_BADSIG);
	ldns_pkt_free(p3);
	free(w3);
	/* The right key name with another algorithm. */
	p3 = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET, "hmac-sha1.", &w3,
			&l3);
	T_EQ_INT(tsig_verify(keys, w3, l3, now, &ctx, &without), TSIG_BADKEY);
	ldns_pkt_free(p3);
	free(w3);
	/* SHA-512 and SHA-1 keys. */
	p3 = ldns_query("example.com.", LDNS_RR_TYPE_IXFR, "big.example.", SECRET2, "hmac-sha512.",
			&w3, &l3);
	T_EQ_INT(tsig_verify(keys, w3, l3, now, &ctx, &without), TSIG_OK);
	ldns_pkt_free(p3);
	free(w3);
	p3 = ldns_query("example.com.", LDNS_RR_TYPE_IXFR, "old.", SECRET, "hmac-sha1.", &w3, &l3);
	T_EQ_INT(tsig_verify(keys, w3, l3, now, &ctx, &without), TSIG_OK);
	ldns_pkt_free(p3);
	free(w3);

	/* Malformed: a record after the TSIG, a TSIG cut short, TSIG in the answer. */
	uint8_t big[600];
	memcpy(big, wire, len);
	static const uint8_t a_rr[] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
	memcpy(big + len, a_rr, sizeof(a_rr));
	wire_put16(big + 10, (uint16_t)(wire_get16(big + 10) + 1));
	T_EQ_INT(tsig_verify(keys, big, len + sizeof(a_rr), now, &ctx, &without), TSIG_FORMERR);
	T_EQ_INT(tsig_verify(keys, wire, len - 1, now, &ctx, &without), TSIG_FORMERR);
	memcpy(big, wire, len);
	big[7] = 1;  /* ANCOUNT 1 */
	big[11] = 0; /* ARCOUNT 0... */
	T_EQ_INT(tsig_verify(keys, big, len, now, &ctx, &without), TSIG_FORMERR);
	big[11] = 1; /* ...or with another record in the additional section */
	memcpy(big + len, a_rr, sizeof(a_rr));
	T_EQ_INT(tsig_verify(keys, big, len + sizeof(a_rr), now, &ctx, &without), TSIG_FORMERR);
	/* Every prefix of the message: never a crash, never OK. */
	for (size_t n = 0; n < len; n++)
		T_CHECK(tsig_verify(keys, wire, n, now, &ctx, &without) != TSIG_OK);
	/* Random octets changed, 20,000 times: never a crash, the length without
	 * the TSIG within the message; and never OK when the octets changed are
	 * ones the MAC covers as they are (the header but the ID, the question,
	 * the MAC itself at 71..102). */
	T_EQ_INT(wire_get16(wire + 69), 32); /* the MAC's size, before the MAC */
	srandom(13);
	int oks = 0, inside = 1;
	for (int i = 0; i < 20000; i++) {
		int covered = i % 2;
		memcpy(big, wire, len);
		for (int k = 1 + (int)(random() % 3); k > 0; k--) {
			size_t at = (size_t)random() % len;
			if (covered)
				at = random() % 2 ? 2 + (size_t)random() % 27
						  : 71 + (size_t)random() % 32;
			big[at] = (uint8_t)random();
		}
		int st = tsig_verify(keys, big, len, now, &ctx, &without);
		oks += covered && st == TSIG_OK && memcmp(big, wire, len) != 0;
		inside &= without <= len;
	}
	T_EQ_INT(oks, 0);
	T_CHECK(inside);
	ldns_pkt_free(p);
	free(wire);
}

/* A chain of answers signed here, verified by ldns message by message; a
 * tampered one fails there. */
static void test_chain(void)
{
	uint8_t *wire, buf[65535];
	size_t len, without;
	struct tsig_ctx ctx;
	uint64_t now = (uint64_t)time(NULL);
	ldns_pkt *q = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET,
				 "hmac-sha256.", &wire, &len);
	T_EQ_INT(tsig_verify(keys, wire, len, now, &ctx, &without), TSIG_OK);
	ldns_rdf *prev = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(q), 3));
	for (int i = 0; i < 5; i++) {
		size_t n = answer(buf, sizeof(buf) - TSIG_MAX_RR, 0x4242, i == 2 ? 1200 : 3 + i);
		T_EQ_INT(tsig_sign(&ctx, buf, &n, sizeof(buf), now), 0);
		ldns_pkt *r = NULL;
		T_EQ_INT(ldns_wire2pkt(&r, buf, n), LDNS_STATUS_OK);
		T_CHECK(r && ldns_pkt_tsig(r) != NULL);
		if (!r || !ldns_pkt_tsig(r))
			break;
		T_CHECK(ldns_pkt_tsig_verify_next(r, buf, n, "xfr-key.", SECRET, prev, i > 0));
		/* The same message with a wrong previous MAC, or tampered, fails. */
		T_CHECK(!ldns_pkt_tsig_verify_next(r, buf, n, "xfr-key.", SECRET, prev, i == 0));
		buf[40] ^= 1;
		T_CHECK(!ldns_pkt_tsig_verify_next(r, buf, n, "xfr-key.", SECRET, prev, i > 0));
		buf[40] ^= 1;
		ldns_rdf_deep_free(prev);
		prev = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(r), 3));
		ldns_pkt_free(r);
	}
	T_EQ_INT(ctx.nmsg, 5);
	/* No room: refused, the message unchanged. */
	size_t n = answer(buf, sizeof(buf), 0x4242, 3);
	size_t before = n;
	T_EQ_INT(tsig_sign(&ctx, buf, &n, n + 20, now), DNSD_ESPACE);
	T_EQ_INT(n, before);
	T_EQ_INT(wire_get16(buf + 10), 0);
	ldns_rdf_deep_free(prev);
	ldns_pkt_free(q);
	free(wire);
}

/* The error answers: NOTAUTH, the error in the TSIG record; BADTIME signed. */
static void test_errors(void)
{
	uint8_t *wire, buf[1024];
	size_t len, without;
	struct tsig_ctx ctx;
	uint64_t now = (uint64_t)time(NULL);
	ldns_pkt *q = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET,
				 "hmac-sha256.", &wire, &len);
	/* BADTIME: the server is 1000 s ahead. */
	T_EQ_INT(tsig_verify(keys, wire, len, now + 1000, &ctx, &without), TSIG_BADTIME);
	memcpy(buf, wire, without);
	size_t n = without;
	buf[2] |= 0x80;
	wire_put16(buf + 10, 0);
	T_EQ_INT(tsig_sign_error(&ctx, TSIG_BADTIME, buf, &n, sizeof(buf), now + 1000), 0);
	ldns_pkt *r = NULL;
	T_EQ_INT(ldns_wire2pkt(&r, buf, n), LDNS_STATUS_OK);
	T_EQ_INT(ldns_pkt_get_rcode(r), 9);
	ldns_rr *t = ldns_pkt_tsig(r);
	T_CHECK(t != NULL);
	T_EQ_INT(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), 18);
	T_EQ_INT(ldns_rdf_size(ldns_rr_rdf(t, 6)), 8); /* length and 48-bit time */
	T_CHECK(ldns_pkt_tsig_verify(r, buf, n, "xfr-key.", SECRET,
				     ldns_rr_rdf(ldns_pkt_tsig(q), 3)));
	ldns_pkt_free(r);

	/* BADSIG and BADKEY: unsigned, the request's key name. */
	for (int bad = 0; bad < 2; bad++) {
		uint8_t *w;
		size_t l;
		ldns_pkt *qq = ldns_query("example.com.", LDNS_RR_TYPE_AXFR,
					  bad ? "unknown.key." : "xfr-key.", bad ? SECRET : WRONG,
					  "hmac-sha256.", &w, &l);
		int st = tsig_verify(keys, w, l, now, &ctx, &without);
		T_EQ_INT(st, bad ? TSIG_BADKEY : TSIG_BADSIG);
		memcpy(buf, w, without);
		n = without;
		wire_put16(buf + 10, 0);
		T_EQ_INT(tsig_sign_error(&ctx, st, buf, &n, sizeof(buf), now), 0);
		r = NULL;
		T_EQ_INT(ldns_wire2pkt(&r, buf, n), LDNS_STATUS_OK);
		T_EQ_INT(ldns_pkt_get_rcode(r), 9);
		t = ldns_pkt_tsig(r);
		T_CHECK(t != NULL);
		char *owner = ldns_rdf2str(ldns_rr_owner(t));
		T_EQ_STR(owner, bad ? "unknown.key." : "xfr-key.");
		free(owner);
		T_EQ_INT(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), st);
		T_EQ_INT(ldns_rdf_size(ldns_rr_rdf(t, 3)), 2); /* MAC size 0 */
		ldns_pkt_free(r);
		ldns_pkt_free(qq);
		free(w);
	}
	T_EQ_INT(tsig_sign_error(&ctx, TSIG_FORMERR, buf, &n, sizeof(buf), now), DNSD_EINVAL);
	ldns_pkt_free(q);
	free(wire);
}

/* A request signed here (a NOTIFY) verifies with ldns; its response signed by
 * ldns verifies here, and a tampered or unsigned one does not. */
static void test_request(void)
{
	uint8_t buf[512];
	size_t n, without;
	struct tsig_ctx ctx;
	uint64_t now = (uint64_t)time(NULL);
	const char *names[] = {"xfr-key.", "big.example.", "old."};
	const char *secrets[] = {SECRET, SECRET2, SECRET};
	const char *algs[] = {"hmac-sha256.", "hmac-sha512.", "hmac-sha1."};
	for (int i = 0; i < 3; i++) {
		const struct tsig_key *k = tsig_key_find(keys, names[i]);
		n = answer(buf, sizeof(buf), 0x1234, 0);
		buf[2] = 0x24; /* NOTIFY, AA */
		T_EQ_INT(tsig_sign_request(k, &ctx, buf, &n, sizeof(buf), now), 0);
		ldns_pkt *req = NULL;
		T_EQ_INT(ldns_wire2pkt(&req, buf, n), LDNS_STATUS_OK);
		T_CHECK(ldns_pkt_tsig_verify(req, buf, n, names[i], secrets[i], NULL));

		/* The response, signed by ldns over our MAC. */
		ldns_pkt *resp = ldns_pkt_clone(req);
		ldns_rr_free(ldns_pkt_tsig(resp));
		ldns_pkt_set_tsig(resp, NULL);
		ldns_pkt_set_qr(resp, 1);
		ldns_pkt_set_arcount(resp, 0);
		ldns_rdf *rmac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(req), 3));
		T_EQ_INT(ldns_pkt_tsig_sign(resp, names[i], secrets[i], 300, algs[i], rmac),
			 LDNS_STATUS_OK);
		uint8_t *rw;
		size_t rl;
		T_EQ_INT(ldns_pkt2wire(&rw, resp, &rl), LDNS_STATUS_OK);
		struct tsig_ctx c2 = ctx;
		rw[rl - 30] ^= 1; /* in the MAC */
		T_EQ_INT(tsig_verify_response(&c2, rw, rl, now, &without), TSIG_BADSIG);
		rw[rl - 30] ^= 1;
		c2 = ctx;
		T_EQ_INT(tsig_verify_response(&c2, rw, rl, now + 1000, &without), TSIG_BADTIME);
		c2 = ctx;
		T_EQ_INT(tsig_verify_response(&c2, rw, rl, now, &without), TSIG_OK);
		T_EQ_INT(without, 29);
		/* The response to another request (another MAC) fails. */
		c2 = ctx;
		c2.mac[0] ^= 1;
		T_EQ_INT(tsig_verify_response(&c2, rw, rl, now, &without), TSIG_BADSIG);
		/* Unsigned. */
		c2 = ctx;
		wire_put16(rw + 10, 0);
		T_EQ_INT(tsig_verify_response(&c2, rw, without, now, &without), TSIG_NONE);
		free(rw);
		ldns_rdf_deep_free(rmac);
		ldns_pkt_free(resp);
		ldns_pkt_free(req);
	}
	/* SHA-384 (ldns 1.8.3 misspells its name, so it cannot check it): a
	 * request signed and verified here, as a server would. */
	const struct tsig_key *k = tsig_key_find(keys, "mid");
	n = answer(buf, sizeof(buf), 0x1234, 0);
	T_EQ_INT(tsig_sign_request(k, &ctx, buf, &n, sizeof(buf), now), 0);
	T_EQ_INT(tsig_verify(keys, buf, n, now, &ctx, &without), TSIG_OK);
	T_CHECK(ctx.key == k);
	buf[14] ^= 1;
	T_EQ_INT(tsig_verify(keys, buf, n, now, &ctx, &without), TSIG_BADSIG);
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cost of signing one message of a transfer, 64 KiB, here and with ldns
 * (parse the wire, sign, write the wire again: ldns signs only its ldns_pkt). */
static void test_cost(void)
{
	static uint8_t tmpl[65535], buf[65535];
	uint8_t *wire;
	size_t len, without;
	struct tsig_ctx ctx;
	uint64_t now = (uint64_t)time(NULL);
	ldns_pkt *q = ldns_query("example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET,
				 "hmac-sha256.", &wire, &len);
	T_EQ_INT(tsig_verify(keys, wire, len, now, &ctx, &without), TSIG_OK);
	size_t n0 = answer(tmpl, sizeof(tmpl) - TSIG_MAX_RR, 0x4242, 5000);
	int rounds = 500;
	double t0 = secs();
	for (int i = 0; i < rounds; i++) {
		size_t n = n0;
		memcpy(buf, tmpl, n0);
		if (tsig_sign(&ctx, buf, &n, sizeof(buf), now))
			t_fail++;
	}
	double ours = (secs() - t0) / rounds;
	ldns_rdf *prev = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(q), 3));
	int lrounds = 50;
	t0 = secs();
	for (int i = 0; i < lrounds; i++) {
		ldns_pkt *r = NULL;
		uint8_t *out = NULL;
		size_t ol;
		if (ldns_wire2pkt(&r, tmpl, n0) != LDNS_STATUS_OK ||
		    ldns_pkt_tsig_sign_next(r, "xfr-key.", SECRET, 300, "hmac-sha256.", prev,
					    i > 0) != LDNS_STATUS_OK ||
		    ldns_pkt2wire(&out, r, &ol) != LDNS_STATUS_OK)
			t_fail++;
		free(out);
		ldns_pkt_free(r);
	}
	double theirs = (secs() - t0) / lrounds;
	printf("signing one %zu-octet message (%d records): %.1f us here, %.1f us through ldns "
	       "(parse, sign, write); 16,000 such messages: %.2f s and %.1f s\n",
	       n0, wire_get16(tmpl + 6), ours * 1e6, theirs * 1e6, ours * 16000, theirs * 16000);
	T_CHECK(ours < theirs);
	ldns_rdf_deep_free(prev);
	ldns_pkt_free(q);
	free(wire);
}

int main(void)
{
	if (t_tmp("tsig"))
		return 1;
	T_RUN(test_parse);
	if (!keys)
		return t_done();
	T_RUN(test_load);
	T_RUN(test_verify);
	T_RUN(test_chain);
	T_RUN(test_errors);
	T_RUN(test_request);
	T_RUN(test_cost);
	tsig_keys_free(keys);
	t_tmp_rm();
	return t_done();
}
