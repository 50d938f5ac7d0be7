/* jobmetrics: what the maintain job knows, as Prometheus text for node_exporter's
 * textfile collector (the job runs from a timer and exits, so it leaves a file
 * rather than serving a scrape): the keys by state, rotations due and how late,
 * the next one, the customers' domains by check state, each secondary's serial
 * and lag, the store's serial, and how the last run went (its steps, whether the exports were
 * written). */
#ifndef DNSD_JOBMETRICS_H
#define DNSD_JOBMETRICS_H
#include "wr.h"
#include <stdint.h>
#include <stdio.h>

/* How the run that writes the file went. */
struct jobmetrics_run {
	int64_t now;	/* the job's clock (store_now) */
	int ok;		/* the store's batch committed */
	int exports_ok; /* the exports (and the export command) succeeded */
	int revoked, activated, published, purged, waiting;
};

/* Writes the metrics to f. Returns 0, or a code with w->err set. */
int jobmetrics_print(struct wr *w, const struct jobmetrics_run *run, FILE *f);

/* Writes them to path, whole or not at all: a temporary file beside it, then
 * a rename (node_exporter must never read half a file). The directory is the
 * configuration's, never the store's. 0, or DNSD_EIO/DNSD_EFULL with w->err. */
int jobmetrics_write(struct wr *w, const struct jobmetrics_run *run, const char *path);
#endif
