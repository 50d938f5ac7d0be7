/* bulk: many new domains (import), checked whole first, then written in
 * batches through the same prep and writes as one domain (registry.h). */
#include "err.h"
#include "registry.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A set of strings (the names, the tokens seen in the file), kept in one
 * arena: an import of a million rows holds these and nothing else of them. */
struct strset {
	char *arena;
	size_t used, cap;
	size_t *slot; /* offset + 1 into the arena; 0: empty */
	size_t nslot, n;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Adds s: 1 if it was there already, 0 added, -1 out of memory. */
static int strset_add(struct strset *t, const char *s)
{
	if (2 * (t->n + 1) > t->nslot) {
		size_t nn = t->nslot ? 2 * t->nslot : 4096;
		size_t *ns = calloc(nn, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t i = 0; i < t->nslot; i++) {
			if (!t->slot[i])
				continue;
			size_t j = hash(t->arena + t->slot[i] - 1) & (nn - 1);
			while (ns[j])
				j = (j + 1) & (nn - 1);
			ns[j] = t->slot[i];
		}
		free(t->slot);
		t->slot = ns;
		t->nslot = nn;
	}
	size_t j = hash(s) & (t->nslot - 1);
	for (; t->slot[j]; j = (j + 1) & (t->nslot - 1))
		if (!strcmp(t->arena + t->slot[j] - 1, s))
			return 1;
	size_t len = strlen(s) + 1;
	if (t->used + len > t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 1 << 16;
		while (nc < t->used + len)
			nc *= 2;
		char *na = realloc(t->arena, nc);
		if (!na)
			return -1;
		t->arena = na;
		t->cap = nc;
	}
	memcpy(t->arena + t->used, s, len);
	t->slot[j] = t->used + 1;
	t->used += len;
	t->n++;
	return 0;
}

static void strset_free(struct strset *t)
{
	free(t->arena);
	free(t->slot);
}

struct reg_import {
	struct wr *w;
	struct strset names, tokens;
	int reading; /* the checks' read transaction is open */
	size_t in_batch;
	int64_t t_begin; /* when the batch open took the lock (ms, monotonic) */
	int contended;	 /* it had to wait for another writer's lock first */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct reg_import *reg_import_new(struct wr *w)
{
	struct reg_import *im = calloc(1, sizeof(*im));
	if (!im) {
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	im->w = w;
	/* A large page cache keeps the indexes (random tokens, names) in memory
	 * while the rows go in; the statement journals (one for each insert that
	 * fires triggers) stay in memory rather than in a temporary file, which
	 * cost 70 small writes a row.
	 * The schema's CHECKs are a second guard, against writers that get past
	 * the write library's checks. An import's rows are written only through
	 * reg_domain_prep, which checks every value by the same rules in C (the
	 * name, token and labels through names_*, the public key through
	 * keys_check_public) in the same transaction; the CHECKs cost a third of
	 * an import's time (the public key's GLOB reads each of its ~400
	 * characters against a class of five ranges), so this connection leaves
	 * them off until reg_import_free. */
	sqlite3_exec(w->db,
		     "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; "
		     "PRAGMA ignore_check_constraints = ON; PRAGMA wal_autocheckpoint = 16384",
		     NULL, NULL, NULL);
	return im;
}

void reg_import_free(struct reg_import *im)
{
	if (!im)
		return;
	reg_import_checked(im);
	if (im->w->depth)
		wr_rollback(im->w);
	sqlite3_exec(im->w->db,
		     "PRAGMA ignore_check_constraints = OFF; PRAGMA wal_autocheckpoint = 1000",
		     NULL, NULL, NULL);
	strset_free(&im->names);
	strset_free(&im->tokens);
	free(im);
}

int reg_import_check(struct reg_import *im, const struct reg_domain_in *in, int *done)
{
	struct wr *w = im->w;
	*done = 0;
	if (w->rc)
		return w->rc;
	/* One read transaction for all the checks: one snapshot, and no lock
	 * taken and given back by each of the row's queries. */
	if (!im->reading && (im->reading = wr_read_begin(w)) < 0) {
		im->reading = 0;
		return w->rc;
	}
	struct reg_domain_in ci = *in;
	ci.check_only = 1;
	ci.done_ok = 1;
	struct reg_new *nd;
	if (reg_domain_prep(w, &ci, &nd))
		return w->rc;
	*done = nd->done;
	int twice = strset_add(&im->names, nd->name);
	if (!twice && in->token)
		twice = strset_add(&im->tokens, in->token) ? 2 : 0;
	if (twice < 0)
		wr_fail(w, DNSD_ENOMEM, NULL, "out of memory");
	else if (twice == 1)
		wr_fail(w, DNSD_EINVAL, "domain", "domain %s is twice in the file", nd->name);
	else if (twice)
		wr_fail(w, DNSD_EINVAL, "token", "token %s is used twice in the file", in->token);
	reg_new_free(nd);
	return w->rc;
}

void reg_import_checked(struct reg_import *im)
{
	if (im->reading)
		wr_read_end(im->w);
	im->reading = 0;
}

int reg_import_add(struct reg_import *im, const struct reg_domain_in *in, int *done)
{
	struct wr *w = im->w;
	*done = 0;
	reg_import_checked(im);
	if (w->rc)
		return w->rc;
	/* The batch's transaction holds the lock from its first row's prep: the
	 * row is checked against the store as it is written. */
	if (!w->depth) {
		int64_t t0 = mono_ms();
		if (wr_begin(w))
			return w->rc;
		im->t_begin = mono_ms();
		im->contended = im->t_begin - t0 >= 1;
	}
	struct reg_domain_in wi = *in;
	wi.check_only = 0;
	wi.done_ok = 1;
	struct reg_new *nd;
	if (!reg_domain_prep(w, &wi, &nd)) {
		*done = nd->done;
		if (!nd->done && !reg_domain_write(w, nd, 1, NULL))
			im->in_batch++;
		reg_new_free(nd);
	}
	if (w->rc) {
		wr_rollback(w); /* the batch, and its staged key files */
		im->in_batch = 0;
	}
	return w->rc;
}

int64_t reg_import_held(const struct reg_import *im)
{
	return im->w->depth ? mono_ms() - im->t_begin : 0;
}

int reg_import_commit(struct reg_import *im, size_t *n)
{
	struct wr *w = im->w;
	*n = 0;
	if (!w->depth)
		return w->rc;
	if (!im->in_batch) { /* only rows done already: no batch, no serial move */
		wr_rollback(w);
		return w->rc;
	}
	if (!wr_commit(w))
		*n = im->in_batch;
	im->in_batch = 0;
	/* A writer waiting for the lock tries again every millisecond
	 * (wr_lock_wait): leave it a few to take the lock before this import's
	 * next batch does. When this batch found the lock taken (other writers
	 * are at work), leave them a quarter of the time it held it: the API
	 * writes one request at a time, each a few milliseconds. */
	int64_t held = mono_ms() - im->t_begin, ms = im->contended ? (held / 4 > 250 ? 250
								      : held / 4 > 3 ? held / 4
										     : 3)
								   : 3;
	struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&pause, NULL);
	return w->rc;
}
