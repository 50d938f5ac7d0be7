/* check: dnsdctl check: the command over the check of the library (dnsd/check.h),
 * its printing, and check --all's pace and threads. It looks up a customer domain's records the way
 * receivers will, through a recursive resolver (the system's or --resolver), follows each CNAME
 * chain itself, and says for every record whether it is in place and, if not, what is wrong and how
 * to fix it; then which way of sending is safe now. */
#include "check.h"
#include "ctl.h"
#include "err.h"
#include "lifecycle.h"
#include "probe.h"
#include <ldns/ldns.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exit status of a check that found a required record not in place. */
#define EXIT_CHECK 4

/* Prints the result, as text or JSON. */
static void check_print(const struct check_domain *d, int json)
{
	static const char *const verdict[] = {
		[CW_ALIGNED] = "fully aligned: send From %s (DKIM signs as %s, bounces go to "
			       "%s.%s: SPF aligns too)",
		[CW_DKIM] = "DKIM-aligned only: send From %s; DMARC passes on DKIM alone (d=%s); "
			    "the Return-Path "
			    "stays the platform's own%s%s",
		[CW_PLATFORM] = "not yet: send From the platform's own domain, with %s as the From "
				"name only%s%s%s",
	};
	char b[80];
	if (json) {
		int f = 1;
		printf("{");
		json_kv(stdout, &f, "domain", d->name);
		json_kv(stdout, &f, "token", d->token);
		json_kv(stdout, &f, "way", check_way_name[d->way]);
		printf(", \"ok\": %s, \"records\": [", d->all_ok ? "true" : "false");
		for (int i = 0; i < d->nrec; i++) {
			const struct check_record *x = &d->rec[i];
			int g = 1;
			printf("%s{", i ? ", " : "");
			json_kv(stdout, &g, "name", x->name);
			json_kv(stdout, &g, "purpose", x->purpose);
			if (x->selector[0])
				json_kv(stdout, &g, "selector", x->selector);
			printf(", \"optional\": %s", x->optional ? "true" : "false");
			g = 0;
			json_kv(stdout, &g, "expected", x->expect);
			json_kv(stdout, &g, "outcome", check_outcome_name[x->out]);
			json_kv(stdout, &g, "detail", x->detail);
			if (x->hint[0])
				json_kv(stdout, &g, "hint", x->hint);
			if (x->found[0])
				json_kv(stdout, &g, "found", x->found);
			printf(", \"chain\": [");
			for (int j = 0; j < x->nchain; j++) {
				printf("%s", j ? ", " : "");
				json_str(stdout, x->chain[j]);
			}
			printf("]}");
		}
		printf("], \"warnings\": [");
		for (int i = 0; i < d->nwarn; i++) {
			printf("%s", i ? ", " : "");
			json_str(stdout, d->warn[i]);
		}
		printf("], \"changes\": [");
		for (int i = 0; i < d->nchanges; i++) {
			printf("%s", i ? ", " : "");
			json_str(stdout, d->changes[i]);
		}
		printf("]");
		f = 0;
		if (d->state[0]) {
			char t[40];
			json_kv(stdout, &f, "state", d->state);
			json_kv(stdout, &f, "since", lc_time(d->since, t, sizeof(t)));
		}
		if (d->mark[0])
			json_kv(stdout, &f, "marker", d->mark);
		if (d->host[0] && !d->mark_at)
			json_kv(stdout, &f, "host", d->host);
		if (d->mark_at) {
			char t[40];
			json_kv(stdout, &f, "marker_changed", lc_time(d->mark_at, t, sizeof(t)));
			json_kv(stdout, &f, "marker_test_until",
				lc_time(d->probe_until, t, sizeof(t)));
		}
		printf("}\n");
		return;
	}
	printf("%s (code %s):\n", shown(d->name), d->token);
	for (int i = 0; i < d->nrec; i++) {
		const struct check_record *x = &d->rec[i];
		printf("  %-13s %s%s\n", check_outcome_name[x->out], shown(x->name),
		       x->optional ? " (optional)" : "");
		for (int j = 0; j < x->nchain; j++)
			printf("                  -> CNAME %s\n", shown(x->chain[j]));
		if (x->found[0])
			printf("                  -> TXT \"%s\"\n",
			       shown(check_brief(x->found, b, sizeof(b))));
		printf("                %s\n", shown(x->detail));
		if (x->hint[0])
			printf("                fix: %s\n", shown(x->hint));
	}
	for (int i = 0; i < d->nwarn; i++)
		printf("  warning: %s\n", shown(d->warn[i]));
	printf("  way of sending now: ");
	if (d->way == CW_ALIGNED)
		printf(verdict[CW_ALIGNED], d->name, d->name, d->rp, d->name);
	else if (d->way == CW_DKIM)
		printf(verdict[CW_DKIM], d->name, d->name,
		       d->all_ok ? "" : "; for full alignment, ",
		       d->all_ok ? "" : "put the Return-Path record in place");
	else
		printf(verdict[CW_PLATFORM], d->name, d->errors ? " (some lookups failed)" : "",
		       "; DKIM for the domain needs its selector records in place", "");
	printf("\n  %s\n", d->all_ok ? "every required record is in place"
				     : "not every required record is in place");
	if (d->state[0]) {
		char t[40];
		printf("  state: %s since %s\n", d->state, lc_time(d->since, t, sizeof(t)));
	}
	if (d->mark_at) {
		char t1[16], t2[16];
		printf("  marker test: dnsd changed the marker of its DKIM records to n=%s at %s; "
		       "check again after %s\n",
		       d->mark, probe_hhmm(d->mark_at, t1, sizeof(t1)),
		       probe_hhmm(d->probe_until, t2, sizeof(t2)));
	} else if (d->host[0]) {
		char t[40];
		printf("  DNS host: %s (dnsd's marker test, %s)\n",
		       !strcmp(d->host, "flattens")
			       ? "flattens the CNAMEs: the records served directly follow dnsd"
			       : "the records served directly were copied by hand",
		       lc_time(d->host_at, t, sizeof(t)));
	}
	for (int i = 0; i < d->nchanges; i++)
		printf("  changed: %s\n", shown(d->changes[i]));
}

