/* wstage: key files are staged, then moved into place once the store names
 * them, so that a writer that fails or is killed leaves no key and no
 * directory behind (wr.h says how). */
#include "err.h"
#include "fsafe.h"
#include "keys.h"
#include "wr.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wr_stage_dir(struct wr *w, const char *kabs)
{
	if (w->stage[0])
		return 0;
	/* One directory per batch, not per process: the API's workers are
	 * writers of one process, and one's publish removed the directory
	 * another was staging into (500 "cannot write key file"). */
	static unsigned long next;
	snprintf(w->stage, sizeof(w->stage), "%s/.stage-%ld-%lu", kabs, (long)getpid(),
		 __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED));
	if (mkdir(w->stage, 0700) && errno != EEXIST) {
		int e = errno;
		wr_fail(w, e == ENOSPC || e == EDQUOT ? DNSD_EFULL : DNSD_EIO, NULL,
			"cannot create %s: %s", w->stage, strerror(e));
		w->stage[0] = 0;
		return w->rc;
	}
	char why[1200];
	int rc = fsafe_check(w->stage, FSAFE_DIR, why, sizeof(why));
	if (rc) {
		wr_fail(w, rc, NULL, "refusing the staging directory: %s", why);
		w->stage[0] = 0;
		return w->rc;
	}
	return 0;
}

int wr_undo_add(struct wr *w, const char *staged, const char *final)
{
	if (w->nundo == w->capundo) {
		size_t n = w->capundo ? w->capundo * 2 : 8;
		char **u = realloc(w->undo, n * sizeof(*u)),
		     **f = u ? realloc(w->final, n * sizeof(*f)) : NULL;
		if (u)
			w->undo = u;
		if (!f)
			return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		w->final = f;
		w->capundo = n;
	}
	w->undo[w->nundo] = strdup(staged);
	w->final[w->nundo] = strdup(final);
	if (!w->undo[w->nundo] || !w->final[w->nundo]) {
		free(w->undo[w->nundo]);
		free(w->final[w->nundo]);
		return wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	}
	w->nundo++;
	return 0;
}

static void undo_clear(struct wr *w)
{
	for (size_t i = 0; i < w->nundo; i++) {
		free(w->undo[i]);
		free(w->final[i]);
	}
	w->nundo = 0;
}

/* Removes a staging directory: its domain directories (empty by now) and itself. */
static void stage_remove(const char *stage)
{
	DIR *d = opendir(stage);
	struct dirent *de;
	char p[PATH_MAX + 300];
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", stage, de->d_name);
		rmdir(p); /* only if empty */
	}
	if (d)
		closedir(d);
	rmdir(stage);
}

void wr_undo_drop(struct wr *w)
{
	for (size_t i = 0; i < w->nundo; i++)
		unlink(w->undo[i]);
	undo_clear(w);
	/* Forgotten too: a writer that lives on (the API server) makes a new one
	 * for its next batch. */
	if (w->stage[0])
		stage_remove(w->stage);
	w->stage[0] = 0;
}

/* Moves staged to final, making final's directory (0700, judged safe) if needed;
 * never over another file. Returns 0 or -1 with why. */
static int stage_move(const char *staged, const char *final, char *why, size_t n)
{
	char dir[PATH_MAX + 300], w[1200];
	snprintf(dir, sizeof(dir), "%s", final);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(why, n, "%s: not an absolute path", final);
		return -1;
	}
	*slash = 0;
	if (fsafe_check(dir, FSAFE_DIR | FSAFE_MISSING, w, sizeof(w)) ||
	    keys_dir_prepare(dir, w, sizeof(w)) || fsafe_check(dir, FSAFE_DIR, w, sizeof(w))) {
		snprintf(why, n, "%s", w);
		return -1;
	}
	if (link(staged, final)) {
		snprintf(why, n, "cannot move %s to %s: %s", staged, final, strerror(errno));
		return -1;
	}
	unlink(staged);
	return 0;
}

