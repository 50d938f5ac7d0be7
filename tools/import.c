/* import: many customer domains at once, with the keys they already have, in one
 * transaction: for platforms moving thousands of customers from another system
 * (their public keys are already in the customers' DNS or their signer holds
 * the private keys), and for loading benchmarks. Every row is checked before
 * anything is written; one bad row and nothing changes. */
#include "csv.h"
#include "ctl.h"
#include "err.h"
#include "registry.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct errs {
	int n;
	char text[20][1300];
	int *lines; /* the line of each row */
};

static void err_add(struct errs *e, int line, const char *msg)
{
	if (e->n < 20)
		snprintf(e->text[e->n], sizeof(e->text[0]), "line %d: %s", line, msg);
	e->n++;
}

static void row_bad(void *arg, size_t row, const char *msg)
{
	struct errs *e = arg;
	err_add(e, e->lines[row], msg);
}

void cmd_import(struct ctx *c)
{
	if (c->o.npos != 2)
		die_usage("import FILE.csv (or - for standard input) [--tenant NAME]");
	const char *file = c->o.pos[1];
	FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!in)
		fail(NULL, "cannot open %s: %s", file, strerror(errno));
	open_store(c, 0);
	char prefix[64];
	reg_prefix(&c->w, prefix, sizeof(prefix));

	/* 1. Read and check every row; the keys are read (and copied into the
	 * key directory, staged) before the batch, as for one domain. */
	struct reg_new **rows = NULL;
	size_t nrows = 0, cap = 0;
	struct errs e = {0};
	int lineno = 0;
	char *line = NULL;
	size_t lcap = 0;
	struct csv cv;
	struct csv_row cr;
	csv_init(&cv, c->zone, prefix, c->o.tenant != NULL);
	while (getline(&line, &lcap, in) > 0) {
		lineno++;
		char why[600];
		int kind = csv_line(&cv, line, &cr, why, sizeof(why));
		if (kind == CSV_EHEADER)
			fail(c, "line %d: %s", lineno, why);
		if (kind == DNSD_EINVAL)
			err_add(&e, lineno, why);
		if (kind != CSV_ROW)
			continue;
		struct reg_domain_in din = {
			.name = cr.name,
			.tenant = cr.tenant ? cr.tenant : c->o.tenant,
			.token = cr.token,
			.return_path = cr.rp,
			.ed25519 = -1,
			.algorithm = cr.alg,
			.key_file = cr.priv,
			.public_key = cr.pub,
			.cause = "import",
		};
		struct reg_new *nd;
		int rc = reg_domain_prep(&c->w, &din, &nd);
		if (rc == DNSD_EINVAL || rc == DNSD_ENOENT || rc == DNSD_EEXIST) {
			err_add(&e, lineno, c->w.err);
			wr_clear(&c->w);
			continue;
		}
		if (rc)
			fail(c, "line %d: %s; nothing was changed", lineno, c->w.err);
		if (nrows == cap) {
			cap = cap ? cap * 2 : 1024;
			struct reg_new **x = realloc(rows, cap * sizeof(*rows));
			int *l = realloc(e.lines, cap * sizeof(*l));
			if (x)
				rows = x;
			if (l)
				e.lines = l;
			if (!x || !l)
				fail(c, "out of memory");
		}
		e.lines[nrows] = lineno;
		rows[nrows++] = nd;
	}
	free(line);
	if (in != stdin)
		fclose(in);
	if (!cv.ncols)
		fail(c, "%s is empty: the first line must name the columns", file);

	/* 2. One transaction, written only if no row is bad. */
	int any_private = 0;
	for (size_t i = 0; i < nrows; i++)
		any_private |= rows[i]->path[0] || rows[i]->path[1];
	int64_t serial_before = store_serial(c->st);
	reg_import(&c->w, rows, nrows, (size_t)e.n, row_bad, &e);
	for (size_t i = 0; i < nrows; i++)
		reg_new_free(rows[i]);
	free(rows);
	free(e.lines);
	if (e.n) {
		for (int i = 0; i < e.n && i < 20; i++)
			fprintf(stderr, "dnsdctl: %s\n", e.text[i]);
		fail(c, "%d bad row(s)%s in %s; nothing was imported", e.n,
		     e.n > 20 ? " (the first 20 above)" : "", file);
	}
	ctl_check(c);
	if (!any_private)
		c->export_same_from = serial_before;
	int changed = 0, status = export_refresh(c, &changed);
	if (c->o.json)
		ctl_print(json_pack("{s:I, s:I}", "imported", (json_int_t)nrows, "serial",
				    (json_int_t)store_serial(c->st)));
	else
		printf("%zu domain(s) imported in one batch; serial %lld\n", nrows,
		       (long long)store_serial(c->st));
	if (status)
		exit(status);
}