/* ---- check --all ---- */

struct pool {
	struct check_domain **d;
	int n, next, errors;
	const char *spec;
	double rate;
	struct timespec pace; /* when the next domain may start */
	pthread_mutex_t mu;
	char why[300];
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	char why[300];
	ldns_resolver *r = check_resolver(p->spec, why, sizeof(why));
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int i = p->next < p->n && r ? p->next++ : -1;
		struct timespec at = p->pace, now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (at.tv_sec < now.tv_sec || (at.tv_sec == now.tv_sec && at.tv_nsec < now.tv_nsec))
			at = now;
		if (i >= 0) {
			long step = (long)(1e9 / p->rate);
			p->pace.tv_sec = at.tv_sec + (at.tv_nsec + step) / 1000000000L;
			p->pace.tv_nsec = (at.tv_nsec + step) % 1000000000L;
		}
		if (!r && !p->errors++)
			snprintf(p->why, sizeof(p->why), "%s", why);
		pthread_mutex_unlock(&p->mu);
		if (i < 0)
			break;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
		check_run(r, p->d[i]);
	}
	if (r)
		ldns_resolver_deep_free(r);
	return NULL;
}

/* check_due's callback: loads one due domain into the pool's next place. */
struct due_arg {
	struct ctx *c;
	struct pool *p;
};

static int due_one(void *arg, const struct reg_domain *row)
{
	struct due_arg *a = arg;
	struct pool *p = a->p;
	if (!p->d[p->n] && !(p->d[p->n] = malloc(sizeof(struct check_domain))))
		return wr_fail(&a->c->w, DNSD_ENOMEM, NULL, "out of memory");
	if (check_load(&a->c->w, row, p->d[p->n]))
		return a->c->w.rc;
	p->d[p->n++]->quick = 1;
	return 0;
}

