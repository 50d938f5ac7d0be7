/* fuzz_pem: a libFuzzer target over private key files as an import reads them
 * (keys_load_private_mem: OpenSSL's PEM decoder, then dnsd's checks). A key it
 * accepts must give a public key that keys_check_public accepts as the same
 * algorithm. Replayed over tests/fuzz/corpus/pem by `make test`. */
#include "keys.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_key *k = NULL;
	char err[512] = "", pub[8192], alg[16];
	int rc = keys_load_private_mem((const char *)data, size, "fuzz.pem", &k, err, sizeof(err));
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
