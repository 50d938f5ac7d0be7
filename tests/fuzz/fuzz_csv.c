/* fuzz_csv: a libFuzzer target over `dnsdctl import`'s CSV lines (csv_line),
 * the input split at newlines as getline would. Replayed over
 * tests/fuzz/corpus/csv by `make test`. */
#include "csv.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE "auth.fuzz.example."

/* 1 if name is the zone or under it (the check done another way). */
static int in_zone(const char *name)
{
	size_t nl = strlen(name), zl = strlen(ZONE) - 1;
	return nl >= zl && !strncmp(name + nl - zl, ZONE, zl) &&
	       (nl == zl || name[nl - zl - 1] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv cv;
	struct csv_row r = {0};
	char err[1024];
	if (!size)
		return 0;
	/* The first byte chooses whether --tenant was given. */
	csv_init(&cv, ZONE, "esp", data[0] & 1);
	data++, size--;
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n'), *next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		int had_header = cv.ncols > 0;
		err[0] = 0;
		int rc = csv_line(&cv, line, &r, err, sizeof(err));
		if (rc < 0 && !err[0])
			abort();
		if (rc == CSV_EHEADER) /* the import stops here */
			break;
		if ((rc == CSV_HEADER && had_header) || (rc == CSV_ROW && !had_header))
			abort();
		if (rc == CSV_ROW) {
			size_t n = strlen(r.name);
			if (!n || n > 253 || r.name[n - 1] == '.' || in_zone(r.name) ||
			    strpbrk(r.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ, \t") ||
			    (!r.pub && !r.priv))
				abort();
		}
		/* Refused as inside the zone: it must be (a field may hold the
		 * message's words, so the whole message is compared). */
		char inside[600];
		snprintf(inside, sizeof(inside), "domain %s is inside the hosted zone %s", r.name,
			 ZONE);
		if (rc == DNSD_EINVAL && !strcmp(err, inside) && !in_zone(r.name))
			abort();
		line = next;
	}
	free(text);
	return 0;
}
