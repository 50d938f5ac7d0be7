/* t_store.h: the temporary directory and SQLite store the unit tests on real
 * files share (with t.h). t_tmp makes /tmp/dnsd-test-NAME-XXXXXX and names
 * tmpdir, dbpath (its store.db) and keysdir (its keys/); t_path names another
 * file in it; t_store_make creates a store there as init leaves it (and the
 * keys directory); t_open opens a struct wr on the store; t_tmp_rm removes
 * the directory and all in it. */
#ifndef DNSD_T_STORE_H
#define DNSD_T_STORE_H
#include "t.h"
#include "wr.h"
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmpdir[64], dbpath[128], keysdir[128];

/* 0, or -1 with the reason printed. */
static inline int t_tmp(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dnsd-test-%s-XXXXXX", name);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/store.db", tmpdir);
	snprintf(keysdir, sizeof(keysdir), "%s/keys", tmpdir);
	return 0;
}

/* tmpdir/name into buf; returns buf. */
static inline const char *t_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

static inline int t_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

/* A directory that cannot be removed counts as a failed check. */
static inline void t_tmp_rm(void)
{
	t_name = "t_tmp_rm";
	T_EQ_INT(nftw(tmpdir, t_rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Creates the store at path (dbpath when NULL), its keys in keysdir (made
 * when missing), with the setting zone and then each statement of sql (NULL
 * after the last; sql may be NULL) in one transaction. 0, or the code with
 * the error printed. */
static inline int t_store_make(const char *path, const char *zone, const char *const *sql)
{
	struct wr w = {0};
	struct wr_conf conf = {.db = path ? path : dbpath, .keys = keysdir};
	if (mkdir(keysdir, 0700) && errno != EEXIST) {
		perror(keysdir);
		return -1;
	}
	int rc = wr_open(&w, &conf, 1);
	if (!rc)
		rc = wr_begin(&w);
	if (!rc) {
		wr_run(&w,
		       wr_q(&w, "INSERT INTO settings(name, value) VALUES ('zone', ?)", "s", zone));
		for (size_t i = 0; sql && sql[i]; i++)
			wr_run(&w, wr_q(&w, sql[i], ""));
		rc = wr_commit(&w);
	}
	if (rc)
		fprintf(stderr, "cannot make the store %s: %s\n", conf.db, w.err);
	wr_close(&w);
	return rc;
}

/* Opens w on the store at dbpath (a check of the test), waiting up to lock_ms
 * for another writer's lock (0: the library's default). */
static inline void t_open(struct wr *w, int lock_ms)
{
	struct wr_conf conf = {.db = dbpath, .keys = keysdir, .lock_ms = lock_ms};
	*w = (struct wr){0};
	T_EQ_INT(wr_open(w, &conf, 0), 0);
}
#endif
