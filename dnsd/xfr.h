/* xfr: zone transfers out of a view. AXFR (RFC 5936) is streamed message by
 * message from an immutable view, never copied; IXFR (RFC 1995) is answered from
 * the history of differences dnsd keeps of the hosted zone, one step per serial it
 * served, and falls back to the whole zone when the history does not reach back to
 * the client's serial. Pure: no sockets, no logging. */
#ifndef DNSD_XFR_H
#define DNSD_XFR_H
#include "db.h"
#include "wire.h"
#include <stddef.h>
#include <stdint.h>

/* ---- the history of the hosted zone's differences ---- */

struct xfr_hist;

/* A history keeping at most max_bytes of differences (0: none, IXFR always gets
 * the whole zone) and none older than max_age seconds. */
struct xfr_hist *xfr_hist_new(size_t max_bytes, int64_t max_age);
void xfr_hist_free(struct xfr_hist *h);

/* Records the step from view a to view b (both of the hosted zone) at time now
 * (seconds): the records of every domain that differs, as deletions and additions.
 * When the step cannot be told as a difference (no previous view, the zone file
 * changed, the serial did not move forward), the history starts over at b's serial.
 * When nothing changed and the serial is the same, nothing is recorded. Called by
 * the one thread that publishes views, before it publishes b. Returns 0 or
 * DNSD_ENOMEM (the history is then emptied: IXFR falls back to AXFR). */
int xfr_hist_note(struct xfr_hist *h, const struct db_view *a, const struct db_view *b,
		  int64_t now);

/* What the history holds, for logs and tests. */
struct xfr_hist_stats {
	size_t steps, bytes;
	uint32_t oldest, newest; /* serials it reaches from and to (when steps > 0) */
};
void xfr_hist_stats(struct xfr_hist *h, struct xfr_hist_stats *st);

/* ---- requests ---- */

enum { XFR_NONE, XFR_AXFR, XFR_IXFR };

/* What a transfer request asks. */
struct xfr_req {
	int kind;		    /* XFR_AXFR or XFR_IXFR */
	const struct db_zone *zone; /* the zone whose apex the question names */
	uint32_t client_serial;	    /* IXFR: the serial in the client's SOA */
	size_t question_end;	    /* the message's question, to echo */
};

/* Reads a request whose question asks AXFR or IXFR for the apex of one of the
 * view's zones. Returns XFR_AXFR or XFR_IXFR with r filled, XFR_NONE when it is
 * not a transfer request, or DNSD_EFORMAT (an IXFR without its SOA, say) /
 * DNSD_ENOENT (no zone has that apex: REFUSED). */
int xfr_parse(const struct db_view *v, const uint8_t *pkt, size_t len, struct xfr_req *r);

/* The served SOA of zone z in view v (tail form). */
const struct db_rrset *xfr_soa(const struct db_view *v, const struct db_zone *z);

/* ---- streaming the answer ---- */

struct xfr_stream;

/* Starts the answer to request r (pkt: the request, len octets) from view v and
 * history h (h may be NULL). The view must stay alive until xfr_end (the caller
 * pins it); the request need not. Returns NULL when out of memory. */
struct xfr_stream *xfr_begin(const struct db_view *v, struct xfr_hist *h, const struct xfr_req *r,
			     const uint8_t *pkt, size_t len);
/* Writes the next message of the answer into out (cap octets; at most 65535 are
 * used), leaving reserve octets free at the end for a TSIG record. Returns its
 * length, or 0 when the answer is complete or when xfr_blocked says to call again
 * on a later turn of the loop: a whole-zone answer orders a large zone's domains
 * a slice (a few milliseconds) per call, so that they go in the order a secondary
 * stores them. */
size_t xfr_next(struct xfr_stream *s, uint8_t *out, size_t cap, size_t reserve);
/* 1 when the last xfr_next returned 0 with more to come. */
int xfr_blocked(const struct xfr_stream *s);
/* 1 when the answer is the whole zone (an AXFR, or an IXFR answered in full). */
int xfr_is_full(const struct xfr_stream *s);
/* Messages and records sent so far. */
void xfr_counts(const struct xfr_stream *s, uint64_t *msgs, uint64_t *rrs);
void xfr_end(struct xfr_stream *s);

/* The one-message answer to an IXFR over UDP (RFC 1995 §2): the current SOA alone,
 * which says "up to date" or "ask again over TCP". Returns its length (0: does not
 * fit). */
size_t xfr_udp_answer(const struct db_view *v, const struct xfr_req *r, const uint8_t *pkt,
		      uint8_t *out, size_t cap);

/* An answer with rcode alone to a transfer request (REFUSED, FORMERR, SERVFAIL):
 * the question echoed when question_end says where it ends (0: none). Returns its
 * length (cap must hold the question and a header). */
size_t xfr_error_answer(const uint8_t *pkt, size_t question_end, int rcode, uint8_t *out,
			size_t cap);

/* RFC 1982: 1 when serial a is below b. */
int xfr_serial_lt(uint32_t a, uint32_t b);
#endif
