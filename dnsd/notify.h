/* notify: the NOTIFY sender (RFC 1996). When a zone's serial changes, each
 * secondary of --notify gets a NOTIFY (the question APEX SOA IN, the new SOA in
 * the answer section, signed with the target's TSIG key when one is set), sent
 * again with back-off until it answers. Runs on one libuv loop (dnsd's main
 * loop); one unconnected UDP socket per address family, on a random port. */
#ifndef DNSD_NOTIFY_H
#define DNSD_NOTIFY_H
#include "config.h"
#include "tsig.h"
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The back-off: the first retry after NOTIFY_FIRST_MS, doubling up to
 * NOTIFY_MAX_MS; a warning once a target has not answered NOTIFY_WARN_TRIES. */
#define NOTIFY_FIRST_MS	  1000
#define NOTIFY_MAX_MS	  60000
#define NOTIFY_WARN_TRIES 5

struct notify;

/* Creates the sender for n targets (copied; their key names are looked up in
 * keys, which must hold them, and must outlive the sender or be replaced with
 * notify_set_keys). Opens the sockets the targets' families need. Returns 0,
 * DNSD_EINVAL (a key not in keys), DNSD_EIO (a socket) or DNSD_ENOMEM, with err
 * set; *out is the caller's (notify_free). */
int notify_new(uv_loop_t *loop, const struct config_notify *targets, size_t n,
	       const struct tsig_keys *keys, struct notify **out, char *err, size_t errlen);

/* Uses another key set (after SIGHUP) for the NOTIFYs from now on. A target whose
 * key is not in it keeps the key it had. keys must outlive the sender. */
void notify_set_keys(struct notify *n, const struct tsig_keys *keys);

/* Sets the back-off (for tests): the first retry after first_ms, doubling up to
 * max_ms. */
void notify_set_timing(struct notify *n, unsigned first_ms, unsigned max_ms);

/* Says that the zone at apex (wire form, any case) now serves serial, with the
 * SOA RDATA soa (soa_len octets, uncompressed; its serial is replaced by serial)
 * and TTL soa_ttl; soa NULL leaves the answer section empty. Each target gets a
 * NOTIFY unless the serial is the one it has already been told or is being
 * told; with one in flight, the newer serial goes in the next retry, which
 * comes within the first back-off step. Up to CONFIG_MAX_ZONES zones. */
void notify_zone(struct notify *n, const uint8_t *apex, size_t apex_len, uint32_t serial,
		 const uint8_t *soa, size_t soa_len, uint32_t soa_ttl);

/* How many NOTIFYs (a target and a zone) are waiting for an answer. */
size_t notify_pending(const struct notify *n);

/* Closes the sockets and the timer; the memory is freed once the loop has run
 * their close callbacks (run the loop once more). NULL does nothing. */
void notify_free(struct notify *n);
#endif
