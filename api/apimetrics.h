/* apimetrics: dnsd-api's Prometheus figures, served by the --metrics listener (metrics.h). */
#ifndef DNSD_APIMETRICS_H
#define DNSD_APIMETRICS_H
#include "metrics.h"

/* Makes the counters for the route table (api_routes). 0, or -1 out of memory. Before the
 * workers start; never freed (they live as long as the process). */
int apimetrics_init(void);
/* Counts one finished request: route is its index in api_routes, or -1 when no route has its
 * path; status 0 when no reply was sent; seconds from its headers to its end. Any thread;
 * nothing before apimetrics_init. */
void apimetrics_request(int route, const char *method, int status, double seconds);
/* Counts one 503 store_busy. */
void apimetrics_store_busy(void);
/* One scrape (a metrics_render_fn); arg is unused. */
void apimetrics_render(void *arg, struct metrics_buf *b);
#endif
