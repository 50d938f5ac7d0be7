/* keys: DKIM key generation, loading and encoding for dnsdctl, on OpenSSL 3 libcrypto. */
#include "keys.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

struct keys_key {
	EVP_PKEY *pkey;
	int is_ed25519;
	int bits;
	char name[16]; /* "rsa-<bits>" or "ed25519" */
};

static const struct {
	const char *name;
	int is_ed25519;
	int bits;
} keys_algs[] = {
	{ "rsa-1024", 0, 1024 }, { "rsa-2048", 0, 2048 }, { "rsa-3072", 0, 3072 },
	{ "rsa-4096", 0, 4096 }, { "ed25519", 1, 256 },
};

/* Formats one sentence into err, which callers may leave NULL. */
static __attribute__((format(printf, 3, 4))) void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int keys_parse_algorithm(const char *alg, int *is_ed25519, int *bits)
{
	if (!alg)
		return DNSD_EINVAL;
	for (size_t i = 0; i < sizeof(keys_algs) / sizeof(keys_algs[0]); i++) {
		if (strcasecmp(alg, keys_algs[i].name) == 0) {
			if (is_ed25519)
				*is_ed25519 = keys_algs[i].is_ed25519;
			if (bits)
				*bits = keys_algs[i].bits;
			return 0;
		}
	}
	return DNSD_EINVAL;
}

/* Wraps a checked RSA or Ed25519 pkey, taking ownership of it (freed on failure).
 * Returns 0 or DNSD_ENOMEM. */
static int wrap(EVP_PKEY *pkey, keys_key **out)
{
	keys_key *k;

	if (!(k = calloc(1, sizeof(*k)))) {
		EVP_PKEY_free(pkey);
		return DNSD_ENOMEM;
	}
	k->pkey = pkey;
	k->is_ed25519 = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519;
	k->bits = k->is_ed25519 ? 256 : EVP_PKEY_get_bits(pkey); /* OpenSSL says 253 for Ed25519 */
	if (k->is_ed25519)
		strcpy(k->name, "ed25519");
	else
		snprintf(k->name, sizeof(k->name), "rsa-%d", k->bits);
	*out = k;
	return 0;
}

int keys_generate(const char *alg, keys_key **out)
{
	int is_ed, bits, rc;
	EVP_PKEY *pkey;

	*out = NULL;
	if ((rc = keys_parse_algorithm(alg, &is_ed, &bits)) < 0)
		return rc;
	if (!is_ed && bits < 2048)
		return DNSD_EINVAL;
	if (is_ed)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (!pkey) {
		ERR_clear_error();
		return DNSD_ECRYPTO;
	}
	return wrap(pkey, out);
}

/* Reads the regular file at path whole, at most KEYS_MAX_PEM bytes, into *out
 * (the caller frees it). A key file named by an import may be anything: a
 * FIFO or a device would block or never end. Returns 0, DNSD_EIO, DNSD_EINVAL
 * or DNSD_ENOMEM with err. */
