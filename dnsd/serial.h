/* serial: the SOA serial dnsd serves, derived from the store's serial without
 * writing the store. dnsd may not write what the writers act on, so what it must
 * remember of its own (how far zone-file edits and restored stores moved the
 * serial) lives in a small state file in a directory of its own (--state-dir). */
#ifndef DNSD_SERIAL_H
#define DNSD_SERIAL_H
#include <stddef.h>
#include <stdint.h>

/* served = store serial + offset (mod 2^32). offset grows by one for each change
 * of the zone file's content, and by what it takes to stay above the last serial
 * served (a store restored from an older copy) and above the zone file's serial. */
struct serial_state {
	uint32_t offset;
	uint32_t last;      /* the last serial served, when have_last */
	uint8_t digest[32]; /* the zone file's content, when have_digest */
	int have_last, have_digest;
	int dirty;          /* changed since loaded or saved */
};

/* RFC 1982 comparison: 1 when a is greater than b. */
int serial_gt(uint32_t a, uint32_t b);

/* Notes the zone file loaded: a content change moves the offset by one. */
void serial_zone(struct serial_state *st, const uint8_t digest[32]);

/* The serial to serve for the store's serial, given the zone file's serial;
 * recorded as the last served. */
uint32_t serial_served(struct serial_state *st, uint32_t store_serial, uint32_t file_serial);

/* Reads dir/serial into st (a missing file leaves st zeroed and returns 0).
 * Returns 0, or DNSD_EINVAL/DNSD_EIO with err set (st zeroed: start afresh). */
int serial_state_load(const char *dir, struct serial_state *st, char *err, size_t errlen);

/* Writes st to dir/serial (a temporary file renamed over it) and clears dirty.
 * Returns 0, DNSD_EFULL (disk full) or DNSD_EIO with err set. */
int serial_state_save(const char *dir, struct serial_state *st, char *err, size_t errlen);
#endif
