/* srvmetrics: what a scrape of dnsd's --metrics listener returns. */
#include "server.h"
#include <malloc.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* ---- metrics ---- */

static void counter(struct metrics_buf *b, const char *name, const char *help, uint64_t v)
{
	metrics_family(b, name, "counter", help);
	metrics_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(struct metrics_buf *b, const char *name, const char *help, long long v)
{
	metrics_family(b, name, "gauge", help);
	metrics_printf(b, "%s %lld\n", name, v);
}

/* One scrape, on the metrics listener's thread: the workers' counters summed,
 * and the control thread's figures (each read atomically). */
void srv_render_metrics(void *arg, struct metrics_buf *b)
{
	struct server *s = arg;
	struct stats_worker w;
	static const char *const tr[] = {"udp", "tcp"};
	static const char *const rc[16] = {"NOERROR", "FORMERR", "SERVFAIL",	  "NXDOMAIN",
					   "NOTIMP",  "REFUSED", [9] = "NOTAUTH", [10] = "NOTZONE"};
	net_stats(s->net, &w);
	metrics_family(b, "dnsd_queries_total", "counter", "DNS messages received, by transport.");
	for (int i = 0; i < STATS_NTRANSPORTS; i++)
		metrics_printf(b, "dnsd_queries_total{transport=\"%s\"} %llu\n", tr[i],
			       (unsigned long long)w.queries[i]);
	metrics_family(b, "dnsd_query_types_total", "counter",
		       "DNS messages received, by question type.");
	for (int i = 0; i < STATS_NTYPES; i++)
		metrics_printf(b, "dnsd_query_types_total{type=\"%s\"} %llu\n", stats_type_names[i],
			       (unsigned long long)w.qtype[i]);
	metrics_family(b, "dnsd_answers_total", "counter",
		       "Responses sent, by transport (a zone transfer once).");
	for (int i = 0; i < STATS_NTRANSPORTS; i++)
		metrics_printf(b, "dnsd_answers_total{transport=\"%s\"} %llu\n", tr[i],
			       (unsigned long long)w.answers[i]);
	metrics_family(b, "dnsd_answer_rcodes_total", "counter", "Responses sent, by RCODE.");
	for (int i = 0; i < 16; i++)
		if (rc[i] || w.rcode[i]) {
			char n[16];
			snprintf(n, sizeof(n), "%d", i);
			metrics_printf(b, "dnsd_answer_rcodes_total{rcode=\"%s\"} %llu\n",
				       rc[i] ? rc[i] : n, (unsigned long long)w.rcode[i]);
		}
	counter(b, "dnsd_truncated_total", "UDP responses with TC set (RRL slips included).",
		w.truncated);
	counter(b, "dnsd_malformed_total", "Messages given no response or FORMERR.", w.malformed);
	metrics_family(b, "dnsd_rrl_actions_total", "counter",
		       "Response rate limiting: responses dropped or slipped.");
	metrics_printf(b, "dnsd_rrl_actions_total{action=\"dropped\"} %llu\n",
		       (unsigned long long)w.rrl_dropped);
	metrics_printf(b, "dnsd_rrl_actions_total{action=\"slipped\"} %llu\n",
		       (unsigned long long)w.rrl_slipped);
	counter(b, "dnsd_udp_send_dropped_total", "UDP responses lost to a full socket buffer.",
		w.udp_send_dropped);
	metrics_family(b, "dnsd_tcp_connections_total", "counter",
		       "TCP connections accepted, or refused over a limit.");
	metrics_printf(b, "dnsd_tcp_connections_total{result=\"accepted\"} %llu\n",
		       (unsigned long long)w.tcp_accepted);
	metrics_printf(b, "dnsd_tcp_connections_total{result=\"refused\"} %llu\n",
		       (unsigned long long)w.tcp_refused);
	gauge(b, "dnsd_tcp_connections_open", "TCP connections open now.",
	      (long long)net_tcp_open(s->net));
	counter(b, "dnsd_transfers_total", "Zone transfers (AXFR, IXFR) begun.", w.xfr_started);
	struct stats_ctl *c = &s->stats;
	uint64_t serial = __atomic_load_n(&c->serial, __ATOMIC_RELAXED);
	int64_t since = __atomic_load_n(&c->serial_since, __ATOMIC_RELAXED);
	gauge(b, "dnsd_serial", "The SOA serial served.", (long long)serial);
	gauge(b, "dnsd_serial_age_seconds", "Seconds since the served serial changed.",
	      since ? (long long)(time(NULL) - since) : 0);
	gauge(b, "dnsd_domains", "Customer domains in the served view.",
	      (long long)__atomic_load_n(&c->domains, __ATOMIC_RELAXED));
	metrics_family(b, "dnsd_refresh_lag_seconds", "histogram",
		       "From noticing a store commit to serving it.");
	uint64_t cum = 0;
	for (int i = 0; i <= STATS_LAG_BUCKETS; i++) {
		cum += __atomic_load_n(&c->lag_count[i], __ATOMIC_RELAXED);
		if (i < STATS_LAG_BUCKETS)
			metrics_printf(b, "dnsd_refresh_lag_seconds_bucket{le=\"%g\"} %llu\n",
				       stats_lag_bounds[i], (unsigned long long)cum);
		else
			metrics_printf(b, "dnsd_refresh_lag_seconds_bucket{le=\"+Inf\"} %llu\n",
				       (unsigned long long)cum);
	}
	metrics_printf(b, "dnsd_refresh_lag_seconds_sum %.6f\n",
		       (double)__atomic_load_n(&c->lag_sum_us, __ATOMIC_RELAXED) / 1e6);
	metrics_printf(b, "dnsd_refresh_lag_seconds_count %llu\n", (unsigned long long)cum);
	counter(b, "dnsd_refresh_failures_total",
		"Looks at the store that failed (the last view stays served).",
		__atomic_load_n(&c->refresh_failures, __ATOMIC_RELAXED));
	counter(b, "dnsd_zone_reload_failures_total",
		"Zone file reloads refused (the old zones stay served).",
		__atomic_load_n(&c->reload_failures, __ATOMIC_RELAXED));
	struct mallinfo2 mi = mallinfo2();
	gauge(b, "dnsd_heap_bytes", "Bytes allocated on the heap (mostly the served view).",
	      (long long)(mi.uordblks + mi.hblkhd));
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%ld %ld", &pages, &rss) == 2)
		gauge(b, "process_resident_memory_bytes", "Resident memory of dnsd.",
		      rss * sysconf(_SC_PAGESIZE));
	if (f)
		fclose(f);
}
