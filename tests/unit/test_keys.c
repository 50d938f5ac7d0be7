/* test_keys: DKIM key generation, PEM files, p= encoding, base64 and tokens. */
#include "err.h"
#include "keys.h"
#include "spki.h"
#include "t_store.h"

#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int file_starts_with(const char *path, const char *prefix)
{
	char buf[128] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strncmp(buf, prefix, strlen(prefix)) == 0;
}

static int write_pkey(const char *path, EVP_PKEY *pkey)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

static EVP_PKEY *read_pkey(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *p;

	if (!f)
		return NULL;
	p = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return p;
}

static void test_parse_algorithm(void)
{
	int ed = -1, bits = -1;

	T_EQ_INT(keys_parse_algorithm("rsa-2048", &ed, &bits), 0);
	T_EQ_INT(ed, 0);
	T_EQ_INT(bits, 2048);
	T_EQ_INT(keys_parse_algorithm("RSA-1024", &ed, &bits), 0);
	T_EQ_INT(bits, 1024);
	T_EQ_INT(keys_parse_algorithm("rsa-3072", &ed, &bits), 0);
	T_EQ_INT(keys_parse_algorithm("Rsa-4096", &ed, &bits), 0);
	T_EQ_INT(bits, 4096);
	T_EQ_INT(keys_parse_algorithm("Ed25519", &ed, &bits), 0);
	T_EQ_INT(ed, 1);
	T_EQ_INT(bits, 256);
	T_EQ_INT(keys_parse_algorithm("rsa-512", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm("rsa-1536", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm("rsa-8192", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm("rsa-2048 ", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm("rsa-02048", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm("ed448", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm("", &ed, &bits), DNSD_EINVAL);
	T_EQ_INT(keys_parse_algorithm(NULL, &ed, &bits), DNSD_EINVAL);
}

static void test_generate_refused(void)
{
	keys_key *k = (keys_key *)1;

	T_EQ_INT(keys_generate("rsa-512", &k), DNSD_EINVAL);
	T_CHECK(k == NULL);
	T_EQ_INT(keys_generate("rsa-1024", &k), DNSD_EINVAL);
	T_CHECK(k == NULL);
	T_EQ_INT(keys_generate("dsa-2048", &k), DNSD_EINVAL);
	keys_free(NULL); /* must be safe */
}

/* Decodes p= and checks it is the public half of the key in the PEM file at path. */
static int pub_matches_file(const char *b64, const char *path, int is_ed)
{
	unsigned char der[2048];
	const unsigned char *p = der;
	EVP_PKEY *priv = read_pkey(path), *pub = NULL;
	int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64)), ok = 0;

	if (!priv || n <= 0)
		goto out;
	n -= (int)(strchr(b64, '=') ? strlen(strchr(b64, '=')) : 0); /* DecodeBlock counts padding */
	if (is_ed)
		pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)n);
	else
		pub = d2i_PUBKEY(NULL, &p, n);
	ok = pub && EVP_PKEY_eq(pub, priv) == 1;
out:
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	return ok;
}

static void test_ed25519(void)
{
	keys_key *k = NULL, *k2 = NULL;
	char b64[64], b64b[64], txt[128], path[128], err[256] = "";
	struct stat st;

	T_EQ_INT(keys_generate("ED25519", &k), 0);
	if (!k)
		return;
	T_EQ_INT(keys_is_ed25519(k), 1);
	T_EQ_INT(keys_bits(k), 256);
	T_EQ_STR(keys_algorithm_name(k), "ed25519");
	T_EQ_INT(keys_public_b64(k, b64, sizeof(b64)), 44);
	T_EQ_INT(strlen(b64), 44);
	T_EQ_INT(keys_public_b64(k, b64b, 44), DNSD_ERANGE); /* no room for the NUL */
	T_EQ_INT(keys_public_b64(k, b64b, 45), 44);
	T_EQ_INT(keys_dkim_txt(k, txt, sizeof(txt)), 22 + 44);
	T_CHECK(strncmp(txt, "v=DKIM1; k=ed25519; p=", 22) == 0);
	T_EQ_STR(txt + 22, b64);
	T_EQ_INT(keys_dkim_txt(k, txt, 22 + 44), DNSD_ERANGE);
	T_EQ_INT(keys_dkim_txt(k, txt, 10), DNSD_ERANGE);

	t_path(path, sizeof(path), "ed.pem");
	T_EQ_INT(keys_write_private(k, path, err, sizeof(err)), 0);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	T_CHECK(file_starts_with(path, "-----BEGIN PRIVATE KEY-----\n"));
	T_CHECK(pub_matches_file(b64, path, 1));
	T_EQ_INT(keys_load_private(path, &k2, err, sizeof(err)), 0);
	if (k2) {
		T_EQ_INT(keys_is_ed25519(k2), 1);
		T_EQ_STR(keys_algorithm_name(k2), "ed25519");
		T_EQ_INT(keys_public_b64(k2, b64b, sizeof(b64b)), 44);
		T_EQ_STR(b64b, b64);
	}
	unlink(path);
	keys_free(k2);
	keys_free(k);
}

static void test_rsa(void)
{
	keys_key *k = NULL, *k2 = NULL, *k3 = NULL;
	char b64[800], b64b[800], txt[900], path[128], path1[128], err[256] = "";
	struct stat st;
	int before = count_entries(tmpdir);

	T_EQ_INT(keys_generate("rsa-2048", &k), 0);
	if (!k)
		return;
	T_EQ_INT(keys_is_ed25519(k), 0);
	T_EQ_INT(keys_bits(k), 2048);
	T_EQ_STR(keys_algorithm_name(k), "rsa-2048");
	T_EQ_INT(keys_public_b64(k, b64, sizeof(b64)), 392);
	T_CHECK(strncmp(b64, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 44) == 0);
	T_EQ_INT(keys_public_b64(k, b64b, 392), DNSD_ERANGE);
	T_EQ_INT(keys_public_b64(k, b64b, 393), 392);
	T_EQ_INT(keys_dkim_txt(k, txt, sizeof(txt)), 18 + 392);
	T_CHECK(strncmp(txt, "v=DKIM1; k=rsa; p=", 18) == 0);
	T_EQ_STR(txt + 18, b64);

	/* PKCS#8 round trip */
	t_path(path, sizeof(path), "rsa.pem");
	T_EQ_INT(keys_write_private(k, path, err, sizeof(err)), 0);
	T_CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
	T_CHECK(file_starts_with(path, "-----BEGIN PRIVATE KEY-----\n"));
	T_CHECK(pub_matches_file(b64, path, 0));
	T_EQ_INT(count_entries(tmpdir), before + 1); /* the temporary file is gone */
	T_EQ_INT(keys_load_private(path, &k2, err, sizeof(err)), 0);
	if (k2) {
		T_EQ_STR(keys_algorithm_name(k2), "rsa-2048");
		T_EQ_INT(keys_public_b64(k2, b64b, sizeof(b64b)), 392);
		T_EQ_STR(b64b, b64);
	}

	/* PKCS#1 ("BEGIN RSA PRIVATE KEY") of the same key loads to the same p= */
	EVP_PKEY *pk = read_pkey(path);
	BIO *bio = BIO_new_file(t_path(path1, sizeof(path1), "rsa1.pem"), "w");
	T_CHECK(pk && bio && PEM_write_bio_PrivateKey_traditional(bio, pk, NULL, NULL, 0, NULL, NULL));
	BIO_free(bio);
	EVP_PKEY_free(pk);
	T_CHECK(file_starts_with(path1, "-----BEGIN RSA PRIVATE KEY-----\n"));
	T_EQ_INT(keys_load_private(path1, &k3, err, sizeof(err)), 0);
	if (k3) {
		T_EQ_INT(keys_public_b64(k3, b64b, sizeof(b64b)), 392);
		T_EQ_STR(b64b, b64);
	}
	unlink(path1);
	unlink(path);
	keys_free(k3);
	keys_free(k2);
	keys_free(k);
}

static void test_write_refusals(void)
{
	keys_key *k = NULL;
	char path[128], path2[128], err[256] = "", buf[16] = "";
	FILE *f;
	int before = count_entries(tmpdir) + 1; /* with taken.pem */

	if (keys_generate("ed25519", &k) != 0)
		return;
	/* an existing file is never replaced */
	t_path(path, sizeof(path), "taken.pem");
	T_EQ_INT(write_file(path, "keep\n"), 0);
	T_EQ_INT(keys_write_private(k, path, err, sizeof(err)), DNSD_EEXIST);
	T_CHECK(strstr(err, path) != NULL);
	if ((f = fopen(path, "r"))) {
		T_CHECK(fgets(buf, sizeof(buf), f) != NULL);
		fclose(f);
	}
	T_EQ_STR(buf, "keep\n");
	T_EQ_INT(count_entries(tmpdir), before);

	/* the parent is a regular file: fails even as root, leaves nothing */
	t_path(path2, sizeof(path2), "taken.pem/key.pem");
	err[0] = '\0';
	T_EQ_INT(keys_write_private(k, path2, err, sizeof(err)), DNSD_EIO);
	T_CHECK(strstr(err, path2) != NULL && strstr(err, "Not a directory") != NULL);
	T_EQ_INT(count_entries(tmpdir), before);

	/* the parent does not exist */
	t_path(path2, sizeof(path2), "nodir/key.pem");
	err[0] = '\0';
	T_EQ_INT(keys_write_private(k, path2, err, sizeof(err)), DNSD_EIO);
	T_CHECK(strstr(err, "No such file or directory") != NULL);
	T_EQ_INT(count_entries(tmpdir), before);
	unlink(path);
	keys_free(k);
}

static void test_load_refusals(void)
{
	keys_key *k = (keys_key *)1;
	char path[128], err[256] = "";
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx;
	int before = count_entries(tmpdir);

	/* a 512-bit RSA key, made here so that the module's refusal is what is tested */
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	T_CHECK(ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 512) == 1 &&
		EVP_PKEY_generate(ctx, &pk) == 1);
	EVP_PKEY_CTX_free(ctx);
	t_path(path, sizeof(path), "short.pem");
	T_EQ_INT(write_pkey(path, pk), 0);
	EVP_PKEY_free(pk);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(k == NULL);
	T_CHECK(strstr(err, "512-bit") != NULL && strstr(err, path) != NULL);
	unlink(path);

	/* 1024 bits is still accepted for import, under its own name */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	T_EQ_INT(write_pkey(path, pk), 0);
	EVP_PKEY_free(pk);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), 0);
	T_EQ_STR(keys_algorithm_name(k), "rsa-1024");
	T_EQ_INT(keys_bits(k), 1024);
	keys_free(k);
	unlink(path);

	/* Over 4096 bits: refused, as every path refuses it. Four primes make a
	 * 4608-bit key in a fraction of a second. */
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	pk = NULL;
	T_CHECK(ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
		EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 4608) == 1 &&
		EVP_PKEY_CTX_set_rsa_keygen_primes(ctx, 4) == 1 &&
		EVP_PKEY_generate(ctx, &pk) == 1);
	EVP_PKEY_CTX_free(ctx);
	T_EQ_INT(write_pkey(path, pk), 0);
	EVP_PKEY_free(pk);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(k == NULL);
	T_CHECK(strstr(err, "4608-bit") != NULL && strstr(err, "at most 4096") != NULL);
	unlink(path);

	/* other key types */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	T_EQ_INT(write_pkey(path, pk), 0);
	EVP_PKEY_free(pk);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "only RSA and Ed25519") != NULL);
	unlink(path);

	/* an encrypted key is refused without prompting */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fopen(path, "w");
	T_CHECK(f && PEM_write_PrivateKey(f, pk, EVP_aes_256_cbc(), (unsigned char *)"pw", 2, NULL,
					  NULL) == 1);
	if (f)
		fclose(f);
	EVP_PKEY_free(pk);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	unlink(path);

	/* garbage, and a PEM armour with garbage inside */
	T_EQ_INT(write_file(path, "this is not a key\n"), 0);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, path) != NULL);
	T_EQ_INT(write_file(path, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	unlink(path);

	/* a missing file */
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EIO);
	T_CHECK(strstr(err, "No such file or directory") != NULL);
	T_CHECK(k == NULL);
	T_EQ_INT(count_entries(tmpdir), before);
}