void wr_stage_publish(struct wr *w)
{
	char why[1500];
	int kept = 0;
	for (size_t i = 0; i < w->nundo; i++)
		if (stage_move(w->undo[i], w->final[i], why, sizeof(why))) {
			wr_warn(w, "%s; the key stays staged and the next writer moves it", why);
			kept = 1;
		}
	undo_clear(w);
	if (w->stage[0] && !kept)
		stage_remove(w->stage);
	w->stage[0] = 0;
}

/* One staging directory of a run that is gone: each file goes to its place if
 * the store names it there, else it is deleted. */
static void recover_one(struct wr *w, const char *kabs, const char *stage, const char *pid)
{
	DIR *d = opendir(stage), *dd;
	struct dirent *de, *fe;
	int moved = 0, removed = 0;
	char sub[2 * PATH_MAX], staged[2 * PATH_MAX], final[2 * PATH_MAX], why[1500];
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", stage, de->d_name) >= (int)sizeof(sub) ||
		    !(dd = opendir(sub)))
			continue;
		while ((fe = readdir(dd))) {
			if (fe->d_name[0] == '.')
				continue;
			if (snprintf(staged, sizeof(staged), "%s/%s", sub, fe->d_name) >=
				    (int)sizeof(staged) ||
			    snprintf(final, sizeof(final), "%s/%s/%s", kabs, de->d_name,
				     fe->d_name) >= (int)sizeof(final))
				continue;
			int named =
				wr_int(w,
				       wr_q(w, "SELECT count(*) FROM keys WHERE private_ref = ?",
					    "s", final),
				       0) > 0;
			if (w->rc)
				break;
			struct stat a, b;
			if (named && lstat(final, &b) == 0 && lstat(staged, &a) == 0 &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
				/* Killed between the link and the unlink: the move is done. */
				unlink(staged);
				moved++;
			} else if (named && !stage_move(staged, final, why, sizeof(why)))
				moved++;
			else if (!named && !unlink(staged))
				removed++;
		}
		closedir(dd);
	}
	if (d)
		closedir(d);
	stage_remove(stage);
	wr_warn(w,
		"finished the key files of an interrupted run (pid %s): %d moved into place, %d "
		"removed",
		pid, moved, removed);
}

/* Whether the run that made a staging directory still runs: a process of that
 * pid that is one of the writers and not a zombie (a killed one waits as a
 * zombie until its parent reaps it; a reused pid belongs to another program). */
static int run_alive(long pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "pid (comm) state ...": comm may hold spaces and parentheses. */
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (!open || !close || close[1] != ' ')
		return 1;
	*close = 0;
	int writer = !strcmp(open + 1, "dnsdctl") || !strcmp(open + 1, "dnsd-api");
	return writer && close[2] != 'Z' && close[2] != 'X';
}

void wr_stage_recover(struct wr *w)
{
	char kbuf[4096], kabs[PATH_MAX], stage[PATH_MAX + 300];
	const char *kdir = wr_keys_dir(w, kbuf, sizeof(kbuf));
	if (!realpath(kdir, kabs))
		return; /* no key directory yet: nothing staged */
	DIR *d = opendir(kabs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, ".stage-", 7))
			continue;
		char *end;
		long pid = strtol(de->d_name + 7, &end, 10);
		if (*end == '-') /* .stage-PID-N; .stage-PID from before */
			strtoul(end + 1, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		if (run_alive(pid))
			continue;
		snprintf(stage, sizeof(stage), "%s/%s", kabs, de->d_name);
		char why[1200];
		if (fsafe_check(stage, FSAFE_DIR, why, sizeof(why))) {
			wr_warn(w, "leaving %s alone: %s", stage, why);
			continue;
		}
		recover_one(w, kabs, stage, de->d_name + 7);
	}
	if (d)
		closedir(d);
}
