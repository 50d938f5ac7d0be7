/* backup: dnsdctl backup FILE and restore FILE, over the library's (backup.h). */
#include "backup.h"
#include "ctl.h"
#include <stdio.h>
#include <string.h>

void cmd_backup_restore(struct ctx *c)
{
	const char *cmd = c->o.pos[0], *file = c->o.pos[1];
	int64_t s0 = 0, s1 = 0;
	if (c->o.npos != 2)
		die_usage("%s FILE", cmd);
	open_store(c, 0);
	if (!strcmp(cmd, "backup")) {
		if (backup_write(&c->w, file, &s0))
			fail(c, "%s", c->w.err);
		printf("backup of %s (serial %lld) written to %s\n", c->o.db, (long long)s0, file);
		return;
	}
	int rc = backup_restore(&c->w, file, &s0, &s1);
	/* The writer was opened again: the shorthands follow it. */
	c->st = c->w.st;
	c->db = c->w.db;
	c->zone = c->w.zone;
	if (rc)
		fail(c, "%s", c->w.err);
	printf("restored %s from %s: serial %lld (was %lld); dnsd reloads it in full\n", c->o.db,
	       file, (long long)s1, (long long)s0);
}
