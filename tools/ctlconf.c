/* ctlconf: dnsdctl's config file (default /etc/dnsd/dnsdctl.conf): where the store,
 * the keys and the exports are, the zone file, and the export command. These come
 * only from this root-owned file and the command line, never from the store: a
 * row anyone with write access to the store could change must never name a
 * command or a path that dnsdctl acts on. */
#include "ctl.h"
#include "fsafe.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	K("lock-timeout", lock_timeout),
#undef K
};

void ctlconf_load(struct opts *o)
{
	const char *path = o->config;
	int must = 1;
	if (!path)
		path = getenv("DNSDCTL_CONFIG");
	if (!path) {
		struct stat st;
		path = CTLCONF_DEFAULT;
		must = 0;
		if (lstat(path, &st) != 0 && errno == ENOENT)
			return;
	}
	if (!*path)
		return; /* --config '': none */
	char why[1024];
	if (fsafe_check(path, FSAFE_READ, why, sizeof(why)))
		fail(NULL, "config file: %s", why);
	FILE *f = fopen(path, "re");
	if (!f) {
		if (!must && errno == ENOENT)
			return;
		fail(NULL, "config file %s: %s", path, strerror(errno));
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
			fail(NULL,
			     "%s:%u: unknown setting '%s' (known: db, keys, zone-file, export-dir, "
			     "export-command, lock-timeout)",
			     path, ln, s);
		}
		if (seen[k]++)
			fail(NULL, "%s:%u: %s is set twice", path, ln, keys[k].name);
		for (const char *p = val; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				fail(NULL, "%s:%u: a control character in the value of %s", path,
				     ln, keys[k].name);
		if (!*val && strcmp(s, "export-dir") && strcmp(s, "export-command"))
			fail(NULL, "%s:%u: %s needs a value", path, ln, keys[k].name);
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
		fail(NULL, "config file %s: read error", path);
}