static void test_base64(void)
{
	static const struct {
		const char *in, *out;
	} v[] = { /* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[16];
	const unsigned char all[3] = { 0xfb, 0xff, 0xbf };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		T_EQ_INT(keys_base64((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof(out)),
			 strlen(v[i].out));
		T_EQ_STR(out, v[i].out);
	}
	T_EQ_INT(keys_base64(all, 3, out, sizeof(out)), 4);
	T_EQ_STR(out, "+/+/");
	T_EQ_INT(keys_base64((const unsigned char *)"foo", 3, out, 4), DNSD_ERANGE);
	T_EQ_INT(keys_base64((const unsigned char *)"foo", 3, out, 5), 4);
	T_EQ_INT(keys_base64((const unsigned char *)"", 0, out, 0), DNSD_ERANGE);
	T_EQ_INT(keys_base64((const unsigned char *)"", 0, out, 1), 0);
}

static int cmp_token(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_tokens(void)
{
	static char tok[1000][17];
	int made = 0, valid = 0, dup = 0;

	for (int i = 0; i < 1000; i++) {
		made += keys_token_new(tok[i]) == 0;
		valid += keys_token_valid(tok[i]) && strlen(tok[i]) == 16;
	}
	T_EQ_INT(made, 1000);
	T_EQ_INT(valid, 1000);
	qsort(tok, 1000, sizeof(tok[0]), cmp_token);
	for (int i = 1; i < 1000; i++)
		dup += strcmp(tok[i - 1], tok[i]) == 0;
	T_EQ_INT(dup, 0);

	T_EQ_INT(keys_token_valid("abcdefghijklmnop"), 1);
	T_EQ_INT(keys_token_valid("qrstuvwxyz234567"), 1);
	T_EQ_INT(keys_token_valid("abcdefghijklmno"), 0);   /* 15 */
	T_EQ_INT(keys_token_valid("abcdefghijklmnopq"), 0); /* 17 */
	T_EQ_INT(keys_token_valid("Abcdefghijklmnop"), 0);  /* uppercase */
	T_EQ_INT(keys_token_valid("abcdefghijklmno1"), 0);  /* 1 is not base32 */
	T_EQ_INT(keys_token_valid("abcdefghijklmno8"), 0);
	T_EQ_INT(keys_token_valid("abcdefghijklmno="), 0);
	T_EQ_INT(keys_token_valid("abcdefgh.jklmnop"), 0);
	T_EQ_INT(keys_token_valid(""), 0);
	T_EQ_INT(keys_token_valid(NULL), 0);
}

static void test_dir_prepare(void)
{
	char dir[160], file[128], err[256] = "";
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/a/b//c/", tmpdir);
	T_EQ_INT(keys_dir_prepare(dir, err, sizeof(err)), 0);
	T_CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	T_EQ_INT(count_entries(dir), 0); /* the probe file is gone */
	T_EQ_INT(keys_dir_prepare(dir, err, sizeof(err)), 0); /* existing is fine */

	t_path(file, sizeof(file), "plain");
	T_EQ_INT(write_file(file, "x"), 0);
	snprintf(dir, sizeof(dir), "%s/plain/sub", tmpdir);
	T_EQ_INT(keys_dir_prepare(dir, err, sizeof(err)), DNSD_EIO);
	T_CHECK(strstr(err, "Not a directory") != NULL && strstr(err, "plain") != NULL);
	T_EQ_INT(keys_dir_prepare(file, err, sizeof(err)), DNSD_EIO); /* a file, not a dir */
	T_CHECK(strstr(err, file) != NULL);
	T_EQ_INT(keys_dir_prepare("/proc/dnsd-keys-test", err, sizeof(err)), DNSD_EIO);
	T_EQ_INT(keys_dir_prepare("", err, sizeof(err)), DNSD_EINVAL);
	unlink(file);
}

static void test_check_public(void)
{
	char b64[2400], alg[16], err[256];
	keys_key *k = NULL;
	/* real keys, as generated */
	T_EQ_INT(keys_generate("rsa-2048", &k), 0);
	T_CHECK(keys_public_b64(k, b64, sizeof(b64)) > 0);
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), 0);
	T_EQ_STR(alg, "rsa-2048");
	keys_free(k);
	T_EQ_INT(keys_generate("ed25519", &k), 0);
	T_CHECK(keys_public_b64(k, b64, sizeof(b64)) > 0);
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), 0);
	T_EQ_STR(alg, "ed25519");
	keys_free(k);
	/* built by hand: sizes */
	spki_b64(128, b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), 0);
	T_EQ_STR(alg, "rsa-1024");
	spki_b64(512, b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), 0);
	T_EQ_STR(alg, "rsa-4096");
	spki_b64(96, b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "768-bit") != NULL);
	/* Over 4096 bits, up to the 12288 bits whose p= (2,100 characters) dnsd
	 * could not serve while dnsdctl showed the key active. */
	spki_b64(513, b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "4104-bit") != NULL && strstr(err, "at most 4096") != NULL);
	spki_b64(1536, b64, sizeof(b64));
	T_CHECK(strlen(b64) > 2048);
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "12288-bit") != NULL);
	/* damaged: every truncation of a good key is refused */
	spki_b64(256, b64, sizeof(b64));
	size_t len = strlen(b64);
	int refused = 0, tries = 0;
	for (size_t cut = 4; cut < len; cut += 4, tries++) {
		char t[2048];
		memcpy(t, b64, cut);
		t[cut] = 0;
		refused += keys_check_public(t, alg, sizeof(alg), err, sizeof(err)) == DNSD_EINVAL;
	}
	T_EQ_INT(refused, tries);
	/* not base64, empty, NULL, 31 bytes */
	T_EQ_INT(keys_check_public("not base64!", alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(keys_check_public("", alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(keys_check_public(NULL, alg, sizeof(alg), NULL, 0), DNSD_EINVAL);
	unsigned char raw[31] = { 1 };
	keys_base64(raw, sizeof(raw), b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
	/* a DSA-like algorithm identifier is not RSA */
	spki_b64(256, b64, sizeof(b64));
	unsigned char d[400];
	size_t bl = strlen(b64);
	int n = EVP_DecodeBlock(d, (const unsigned char *)b64, (int)bl);
	n -= (b64[bl - 1] == '=') + (b64[bl - 2] == '='); /* DecodeBlock counts padding as bytes */
	T_CHECK(n > 20);
	keys_base64(d, (size_t)n, b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), 0); /* round trip */
	d[16] = 0x02; /* the OID's last byte: 1.2.840.113549.1.1.2 is not rsaEncryption */
	keys_base64(d, (size_t)n, b64, sizeof(b64));
	T_EQ_INT(keys_check_public(b64, alg, sizeof(alg), err, sizeof(err)), DNSD_EINVAL);
}

int main(void)
{
	if (t_tmp("keys"))
		return 1;
	T_RUN(test_parse_algorithm);
	T_RUN(test_generate_refused);
	T_RUN(test_base64);
	T_RUN(test_tokens);
	T_RUN(test_ed25519);
	T_RUN(test_rsa);
	T_RUN(test_write_refusals);
	T_RUN(test_load_refusals);
	T_RUN(test_dir_prepare);
	T_RUN(test_check_public);
	t_tmp_rm();
	return t_done();
}
