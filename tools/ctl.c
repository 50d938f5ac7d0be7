/* ctl: helpers shared by the parts of dnsdctl. */
#include "ctl.h"
#include "err.h"
#include "fsafe.h"
#include "policy.h"
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


void die_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "dnsdctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see dnsdctl --help)\n");
	exit(2);
}

/* Prints the error and exits: commands call it before or after their transaction,
 * never inside one that is open (they roll back first). */
void fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c && c->st)
		store_write_rollback(c->st);
	if (c)
		undo_drop(c);
	fprintf(stderr, "dnsdctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* ---- output helpers ---- */

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void json_kv(FILE *f, int *first, const char *k, const char *v)
{
	fprintf(f, "%s", *first ? "" : ", ");
	*first = 0;
	json_str(f, k);
	fputs(": ", f);
	if (v)
		json_str(f, v);
	else
		fputs("null", f);
}

void json_ki(FILE *f, int *first, const char *k, long long v)
{
	fprintf(f, "%s", *first ? "" : ", ");
	*first = 0;
	json_str(f, k);
	fprintf(f, ": %lld", v);
}

const char *fmt_time(int64_t t, char *buf, size_t n)
{
	if (t <= 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- store access ---- */

sqlite3_stmt *prep(struct ctx *c, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail(c, "store error: %s", sqlite3_errmsg(c->db));
	return st;
}

/* Binds text and integer arguments: fmt has one letter per argument, s or i. */
sqlite3_stmt *q(struct ctx *c, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = prep(c, sql);
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	return st;
}

void run(struct ctx *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		fail(c, "store error: %s; nothing was changed", sqlite3_errmsg(c->db));
}

int64_t one_int(struct ctx *c, sqlite3_stmt *st, int64_t def)
{
	int64_t v = def;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail(c, "store error: %s", sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	return v;
}

char *one_text(struct ctx *c, sqlite3_stmt *st)
{
	char *v = NULL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail(c, "store error: %s", sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	return v;
}

void begin(struct ctx *c)
{
	if (store_write_begin(c->st, c->err, sizeof(c->err)))
		fail(c, "%s", c->err);
}

void commit(struct ctx *c)
{
	if (store_write_commit(c->st, c->err, sizeof(c->err)))
		fail(c, "cannot commit: %s; nothing was changed", c->err);
	stage_publish(c); /* the files written are now the store's: to their place */
}

void need_safe(struct ctx *c, const char *what, const char *path, int flags)
{
	char why[1200];
	if (fsafe_check(path, flags, why, sizeof(why)))
		fail(c, "refusing the %s: %s", what, why);
}

void open_store(struct ctx *c, int create)
{
	/* The store, and what SQLite keeps beside it: anyone else who could write
	 * them could change what dnsdctl writes into the keys and the exports. A
	 * missing directory is left to store_open to explain. */
	static const char *const what[] = { "store", "store's WAL file", "store's shared-memory file" };
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char path[4200], why[1200];
	int rc;
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", c->o.db, suffix[i]);
		rc = fsafe_check(path, FSAFE_MISSING, why, sizeof(why));
		if (rc && rc != DNSD_ENOENT)
			fail(NULL, "refusing the %s: %s", what[i], why);
	}
	rc = store_open(c->o.db, create ? STORE_CREATE : 0, &c->st, c->err, sizeof(c->err));
	if (rc)
		fail(NULL, "%s", c->err);
	c->db = store_db(c->st);
	if (!create) {
		c->zone = store_setting(c->st, "zone");
		if (!c->zone)
			fail(c, "%s is not initialised: run 'dnsdctl --db %s init --zone ZONE' first", c->o.db,
			     c->o.db);
		stage_recover(c);
	}
}

/* ---- names ---- */

/* Normalises a domain argument: lowercase, no trailing dot. Fails with a message
 * when it is not a valid host name. */
void norm_domain(struct ctx *c, const char *in, char *out, size_t n)
{
	char why[512];
	if (strlen(in) >= n)
		fail(c, "domain '%.40s...' is too long", in);
	if (policy_name_check(in, 0, why, sizeof(why)))
		fail(c, "%s", why);
	size_t l = strlen(in);
	for (size_t i = 0; i <= l; i++)
		out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
	if (l && out[l - 1] == '.')
		out[l - 1] = 0;
}

int64_t tenant_id(struct ctx *c, const char *name, int must)
{
	int64_t id = one_int(c, q(c, "SELECT id FROM tenants WHERE name = ?", "s", name), 0);
	if (!id && must)
		fail(c, "no tenant '%s' (see 'dnsdctl tenant list')", name);
	return id;
}


/* Finds the live (active) domain by name, or with any_state the newest row. */
int find_domain(struct ctx *c, const char *name, struct domain_row *d, int any_state)
{
	sqlite3_stmt *st = q(c,
			     "SELECT d.id, d.tenant_id, d.name, d.token, d.return_path, d.state, t.name, "
			     "d.created_at, ifnull(d.removed_at, 0) FROM domains d JOIN tenants t ON t.id = d.tenant_id "
			     "WHERE d.name = ?1 AND (?2 OR d.state = 'active') "
			     "ORDER BY d.state = 'active' DESC, d.id DESC LIMIT 1",
			     "si", name, (int64_t)any_state);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		d->id = sqlite3_column_int64(st, 0);
		d->tenant_id = sqlite3_column_int64(st, 1);
		snprintf(d->name, sizeof(d->name), "%s", sqlite3_column_text(st, 2));
		snprintf(d->token, sizeof(d->token), "%s", sqlite3_column_text(st, 3));
		snprintf(d->rp, sizeof(d->rp), "%s", sqlite3_column_text(st, 4));
		snprintf(d->state, sizeof(d->state), "%s", sqlite3_column_text(st, 5));
		snprintf(d->tenant, sizeof(d->tenant), "%s", sqlite3_column_text(st, 6));
		d->created_at = sqlite3_column_int64(st, 7);
		d->removed_at = sqlite3_column_int64(st, 8);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail(c, "store error: %s", sqlite3_errmsg(c->db));
	return rc == SQLITE_ROW;
}

void need_domain(struct ctx *c, const char *arg, struct domain_row *d, int any_state)
{
	char name[256];
	norm_domain(c, arg, name, sizeof(name));
	if (!find_domain(c, name, d, any_state))
		fail(c, "no domain '%s' (see 'dnsdctl domain list')", name);
}

int valid_label(const char *s, int allow_underscore)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      (allow_underscore && *s == '_')))
			return 0;
	return 1;
}

const char *keys_dir(struct ctx *c, char *buf, size_t n)
{
	if (c->o.keys)
		return c->o.keys;
	/* Never a directory named by the store: every run (the timer's, yours)
	 * agrees through the config file. */
	char *tmp = strdup(c->o.db);
	snprintf(buf, n, "%s/keys", dirname(tmp));
	free(tmp);
	return buf;
}


int yes_no(struct ctx *c, const char *v, const char *what, int def)
{
	if (!v)
		return def;
	if (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	fail(c, "%s is yes or no, not '%s'", what, v);
}

long num_arg(struct ctx *c, const char *v, const char *what, long lo, long hi, long def)
{
	char *end;
	if (!v)
		return def;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < lo || n > hi)
		fail(c, "%s must be a whole number from %ld to %ld, not '%s'", what, lo, hi, v);
	return n;
}

int slot_selector(const char *prefix, int pos, int nmain, char *out, size_t n)
{
	if (pos > nmain) {
		snprintf(out, n, "%s-ed%d", prefix, pos - nmain);
		return 1;
	}
	snprintf(out, n, "%s%d", prefix, pos);
	return 0;
}
