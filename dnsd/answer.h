/* answer: turns one query message into its response, from a view. Pure: no sockets,
 * no store, no logging, no allocation. */
#ifndef DNSD_ANSWER_H
#define DNSD_ANSWER_H
#include <stddef.h>
#include <stdint.h>
#include "db.h"

struct answer_cfg {
	uint16_t max_udp; /* the largest UDP answer this server sends (EDNS), default 1232 */
	/* CHAOS TXT answers: NULL hides them (REFUSED), as NSD and Knot can. */
	const char *identity;  /* id.server, hostname.bind */
	const char *version;   /* version.bind, version.server */
	/* NSID (RFC 5001) payload, sent to queries that ask; nsid_len 0: none. */
	const uint8_t *nsid;
	uint16_t nsid_len;
};

/* Answers the query in pkt[0..len) into out (capacity outcap, at least 512). tcp says
 * whether the answer goes over TCP (no size limit but 65535). Returns the response
 * length, or 0 when the message must be dropped (shorter than a header, or QR set). */
size_t answer_query(const struct db_view *v, const struct answer_cfg *cfg, const uint8_t *pkt,
		    size_t len, uint8_t *out, size_t outcap, int tcp);
/* The same, and *signed_q says whether the query carries a TSIG record: its answer
 * is then the caller's to redo through tsig.c (verified, signed), not to send. */
size_t answer_query_tsig(const struct db_view *v, const struct answer_cfg *cfg, const uint8_t *pkt,
			 size_t len, uint8_t *out, size_t outcap, int tcp, int *signed_q);
/* For prefetching: if the query's name has a label of 16 bytes right before a
 * "dkim", "rp" or "dmarc" label (a customer token), copies it lowercased into
 * token and returns 1; else 0. Cheap and approximate: a wrong guess only
 * prefetches for nothing. */
int answer_token_hint(const uint8_t *msg, size_t len, uint8_t token[16]);

#endif
