/* backup: copies of the store taken and put back through SQLite's own machinery, never by
 * moving files over a live store (a file renamed over a store in WAL mode is read with the old
 * -wal's pages mixed in: dnsd served the old data beside the new rows, and integrity_check said
 * ok). Write library operations (wr.h): 0 or a DNSD_E* code with w->err set, nothing printed. */
#ifndef DNSD_BACKUP_H
#define DNSD_BACKUP_H
#include "wr.h"
#include <stdint.h>

/* A consistent copy of w's store as of one moment (VACUUM INTO reads in one transaction) into
 * file, never over an existing file (DNSD_EEXIST, field "file"); *serial (may be NULL) gets the
 * store's serial. A failed copy leaves no file (DNSD_EFULL, DNSD_ESTORE). */
int backup_write(struct wr *w, const char *file, int64_t *serial);
/* The store's content becomes file's, in one SQLite transaction (the backup API) while dnsd
 * keeps reading; then w is opened again (an older backup's schema brought up to date) and one
 * batch moves the serial above the one before and journals a settings change, so that dnsd and
 * the secondaries reload in full and the serial never goes back. file must be a whole dnsd
 * store of w's zone that only its owner may change (DNSD_EPERM, DNSD_EINVAL, field "file"; then
 * nothing was changed). *before and *after (may be NULL) get the serials. */
int backup_restore(struct wr *w, const char *file, int64_t *before, int64_t *after);

#endif
