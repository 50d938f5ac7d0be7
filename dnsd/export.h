/* export: the signer's view of the store: the active keys written as the
 * tables OpenDKIM and Rspamd read, and keys.json, then the export command. */
#ifndef DNSD_EXPORT_H
#define DNSD_EXPORT_H
#include "wr.h"
#include <stdint.h>

/* What the configuration says about the exports (never the store). */
struct export_conf {
	const char *dir;     /* the export directory; NULL: exports/ beside the store; "": off */
	const char *command; /* run after the files changed (the signer's reload); may be NULL */
	int force;	     /* rewrite them, and run the command, even if nothing changed */
	/* The serial before a batch that changed no active key with a private key
	 * (an import of public keys only): if the files were current then, only
	 * their serial mark moves. 0: unknown. */
	int64_t same_from;
};

/* The export directory: configured, else exports/ beside the store db; "" when
 * turned off. Caller frees; NULL when out of memory. */
char *export_dir(const char *configured, const char *db);

/* Rewrites the exports of w's store if the set of active keys changed since
 * they were last written (the store's serial says), each file atomically and
 * only if its content differs, under a lock of the directory; then runs the
 * command if a file changed (or a run of it failed before). Rows whose names
 * would not make lines of their own, and keys whose file is not in their
 * domain's key directory, are left out and said through wr_warn. *changed: 1
 * if a file was rewritten. Call it after the batch committed. Returns 0, or
 * DNSD_EIO with w->err saying what failed (the store change stays committed). */
int export_write(struct wr *w, const struct export_conf *ec, int *changed);

#endif
