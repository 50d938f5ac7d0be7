/* bulk: many new domains in one batch (import), all or nothing, through the
 * same checks and writes as one (registry.h). */
#include "err.h"
#include "registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row and its place in the batch, to sort by name or token. */
struct at {
	const struct reg_new *r;
	size_t i;
};

static int by_name(const void *a, const void *b)
{
	const struct at *x = a, *y = b;
	int d = strcmp(x->r->name, y->r->name);
	return d ? d : (x->i > y->i) - (x->i < y->i);
}

static int by_token(const void *a, const void *b)
{
	const struct at *x = a, *y = b;
	int d = strcmp(x->r->token, y->r->token);
	return d ? d : (x->i > y->i) - (x->i < y->i);
}

/* Rows twice in the batch: the same domain, or the same token; the later
 * one is bad. Returns how many. */
static size_t twice(struct wr *w, struct reg_new *const *rows, size_t n,
		    void (*bad)(void *, size_t, const char *), void *arg)
{
	size_t nbad = 0;
	struct at *by = malloc((n ? n : 1) * sizeof(*by));
	if (!by) {
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		return 0;
	}
	char msg[400];
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++)
			by[i] = (struct at){rows[i], i};
		qsort(by, n, sizeof(*by), pass ? by_token : by_name);
		for (size_t i = 1; i < n; i++) {
			const char *a = pass ? by[i].r->token : by[i].r->name;
			if (strcmp(a, pass ? by[i - 1].r->token : by[i - 1].r->name))
				continue;
			snprintf(msg, sizeof(msg),
				 pass ? "token %s is used twice in the file"
				      : "domain %s is twice in the file",
				 a);
			bad(arg, by[i].i, msg);
			nbad++;
		}
	}
	free(by);
	return nbad;
}

int reg_import(struct wr *w, struct reg_new *const *rows, size_t n, size_t nbad,
	       void (*bad)(void *arg, size_t row, const char *msg), void *arg)
{
	if (!w->rc)
		nbad += twice(w, rows, n, bad, arg);
	/* The prep checked each row against the store: a batch already bad needs
	 * no transaction to find more. */
	if (nbad)
		wr_fail(w, DNSD_EINVAL, NULL, "%zu bad row(s)", nbad);
	if (w->rc) {
		wr_rollback(w); /* takes back the rows' staged key files */
		return w->rc;
	}
	/* A large page cache keeps the indexes (random tokens, names) in memory
	 * while a million rows go in. */
	sqlite3_exec(w->db, "PRAGMA cache_size = -262144", NULL, NULL, NULL);
	for (size_t i = 0, open = !wr_begin(w); open && i < n; i++) {
		int rc = reg_domain_write(w, rows[i], nbad == 0, NULL);
		if (rc != DNSD_EEXIST && rc != DNSD_ENOENT) {
			if (rc)
				break; /* the store failed: no row is to blame */
			continue;
		}
		bad(arg, i, w->err);
		wr_clear(w);
		nbad++;
	}
	if (!w->rc && nbad)
		wr_fail(w, DNSD_EINVAL, NULL, "%zu bad row(s)", nbad);
	return wr_commit(w); /* with an error set: rolls back, takes the files back */
}
