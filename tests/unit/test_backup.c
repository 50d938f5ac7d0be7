/* test_backup: backup_write and backup_restore (backup.h) on real SQLite files: a backup never
 * replaces a file; a restore puts the backup's rows back and moves the serial above the one
 * before; a file that is not a store, a store of another zone, and a file others may write are
 * refused and change nothing. */
#include "backup.h"
#include "err.h"
#include "registry.h"
#include "t_store.h"
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char file[160];

/* A store of zone at path, with a tenant acme; 0 or a code. */
static int make_store(const char *path, const char *zone)
{
	static const char *const sql[] = {
		"INSERT INTO tenants(name, created_at) VALUES ('acme', 1)", NULL};
	return t_store_make(path, zone, sql);
}

static int64_t domains(struct wr *w)
{
	return wr_int(w, wr_q(w, "SELECT count(*) FROM domains", ""), -1);
}

static void add(struct wr *w, const char *name)
{
	struct reg_domain_in in = {
		.name = name, .tenant = "acme", .ed25519 = -1, .algorithm = "ed25519"};
	T_EQ_INT(reg_domain_add(w, &in, NULL), 0);
}

static void test_roundtrip(void)
{
	struct wr w;
	int64_t serial = 0, before = 0, after = 0;
	t_open(&w, 0);
	add(&w, "kept.example");
	T_EQ_INT(backup_write(&w, file, &serial), 0);
	T_CHECK(serial > 0);
	/* Never over a file: the one just written. */
	T_EQ_INT(backup_write(&w, file, NULL), DNSD_EEXIST);
	T_EQ_STR(w.field, "file");
	wr_clear(&w);
	add(&w, "later.example");
	T_EQ_INT(domains(&w), 2);
	T_EQ_INT(backup_restore(&w, file, &before, &after), 0);
	T_EQ_INT(domains(&w), 1);
	T_CHECK(after > before);
	char *restored = wr_text(&w, wr_q(&w,
					  "SELECT value FROM settings WHERE name = "
					  "'restored_at'",
					  ""));
	T_CHECK(restored != NULL);
	free(restored);
	wr_close(&w);
}

static void refused(const char *path, int code, const char *why)
{
	struct wr w;
	t_open(&w, 0);
	int64_t n = domains(&w);
	t_name = why;
	T_EQ_INT(backup_restore(&w, path, NULL, NULL), code);
	T_EQ_STR(w.field, "file");
	wr_clear(&w);
	T_EQ_INT(domains(&w), n);
	wr_close(&w);
}

static void test_refused(void)
{
	char other[160], junk[160];
	snprintf(other, sizeof(other), "%s/other.db", tmpdir);
	snprintf(junk, sizeof(junk), "%s/junk.db", tmpdir);
	T_EQ_INT(make_store(other, "other.example."), 0);
	refused(other, DNSD_EINVAL, "another zone's store");
	FILE *f = fopen(junk, "w");
	if (f) {
		fputs("not a store\n", f);
		fclose(f);
	}
	refused(junk, DNSD_EINVAL, "not a store");
	chmod(file, 0666);
	refused(file, DNSD_EPERM, "a file others may write");
	chmod(file, 0600);
}

int main(void)
{
	if (t_tmp("backup") || make_store(NULL, "dkim.example."))
		return 1;
	snprintf(file, sizeof(file), "%s/backup.db", tmpdir);
	T_RUN(test_roundtrip);
	T_RUN(test_refused);
	t_tmp_rm();
	return t_done();
}
