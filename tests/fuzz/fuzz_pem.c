/* fuzz_pem: a libFuzzer target over private key files as an import reads them
 * (keys_load_private_mem: OpenSSL's PEM decoder, then dnsd's checks). A key it
 * accepts must give a public key that keys_check_public accepts as the same
 * algorithm. Replayed over tests/fuzz/corpus/pem by `make test`.
 *
 * OpenSSL is not instrumented, so libFuzzer sees little of what it reaches:
 * mutating PEM text mostly breaks its base64. An input starting with '1' or
 * '2' is DER instead, wrapped here as PKCS#8 or PKCS#1 PEM, so that mutations
 * land in the key's structure and numbers. */
#include "keys.h"
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DER wrapped as PEM with the given label, into a buffer the caller frees. */
static char *pem_of(const uint8_t *der, size_t n, const char *label, size_t *len)
{
	size_t cap = n / 48 * 65 + 130 + 2 * strlen(label);
	char *out = malloc(cap), *p = out;
	if (!out)
		abort();
	p += sprintf(p, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < n; i += 48) {
		size_t k = n - i < 48 ? n - i : 48;
		p += EVP_EncodeBlock((unsigned char *)p, der + i, (int)k);
		*p++ = '\n';
	}
	p += sprintf(p, "-----END %s-----\n", label);
	*len = (size_t)(p - out);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_key *k = NULL;
	char err[512] = "", pub[8192], alg[16], *wrapped = NULL;
	const char *pem = (const char *)data;
	size_t len = size;
	if (size > 1 && (data[0] == '1' || data[0] == '2')) {
		wrapped = pem_of(data + 1, size - 1,
				 data[0] == '1' ? "PRIVATE KEY" : "RSA PRIVATE KEY", &len);
		pem = wrapped;
	}
	int rc = keys_load_private_mem(pem, len, "fuzz.pem", &k, err, sizeof(err));
	free(wrapped);
	if (rc) {
		if (k || !err[0])
			abort();
		return 0;
	}
	if (!k || keys_public_b64(k, pub, sizeof(pub)) < 0 ||
	    keys_check_public(pub, alg, sizeof(alg), err, sizeof(err)) ||
	    strcmp(alg, keys_algorithm_name(k)))
		abort();
	keys_free(k);
	return 0;
}
