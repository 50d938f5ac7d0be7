/* fuzz_zone: a libFuzzer target over the zone file parser (zone_parse: the
 * syntax check, ldns, the zone's rules). Replayed over tests/fuzz/corpus/zone
 * by `make test`. */
#include "db.h"
#include "zone.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Leaks in ldns itself, which dnsd cannot free. ldns 1.8.3 (and its master of
 * 2025) leaks the rdata it made for a CERT record of algorithm 0 when it
 * refuses it (ldns_str2rdf_cert_alg sets *rd, then returns an error its callers
 * do not free on): 4 bytes per such line, and such a file is refused. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:ldns_str2rdf_cert_alg\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct db_zone *z = NULL;
	char err[512] = "";
	/* As the hosted zone (its dynamic subtrees refused) and as a static one. */
	for (int dyn = 0; dyn < 2; dyn++) {
		int rc = zone_parse((const char *)data, size, "fuzz.zone", "fuzz.example.",
				    dyn ? "fuzz.example." : NULL, &z, err, sizeof(err));
		/* Loaded means a zone with its SOA at the apex; refused means a reason. */
		if (!rc && (!z || !db_zone_find(z, z->apex, z->apex_len)))
			abort();
		if (rc && (z || !err[0] || !memchr(err, 0, sizeof(err))))
			abort();
		db_zone_free(z);
		z = NULL;
	}
	return 0;
}
