/* test_wr: the write library's base on a real SQLite file: the sticky first
 * error, the bounded wait for another writer's lock, and staged key files
 * that reach their place only with the commit. */
#include "err.h"
#include "t_store.h"
#include "wr.h"
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t count_tenants(struct wr *w)
{
	return wr_int(w, wr_prep(w, "SELECT count(*) FROM tenants"), -1);
}

static void test_open_errors(void)
{
	struct wr w = {0};
	char missing[200];
	snprintf(missing, sizeof(missing), "%s/none.db", tmpdir);
	struct wr_conf conf = {.db = missing};
	T_EQ_INT(wr_open(&w, &conf, 0), DNSD_ENOENT);
	T_CHECK(strstr(w.err, "init") != NULL);
	wr_close(&w);
	wr_close(&w); /* twice is safe */
}

static void test_sticky(void)
{
	struct wr w = {0};
	t_open(&w, 0);
	T_EQ_STR(w.zone, "dkim.example.");
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w, "INSERT INTO tenants(name, created_at) VALUES (?, 1)", "s", "acme"));
	/* A bad statement sets the error... */
	T_CHECK(wr_prep(&w, "SELECT nonsense FROM nowhere") == NULL);
	T_EQ_INT(w.rc, DNSD_ESTORE);
	char first[sizeof(w.err)];
	snprintf(first, sizeof(first), "%s", w.err);
	/* ...and what follows does nothing, keeping the first error. */
	T_CHECK(wr_q(&w, "INSERT INTO tenants(name, created_at) VALUES ('b', 1)", "") == NULL);
	T_EQ_INT(wr_int(&w, wr_prep(&w, "SELECT 7"), -1), -1);
	T_EQ_INT(wr_fail(&w, DNSD_EINVAL, "tenant", "later"), DNSD_ESTORE);
	T_EQ_STR(w.err, first);
	T_EQ_STR(w.field, "");
	/* The commit refuses and rolls back: acme is not there. */
	T_EQ_INT(wr_commit(&w), DNSD_ESTORE);
	wr_clear(&w);
	T_EQ_INT(count_tenants(&w), 0);
	/* A field-named error, and a constraint failing maps to EINVAL. */
	T_EQ_INT(wr_fail(&w, DNSD_EINVAL, "tenant", "bad %s", "name"), DNSD_EINVAL);
	T_EQ_STR(w.field, "tenant");
	T_EQ_STR(w.err, "bad name");
	wr_clear(&w);
	T_EQ_INT(wr_begin(&w), 0);
	T_EQ_INT(wr_run(&w,
			wr_q(&w, "INSERT INTO tenants(name, created_at) VALUES (?, 1)", "s", "")),
		 DNSD_EINVAL);
	wr_rollback(&w);
	wr_clear(&w);
	/* A good batch commits. */
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w, "INSERT INTO tenants(name, created_at) VALUES (?, 1)", "s", "acme"));
	T_EQ_INT(wr_commit(&w), 0);
	T_EQ_INT(count_tenants(&w), 1);
	wr_close(&w);
}