static void cmd_check_all(struct ctx *c)
{
	long conc = num_arg(c, c->o.concurrency, "--concurrency", 1, 256, 32);
	long rate = num_arg(c, c->o.rate, "--rate", 1, 100000, 50);
	long max = num_arg(c, c->o.max_domains, "--max-domains", 1, 100000000, 10000);
	char why[300];
	/* Every write of a check row runs its table's CHECK constraints, and SQLite
	 * builds an ephemeral table (with its own page cache) for each IN list of
	 * three or more values in them, freed at the end of the statement. glibc
	 * then gives the top of the heap back (brk) and takes it again at the next
	 * statement: a page fault per page and, once the workers have run on other
	 * CPUs, a TLB shootdown each time. Keeping the heap (a few MiB at most, the
	 * most the run ever held) takes that out (docs/benchmarks.md). */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 1 << 20);
	open_store(c, 0);
	/* The resolver is read once here, so that a bad one fails before any work. */
	ldns_resolver *r0 = check_resolver(c->o.resolver, why, sizeof(why));
	if (!r0)
		fail(c, "%s", why);
	ldns_resolver_deep_free(r0);
	struct pool p = {.spec = c->o.resolver, .rate = (double)rate};
	pthread_mutex_init(&p.mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &p.pace);
	int batch = (int)(conc * 2 < 64 ? 64 : conc * 2);
	p.d = calloc((size_t)batch, sizeof(*p.d));
	pthread_t *th = calloc((size_t)conc, sizeof(*th));
	if (!p.d || !th)
		fail(c, "out of memory");
	long done = 0, nstate[3] = {0}, nfail = 0, nchanges = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0); /* the run's length: not the test clock */
	int first = 1;
	if (c->o.json)
		printf("{\"changes\": [");
	int phase = 0;
	int64_t last_new = 0;
	while (done < max) {
		int64_t now = store_now(), lim = max - done < batch ? max - done : batch;
		int fetched = 0;
		p.n = p.next = 0;
		struct due_arg da = {c, &p};
		check_due(&c->w, phase, now, (int)lim, &last_new, &fetched, due_one, &da);
		ctl_check(c);
		if (!fetched) {
			if (phase++)
				break;
			continue;
		}
		if (!p.n)
			continue;
		int nth = (int)(conc < p.n ? conc : p.n);
		for (int i = 0; i < nth; i++)
			if (pthread_create(&th[i], NULL, worker, &p))
				fail(c, "cannot start a thread");
		for (int i = 0; i < nth; i++)
			pthread_join(th[i], NULL);
		if (p.errors)
			fail(c, "%s", p.why);
		/* One transaction a batch: a few dozen domains' rows, one commit. */
		if (check_save_all(&c->w, p.d, p.n))
			fail(c, "%s", c->w.err);
		for (int i = 0; i < p.n; i++) {
			struct check_domain *d = p.d[i];
			done++;
			nfail += d->errors > 0;
			nstate[!strcmp(d->state, "verified")  ? 1
			       : !strcmp(d->state, "drifted") ? 2
							      : 0]++;
			for (int j = 0; j < d->nchanges; j++, nchanges++) {
				if (c->o.json) {
					printf("%s", first ? "" : ", ");
					json_str(stdout, d->changes[j]);
				} else {
					printf("%s\n", shown(d->changes[j]));
				}
				first = 0;
			}
		}
		fflush(stdout);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t secs = (int64_t)(t1.tv_sec - t0.tv_sec);
	if (c->o.json) {
		printf("], \"checked\": %ld, \"pending\": %ld, \"verified\": %ld, \"drifted\": "
		       "%ld, "
		       "\"lookups_failed\": %ld, \"seconds\": %lld}\n",
		       done, nstate[0], nstate[1], nstate[2], nfail, (long long)secs);
	} else {
		printf("checked %ld domain(s) in %lld s: %ld verified, %ld pending, %ld drifted "
		       "(%ld with failed "
		       "lookups); %ld change(s)\n",
		       done, (long long)secs, nstate[1], nstate[0], nstate[2], nfail, nchanges);
	}
	for (int i = 0; i < batch; i++)
		free(p.d[i]);
	free(p.d);
	free(th);
	pthread_mutex_destroy(&p.mu);
}

/* ---- the command ---- */

void cmd_check(struct ctx *c)
{
	char why[300];
	if (c->o.all) {
		if (c->o.npos != 1)
			die_usage("check --all takes no domain");
		cmd_check_all(c);
		return;
	}
	if (c->o.npos != 2)
		die_usage("check DOMAIN [--resolver ADDR[:PORT]] [--json], or check --all");
	open_store(c, 0);
	struct reg_domain row;
	reg_domain_need(&c->w, c->o.pos[1], &row, 0);
	ctl_check(c);
	struct check_domain *d = calloc(1, sizeof(*d));
	if (!d)
		fail(c, "out of memory");
	if (check_load(&c->w, &row, d))
		fail(c, "%s", c->w.err);
	ldns_resolver *r = check_resolver(c->o.resolver, why, sizeof(why));
	if (!r)
		fail(c, "%s", why);
	check_run(r, d);
	ldns_resolver_deep_free(r);
	if (check_save(&c->w, d, store_now()))
		fail(c, "%s", c->w.err);
	check_print(d, c->o.json);
	int rc = d->all_ok ? 0 : d->errors ? 1 : EXIT_CHECK;
	free(d);
	if (rc) {
		fflush(stdout);
		wr_close(&c->w);
		exit(rc);
	}
}
