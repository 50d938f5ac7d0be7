/* stage: key files are staged, then moved into place once the store names them,
 * so that a dnsdctl run that fails or is killed leaves no key and no directory
 * behind (ctl.h says how). */
#include "ctl.h"
#include "err.h"
#include "fsafe.h"
#include "keys.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int stage_dir(struct ctx *c, const char *kabs, char *why, size_t n)
{
	if (c->stage[0])
		return 0;
	snprintf(c->stage, sizeof(c->stage), "%s/.stage-%ld", kabs, (long)getpid());
	if (mkdir(c->stage, 0700) && errno != EEXIST) {
		snprintf(why, n, "cannot create %s: %s", c->stage, strerror(errno));
		c->stage[0] = 0;
		return -1;
	}
	char w[1200];
	if (fsafe_check(c->stage, FSAFE_DIR, w, sizeof(w))) {
		snprintf(why, n, "refusing the staging directory: %s", w);
		c->stage[0] = 0;
		return -1;
	}
	return 0;
}

void undo_add(struct ctx *c, const char *staged, const char *final)
{
	if (c->nundo == c->capundo) {
		size_t n = c->capundo ? c->capundo * 2 : 8;
		char **u = realloc(c->undo, n * sizeof(*u)),
		     **f = u ? realloc(c->final, n * sizeof(*f)) : NULL;
		if (u)
			c->undo = u;
		if (!f)
			fail(c, "out of memory");
		c->final = f;
		c->capundo = n;
	}
	c->undo[c->nundo] = strdup(staged);
	c->final[c->nundo] = strdup(final);
	if (!c->undo[c->nundo] || !c->final[c->nundo])
		fail(c, "out of memory");
	c->nundo++;
}

void undo_clear(struct ctx *c)
{
	for (size_t i = 0; i < c->nundo; i++) {
		free(c->undo[i]);
		free(c->final[i]);
	}
	c->nundo = 0;
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

void undo_drop(struct ctx *c)
{
	for (size_t i = 0; i < c->nundo; i++)
		unlink(c->undo[i]);
	undo_clear(c);
	if (c->stage[0])
		stage_remove(c->stage);
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

void stage_publish(struct ctx *c)
{
	char why[1500];
	int kept = 0;
	for (size_t i = 0; i < c->nundo; i++)
		if (stage_move(c->undo[i], c->final[i], why, sizeof(why))) {
			fprintf(stderr,
				"dnsdctl: %s; the key stays staged and the next dnsdctl run moves "
				"it\n",
				why);
			kept = 1;
		}
	undo_clear(c);
	if (c->stage[0] && !kept)
		stage_remove(c->stage);
	c->stage[0] = 0;
}

/* One staging directory of a run that is gone: each file goes to its place if
 * the store names it there, else it is deleted. */
static void recover_one(struct ctx *c, const char *kabs, const char *stage, const char *pid)
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
			int named = one_int(c,
					    q(c, "SELECT count(*) FROM keys WHERE private_ref = ?",
					      "s", final),
					    0) > 0;
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
	fprintf(stderr,
		"dnsdctl: finished the key files of an interrupted run (pid %s): %d moved into "
		"place, %d "
		"removed\n",
		pid, moved, removed);
}

/* Whether the run that made a staging directory still runs: a process of that
 * pid that is dnsdctl and not a zombie (a killed one waits as a zombie until
 * its parent reaps it; a reused pid belongs to another program). */
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
	return strcmp(open + 1, "dnsdctl") == 0 && close[2] != 'Z' && close[2] != 'X';
}

void stage_recover(struct ctx *c)
{
	char kbuf[4096], kabs[PATH_MAX], stage[PATH_MAX + 300];
	const char *kdir = keys_dir(c, kbuf, sizeof(kbuf));
	if (!realpath(kdir, kabs))
		return; /* no key directory yet: nothing staged */
	DIR *d = opendir(kabs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, ".stage-", 7))
			continue;
		char *end;
		long pid = strtol(de->d_name + 7, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		if (run_alive(pid))
			continue;
		snprintf(stage, sizeof(stage), "%s/%s", kabs, de->d_name);
		char why[1200];
		if (fsafe_check(stage, FSAFE_DIR, why, sizeof(why))) {
			fprintf(stderr, "dnsdctl: leaving %s alone: %s\n", stage, why);
			continue;
		}
		recover_one(c, kabs, stage, de->d_name + 7);
	}
	if (d)
		closedir(d);
}
