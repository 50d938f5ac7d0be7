/* keyfile: private key files in the keys directory (keyfile.h). */
#include "keyfile.h"
#include "err.h"
#include "fsafe.h"
#include "names.h"
#include "store.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keyfile_names_check(const char *domain, const char *label, const char *token, char *why,
			size_t n, const char **field)
{
	char dwhy[300], q[80];
	const char *f = NULL;
	if (names_domain(domain, dwhy, sizeof(dwhy)))
		f = "domain", snprintf(why, n, "%s", dwhy);
	else if (!names_label(label, 63))
		f = "selector", snprintf(why, n, "selector '%s' is not a DNS label",
					 names_show(q, sizeof(q), label));
	else if (!keys_token_valid(token))
		f = "token", snprintf(why, n, "token '%s' is not 16 characters of a-z, 2-7",
				      names_show(q, sizeof(q), token));
	if (field)
		*field = f;
	return f ? DNSD_EINVAL : 0;
}

int keyfile_store(struct wr *w, const keys_key *k, const char *domain, const char *label,
		  const char *token, const char *suffix, char *path, size_t pathlen)
{
	char kdir_buf[4096], dwhy[1200], kabs[PATH_MAX], sdir[PATH_MAX + 300], ddir[PATH_MAX + 300],
		nwhy[400];
	const char *field;
	if (w->rc)
		return w->rc;
	const char *kdir = wr_keys_dir(w, kdir_buf, sizeof(kdir_buf));
	/* The names come from the store, which anyone's SQL may have written: only
	 * a host name, a label and a token go into a path, so that it stays in the
	 * keys directory ("../../x" and "a\nb" do not). */
	if (keyfile_names_check(domain, label, token, nwhy, sizeof(nwhy), &field))
		return wr_fail(w, DNSD_EINVAL, field, "no key file is written for this row: %s",
			       nwhy);
	/* Judged before anything is made in it, and the domain's directory: no other
	 * user may be able to swap either for a link to elsewhere. */
	snprintf(ddir, sizeof(ddir), "%s/%s", kdir, domain);
	dwhy[0] = 0;
	int rc = fsafe_check(kdir, FSAFE_DIR | FSAFE_MISSING, dwhy, sizeof(dwhy));
	if (rc && rc != DNSD_ENOENT) /* a missing parent is made just below, and judged then */
		goto unsafe;
	if (keys_dir_prepare(kdir, dwhy, sizeof(dwhy)) || !realpath(kdir, kabs))
		return wr_fail(w, DNSD_EIO, NULL, "key directory: %s",
			       dwhy[0] ? dwhy : strerror(errno));
	if (fsafe_check(kdir, FSAFE_DIR, dwhy, sizeof(dwhy)) ||
	    fsafe_check(ddir, FSAFE_DIR | FSAFE_MISSING, dwhy, sizeof(dwhy)))
		goto unsafe;
	/* The file is written into this run's staging directory and moved to its
	 * place only once the store has committed the row that names it (commit):
	 * a run that fails or is killed leaves no key and no directory behind. */
	if (wr_stage_dir(w, kabs))
		return w->rc;
	snprintf(sdir, sizeof(sdir), "%s/%s", w->stage, domain);
	if (mkdir(sdir, 0700) && errno != EEXIST)
		return wr_fail(w, DNSD_EIO, NULL, "cannot create %s: %s", sdir, strerror(errno));
	int64_t now = store_now();
	char staged[2 * PATH_MAX], name[400], why[512];
	for (int attempt = 0;; attempt++) {
		snprintf(name, sizeof(name), "%s-%s-%lld%s%s%.0d.pem", label, token, (long long)now,
			 suffix, attempt ? "-" : "", attempt);
		/* The store keeps an absolute reference: the signer reads it from elsewhere. */
		snprintf(path, pathlen, "%s/%s/%s", kabs, domain, name);
		snprintf(staged, sizeof(staged), "%s/%s", sdir, name);
		struct stat sb;
		rc = lstat(path, &sb) == 0 ? DNSD_EEXIST
					   : keys_write_private(k, staged, why, sizeof(why));
		if (rc != DNSD_EEXIST || attempt > 50)
			break;
	}
	if (rc)
		return wr_fail(w, rc, NULL, "%s",
			       rc == DNSD_EEXIST ? "no free key file name" : why);
	if (wr_undo_add(w, staged, path))
		unlink(staged);
	return w->rc;
unsafe:
	return wr_fail(w, DNSD_EPERM, NULL, "refusing the key directory: %s", dwhy);
}

int keyfile_new(struct wr *w, const char *domain, const char *token, const char *alg,
		const char *label, char *pub, size_t publen, char *path, size_t pathlen)
{
	keys_key *k = NULL;
	if (w->rc)
		return w->rc;
	if (keys_generate(alg, &k))
		return wr_fail(w, DNSD_ECRYPTO, "algorithm", "cannot generate a %s key", alg);
	if (keys_public_b64(k, pub, publen) < 0) {
		keys_free(k);
		return wr_fail(w, DNSD_ECRYPTO, NULL, "cannot encode the public key");
	}
	int rc = keyfile_store(w, k, domain, label, token, "", path, pathlen);
	keys_free(k);
	if (rc) {
		/* The sentence dnsdctl has always printed: the file's error, then the
		 * promise that the store is as it was. */
		char why[sizeof(w->err)];
		snprintf(why, sizeof(why), "%s", w->err);
		snprintf(w->err, sizeof(w->err), "%.990s; nothing was changed", why);
	}
	return rc;
}

int keyfile_rename(struct wr *w, char *path, size_t n, const char *oldsel, const char *newsel)
{
	char *slash = strrchr(path, '/');
	size_t ol = strlen(oldsel);
	if (w->rc)
		return w->rc;
	if (!slash || !strcmp(oldsel, newsel) || strncmp(slash + 1, oldsel, ol) ||
	    slash[1 + ol] != '-' || !names_label(newsel, 63))
		return 0;
	for (size_t i = 0; i < w->nundo; i++) {
		if (strcmp(w->final[i], path))
			continue;
		/* Still staged: both names change, the staged file by a link. */
		char *ss = strrchr(w->undo[i], '/'), np[8192], ns[8192];
		snprintf(np, sizeof(np), "%.*s/%s%s", (int)(slash - path), path, newsel,
			 slash + 1 + ol);
		snprintf(ns, sizeof(ns), "%.*s/%s%s", (int)(ss - w->undo[i]), w->undo[i], newsel,
			 ss + 1 + ol);
		struct stat sb;
		if (strlen(np) >= n || lstat(np, &sb) == 0 || link(w->undo[i], ns))
			return 0;
		char *nu = strdup(ns), *nf = strdup(np);
		if (!nu || !nf) {
			free(nu);
			free(nf);
			unlink(ns);
			return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		}
		unlink(w->undo[i]);
		free(w->undo[i]);
		free(w->final[i]);
		w->undo[i] = nu;
		w->final[i] = nf;
		snprintf(path, n, "%s", np);
		return 0;
	}
	return 0;
}
