/* import: many customer domains at once, with the keys they already have: for
 * platforms moving thousands of customers from another system (their public
 * keys are already in the customers' DNS or their signer holds the private
 * keys), and for loading benchmarks. Every row is checked before anything is
 * written (one bad row and nothing changes); then the rows go in batches, each
 * its own transaction, so that other writers (the API, dnsdctl) take their
 * turns between them. A run that was stopped leaves its committed batches;
 * running it again skips the rows already there (registry.h, reg_import_*). */
#include "csv.h"
#include "ctl.h"
#include "err.h"
#include "registry.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_DEFAULT 5000
/* A batch ends sooner when it has held the write lock this long: well under
 * the other writers' lock timeouts (dnsdctl's 5 s, the API's 2 s) whatever
 * the machine's load. */
#define BATCH_MAX_MS 500

struct errs {
	int n;
	char text[20][1300];
};

static void err_add(struct errs *e, int line, const char *msg)
{
	if (e->n < 20)
		snprintf(e->text[e->n], sizeof(e->text[0]), "line %d: %s", line, msg);
	e->n++;
}

/* The progress line on stderr, rewritten in place (\r). It goes around the
 * guarded stderr (ctl_guard_output), which would show \r as \x0d: it holds
 * only numbers. */
struct progress {
	int on;
	double start, t0, last; /* start: the import's; t0: the writes' */
	size_t total;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress_show(struct progress *p, size_t checked, size_t done, int force)
{
	double t = now_s();
	if (!p->on || (!force && t - p->last < 0.2))
		return;
	p->last = t;
	if (!p->total) {
		dprintf(STDERR_FILENO, "\rdnsdctl: import: %zu rows checked\033[K", checked);
		return;
	}
	double rate = done / (t - p->t0 > 0.001 ? t - p->t0 : 0.001);
	dprintf(STDERR_FILENO, "\rdnsdctl: import: %zu/%zu domains, %.0f/s, %.0f s left\033[K",
		done, p->total, rate, rate > 0 ? (p->total - done) / rate : 0.0);
}

/* The next line of in (into *line), and its number; 0 at the end. */
static int next_line(FILE *in, char **line, size_t *cap, int *lineno)
{
	if (getline(line, cap, in) <= 0)
		return 0;
	(*lineno)++;
	return 1;
}

/* The row's input for the registry, the tenant from --tenant when the file has none. */
static struct reg_domain_in row_in(const struct csv_row *cr, const char *tenant)
{
	return (struct reg_domain_in){
		.name = cr->name,
		.tenant = cr->tenant ? cr->tenant : tenant,
		.token = cr->token,
		.return_path = cr->rp,
		.ed25519 = -1,
		.algorithm = cr->alg,
		.key_file = cr->priv,
		.public_key = cr->pub,
		.cause = "import",
	};
}

void cmd_import(struct ctx *c)
{
	if (c->o.npos != 2)
		die_usage("import FILE.csv (or - for standard input) [--tenant NAME] [--batch N] "
			  "[--progress|--no-progress]");
	long batch = BATCH_DEFAULT;
	if (c->o.batch) {
		char *end;
		batch = strtol(c->o.batch, &end, 10);
		if (end == c->o.batch || *end || batch < 1 || batch > 10000000)
			die_usage("--batch takes a number of rows, 1 to 10000000, not '%s'",
				  c->o.batch);
	}
	const char *file = c->o.pos[1];
	FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!in)
		fail(NULL, "cannot open %s: %s", file, strerror(errno));
	/* The file is read twice (checks, then writes): standard input or a pipe
	 * is kept in a temporary file (deleted already) as it is checked. */
	FILE *copy = NULL;
	off_t start = ftello(in);
	if (start < 0 && !(copy = tmpfile()))
		fail(NULL, "cannot keep a copy of %s: %s", file, strerror(errno));
	open_store(c, 0);
	char prefix[64];
	reg_prefix(&c->w, prefix, sizeof(prefix));
	struct progress pg = {.on = c->o.progress || (!c->o.no_progress && isatty(STDERR_FILENO))};
	pg.start = pg.t0 = pg.last = now_s();
	struct reg_import *im = reg_import_new(&c->w);
	ctl_check(c);

