/* apimetrics: dnsd-api's figures for Prometheus (--metrics ADDR:PORT): requests by route
 * pattern, method and status, their latency by route and method, the requests in flight, and
 * the writes refused because the store was busy. Every worker counts into shared atomic
 * counters with relaxed adds (no lock on the request path); a scrape reads them. The route is
 * the table's pattern, never the raw path, so the label set stays bounded. */
#include "apimetrics.h"
#include "api.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const methods[] = {"GET",   "HEAD",	 "POST",    "PUT",
				      "PATCH", "DELETE", "OPTIONS", "other"};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))
/* Status slot 0: no reply was sent (the client went, or the connection timed out); then
 * 100 to 599. */
#define NSTATUS 501
static const double buckets[] = {.001, .005, .01, .05, .1, .5, 1, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* One block per route slot (api_nroutes routes, then "none"): per method, the requests by
 * status, and the latency histogram (per bucket, not cumulative; the last slot is +Inf),
 * its sum in nanoseconds and its count. */
struct slot {
	atomic_uint_fast64_t req[NMETHODS][NSTATUS];
	atomic_uint_fast64_t bucket[NMETHODS][NBUCKETS + 1];
	atomic_uint_fast64_t sum_ns[NMETHODS];
};

static struct slot *slots;
static size_t nslots;
static atomic_uint_fast64_t store_busy;

int apimetrics_init(void)
{
	nslots = api_nroutes + 1;
	slots = calloc(nslots, sizeof(*slots));
	return slots ? 0 : -1;
}

static size_t method_index(const char *m)
{
	for (size_t i = 0; i + 1 < NMETHODS; i++)
		if (!strcmp(methods[i], m))
			return i;
	return NMETHODS - 1;
}

void apimetrics_request(int route, const char *method, int status, double seconds)
{
	if (!slots)
		return;
	struct slot *s =
		&slots[route >= 0 && (size_t)route < api_nroutes ? (size_t)route : api_nroutes];
	size_t m = method_index(method);
	size_t st = status >= 100 && status <= 599 ? (size_t)(status - 99) : 0;
	atomic_fetch_add_explicit(&s->req[m][st], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add_explicit(&s->bucket[m][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns[m], (uint64_t)(seconds > 0 ? seconds * 1e9 : 0),
				  memory_order_relaxed);
}

void apimetrics_store_busy(void)
{
	atomic_fetch_add_explicit(&store_busy, 1, memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static const char *route_name(size_t i)
{
	return i < api_nroutes ? api_routes[i].pattern : "none";
}

void apimetrics_render(void *arg, struct metrics_buf *b)
{
	(void)arg;
	metrics_family(b, "dnsd_api_requests_total", "counter",
		       "Requests answered, by route pattern, method and status (status none: no "
		       "reply was sent).");
	for (size_t i = 0; i < nslots; i++)
		for (size_t m = 0; m < NMETHODS; m++)
			for (size_t st = 0; st < NSTATUS; st++) {
				uint64_t v = get(&slots[i].req[m][st]);
				if (!v)
					continue;
				char code[8];
				snprintf(code, sizeof(code), "%zu", st + 99);
				metrics_printf(b,
					       "dnsd_api_requests_total{route=\"%s\",method=\"%s\","
					       "status=\"%s\"} %llu\n",
					       route_name(i), methods[m], st ? code : "none",
					       (unsigned long long)v);
			}
	metrics_family(b, "dnsd_api_request_duration_seconds", "histogram",
		       "From the request's headers to its end, by route pattern and method.");
	for (size_t i = 0; i < nslots; i++)
		for (size_t m = 0; m < NMETHODS; m++) {
			uint64_t cum = 0, n[NBUCKETS + 1];
			for (size_t k = 0; k <= NBUCKETS; k++)
				cum += n[k] = get(&slots[i].bucket[m][k]);
			if (!cum)
				continue;
			const char *r = route_name(i);
			cum = 0;
			for (size_t k = 0; k < NBUCKETS; k++)
				metrics_printf(
					b,
					"dnsd_api_request_duration_seconds_bucket{route=\"%s\","
					"method=\"%s\",le=\"%g\"} %llu\n",
					r, methods[m], buckets[k],
					(unsigned long long)(cum += n[k]));
			cum += n[NBUCKETS];
			metrics_printf(
				b,
				"dnsd_api_request_duration_seconds_bucket{route=\"%s\",method="
				"\"%s\",le=\"+Inf\"} %llu\n",
				r, methods[m], (unsigned long long)cum);
			metrics_printf(
				b,
				"dnsd_api_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} "
				"%.6f\n",
				r, methods[m], get(&slots[i].sum_ns[m]) / 1e9);
			metrics_printf(
				b,
				"dnsd_api_request_duration_seconds_count{route=\"%s\",method="
				"\"%s\"} %llu\n",
				r, methods[m], (unsigned long long)cum);
		}
	metrics_family(b, "dnsd_api_requests_in_flight", "gauge", "Requests being answered now.");
	metrics_printf(b, "dnsd_api_requests_in_flight %d\n", api_in_flight());
	metrics_family(b, "dnsd_api_store_busy_total", "counter",
		       "Writes answered 503 store_busy: another writer held the store's lock.");
	metrics_printf(b, "dnsd_api_store_busy_total %llu\n", (unsigned long long)get(&store_busy));
}