static int read_small(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		seterr(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return DNSD_EIO;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEYS_MAX_PEM) {
		seterr(err, errlen, "key file %s is %s", path,
		       S_ISREG(st.st_mode) ? "larger than any PEM private key"
					   : "not a regular file");
		close(fd);
		return DNSD_EINVAL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? read(fd, buf, (size_t)st.st_size + 1) : 0;
	close(fd);
	if (!buf || n < 0 || n > st.st_size) {
		if (n < 0)
			seterr(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
		else
			seterr(err, errlen, "key file %s: %s", path,
			       buf ? "it grew while read" : "out of memory");
		free(buf);
		return !buf ? DNSD_ENOMEM : n < 0 ? DNSD_EIO : DNSD_EINVAL;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* Why an RSA key of this many bits is refused: one rule for every path a key comes in by. */
static const char *rsa_size_rule(int bits)
{
	return bits < KEYS_RSA_MIN_BITS
		       ? "DKIM needs at least 1024 bits (RFC 8301)"
		       : "DKIM keys are at most 4096 bits here: what every verifier must "
			 "handle (RFC 8301), and what one TXT record holds";
}

/* 1 if an RSA key's numbers hold together. PEM decoding checks none of them:
 * a key file changed in one byte (fuzz_pem: e = 0x400040) loaded, and would
 * have signed what no verifier accepts, while keys_check_public refused its
 * public half. Checks what keys_check_public asks of e (odd, at most 8 bytes),
 * n = p q, and that d inverts e modulo p-1 and q-1. (EVP_PKEY_pairwise_check
 * also tests p and q for primality: 301 ms for a 4096-bit key, where this
 * takes microseconds, and an import may load a million keys.) */
static int rsa_sound(const EVP_PKEY *pkey)
{
	static const char *const names[5] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
					     OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
					     OSSL_PKEY_PARAM_RSA_FACTOR2};
	BIGNUM *v[5] = {NULL}, *t = BN_new(), *m = BN_new(), *r = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	OSSL_PARAM *all = NULL;
	int ok = t && m && r && ctx && EVP_PKEY_todata(pkey, EVP_PKEY_KEYPAIR, &all);
	for (int i = 0; ok && i < 5; i++) {
		const OSSL_PARAM *f = OSSL_PARAM_locate_const(all, names[i]);
		ok = f && OSSL_PARAM_get_BN(f, &v[i]);
	}
	/* v: n, e, d, p, q */
	ok = ok && BN_is_odd(v[1]) && BN_num_bytes(v[1]) <= 8 && BN_mul(t, v[3], v[4], ctx) &&
	     !BN_cmp(t, v[0]) && BN_mul(t, v[2], v[1], ctx);
	for (int i = 3; ok && i < 5; i++)
		ok = BN_sub(m, v[i], BN_value_one()) && !BN_is_zero(m) && BN_mod(r, t, m, ctx) &&
		     BN_is_one(r);
	for (int i = 0; i < 5; i++)
		BN_clear_free(v[i]);
	BN_clear_free(t);
	BN_free(m);
	BN_free(r);
	BN_CTX_free(ctx);
	for (OSSL_PARAM *f = all; f && f->key; f++)
		OPENSSL_cleanse(f->data, f->data_size);
	OSSL_PARAM_free(all);
	ERR_clear_error();
	return ok;
}

/* Refuses to prompt: without it, an encrypted PEM would make OpenSSL ask on the terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

int keys_load_private(const char *path, keys_key **out, char *err, size_t errlen)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = read_small(path, &pem, &len, err, errlen)))
		return rc;
	rc = keys_load_private_mem(pem, len, path, out, err, errlen);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

int keys_load_private_mem(const char *pem, size_t len, const char *path, keys_key **out, char *err,
			  size_t errlen)
{
	EVP_PKEY *pkey;
	BIO *bio;
	int id, bits, rc;

	*out = NULL;
	if (len > KEYS_MAX_PEM || !(bio = BIO_new_mem_buf(pem, (int)len))) {
		seterr(err, errlen, "key file %s does not hold an unencrypted PEM private key",
		       path);
		return len > KEYS_MAX_PEM ? DNSD_EINVAL : DNSD_ENOMEM;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	ERR_clear_error(); /* a failed decode leaves a queue behind; callers report by code */
	if (!pkey) {
		seterr(err, errlen, "key file %s does not hold an unencrypted PEM private key", path);
		return DNSD_EINVAL;
	}
	id = EVP_PKEY_get_base_id(pkey);
	bits = EVP_PKEY_get_bits(pkey);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		const char *type = EVP_PKEY_get0_type_name(pkey);
		seterr(err, errlen, "key file %s holds an unsupported %s key; only RSA and Ed25519 are supported",
		       path, type ? type : "unknown");
		EVP_PKEY_free(pkey);
		return DNSD_EINVAL;
	}
	if (id == EVP_PKEY_RSA && (bits < KEYS_RSA_MIN_BITS || bits > KEYS_RSA_MAX_BITS)) {
		seterr(err, errlen, "key file %s holds a %d-bit RSA key; %s", path, bits,
		       rsa_size_rule(bits));
		EVP_PKEY_free(pkey);
		return DNSD_EINVAL;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && !rsa_sound(pkey)) {
		seterr(err, errlen,
		       "key file %s holds a broken RSA key: its private and public halves do not "
		       "match, or its exponent is not one DKIM verifiers take",
		       path);
		EVP_PKEY_free(pkey);
		return DNSD_EINVAL;
	}
	if ((rc = wrap(pkey, out)) < 0)
		seterr(err, errlen, "cannot load key file %s: %s", path, dnsd_strerror(rc));
	return rc;
}

void keys_free(keys_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* clears the private material */
	free(k);
}

int keys_is_ed25519(const keys_key *k)
{
	return k ? k->is_ed25519 : 0;
}

int keys_bits(const keys_key *k)
{
	return k ? k->bits : 0;
}

const char *keys_algorithm_name(const keys_key *k)
{
	return k ? k->name : NULL;
}

int keys_base64(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	/* The length is returned as an int, so refuse inputs whose encoding would not fit one. */
	if (len > (size_t)INT_MAX / 4 * 3 - 3 || outlen < (len + 2) / 3 * 4 + 1)
		return DNSD_ERANGE;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (i < len) {
		unsigned long v = (unsigned long)in[i] << 16 | (i + 1 < len ? (unsigned long)in[i + 1] << 8 : 0);
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

int keys_public_b64(const keys_key *k, char *buf, size_t buflen)
{
	unsigned char raw[32], *der = NULL, *p;
	size_t rawlen = sizeof(raw);
	int n, rc;

	if (k->is_ed25519) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 || rawlen != 32) {
			ERR_clear_error();
			return DNSD_ECRYPTO;
		}
		return keys_base64(raw, rawlen, buf, buflen);
	}
	if ((n = i2d_PUBKEY(k->pkey, NULL)) <= 0) {
		ERR_clear_error();
		return DNSD_ECRYPTO;
	}
	if (buflen < ((size_t)n + 2) / 3 * 4 + 1) /* say ERANGE before allocating */
		return DNSD_ERANGE;
	if (!(der = malloc((size_t)n)))
		return DNSD_ENOMEM;
	p = der; /* i2d advances the pointer it is given */
	if (i2d_PUBKEY(k->pkey, &p) != n) {
		ERR_clear_error();
		rc = DNSD_ECRYPTO;
	} else {
		rc = keys_base64(der, (size_t)n, buf, buflen);
	}
	free(der);
	return rc;
}

int keys_dkim_txt(const keys_key *k, char *buf, size_t buflen)
{
	const char *prefix = k->is_ed25519 ? "v=DKIM1; k=ed25519; p=" : "v=DKIM1; k=rsa; p=";
	size_t plen = strlen(prefix);
	int n;

	if (buflen <= plen)
		return DNSD_ERANGE;
	memcpy(buf, prefix, plen);
	if ((n = keys_public_b64(k, buf + plen, buflen - plen)) < 0) {
		buf[0] = '\0';
		return n;
	}
	return (int)plen + n;
}

/* write() all of len, retrying short writes and EINTR. Returns 0 or -1 with errno set. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so the new name survives a crash; best effort. */
static void sync_parent(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path); /* fits: the caller's temp name was longer */
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

int keys_write_private(const keys_key *k, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], *pem;
	BIO *mem;
	long pemlen;
	int fd, e, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp)) {
		seterr(err, errlen, "cannot write key file %s: %s", path, strerror(ENAMETOOLONG));
		return DNSD_EIO;
	}
	/* Encode in memory first; secmem BIOs clear their buffer when freed. */
	if (!(mem = BIO_new(BIO_s_secmem())) ||
	    PEM_write_bio_PrivateKey(mem, k->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (pemlen = BIO_get_mem_data(mem, &pem)) <= 0) {
		BIO_free(mem);
		ERR_clear_error();
		seterr(err, errlen, "cannot encode the private key for %s", path);
		return DNSD_ECRYPTO;
	}
	/* mkstemp opens with O_CREAT|O_EXCL and mode 0600: the key is never readable by others. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		e = errno;
		BIO_free(mem);
		seterr(err, errlen, "cannot write key file %s: %s", path, strerror(e));
		return DNSD_EIO;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, pem, (size_t)pemlen) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		rc = DNSD_EIO;
		goto fail;
	}
	BIO_free(mem);
	mem = NULL;
	if (close(fd) < 0) {
		e = errno;
		rc = DNSD_EIO;
		goto fail;
	}
	/* link() fails with EEXIST instead of replacing, unlike rename(). */
	if (link(tmp, path) < 0) {
		e = errno;
		rc = e == EEXIST ? DNSD_EEXIST : DNSD_EIO;
		goto fail;
	}
	unlink(tmp);
	sync_parent(path);
	return 0;
fail:
	BIO_free(mem);
	unlink(tmp);
	if (rc == DNSD_EEXIST)
		seterr(err, errlen, "key file %s already exists; not overwriting it", path);
	else
		seterr(err, errlen, "cannot write key file %s: %s", path, strerror(e));
	return rc;
}

