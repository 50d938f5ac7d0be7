/* test_keyfile: private key files as an import names them: PEM text from memory
 * and from files, and files that are not key files (a FIFO, a device, one too
 * large), which must be refused at once rather than block or read forever. */
#include "err.h"
#include "keys.h"
#include "t_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A load that blocks fails the run instead of hanging it. */
static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: a key load blocked for 10 s\n0 passed, 1 failed\n";
	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* A fresh Ed25519 key as PEM text; the caller frees it. */
static char *ed25519_pem(size_t *len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	if (!k || !b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		abort();
	*len = (size_t)BIO_get_mem_data(b, &p);
	if (!(out = malloc(*len)))
		abort();
	memcpy(out, p, *len);
	BIO_free(b);
	EVP_PKEY_free(k);
	return out;
}

static void test_memory(void)
{
	size_t len;
	char *pem = ed25519_pem(&len), err[512] = "";
	keys_key *k = NULL;
	T_EQ_INT(keys_load_private_mem(pem, len, "mem.pem", &k, err, sizeof(err)), 0);
	T_CHECK(k && keys_is_ed25519(k));
	keys_free(k);
	/* Cut short, or garbage: refused, naming the source. */
	T_EQ_INT(keys_load_private_mem(pem, len / 2, "half.pem", &k, err, sizeof(err)),
		 DNSD_EINVAL);
	T_CHECK(k == NULL);
	T_CHECK(strstr(err, "half.pem") != NULL);
	T_EQ_INT(keys_load_private_mem("", 0, "empty.pem", &k, err, sizeof(err)), DNSD_EINVAL);
	free(pem);
}

static void test_files(void)
{
	char path[256], err[512] = "";
	keys_key *k = NULL;
	size_t len;
	char *pem = ed25519_pem(&len);
	snprintf(path, sizeof(path), "%s/k.pem", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(pem, 1, len, f) != len || fclose(f))
		abort();
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), 0);
	T_CHECK(k && keys_is_ed25519(k));
	keys_free(k);
	free(pem);

	/* A FIFO nobody writes: opening it for reading used to block for ever. */
	snprintf(path, sizeof(path), "%s/fifo.pem", tmpdir);
	T_EQ_INT(mkfifo(path, 0600), 0);
	alarm(10);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "not a regular file") != NULL);
	/* A device that never ends: PEM reading used to go on for ever. */
	T_EQ_INT(keys_load_private("/dev/zero", &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "not a regular file") != NULL);
	alarm(0);
	T_CHECK(k == NULL);

	/* Larger than any key. */
	snprintf(path, sizeof(path), "%s/big.pem", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	T_CHECK(fd >= 0 && ftruncate(fd, KEYS_MAX_PEM + 1) == 0);
	close(fd);
	T_EQ_INT(keys_load_private(path, &k, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "larger than") != NULL);
	T_EQ_INT(keys_load_private("/nonexistent/k.pem", &k, err, sizeof(err)), DNSD_EIO);
}

/* A PEM RSA key whose numbers do not hold together (found by fuzz_pem: one
 * byte changed, e = 0x400040, so e d is not 1 modulo p-1): it loaded, and its
 * public half was one keys_check_public refuses. */
static void test_broken_rsa(void)
{
	char err[512] = "";
	keys_key *k = NULL;
	T_EQ_INT(keys_load_private("tests/fuzz/corpus/pem/regress-rsa-halves-do-not-match", &k, err,
				   sizeof(err)),
		 DNSD_EINVAL);
	T_CHECK(k == NULL);
	T_CHECK(strstr(err, "broken RSA key") != NULL);
	keys_free(k);
	/* Sound keys still load, in both forms. */
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	for (int traditional = 0; traditional < 2; traditional++) {
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		if (!rsa || !b ||
		    !(traditional ? PEM_write_bio_PrivateKey_traditional(b, rsa, NULL, NULL, 0,
									 NULL, NULL)
				  : PEM_write_bio_PrivateKey(b, rsa, NULL, NULL, 0, NULL, NULL)))
			abort();
		long n = BIO_get_mem_data(b, &p);
		T_EQ_INT(keys_load_private_mem(p, (size_t)n, "rsa.pem", &k, err, sizeof(err)), 0);
		T_CHECK(k && keys_bits(k) == 1024);
		keys_free(k);
		BIO_free(b);
	}
	EVP_PKEY_free(rsa);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	if (t_tmp("keyfile"))
		return 1;
	T_RUN(test_memory);
	T_RUN(test_files);
	T_RUN(test_broken_rsa);
	t_tmp_rm();
	return t_done();
}
