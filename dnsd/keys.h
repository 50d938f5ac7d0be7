/* keys: DKIM key generation, loading and encoding for dnsdctl (dnsd never holds private keys). */
#ifndef DNSD_KEYS_H
#define DNSD_KEYS_H
#include <stddef.h>

/* The key sizes every path accepts (generation, key import, CSV import, rows written by SQL and
 * served by dnsd): RSA from 1024 bits, below which RFC 8301 forbids signing, to 4096, the most
 * RFC 8301 asks every verifier to handle (a larger key's p= also outgrows one sensible TXT
 * record: a 12288-bit key's is over 2,000 characters); Ed25519's 32 bytes (RFC 8463). */
#define KEYS_RSA_MIN_BITS  1024
#define KEYS_RSA_MAX_BITS  4096
#define KEYS_ED25519_BYTES 32

/* A private key (RSA or Ed25519); opaque, wraps an EVP_PKEY. */
typedef struct keys_key keys_key;

/* Parses "rsa-1024", "rsa-2048", "rsa-3072", "rsa-4096" or "ed25519" (case-insensitive).
 * Sets *is_ed25519 and *bits (256 for ed25519); either may be NULL. Returns 0 or DNSD_EINVAL. */
int keys_parse_algorithm(const char *alg, int *is_ed25519, int *bits);

/* Generates a key for "rsa-2048", "rsa-3072", "rsa-4096" or "ed25519"; RSA below 2048 bits is
 * refused. *out is owned by the caller (keys_free) and NULL on failure.
 * Returns 0, DNSD_EINVAL, DNSD_ENOMEM, DNSD_ECRYPTO. */
int keys_generate(const char *alg, keys_key **out);

/* Loads an unencrypted private key from a PEM file (PKCS#1 RSA, PKCS#8 RSA or Ed25519). RSA outside
 * KEYS_RSA_MIN_BITS..KEYS_RSA_MAX_BITS and other key types are refused with DNSD_EINVAL; an
 * unreadable file gives DNSD_EIO. *out is owned by the caller (keys_free) and NULL on failure. On
 * failure err (if not NULL) gets one sentence naming the path. Returns 0, DNSD_EINVAL, DNSD_EIO,
 * DNSD_ENOMEM. */
int keys_load_private(const char *path, keys_key **out, char *err, size_t errlen);

/* Frees k and its key material; NULL is safe. */
void keys_free(keys_key *k);

/* 1 for an Ed25519 key, 0 for RSA. */
int keys_is_ed25519(const keys_key *k);
/* RSA modulus bits, or 256 for Ed25519. */
int keys_bits(const keys_key *k);
/* "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", or "rsa-<bits>" for other imported sizes (always
 * within KEYS_RSA_MIN_BITS..KEYS_RSA_MAX_BITS).
 * The string belongs to k and lives as long as it does. */
const char *keys_algorithm_name(const keys_key *k);

/* Writes the DKIM p= value into buf, NUL-terminated: base64 of the DER SubjectPublicKeyInfo for
 * RSA, base64 of the raw 32-byte public key for Ed25519 (RFC 8463).
 * Returns its length, DNSD_ERANGE if buf is too small, DNSD_ENOMEM or DNSD_ECRYPTO. */
int keys_public_b64(const keys_key *k, char *buf, size_t buflen);

/* Writes the whole DKIM TXT value, "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519; p=...".
 * Same returns as keys_public_b64. */
int keys_dkim_txt(const keys_key *k, char *buf, size_t buflen);

/* Writes k as an unencrypted PKCS#8 PEM file at path, mode 0600, atomically: a temporary file
 * beside it is written and synced, then linked into place, so an existing file at path is never
 * overwritten. On failure nothing is left behind and err (if not NULL) gets one sentence naming
 * the path and the reason. Returns 0, DNSD_EEXIST, DNSD_EIO, DNSD_ECRYPTO (encoding failed). */
int keys_write_private(const keys_key *k, const char *path, char *err, size_t errlen);

/* Creates dir and its missing parents with mode 0700, then checks dir is writable by creating and
 * removing a probe file. Returns 0, or DNSD_EIO with err (if not NULL) naming the directory and
 * the reason; DNSD_EINVAL for a NULL or empty dir. */
int keys_dir_prepare(const char *dir, char *err, size_t errlen);

/* Base64 (standard alphabet, padded) of len bytes of in into out, NUL-terminated.
 * Returns the length written (without the NUL) or DNSD_ERANGE if out is too small. */
int keys_base64(const unsigned char *in, size_t len, char *out, size_t outlen);

/* Checks a DKIM p= value: base64 of a raw 32-byte Ed25519 key, or of a DER
 * SubjectPublicKeyInfo holding an RSA key of KEYS_RSA_MIN_BITS..KEYS_RSA_MAX_BITS
 * bits. Writes the algorithm ("ed25519", "rsa-<bits>") into alg. Allocates nothing.
 * Returns 0 or DNSD_EINVAL (err, which may be NULL, says why). */
int keys_check_public(const char *b64, char *alg, size_t alglen, char *err, size_t errlen);

/* Writes a new random token for a customer domain into out: 16 characters of lowercase
 * RFC 4648 base32 (a-z, 2-7) from 10 random bytes, NUL-terminated. Returns 0 or DNSD_ECRYPTO
 * (out is then the empty string). */
int keys_token_new(char out[17]);

/* 1 if s is a well-formed token (exactly 16 characters of a-z, 2-7), else 0. NULL gives 0. */
int keys_token_valid(const char *s);

/* The largest PEM private key file read (a 16384-bit RSA key is about 13 KB). */
#define KEYS_MAX_PEM (64 * 1024)

/* keys_load_private from len bytes of PEM text in memory (the caller's), named
 * path in err. keys_load_private reads the file with it: a regular file of at
 * most KEYS_MAX_PEM bytes, or DNSD_EINVAL. Returns as keys_load_private. */
int keys_load_private_mem(const char *pem, size_t len, const char *path, keys_key **out, char *err,
			  size_t errlen);

#endif