int keys_dir_prepare(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t len;
	struct stat st;
	int e;

	if (!dir || !*dir)
		return DNSD_EINVAL;
	if ((len = strlen(dir)) >= sizeof(buf) - 20) {
		seterr(err, errlen, "cannot create directory %s: %s", dir, strerror(ENAMETOOLONG));
		return DNSD_EIO;
	}
	memcpy(buf, dir, len + 1);
	/* mkdir each prefix in turn; EEXIST is fine here, the stat below checks the result. */
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* repeated or trailing slash */
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
			seterr(err, errlen, "cannot create directory %s: %s", buf, strerror(errno));
			return DNSD_EIO;
		}
		buf[i] = c;
	}
	if ((e = stat(dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR)) {
		seterr(err, errlen, "cannot use directory %s: %s", dir, strerror(e));
		return DNSD_EIO;
	}
	/* Asked, not tried: a probe file made and removed here stayed behind when
	 * dnsdctl was killed in between. */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
		seterr(err, errlen, "directory %s is not writable: %s", dir, strerror(errno));
		return DNSD_EIO;
	}
	return 0;
}

int keys_token_new(char out[17])
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char r[10];
	unsigned bitbuf = 0, nbits = 0;
	int o = 0;

	if (RAND_bytes(r, sizeof(r)) != 1) {
		ERR_clear_error();
		out[0] = '\0';
		return DNSD_ECRYPTO;
	}
	/* 80 bits make exactly 16 five-bit groups, so there is no padding. */
	for (size_t i = 0; i < sizeof(r); i++) {
		bitbuf = (bitbuf << 8 | r[i]) & 0xfff;
		nbits += 8;
		while (nbits >= 5) {
			nbits -= 5;
			out[o++] = abc[bitbuf >> nbits & 31];
		}
	}
	out[o] = '\0';
	return 0;
}

