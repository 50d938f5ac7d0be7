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

/* The largest zone file zone_load reads (it reads the file whole). */
#define ZONE_MAX_FILE (64u << 20)

/* The same from text in memory (len bytes, no terminating NUL needed); path is
 * the name err and the zone give it. The text stays the caller's. Also refused:
 * a quoted string not closed on its own line, an unbalanced parenthesis,
 * $INCLUDE. */
int zone_parse(const char *text, size_t len, const char *path, const char *origin,
	       const char *dyn_zone, struct db_zone **out, char *err, size_t errlen);
#endif