	/* 1. Check every row. */
	struct errs e = {0};
	size_t nrows = 0, ndone = 0;
	int lineno = 0, done;
	char *line = NULL;
	size_t lcap = 0;
	struct csv cv;
	struct csv_row cr;
	csv_init(&cv, c->zone, prefix, c->o.tenant != NULL);
	while (next_line(in, &line, &lcap, &lineno)) {
		char why[600];
		if (copy && fputs(line, copy) == EOF)
			fail(c, "cannot keep a copy of %s: %s", file, strerror(errno));
		int kind = csv_line(&cv, line, &cr, why, sizeof(why));
		if (kind == CSV_EHEADER)
			fail(c, "line %d: %s", lineno, why);
		if (kind == DNSD_EINVAL)
			err_add(&e, lineno, why);
		if (kind != CSV_ROW)
			continue;
		struct reg_domain_in din = row_in(&cr, c->o.tenant);
		int rc = reg_import_check(im, &din, &done);
		if (rc == DNSD_EINVAL || rc == DNSD_ENOENT || rc == DNSD_EEXIST) {
			err_add(&e, lineno, c->w.err);
			wr_clear(&c->w);
			continue;
		}
		if (rc)
			fail(c, "line %d: %s; nothing was changed", lineno, c->w.err);
		nrows += !done;
		ndone += done;
		if (!((nrows + ndone) & 1023))
			progress_show(&pg, nrows + ndone, 0, 0);
	}
	reg_import_checked(im);
	if (!cv.ncols)
		fail(c, "%s is empty: the first line must name the columns", file);
	if (e.n) {
		if (pg.on)
			dprintf(STDERR_FILENO, "\r\033[K");
		for (int i = 0; i < e.n && i < 20; i++)
			fprintf(stderr, "dnsdctl: %s\n", e.text[i]);
		fail(c, "%d bad row(s)%s in %s; nothing was imported", e.n,
		     e.n > 20 ? " (the first 20 above)" : "", file);
	}

	/* 2. Write them in batches. */
	if (copy) {
		if (in != stdin)
			fclose(in);
		in = copy;
		start = 0;
	}
	if (fflush(in) || fseeko(in, start, SEEK_SET))
		fail(c, "cannot read %s again: %s", file, strerror(errno));
	int64_t serial_before = store_serial(c->st);
	int any_private = 0;
	size_t written = 0, nbatch = 0, n, inb = 0;
	pg.total = nrows;
	pg.t0 = now_s();
	lineno = 0;
	csv_init(&cv, c->zone, prefix, c->o.tenant != NULL);
	while (next_line(in, &line, &lcap, &lineno)) {
		char why[600];
		if (csv_line(&cv, line, &cr, why, sizeof(why)) != CSV_ROW)
			continue;
		struct reg_domain_in din = row_in(&cr, c->o.tenant);
		if (reg_import_add(im, &din, &done))
			break;
		any_private |= !done && cr.priv;
		/* Rows found done count too: the lock is given up as often. */
		if ((long)++inb < batch && reg_import_held(im) < BATCH_MAX_MS)
			continue;
		inb = 0;
		if (reg_import_commit(im, &n))
			break;
		written += n;
		nbatch += n > 0;
		progress_show(&pg, 0, written, 0);
	}
	if (!c->w.rc && !reg_import_commit(im, &n) && n) {
		written += n;
		nbatch++;
	}
	free(line);
	if (in != stdin)
		fclose(in);
	if (c->w.rc) {
		int rc = c->w.rc;
		if (pg.on)
			dprintf(STDERR_FILENO, "\r\033[K");
		fprintf(stderr, "dnsdctl: line %d: %s\n", lineno, c->w.err);
		reg_import_free(im);
		fprintf(stderr,
			"dnsdctl: %zu domain(s) were imported in %zu batch(es) before line %d, "
			"the rest not; run the same import again to finish it (the rows "
			"already in are skipped)%s\n",
			written, nbatch, lineno, rc == DNSD_EBUSY ? " (busy: try again)" : "");
		exit(rc == DNSD_EBUSY ? EXIT_BUSY : 1);
	}
	reg_import_free(im);
	if (pg.on) {
		double t = now_s() - pg.start; /* the checks included */
		dprintf(STDERR_FILENO, "\r\033[Kimported %zu domains in %.1f s (%.0f/s)\n", written,
			t, written / (t > 0.001 ? t : 0.001));
	}
	if (!any_private)
		c->export_same_from = serial_before;
	int changed = 0, status = export_refresh(c, &changed);
	if (c->o.json)
		ctl_print(json_pack("{s:I, s:I, s:I, s:I}", "imported", (json_int_t)written,
				    "already", (json_int_t)ndone, "batches", (json_int_t)nbatch,
				    "serial", (json_int_t)store_serial(c->st)));
	else if (nbatch == 1 && !ndone)
		printf("%zu domain(s) imported in one batch; serial %lld\n", written,
		       (long long)store_serial(c->st));
	else
		printf("%zu domain(s) imported in %zu batch(es), %zu already there; serial %lld\n",
		       written, nbatch, ndone, (long long)store_serial(c->st));
	if (status)
		exit(status);
}
