/* stats: the counters' names, the type index and the sums (stats.h). */
#include "stats.h"
#include "wire.h"

const char *const stats_type_names[STATS_NTYPES] = {
	[STATS_T_A] = "A",	 [STATS_T_NS] = "NS",	    [STATS_T_CNAME] = "CNAME",
	[STATS_T_SOA] = "SOA",	 [STATS_T_MX] = "MX",	    [STATS_T_TXT] = "TXT",
	[STATS_T_AAAA] = "AAAA", [STATS_T_ANY] = "ANY",	    [STATS_T_AXFR] = "AXFR",
	[STATS_T_IXFR] = "IXFR", [STATS_T_OTHER] = "other",
};

const double stats_lag_bounds[STATS_LAG_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
						    0.5,   1,	 2.5,	5,    10};

const uint8_t stats_type_map[256] = {
	[WIRE_T_A] = STATS_T_A + 1,	    [WIRE_T_NS] = STATS_T_NS + 1,
	[WIRE_T_CNAME] = STATS_T_CNAME + 1, [WIRE_T_SOA] = STATS_T_SOA + 1,
	[WIRE_T_MX] = STATS_T_MX + 1,	    [WIRE_T_TXT] = STATS_T_TXT + 1,
	[WIRE_T_AAAA] = STATS_T_AAAA + 1,   [WIRE_T_ANY] = STATS_T_ANY + 1,
	[WIRE_T_AXFR] = STATS_T_AXFR + 1,   [WIRE_T_IXFR] = STATS_T_IXFR + 1,
};

/* The block is a row of uint64_t counters, each read once. */
void stats_sum(struct stats_worker *sum, const struct stats_worker *b)
{
	uint64_t *s = (uint64_t *)sum;
	const uint64_t *v = (const uint64_t *)b;
	for (size_t i = 0; i < offsetof(struct stats_worker, xfr_started) / sizeof(uint64_t) + 1;
	     i++)
		s[i] += __atomic_load_n(&v[i], __ATOMIC_RELAXED);
}

void stats_lag(struct stats_ctl *c, double sec)
{
	size_t i = 0;
	while (i < STATS_LAG_BUCKETS && sec > stats_lag_bounds[i])
		i++;
	stats_inc(&c->lag_count[i]);
	stats_add(&c->lag_sum_us, sec > 0 ? (uint64_t)(sec * 1e6) : 0);
}
