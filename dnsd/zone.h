/* zone: reads zone files (through ldns) into static db zones. */
#ifndef DNSD_ZONE_H
#define DNSD_ZONE_H
#include <stddef.h>
#include "db.h"

/* Loads the zone file at path. origin (text, may be NULL) is the default $ORIGIN;
 * the zone's apex is its SOA owner. When dyn_zone (text, may be NULL) equals the
 * apex, names at or under its dynamic subtrees (dkim, rp, dmarc, _report._dmarc)
 * are refused, since the store answers there. Also refused: no SOA, more than one
 * SOA, records outside the apex, delegations, classes other than IN.
 * *out is owned by the caller (db_zone_free). Returns 0 or DNSD_EINVAL/DNSD_EIO
 * with one sentence in err (file and line where known). */
int zone_load(const char *path, const char *origin, const char *dyn_zone, struct db_zone **out,
	      char *err, size_t errlen);
#endif
