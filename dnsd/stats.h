/* stats: dnsd's counters. Each worker counts into its own block (one cache
 * far from the others' (inside its own worker, which holds buffers of tens of
 * kilobytes), written by that worker alone, with plain
 * stores: no lock, no atomic read-modify-write on the query path); the metrics
 * listener sums the blocks when scraped, reading each value with a relaxed
 * atomic load. The control thread's figures (serial, refresh lag) live in
 * struct stats_ctl, written by it alone. */
#ifndef DNSD_STATS_H
#define DNSD_STATS_H
#include <stddef.h>
#include <stdint.h>

/* The query types counted by name; the rest are "other". */
enum {
	STATS_T_A,
	STATS_T_NS,
	STATS_T_CNAME,
	STATS_T_SOA,
	STATS_T_MX,
	STATS_T_TXT,
	STATS_T_AAAA,
	STATS_T_ANY,
	STATS_T_AXFR,
	STATS_T_IXFR,
	STATS_T_OTHER,
	STATS_NTYPES
};
extern const char *const stats_type_names[STATS_NTYPES];

enum { STATS_UDP, STATS_TCP, STATS_NTRANSPORTS };

struct stats_worker {
	uint64_t queries[STATS_NTRANSPORTS]; /* messages received (transfers too) */
	uint64_t qtype[STATS_NTYPES];	     /* by the question's type */
	uint64_t answers[STATS_NTRANSPORTS]; /* responses sent (a transfer counts once) */
	uint64_t rcode[16];		     /* responses by the header's RCODE */
	uint64_t truncated;		     /* UDP answers with TC set (slips included) */
	uint64_t malformed;		     /* messages given no answer, or FORMERR */
	uint64_t rrl_dropped, rrl_slipped;   /* response rate limiting */
	uint64_t udp_send_dropped;	     /* answers lost to a full socket buffer */
	uint64_t tcp_accepted, tcp_refused;  /* connections; refused: over a limit */
	uint64_t xfr_started;		     /* zone transfers begun */
};

/* One more, by the block's only writer. (-DDNSD_NO_STATS builds a dnsd that
 * counts nothing, for the benchmark that measures what counting costs.) */
static inline void stats_inc(uint64_t *c)
{
#ifndef DNSD_NO_STATS
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
#else
	(void)c;
#endif
}

static inline void stats_add(uint64_t *c, uint64_t n)
{
#ifndef DNSD_NO_STATS
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
#else
	(void)c, (void)n;
#endif
}

/* The index of a query type: a table lookup (its entries hold index + 1; 0,
 * the default, is "other"), cheap enough for every query. */
extern const uint8_t stats_type_map[256];
static inline int stats_type_index(uint16_t qtype)
{
	int i = qtype < 256 ? stats_type_map[qtype] : 0;
	return i ? i - 1 : STATS_T_OTHER;
}

/* Adds every counter of b to sum (a reader's copy). */
void stats_sum(struct stats_worker *sum, const struct stats_worker *b);

/* The refresh lag's histogram: seconds from the moment dnsd notices a commit
 * (the store's file changed, or a poll found it) to the view that serves it. */
#define STATS_LAG_BUCKETS 11
extern const double stats_lag_bounds[STATS_LAG_BUCKETS];

struct stats_ctl {
	uint64_t lag_count[STATS_LAG_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
	uint64_t lag_sum_us;			   /* microseconds */
	uint64_t refresh_failures;		   /* looks at the store that failed */
	uint64_t reload_failures;		   /* zone file reloads refused */
	uint64_t serial;			   /* the serial served */
	int64_t serial_since;			   /* when it began to be served (unix seconds) */
	uint64_t domains;			   /* in the view */
	uint64_t notify_failures;		   /* NOTIFY messages given up */
};

/* Records one lag of sec seconds (by the control thread). */
void stats_lag(struct stats_ctl *c, double sec);

#endif
