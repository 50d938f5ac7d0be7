/* fsafe: whether a file or directory is safe for a writer to act on: no user but
 * the caller (or root) can write it, or any directory above it, and it is not a
 * symbolic link. dnsdctl judges the store, the key directory, the export
 * directory and its config file this way before it trusts them (as OpenDKIM
 * judges its key files), and dnsd its TSIG key file. */
#ifndef DNSD_FSAFE_H
#define DNSD_FSAFE_H
#include <stddef.h>

enum {
	FSAFE_DIR = 1,	   /* path must be a directory (else a regular file) */
	FSAFE_MISSING = 2, /* path may not exist yet: then only the directories above are judged */
	FSAFE_READ = 4, /* read only (a config file): owned by root or the caller, not writable by
			   others */
};

/* Judges path (absolute or relative to the current directory) and every
 * directory above it. Each directory above must be owned by root or the caller
 * and writable by no one else, unless it has the sticky bit (as /tmp has: others
 * cannot rename what is ours in it). path itself must not be a symbolic link, must
 * be owned by the caller or root, and not writable by group or others. Returns 0,
 * DNSD_ENOENT (missing, without FSAFE_MISSING), or DNSD_EPERM with err saying what
 * is wrong and what to do. */
int fsafe_check(const char *path, int flags, char *err, size_t errlen);
#endif
