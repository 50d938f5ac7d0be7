/* serial: the SOA serial dnsd serves, derived from the store's serial without
 * writing the store. dnsd may not write what the writers act on, so what it must
 * remember of its own (how far zone-file edits and restored stores moved the
 * serial) lives in a small state file in a directory of its own (--state-dir). */
#ifndef DNSD_SERIAL_H
#define DNSD_SERIAL_H
#include <stddef.h>
#include <stdint.h>

/* The served serial is the store's, so that it names the same content wherever it
 * is served (the key lifecycle compares the serials name servers give with the
 * store's), with two exceptions:
 * - while the zone file dnsd loaded differs from the one the writers last recorded
 *   in the store (store_zone_note), or its serial is not below the store's, dnsd
 *   serves one above the store's (the writers' next batch records it and moves
 *   the store's serial to that);
 * - a store put back by hand from an older copy (not by dnsdctl restore) would take
 *   the serial back: dnsd serves above the last serial it served, by an offset it
 *   keeps in its state directory and never lowers. */
struct serial_state {
	uint32_t offset;
	uint32_t last; /* the last serial served, when have_last */
	int have_last;
	int dirty; /* changed since loaded or saved */
};

/* RFC 1982 comparison: 1 when a is greater than b. */
int serial_gt(uint32_t a, uint32_t b);

/* The serial to serve: the store's serial and the digest of the zone file the
 * writers recorded (store_digest NULL when none is), the digest and serial of the
 * zone file dnsd loaded. Recorded as the last served. */
uint32_t serial_served(struct serial_state *st, uint32_t store_serial, const uint8_t *store_digest,
		       const uint8_t file_digest[32], uint32_t file_serial);

/* Reads dir/serial into st (a missing file leaves st zeroed and returns 0).
 * Returns 0, or DNSD_EINVAL/DNSD_EIO with err set (st zeroed: start afresh). */
int serial_state_load(const char *dir, struct serial_state *st, char *err, size_t errlen);

/* Writes st to dir/serial (a temporary file renamed over it) and clears dirty.
 * Returns 0, DNSD_EFULL (disk full) or DNSD_EIO with err set. */
int serial_state_save(const char *dir, struct serial_state *st, char *err, size_t errlen);
#endif
