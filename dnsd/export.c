/* export: the signer's view of the store. The active keys with a private key
 * are written as OpenDKIM KeyTable/SigningTable files (RSA and Ed25519 apart),
 * Rspamd selector and path maps, and keys.json, into the export directory;
 * then the export command (the signer's reload) runs. dnsd never reads them. */
#include "export.h"
#include "err.h"
#include "fsafe.h"
#include "lifecycle.h"
#include "names.h"
#include "store.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Opens path for reading unless it is a symbolic link (or missing): NULL then. */
static FILE *fopen_nofollow(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (fd >= 0 && !f)
		close(fd);
	return f;
}

/* Writes content to dir/name if it differs from what is there: a temporary
 * file beside it, synced, then renamed over it. Returns 1 if written, 0 if the
 * same, -1 on error (why set). */
static int write_if_changed(const char *dir, const char *name, const char *content, size_t len,
			    char *why, size_t n)
{
	char path[4400], tmp[4400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen_nofollow(path);
	if (f) {
		char *old = malloc(len + 1);
		size_t got = old ? fread(old, 1, len + 1, f) : 0;
		int same = old && got == len && !memcmp(old, content, len);
		free(old);
		fclose(f);
		if (same)
			return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(why, n, "cannot create a file in %s: %s", dir, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, content + off, len - off);
		if (w <= 0) {
			snprintf(why, n, "cannot write %s: %s", tmp,
				 w < 0 ? strerror(errno) : "short write");
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) || fsync(fd) || close(fd)) {
		snprintf(why, n, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		snprintf(why, n, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 1;
}

/* 0 when an active key's row makes valid lines in the exports: its domain a
 * host name, its selector a label, its role and algorithm known, its private
 * key an absolute path of characters no table splits on; else 1 with why. */
static int export_row_bad(const char *dom, const char *sel, const char *role, const char *alg,
			  const char *path, char *why, size_t n)
{
	char q[96];
	if (names_domain(dom, why, n))
		return 1;
	if (!names_label(sel, 63))
		snprintf(why, n, "selector '%s' is not a DNS label", names_show(q, sizeof(q), sel));
	else if (!role || (strcmp(role, "main") && strcmp(role, "ed25519")))
		snprintf(why, n, "role '%s' is not main or ed25519",
			 names_show(q, sizeof(q), role));
	else if (!alg || (strcmp(alg, "ed25519") && strncmp(alg, "rsa-", 4)))
		snprintf(why, n, "algorithm '%s' is not ed25519 or rsa-<bits>",
			 names_show(q, sizeof(q), alg));
	else if (!names_key_path(path))
		snprintf(why, n,
			 "private key '%s' is not an absolute path fit for a table line (no "
			 "blanks, ':', "
			 "'#', '\"', '\\', control characters, '.' or '..' parts)",
			 names_show(q, sizeof(q), path));
	else
		return 0;
	return 1;
}

/* 1 when path is a file directly in kabs/dom/ (kabs: the key directory, absolute,
 * without links; "" when there is none). */
static int key_path_inside(const char *kabs, const char *dom, const char *path)
{
	size_t kl = strlen(kabs), dl = strlen(dom);
	if (!kl || strncmp(path, kabs, kl) || path[kl] != '/' || strncmp(path + kl + 1, dom, dl) ||
	    path[kl + 1 + dl] != '/')
		return 0;
	const char *file = path + kl + 1 + dl + 1;
	return *file && !strchr(file, '/');
}

char *export_dir(const char *configured, const char *db)
{
	if (configured)
		return strdup(configured);
	char *tmp = strdup(db), *out = NULL;
	if (tmp && asprintf(&out, "%s/exports", dirname(tmp)) < 0)
		out = NULL;
	free(tmp);
	return out;
}

/* Makes dir and its parents, mode 0755: the signer, another user, reads it. */
static int mkdir_p(const char *dir, char *why, size_t n)
{
	char p[4096];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p)) {
		snprintf(why, n, "path too long");
		return -1;
	}
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char ch = *s;
			*s = 0;
			if (mkdir(p, 0755) == 0) {
				/* Whatever the umask (the job's unit sets 0027). */
				if (chmod(p, 0755)) {
					snprintf(why, n, "cannot chmod %s: %s", p, strerror(errno));
					return -1;
				}
			} else if (errno != EEXIST) {
				snprintf(why, n, "cannot create %s: %s", p, strerror(errno));
				return -1;
			}
			*s = ch;
			if (!ch)
				break;
		}
	}
	return 0;
}

