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

int stats_type_index(uint16_t t)
{
	switch (t) {
	case WIRE_T_A:
		return STATS_T_A;
	case WIRE_T_NS:
		return STATS_T_NS;
	case WIRE_T_CNAME:
		return STATS_T_CNAME;
	case WIRE_T_SOA:
		return STATS_T_SOA;
	case WIRE_T_MX:
		return STATS_T_MX;
	case WIRE_T_TXT:
		return STATS_T_TXT;
	case WIRE_T_AAAA:
		return STATS_T_AAAA;
	case WIRE_T_ANY:
		return STATS_T_ANY;
	case WIRE_T_AXFR:
		return STATS_T_AXFR;
	case WIRE_T_IXFR:
		return STATS_T_IXFR;
	default:
		return STATS_T_OTHER;
	}
}

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