int keys_token_valid(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= 16 || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
			return 0;
	return i == 16;
}

/* Enters a DER element of the given tag at *pos: *pos moves to its content, *len
 * is the content's length, checked against end. Definite lengths only. */
static int der_enter(const unsigned char *d, size_t end, size_t *pos, unsigned char tag, size_t *len)
{
	size_t p = *pos, l;
	if (p + 2 > end || d[p] != tag)
		return -1;
	l = d[p + 1];
	p += 2;
	if (l & 0x80) {
		int nb = (int)(l & 0x7f);
		if (nb < 1 || nb > 3 || p + (size_t)nb > end)
			return -1;
		l = 0;
		while (nb--)
			l = l << 8 | d[p++];
	}
	if (l > end - p)
		return -1;
	*pos = p;
	*len = l;
	return 0;
}

int keys_check_public(const char *b64, char *alg, size_t alglen, char *err, size_t errlen)
{
	size_t len = b64 ? strlen(b64) : 0;
	/* On the stack: dnsd checks every key it loads, a million at start. 4096
	 * characters is room enough to say how large an oversized key is. */
	enum { B64_MAX = 4096 };
	unsigned char der[B64_MAX / 4 * 3 + 1];
	int n;

	if (len == 0 || len > B64_MAX || len % 4 ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len) {
		seterr(err, errlen, "public key is not base64 of a sensible length");
		return DNSD_EINVAL;
	}
	n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len);
	if (n >= 0) /* DecodeBlock counts the padding as bytes */
		n -= (b64[len - 1] == '=') + (b64[len - 2] == '=');
	if (n == KEYS_ED25519_BYTES) {
		snprintf(alg, alglen, "ed25519");
		return 0;
	}
	/* RSA SubjectPublicKeyInfo (RFC 3279): SEQUENCE { SEQUENCE { OID
	 * rsaEncryption, NULL }, BIT STRING { 0, SEQUENCE { INTEGER n, INTEGER e } } }.
	 * Walked by hand: OpenSSL 3's generic decoder costs ~100 us a key, which is
	 * most of a bulk import's time. */
	static const unsigned char rsa_alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
						 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	size_t pos = 0, end = n > 0 ? (size_t)n : 0, l;
	int rc = DNSD_EINVAL, bits = 0;
	if (der_enter(der, end, &pos, 0x30, &l) || pos + l != end || end - pos < sizeof(rsa_alg) ||
	    memcmp(der + pos, rsa_alg, sizeof(rsa_alg)))
		goto bad;
	pos += sizeof(rsa_alg);
	if (der_enter(der, end, &pos, 0x03, &l) || pos + l != end || l < 1 || der[pos++] != 0 ||
	    der_enter(der, end, &pos, 0x30, &l) || pos + l != end || der_enter(der, end, &pos, 0x02, &l) || l < 1)
		goto bad;
	/* the modulus: skip a leading zero byte, count the bits of the rest */
	size_t m = pos, ml = l;
	while (ml > 1 && der[m] == 0)
		m++, ml--;
	if (der[m] == 0 || (der[pos] & 0x80))
		goto bad;
	bits = (int)(ml - 1) * 8;
	for (unsigned v = der[m]; v; v >>= 1)
		bits++;
	pos += l;
	if (der_enter(der, end, &pos, 0x02, &l) || pos + l != end || l < 1 || l > 8 || !(der[pos + l - 1] & 1))
		goto bad;
	if (bits < KEYS_RSA_MIN_BITS || bits > KEYS_RSA_MAX_BITS) {
		seterr(err, errlen, "public key is a %d-bit RSA key; %s", bits, rsa_size_rule(bits));
		return DNSD_EINVAL;
	}
	snprintf(alg, alglen, "rsa-%d", bits);
	rc = 0;
bad:
	if (rc)
		seterr(err, errlen, "public key is neither an Ed25519 key (32 bytes) nor an RSA SubjectPublicKeyInfo");
	return rc;
}
