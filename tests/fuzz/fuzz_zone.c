/* fuzz_zone: a libFuzzer target over the zone file parser (zone_parse: the
 * syntax check, ldns, the zone's rules). Replayed over tests/fuzz/corpus/zone
 * by `make test`. */
#include "db.h"
#include "zone.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Leaks in ldns itself, which dnsd cannot free: its parsers of record data
 * (str2host.c) forget what they made when they refuse a value, and the file is
 * then refused. Found so far, in ldns 1.8.3 and unchanged in its master of
 * 2025: a CERT record of algorithm 0 (ldns_str2rdf_cert_alg, 4 bytes), an
 * IPSECKEY with a bad gateway or key (ldns_str2rdf_ipseckey, 20 bytes). dnsd
 * never calls these functions itself, and a record dnsd failed to free would
 * still show through ldns_rr_new's allocations. The replay links Debian's
 * ldns, built without frame pointers: the stack of a leak there stops at the
 * allocating function, ldns_rdf_new_frm_data for the CERT one (a full unwind
 * made the ASan replay 7 times slower). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
#ifdef FUZZ_CORPUS
	return "leak:ldns_str2rdf_\nleak:ldns_rdf_new_frm_data\n";
#else
	return "leak:ldns_str2rdf_\n";
#endif
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