int export_write(struct wr *w, const struct export_conf *ec, int *changed)
{
	*changed = 0;
	if (w->rc)
		return w->rc;
	char *dir = export_dir(ec->dir, w->conf.db);
	if (!dir || !*dir) {
		free(dir);
		return 0; /* exports turned off */
	}
	char why[9400] = "";
	int status = 0, lockfd = -1;
	/* OpenDKIM signs with one algorithm per instance (its SignatureAlgorithm),
	 * so RSA and Ed25519 keys get tables of their own: dual signing is two
	 * instances, or one reading only the RSA tables. Rspamd's maps name one
	 * selector per domain and its PEM loader takes RSA: the main RSA key. */
	enum { KT, ST, KE, SE, RS, RP, JS, NF };
	static const char *const names[NF] = {"KeyTable",
					      "SigningTable",
					      "KeyTable.ed25519",
					      "SigningTable.ed25519",
					      "rspamd-selectors.map",
					      "rspamd-paths.map",
					      "keys.json"};
	char *buf[NF] = {0};
	size_t len[NF] = {0};
	FILE *f[NF] = {0};
	if (mkdir_p(dir, why, sizeof(why)))
		goto failed;
	char dwhy[1200];
	if (fsafe_check(dir, FSAFE_DIR, dwhy, sizeof(dwhy))) {
		snprintf(why, sizeof(why), "refusing the export directory: %s", dwhy);
		goto failed;
	}
	char lockpath[4400];
	snprintf(lockpath, sizeof(lockpath), "%s/.lock", dir);
	/* One writer at a time, reading and writing under the same lock, so two
	 * jobs cannot leave an older view renamed over a newer one. */
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (lockfd < 0 || flock(lockfd, LOCK_EX)) {
		snprintf(why, sizeof(why), "cannot lock %s: %s", lockpath, strerror(errno));
		goto failed;
	}
	/* The serial the files were last written at: when the store still serves
	 * it, nothing that decides the active keys can have changed (every change
	 * to keys is journaled and moves the serial), so a job that ran for
	 * nothing does not read a million keys every five minutes. */
	char mark[4400], pending[4400], want[32];
	snprintf(mark, sizeof(mark), "%s/.serial", dir);
	snprintf(pending, sizeof(pending), "%s/.command-pending", dir);
	snprintf(want, sizeof(want), "%lld\n", (long long)store_serial(w->st));
	int was_pending = access(pending, F_OK) == 0;
	if (!ec->force && !was_pending) {
		char have[32] = "";
		FILE *m = fopen_nofollow(mark);
		if (m) {
			if (!fgets(have, sizeof(have), m))
				have[0] = 0;
			fclose(m);
		}
		int all = 1;
		for (int i = 0; i < NF && all; i++) {
			char p[4400];
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			all = access(p, F_OK) == 0;
		}
		if (all && !strcmp(have, want))
			goto done;
		/* The caller knows its batch changed no active key with a private key
		 * (an import of public keys only): if the files were current just
		 * before it, they still are, and only the mark moves. */
		char before[32];
		snprintf(before, sizeof(before), "%lld\n", (long long)ec->same_from);
		if (all && ec->same_from && !strcmp(have, before)) {
			if (write_if_changed(dir, ".serial", want, strlen(want), why, sizeof(why)) <
			    0)
				goto failed;
			goto done;
		}
	}
	for (int i = 0; i < NF; i++)
		if (!(f[i] = open_memstream(&buf[i], &len[i]))) {
			snprintf(why, sizeof(why), "out of memory");
			goto failed;
		}
	fprintf(f[KT],
		"# OpenDKIM KeyTable written by dnsdctl: the active RSA DKIM keys. Do not edit.\n");
	fprintf(f[ST],
		"# OpenDKIM SigningTable (refile:) written by dnsdctl: RSA keys. Do not edit.\n");
	fprintf(f[KE], "# OpenDKIM KeyTable written by dnsdctl: the active Ed25519 DKIM keys. Do "
		       "not edit.\n");
	fprintf(f[SE], "# OpenDKIM SigningTable (refile:) written by dnsdctl: Ed25519 keys. Do not "
		       "edit.\n");
	fprintf(f[RS], "# Rspamd dkim_signing selector_map written by dnsdctl. Do not edit.\n");
	fprintf(f[RP], "# Rspamd dkim_signing path_map written by dnsdctl. Do not edit.\n");
	fprintf(f[JS], "{\"keys\": [");
	sqlite3_stmt *st = wr_q(
		w,
		"SELECT d.name, s.selector, s.role, k.algorithm, k.private_ref, k.activated_at, "
		"k.id FROM keys k "
		"JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id "
		"WHERE k.state = 'active' AND d.state = 'active' AND k.private_ref IS NOT NULL "
		"ORDER BY d.name, s.role = 'ed25519', s.position",
		"");
	int first = 1, rc;
	char kbuf[4096], kabs[PATH_MAX] = "";
	const char *kdir = wr_keys_dir(w, kbuf, sizeof(kbuf));
	if (!realpath(kdir, kabs))
		kabs[0] = 0; /* no key directory: no key file can be in it */
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dom = (const char *)sqlite3_column_text(st, 0);
		const char *sel = (const char *)sqlite3_column_text(st, 1);
		const char *role = (const char *)sqlite3_column_text(st, 2);
		const char *alg = (const char *)sqlite3_column_text(st, 3);
		const char *path = (const char *)sqlite3_column_text(st, 4);
		char tb[32], bad[PATH_MAX + 400] = "", qd[96];
		/* A row that would not make a line of its own (a newline in a name,
		 * a blank in a path) would write lines of its choosing into the
		 * signer's tables: it is left out of every file, and said. */
		if (!export_row_bad(dom, sel, role, alg, path, bad, sizeof(bad)) &&
		    !key_path_inside(kabs, dom, path)) {
			/* The store names the key file, and anyone's SQL may write the
			 * store: the signer reads only this domain's own files in the key
			 * directory of the config, never a file the row chose. */
			snprintf(bad, sizeof(bad), "its private key is not a file of %s/%s/",
				 kabs[0] ? kabs : kdir, names_show(qd, sizeof(qd), dom));
		}
		if (bad[0]) {
			wr_warn(w, "exports: key %lld of domain '%s' left out: %s",
				(long long)sqlite3_column_int64(st, 6),
				names_show(qd, sizeof(qd), dom), bad);
			continue;
		}
		int ed = !strcmp(alg, "ed25519");
		fprintf(f[ed ? KE : KT], "%s._domainkey.%s %s:%s:%s\n", sel, dom, dom, sel, path);
		fprintf(f[ed ? SE : ST], "*@%s %s._domainkey.%s\n", dom, sel, dom);
		if (!strcmp(role, "main") && !ed) {
			fprintf(f[RS], "%s %s\n", dom, sel);
			fprintf(f[RP], "%s %s\n", dom, path);
		}
		/* export_row_bad let through only names, a known role and algorithm
		 * and a path without '"', '\\' or control characters: every value is
		 * a JSON string as it stands. */
		fprintf(f[JS],
			"%s\n  {\"domain\": \"%s\", \"selector\": \"%s\", \"role\": \"%s\", "
			"\"algorithm\": \"%s\", \"private_key\": \"%s\", \"activated\": \"%s\"}",
			first ? "" : ",", dom, sel, role, alg, path,
			lc_time(sqlite3_column_int64(st, 5), tb, sizeof(tb)));
		first = 0;
	}
	sqlite3_finalize(st);
	if (!st || rc != SQLITE_DONE) {
		snprintf(why, sizeof(why), "store error: %s", st ? sqlite3_errmsg(w->db) : w->err);
		wr_clear(w);
		goto failed;
	}
	fprintf(f[JS], "%s]}\n", first ? "" : "\n");
	for (int i = 0; i < NF; i++) {
		fclose(f[i]);
		f[i] = NULL;
	}
	for (int i = 0; i < NF; i++) {
		int wrote = write_if_changed(dir, names[i], buf[i], len[i], why, sizeof(why));
		if (wrote < 0)
			goto failed;
		*changed |= wrote;
	}
	if (*changed) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	const char *cmd = ec->command;
	if ((*changed || was_pending || ec->force) && cmd && *cmd) {
		/* Said before it runs: if it fails or we die, the next run runs it
		 * again even though the files are already what they should be. */
		int pf = open(pending, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (pf >= 0)
			close(pf);
		/* The signer reloads while we still hold the lock: no newer export can
		 * be renamed under it half way. What the caller has buffered goes out
		 * before the command's own output (this prints nothing itself). */
		fflush(NULL);
		setenv("DNSD_EXPORT_DIR", dir, 1);
		int ws = system(cmd);
		if (ws == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
			/* Never the command's text: it may hold a password or a token. */
			snprintf(why, sizeof(why), "the export command failed (%s %d)",
				 ws != -1 && WIFEXITED(ws) ? "exit status" : "signal or error",
				 ws == -1	 ? -1
				 : WIFEXITED(ws) ? WEXITSTATUS(ws)
						 : WTERMSIG(ws));
			goto failed;
		}
		unlink(pending);
	}
	if (write_if_changed(dir, ".serial", want, strlen(want), why, sizeof(why)) < 0)
		goto failed;
	goto done;
failed:
	status = wr_fail(w, DNSD_EIO, NULL,
			 "exports in %s: %s (the store change itself is committed; run 'dnsdctl "
			 "export' to retry)",
			 dir, why);
done:
	for (int i = 0; i < NF; i++) {
		if (f[i])
			fclose(f[i]);
		free(buf[i]);
	}
	if (lockfd >= 0)
		close(lockfd);
	free(dir);
	return status;
}
