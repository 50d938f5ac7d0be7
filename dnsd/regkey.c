/* regkey: the one key-file function the registry needs from the key
 * lifecycle's module, written against struct wr until that module's own
 * (keyfile.c) lands; then this file goes and reg_key_file's callers call it.
 * It is tools/keyctl.c's key_store_file without the command's context. */
#include "err.h"
#include "fsafe.h"
#include "keys.h"
#include "names.h"
#include "registry.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int reg_key_file(struct wr *w, const keys_key *k, const char *domain, const char *label,
		 const char *token, const char *suffix, char *path, size_t pathlen)
{
	char kbuf[4096], why[1200], kabs[PATH_MAX], sdir[PATH_MAX + 300], ddir[PATH_MAX + 300];
	if (w->rc)
		return w->rc;
	/* Only a host name, a label and a token go into a path, so that it stays
	 * in the keys directory ("../../x" and "a\nb" do not). */
	if (names_domain(domain, why, sizeof(why)) || !names_label(label, 63) ||
	    !keys_token_valid(token))
		return wr_fail(w, DNSD_EINVAL, NULL, "no key file is written for %s/%s: %s", domain,
			       label, why[0] ? why : "not a DNS label and a token");
	const char *kdir = wr_keys_dir(w, kbuf, sizeof(kbuf));
	snprintf(ddir, sizeof(ddir), "%s/%s", kdir, domain);
	/* Judged before anything is made in it, and the domain's directory: no
	 * other user may be able to swap either for a link to elsewhere. */
	why[0] = 0;
	int rc = fsafe_check(kdir, FSAFE_DIR | FSAFE_MISSING, why, sizeof(why));
	if (rc && rc != DNSD_ENOENT) /* a missing one is made just below, and judged then */
		return wr_fail(w, DNSD_EPERM, NULL, "refusing the key directory: %s", why);
	if (keys_dir_prepare(kdir, why, sizeof(why)) || !realpath(kdir, kabs))
		return wr_fail(w, DNSD_EIO, NULL, "key directory: %s",
			       why[0] ? why : strerror(errno));
	if (fsafe_check(kdir, FSAFE_DIR, why, sizeof(why)) ||
	    fsafe_check(ddir, FSAFE_DIR | FSAFE_MISSING, why, sizeof(why)))
		return wr_fail(w, DNSD_EPERM, NULL, "refusing the key directory: %s", why);
	/* Staged, and moved to its place only once the store has committed the
	 * row that names it (wr_commit). */
	if (wr_stage_dir(w, kabs))
		return w->rc;
	snprintf(sdir, sizeof(sdir), "%s/%s", w->stage, domain);
	if (mkdir(sdir, 0700) && errno != EEXIST)
		return wr_fail(w, errno == ENOSPC ? DNSD_EFULL : DNSD_EIO, NULL,
			       "cannot create %s: %s", sdir, strerror(errno));
	int64_t now = store_now();
	char staged[2 * PATH_MAX], name[400];
	for (int attempt = 0;; attempt++) {
		snprintf(name, sizeof(name), "%s-%s-%lld%s%s%.0d.pem", label, token, (long long)now,
			 suffix, attempt ? "-" : "", attempt);
		/* The store keeps an absolute reference: the signer reads it from elsewhere. */
		snprintf(path, pathlen, "%s/%s/%s", kabs, domain, name);
		snprintf(staged, sizeof(staged), "%s/%s", sdir, name);
		struct stat sb;
		rc = lstat(path, &sb) == 0 || lstat(staged, &sb) == 0
			     ? DNSD_EEXIST
			     : keys_write_private(k, staged, why, sizeof(why));
		if (rc != DNSD_EEXIST || attempt > 50)
			break;
	}
	if (rc)
		return wr_fail(w, rc, NULL, "%s", why);
	if (wr_undo_add(w, staged, path))
		unlink(staged);
	return w->rc;
}
