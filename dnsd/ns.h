/* ns: the name servers that must serve a key before it signs. The job asks
 * each for the hosted zone's SOA serial and activates a key only once every
 * one serves the serial that published it. */
#ifndef DNSD_NS_H
#define DNSD_NS_H
#include "wr.h"
#include <stddef.h>
#include <stdint.h>

/* RFC 1982 in SQL: serial a >= serial b, for 32-bit serials. */
#define NS_SERIAL_GE_SQL(a, b)                                                                     \
	"(((" a ") - (" b ")) % 4294967296 + 4294967296) % 4294967296 < 2147483648"

/* What a name server answered for the zone's SOA. */
struct ns_answer {
	int64_t id, serial; /* serial -1: no answer, why says why */
	char name[128], why[256];
};

/* Asks every listed name server for the zone's SOA serial (the network, so
 * before any lock). *out (caller frees) gets the answers, *n how many. 0, or a
 * code with w->err set. */
int ns_gather(struct wr *w, struct ns_answer **out, size_t *n);
/* Inside a write transaction: records the answers; one that did not answer
 * keeps the serial it last reported. Returns w->rc. */
int ns_record_tx(struct wr *w, const struct ns_answer *a, size_t n, int64_t now);
/* ns check: ns_gather, then ns_record_tx in a transaction of its own. */
int ns_check(struct wr *w);

/* ns add: lists (or moves) a name server: name of letters, digits, '.', '-',
 * '_' (field "name"), an IPv4 or IPv6 address (field "address") and a port
 * from 1 to 65535 (field "port"). Its last serial is forgotten. */
int ns_add(struct wr *w, const char *name, const char *address, int port);
/* ns remove: DNSD_ENOENT (field "name") when there is none. */
int ns_remove(struct wr *w, const char *name);

/* A name server as ns list shows it. Strings valid during the callback. */
struct ns_info {
	const char *name, *address, *error; /* error may be NULL */
	int64_t port, serial, checked_at;
	int has_serial;
	/* How long the store has held changes it did not serve when last asked
	 * (0: it served the store's serial). */
	int64_t lag_seconds;
};
/* Calls each for every name server, by name, until it returns non-zero (then
 * returned). 0, or a code with w->err set. */
int ns_list(struct wr *w, int (*each)(void *arg, const struct ns_info *ns), void *arg);

#endif
