/* status: what the store holds, counted in one read: the serial, the schema version, the tenants
 * and domains, for dnsd-api's GET /v1/status (and dnsdctl status, once it moves here). */
#ifndef DNSD_STATUS_H
#define DNSD_STATUS_H
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct status_counts {
	int schema_version;
	int64_t serial;
	char zone[256];	 /* the hosted zone, with its trailing dot; "" if unset */
	int64_t tenants; /* 1 when counted for one tenant */
	int64_t domains; /* active ones */
};

/* Counts in one read transaction, so that the numbers belong to one committed state; with
 * tenant_id > 0 only that tenant's domains. Returns 0, DNSD_EBUSY or DNSD_ESTORE with err set. */
int status_read(struct store *s, int64_t tenant_id, struct status_counts *out, char *err,
		size_t errlen);

#endif
