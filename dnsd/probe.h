/* probe: the DKIM marker test of the check (check.h). It tells a DNS host that
 * flattens the customer's CNAMEs (it serves what dnsd serves, and follows every
 * change) from TXT records copied by hand (they go stale at the next rotation):
 * dnsd serves a short marker in the domain's DKIM TXT records (n=, which
 * verifiers ignore); the check changes it and, once the TTLs have run out, looks
 * whether the customer's TXT follows. */
#ifndef DNSD_PROBE_H
#define DNSD_PROBE_H
#include "check.h"

/* After the TTLs (dnsd's DKIM TTL and the customer's record's), this much more
 * before a TXT that still shows the old marker is judged a copy (seconds). */
#define PROBE_MARGIN 60
/* A host found flattening is tested again after this long (seconds): a host
 * changed since, or a copy made by hand since, shows then. */
#define PROBE_AGAIN (24 * 60 * 60)
/* The longest a test waits, whatever the TTLs (seconds). */
#define PROBE_WAIT_MAX (2 * 24 * 60 * 60)

/* Reads the domain's marker and its test's state from the store into d (after
 * check_load has filled the rest). 0 or a code. */
int probe_load(struct wr *w, struct check_domain *d);
/* Judges a DKIM record whose name serves a TXT directly with the key dnsd serves
 * there now (rec: that TXT's v=DKIM1 record): flattened, copied-stale, or
 * served-directly while the test waits; and notes in d whether a test starts,
 * waits or has its answer. Network-free. */
void probe_dkim(struct check_domain *d, struct check_record *x, const char *rec);
/* What the marker test found about the domain's DNS host, for the records
 * without a marker of their own (SPF, MX, DMARC): "flattens", "copies", or
 * NULL while unknown. */
const char *probe_host(const struct check_domain *d);
/* Inside check_save's transaction: starts a test (a new marker, served by dnsd
 * at its next reload of the domain), or records its answer. Returns how many
 * seconds until the test wants the domain checked again, or 0 when none waits
 * (or on an error, then set in w). */
int64_t probe_save(struct wr *w, struct check_domain *d, int64_t now);
/* "HH:MM" UTC of t into buf. */
const char *probe_hhmm(int64_t t, char *buf, size_t n);

#endif
