/* fuzz_pubkey: a libFuzzer target over DKIM public keys as imported or written
 * by SQL (keys_check_public: base64, then the hand-walked RSA
 * SubjectPublicKeyInfo). Replayed over tests/fuzz/corpus/pubkey by `make test`.
 * An input starting with '@' is the DER itself, base64-encoded here, so that
 * mutations land in the structure the hand-walk reads rather than in its
 * base64 ('@' is not base64: such a value is refused as it stands). */
#include "keys.h"
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char b64[8193];
	char alg[16] = "", err[512] = "";
	if (size && data[0] == '@') {
		if ((size - 1 + 2) / 3 * 4 >= sizeof(b64))
			return 0;
		EVP_EncodeBlock((unsigned char *)b64, data + 1, (int)(size - 1));
	} else {
		if (size >= sizeof(b64))
			return 0;
		memcpy(b64, data, size);
		b64[size] = 0;
	}
	int rc = keys_check_public(b64, alg, sizeof(alg), err, sizeof(err));
	int bits = 0;
	/* Accepted: Ed25519, or RSA of at least 1024 bits named by its size. */
	if (!rc && strcmp(alg, "ed25519") && (sscanf(alg, "rsa-%d", &bits) != 1 || bits < 1024))
		abort();
	if (rc && !err[0])
		abort();
	return 0;
}
