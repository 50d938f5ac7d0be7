/* csv: the lines of `dnsdctl import`'s CSV file, split and checked for their
 * form without a store (the import and its fuzz target share it). */
#ifndef DNSD_CSV_H
#define DNSD_CSV_H
#include "err.h"
#include <stddef.h>

enum { CSV_DOMAIN, CSV_TENANT, CSV_ALG, CSV_PUB, CSV_PRIV, CSV_TOKEN, CSV_RP, CSV_NCOL };
#define CSV_MAX_FIELDS 16

/* What csv_line found. */
enum { CSV_SKIP = 0, CSV_HEADER = 1, CSV_ROW = 2 };
/* A header that cannot work: the import stops (a bad row is DNSD_EINVAL). */
#define CSV_EHEADER DNSD_EFORMAT

/* The file as read so far: which field holds each column. */
struct csv {
	int col[CSV_NCOL]; /* the field of each column, or -1 */
	int ncols;	   /* fields in the header; 0 until it is read */
	const char
		*zone; /* the hosted zone, lowercase, with its final dot: rows inside it are bad */
	const char *prefix; /* the selector prefix: names must leave room for the selectors */
	int have_tenant;    /* --tenant given: the tenant column may be left out */
};

/* One row, checked for its form (the keys, the tenant and uniqueness are the
 * import's to check). Strings point into the line, NULL when the field is empty. */
struct csv_row {
	char name[256]; /* the domain, lowercase, without a final dot */
	const char *tenant, *token, *rp, *alg, *pub, *priv;
};

/* Starts reading a file: no header yet. zone and prefix are borrowed. */
void csv_init(struct csv *cv, const char *zone, const char *prefix, int have_tenant);

/* Reads one line (NUL-terminated, changed in place). The first line that is
 * neither blank nor a # comment is the header. Returns CSV_SKIP, CSV_HEADER,
 * CSV_ROW (r filled in), CSV_EHEADER for a header that cannot work, or
 * DNSD_EINVAL for a bad row; err then says why (without the line number). */
int csv_line(struct csv *cv, char *line, struct csv_row *r, char *err, size_t errlen);
#endif