static void test_busy(void)
{
	struct wr a = {0}, b = {0};
	t_open(&a, 200);
	t_open(&b, 200);
	T_EQ_INT(wr_begin(&a), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_EQ_INT(wr_begin(&b), DNSD_EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* It waited, and not for the default 5 s (a loose bound: a shared machine). */
	T_CHECK(waited >= 0.15 && waited < 4.0);
	T_CHECK(strstr(b.err, "locked by another writer") != NULL);
	wr_rollback(&a);
	wr_clear(&b);
	T_EQ_INT(wr_begin(&b), 0);
	T_EQ_INT(wr_commit(&b), 0);
	wr_close(&a);
	wr_close(&b);
}

/* Writes a staged file as a key writer does; returns its final path in final. */
static void stage_one(struct wr *w, const char *name, char *final, size_t n)
{
	char kabs[PATH_MAX], staged[2 * PATH_MAX], dir[PATH_MAX + 300];
	T_CHECK(realpath(keysdir, kabs) != NULL);
	T_EQ_INT(wr_stage_dir(w, kabs), 0);
	snprintf(dir, sizeof(dir), "%s/example.com", w->stage);
	mkdir(dir, 0700);
	snprintf(staged, sizeof(staged), "%s/%s", dir, name);
	FILE *f = fopen(staged, "w");
	T_CHECK(f != NULL);
	if (f)
		fclose(f);
	snprintf(final, n, "%s/example.com/%s", kabs, name);
	T_EQ_INT(wr_undo_add(w, staged, final), 0);
}

static void test_staging(void)
{
	struct wr w = {0};
	char final[PATH_MAX + 300];
	struct stat sb;
	t_open(&w, 0);
	/* Rolled back: the staged file and the staging directory are gone. */
	stage_one(&w, "a.pem", final, sizeof(final));
	char stage[sizeof(w.stage)];
	snprintf(stage, sizeof(stage), "%s", w.stage);
	T_EQ_INT(wr_begin(&w), 0);
	wr_rollback(&w);
	T_CHECK(stat(final, &sb) != 0);
	T_CHECK(stat(stage, &sb) != 0);
	/* Committed: the file is in its place. */
	stage_one(&w, "b.pem", final, sizeof(final));
	T_EQ_INT(wr_begin(&w), 0);
	T_EQ_INT(wr_commit(&w), 0);
	T_CHECK(stat(final, &sb) == 0);
	T_EQ_INT(w.nundo, 0);
	/* An error set before the commit takes the file back too. */
	stage_one(&w, "c.pem", final, sizeof(final));
	T_EQ_INT(wr_begin(&w), 0);
	wr_fail(&w, DNSD_EINVAL, "selector", "no");
	T_EQ_INT(wr_commit(&w), DNSD_EINVAL);
	T_CHECK(stat(final, &sb) != 0);
	wr_close(&w);
}

/* A kept statement is prepared once, reset at each use, and closed with w. */
static void test_kept(void)
{
	struct wr w = {0};
	static const char sql[] = "SELECT ? + 1";
	t_open(&w, 0);
	sqlite3_stmt *a = wr_qk(&w, sql, "i", (int64_t)1);
	T_EQ_INT(wr_int(&w, a, -1), 2);
	sqlite3_stmt *b = wr_qk(&w, sql, "i", (int64_t)41);
	T_CHECK(a == b); /* the same statement, not finalized by wr_int */
	T_EQ_INT(wr_int(&w, b, -1), 42);
	/* After wr_step, wr_done resets it for the next use. */
	b = wr_qk(&w, sql, "i", (int64_t)6);
	T_CHECK(wr_step(&w, b) == 1);
	wr_done(&w, b);
	T_EQ_INT(wr_int(&w, wr_qk(&w, sql, "i", (int64_t)9), -1), 10);
	T_EQ_INT(w.nkept, 1);
	/* An error set: nothing is prepared. */
	wr_fail(&w, DNSD_EINVAL, NULL, "stop");
	T_CHECK(wr_qk(&w, "SELECT 2", "") == NULL);
	wr_close(&w);
	T_EQ_INT(w.nkept, 0);
}

/* An operation's transaction nested in a caller's: its commit keeps its rows for the outer
 * commit, its rollback undoes only its own, and the outer rollback undoes both. */
static void test_nested(void)
{
	struct wr w = {0};
	t_open(&w, 0);
	int64_t base = count_tenants(&w);
	static const char ins[] = "INSERT INTO tenants(name, created_at) VALUES (?, 1)";
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w, ins, "s", "outer"));
	T_EQ_INT(wr_begin(&w), 0); /* an operation that succeeds */
	wr_run(&w, wr_q(&w, ins, "s", "kept"));
	T_EQ_INT(wr_commit(&w), 0);
	T_EQ_INT(w.depth, 1);
	T_EQ_INT(wr_begin(&w), 0); /* one that fails: its row goes, its error stays */
	wr_run(&w, wr_q(&w, ins, "s", "undone"));
	wr_fail(&w, DNSD_EINVAL, "tenant", "refused");
	T_EQ_INT(wr_commit(&w), DNSD_EINVAL);
	T_EQ_INT(w.depth, 1);
	T_EQ_INT(w.rc, DNSD_EINVAL);
	wr_clear(&w);
	T_EQ_INT(count_tenants(&w), base + 2);
	T_EQ_INT(wr_commit(&w), 0);
	T_EQ_INT(w.depth, 0);
	T_EQ_INT(count_tenants(&w), base + 2);
	/* The outer rollback takes an inner commit back too. */
	T_EQ_INT(wr_begin(&w), 0);
	T_EQ_INT(wr_begin(&w), 0);
	wr_run(&w, wr_q(&w, ins, "s", "gone"));
	T_EQ_INT(wr_commit(&w), 0);
	wr_rollback(&w);
	T_EQ_INT(w.depth, 0);
	T_EQ_INT(count_tenants(&w), base + 2);
	wr_close(&w);
}

int main(void)
{
	if (t_tmp("wr") || t_store_make(NULL, "dkim.example.", NULL))
		return 1;
	T_RUN(test_open_errors);
	T_RUN(test_sticky);
	T_RUN(test_busy);
	T_RUN(test_staging);
	T_RUN(test_kept);
	T_RUN(test_nested);
	t_tmp_rm();
	return t_done();
}
