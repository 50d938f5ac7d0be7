/* metrics: the Prometheus listener (GET /metrics, text format 0.0.4) on its
 * own thread, through libmicrohttpd. What it serves comes from a render
 * callback, called on that thread for each scrape. */
#ifndef DNSD_METRICS_H
#define DNSD_METRICS_H
#include "net.h"
#include <stddef.h>
#include <stdint.h>

struct metrics;

/* The text being built for one scrape. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	int failed; /* out of memory: the scrape gets 500 */
};

typedef void (*metrics_render_fn)(void *arg, struct metrics_buf *b);

/* Listens on a (port 0: one the system picks; a is updated to the bound
 * address). *out is the caller's (metrics_stop). Returns 0, or DNSD_EIO with
 * err set. */
int metrics_start(struct net_addr *a, metrics_render_fn fn, void *arg, struct metrics **out,
		  char *err, size_t errlen);
/* Stops the listener and frees m; NULL is fine. */
void metrics_stop(struct metrics *m);

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The HELP and TYPE lines of a metric family. */
void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help);
#endif
