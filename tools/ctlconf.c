/* ctlconf: dnsdctl's config file (default /etc/dnsd/dnsdctl.conf): where the store,
 * the keys and the exports are, the zone file, and the export command. These come
 * only from this root-owned file and the command line, never from the store: a
 * row anyone with write access to the store could change must never name a
 * command or a path that dnsdctl acts on. */
#include "ctl.h"
#include "fsafe.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTLCONF_DEFAULT "/etc/dnsd/dnsdctl.conf"

static const struct {
	const char *name;
	size_t off;
} keys[] = {
#define K(n, f)                                                                                    \
	{                                                                                          \
		n, offsetof(struct opts, f)                                                        \
	}
	K("db", db),
	K("keys", keys),
	K("zone-file", zone_file),
	K("export-dir", export_dir),
	K("export-command", export_command),
	K("metrics-file", metrics_file),
#undef K
};

/* Where the errors go: fail() at the first (load), or each on stderr (check). */
struct report {
	int all, errors;
};

static void conf_err(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conf_err(struct report *r, const char *fmt, ...)
{
	char msg[2400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!r->all)
		fail(NULL, "%s", msg);
	fprintf(stderr, "dnsdctl: %s\n", msg);
	r->errors++;
}

/* Judges the path a setting names as the commands will: the store, the keys
 * and the export directory as writers trust them (fsafe_check; they may not
 * exist yet: the commands make them); the zone file must be readable, and the
 * export command's program, when named by its path, executable. */
static void check_path(struct report *r, const char *path, unsigned ln, size_t k, const char *v)
{
	static const int flags[] = {FSAFE_MISSING, FSAFE_DIR | FSAFE_MISSING, 0,
				    FSAFE_DIR | FSAFE_MISSING, 0};
	char why[1200], prog[1024];
	if (!*v)
		return; /* export-dir '' and export-command '': off */
	if (k == 2 || k == 4) {
		size_t n = k == 4 ? strcspn(v, " \t") : strlen(v);
		if ((k == 4 && v[0] != '/') || n >= sizeof(prog))
			return;
		memcpy(prog, v, n);
		prog[n] = 0;
		if (access(prog, k == 4 ? X_OK : R_OK))
			conf_err(r, "%s:%u: %s %s: %s", path, ln, keys[k].name, prog,
				 strerror(errno));
		return;
	}
	if (fsafe_check(v, flags[k], why, sizeof(why)))
		conf_err(r, "%s:%u: %s: %s", path, ln, keys[k].name, why);
}

/* Reads the file at path into o (the command line wins); reports each error to
 * r. must: a missing file is an error. check: judge the paths it names too. */
static void conf_read(struct opts *o, const char *path, int must, struct report *r, int check)
{
	char why[1024];
	if (fsafe_check(path, FSAFE_READ, why, sizeof(why))) {
		conf_err(r, "config file: %s", why);
		return;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		if (!must && errno == ENOENT)
			return;
		conf_err(r, "config file %s: %s", path, strerror(errno));
		return;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned ln = 0;
	int seen[sizeof(keys) / sizeof(keys[0])] = {0};
	while (getline(&line, &cap, f) >= 0) {
		ln++;
		char *s = ctl_trim(line);
		if (!*s || *s == '#')
			continue;
		size_t nl = strcspn(s, " \t");
		char *val = ctl_trim(s + nl);
		s[nl] = 0;
		size_t k;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strcmp(keys[k].name, s))
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			for (char *p = s; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			conf_err(r,
				 "%s:%u: unknown setting '%s' (known: db, keys, zone-file, "
				 "export-dir, "
				 "export-command, metrics-file, lock-timeout)",
				 path, ln, s);
			continue;
		}
		if (seen[k]++) {
			conf_err(r, "%s:%u: %s is set twice", path, ln, keys[k].name);
			continue;
		}
		const char *p;
		for (p = val; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				break;
		if (*p) {
			conf_err(r, "%s:%u: a control character in the value of %s", path, ln,
				 keys[k].name);
			continue;
		}
		if (!*val && strcmp(s, "export-dir") && strcmp(s, "export-command")) {
			conf_err(r, "%s:%u: %s needs a value", path, ln, keys[k].name);
			continue;
		}
		if (check)
			check_path(r, path, ln, k, val);
		const char **slot = (const char **)((char *)o + keys[k].off);
		if (*slot)
			continue; /* the command line wins */
		char *copy = strdup(val);
		if (!copy)
			fail(NULL, "out of memory");
		*slot = copy; /* lives as long as the process */
	}
	int e = ferror(f);
	free(line);
	fclose(f);
	if (e)
		conf_err(r, "config file %s: read error", path);
}

/* The file to read: --config, DNSDCTL_CONFIG or the default; NULL for none.
 * *must: a missing file is an error. */
static const char *conf_path(const struct opts *o, int *must)
{
	const char *path = o->config;
	*must = 1;
	if (!path)
		path = getenv("DNSDCTL_CONFIG");
	if (!path) {
		struct stat st;
		path = CTLCONF_DEFAULT;
		*must = 0;
		if (lstat(path, &st) != 0 && errno == ENOENT)
			return NULL;
	}
	return *path ? path : NULL; /* --config '': none */
}

void ctlconf_load(struct opts *o)
{
	struct report r = {0};
	int must;
	const char *path = conf_path(o, &must);
	if (path)
		conf_read(o, path, must, &r, 0);
}

int ctlconf_check(struct opts *o)
{
	struct report r = {.all = 1};
	int must;
	const char *path = conf_path(o, &must);
	if (!path) {
		printf("dnsdctl: no config file (%s does not exist)\n", CTLCONF_DEFAULT);
		return 0;
	}
	conf_read(o, path, 1, &r, 1);
	if (!r.errors)
		printf("dnsdctl: %s: ok\n", path);
	return r.errors;
}
