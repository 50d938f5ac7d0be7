/* test_check: the check's store part (check.h, chkstore.c) on a real SQLite
 * file: the records check_load makes of a domain, what check_save keeps of
 * what a check found (the records' and the domain's states, the events, the
 * slots' eligibility, a failed lookup that changes nothing), the domains due
 * for check --all, what check_stored reads back, and a store locked by another
 * writer (DNSD_EBUSY, nothing changed). The lookups themselves are not run
 * here (tests/system/check.sh runs them against a resolver on 127.0.0.1). */
#include "check.h"
#include "err.h"
#include "registry.h"
#include "t_store.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* An initialised store (zone dkim.example., 2 slots, Return-Path "bounce")
 * with a tenant acme and its domains one.example and two.example. */
static int make_store(void)
{
	static const char *const sql[] = {
		"INSERT INTO settings(name, value) VALUES ('selector_prefix', 'esp'), "
		"('slots', '2'), ('return_path', 'bounce'), ('ed25519', 'no')",
		"INSERT INTO tenants(name, created_at) VALUES ('acme', 1)", NULL};
	int rc = t_store_make(NULL, "dkim.example.", sql);
	if (rc)
		return rc;
	struct wr w;
	t_open(&w, 0);
	struct reg_domain_in in = {
		.name = "one.example", .tenant = "acme", .ed25519 = -1, .algorithm = "ed25519"};
	rc = reg_domain_add(&w, &in, NULL);
	in.name = "two.example";
	rc = rc ? rc : reg_domain_add(&w, &in, NULL);
	wr_close(&w);
	return rc;
}

static int64_t num(struct wr *w, const char *sql, const char *name)
{
	return wr_int(w, wr_q(w, sql, "s", name), -1);
}

static char *text(struct wr *w, const char *sql, const char *name)
{
	return wr_text(w, wr_q(w, sql, "s", name));
}

/* The text the query on name gives is want. */
#define T_TEXT(w, sql, name, want)                                                                 \
	do {                                                                                       \
		char *t_v_ = text(w, sql, name);                                                   \
		T_EQ_STR(t_v_, want);                                                              \
		free(t_v_);                                                                        \
	} while (0)

#define DOMAIN_STATE                                                                               \
	"SELECT k.state FROM domain_checks k JOIN domains d ON d.id = k.domain_id WHERE d.name = " \
	"?"
#define EVENTS                                                                                     \
	"SELECT count(*) FROM check_events e JOIN domains d ON d.id = e.domain_id WHERE d.name = " \
	"?"
#define ELIGIBLE                                                                                   \
	"SELECT group_concat(s.eligible, '') FROM (SELECT s.eligible FROM slots s JOIN domains d " \
	"ON d.id = s.domain_id WHERE d.name = ? ORDER BY s.position) s"

/* d as check_run would leave it with every record judged o. */
static void judged(struct check_domain *d, enum check_outcome o)
{
	d->errors = d->nbad = 0;
	d->all_ok = 1;
	for (int i = 0; i < d->nrec; i++) {
		d->rec[i].out = o;
		snprintf(d->rec[i].detail, sizeof(d->rec[i].detail), "test %s",
			 check_outcome_name[o]);
		if (!d->rec[i].optional && !check_outcome_ok(o)) {
			d->all_ok = 0;
			d->nbad++;
		}
		d->errors += o == CO_ERROR;
	}
	d->way = d->all_ok ? CW_ALIGNED : CW_PLATFORM;
}

static void test_load(void)
{
	struct wr w;
	struct reg_domain row;
	struct check_domain *d = calloc(1, sizeof(*d));
	t_open(&w, 0);
	T_EQ_INT(reg_domain_need(&w, "one.example", &row, 0), 0);
	T_EQ_INT(check_load(&w, &row, d), 0);
	T_EQ_INT(d->nrec, 4); /* esp1, esp2, the Return-Path, _dmarc */
	T_EQ_STR(d->rec[0].name, "esp1._domainkey.one.example.");
	char want[300];
	snprintf(want, sizeof(want), "esp1.%s.dkim.dkim.example.", row.token);
	T_EQ_STR(d->rec[0].expect, want);
	T_EQ_INT(d->rec[0].active, 1);
	T_CHECK(d->rec[0].cur_pub[0] != 0);
	T_EQ_INT(d->rec[1].active, 0);
	T_EQ_STR(d->rec[2].purpose, "return-path");
	T_EQ_STR(d->rec[2].name, "bounce.one.example.");
	T_EQ_STR(d->rec[3].purpose, "dmarc");
	T_EQ_INT(d->rec[3].optional, 1);
	T_EQ_INT(d->nother, 1); /* two.example's code */
	T_EQ_STR(d->other_tokens[0].name, "two.example");
	T_EQ_INT(d->ttl_dkim, 3600);
	wr_close(&w);
	free(d);
}

static int count_rec(void *arg, const struct check_stored_rec *r)
{
	int *n = arg;
	n[0]++;
	n[1] += r->state != NULL;
	n[2] += r->state && !strcmp(r->state, "verified");
	return 0;
}

static void test_save(void)
{
	struct wr w;
	struct reg_domain row;
	struct check_domain *d = calloc(1, sizeof(*d));
	struct check_state cs;
	int n[3] = {0};
	t_open(&w, 0);
	T_EQ_INT(reg_domain_need(&w, "one.example", &row, 0), 0);
	/* Never checked: no state, every record unjudged. */
	T_EQ_INT(check_stored(&w, &row, &cs, count_rec, n), 0);
	T_EQ_STR(cs.state, "");
	T_EQ_INT(n[0], 4);
	T_EQ_INT(n[1], 0);
	T_TEXT(&w, ELIGIBLE, "one.example", "11");

	/* Nothing in place: pending, slots not eligible. */
	T_EQ_INT(check_load(&w, &row, d), 0);
	judged(d, CO_MISSING);
	T_EQ_INT(check_save(&w, d, 1000), 0);
	T_EQ_STR(d->state, "pending");
	T_TEXT(&w, DOMAIN_STATE, "one.example", "pending");
	T_TEXT(&w, ELIGIBLE, "one.example", "00");
	/* 4 records new -> pending, the domain, 2 slots ineligible. */
	T_EQ_INT(num(&w, EVENTS, "one.example"), 7);
	T_EQ_INT(d->nchanges, 7);

	/* Every record in place: verified, eligible, due again in a day. */
	T_EQ_INT(check_load(&w, &row, d), 0);
	judged(d, CO_IN_PLACE);
	T_EQ_INT(check_save(&w, d, 2000), 0);
	T_EQ_STR(d->state, "verified");
	T_EQ_INT(d->since, 2000);
	T_TEXT(&w, ELIGIBLE, "one.example", "11");
	T_EQ_INT(num(&w, EVENTS, "one.example"), 7 + 4 + 1 + 2);
	memset(n, 0, sizeof(n));
	T_EQ_INT(check_stored(&w, &row, &cs, count_rec, n), 0);
	T_EQ_STR(cs.state, "verified");
	T_EQ_STR(cs.way, "fully-aligned");
	T_EQ_INT(cs.checked_at, 2000);
	T_EQ_INT(cs.verified_at, 2000);
	T_EQ_INT(cs.next_at, 2000 + CHECK_AGAIN_VERIFIED);
	T_EQ_INT(n[2], 4);

	/* A failed lookup changes no state and writes no event. */
	T_EQ_INT(check_load(&w, &row, d), 0);
	judged(d, CO_ERROR);
	T_EQ_INT(check_save(&w, d, 3000), 0);
	T_EQ_STR(d->state, "verified");
	T_EQ_INT(num(&w, EVENTS, "one.example"), 14);
	T_EQ_INT(d->nchanges, 0);

	/* A verified record no longer in place: drifted, its slot not eligible. */
	T_EQ_INT(check_load(&w, &row, d), 0);
	judged(d, CO_IN_PLACE);
	d->rec[1].out = CO_WRONG;
	d->all_ok = 0;
	d->nbad = 1;
	T_EQ_INT(check_save(&w, d, 4000), 0);
	T_EQ_STR(d->state, "drifted");
	T_TEXT(&w, ELIGIBLE, "one.example", "10");
	char *st = text(&w, "SELECT state || ' ' || outcome FROM record_checks WHERE name = ?",
			"esp2._domainkey.one.example.");
	T_EQ_STR(st, "drifted wrong-target");
	free(st);
	T_EQ_INT(check_stored(&w, &row, &cs, count_rec, n), 0);
	T_EQ_INT(cs.next_at, 4000 + CHECK_AGAIN_DRIFTED);
	wr_close(&w);
	free(d);
}

static int count_due(void *arg, const struct reg_domain *d)
{
	char *names = arg;
	strcat(names, d->name);
	strcat(names, " ");
	return 0;
}

static void test_due(void)
{
	struct wr w;
	char names[200] = "";
	int64_t after = 0;
	int nread = 0;
	t_open(&w, 0);
	/* Never checked: two.example only (one.example was, in test_save). */
	T_EQ_INT(check_due(&w, 1, 5000, 10, &after, &nread, count_due, names), 0);
	T_EQ_STR(names, "two.example ");
	T_EQ_INT(nread, 1);
	T_CHECK(after > 0);
	names[0] = 0;
	T_EQ_INT(check_due(&w, 1, 5000, 10, &after, &nread, count_due, names), 0);
	T_EQ_INT(nread, 0);
	/* Due again: one.example once its next_at passed, not before. */
	T_EQ_INT(check_due(&w, 0, 4001, 10, &after, &nread, count_due, names), 0);
	T_EQ_STR(names, "");
	T_EQ_INT(check_due(&w, 0, 4000 + CHECK_AGAIN_DRIFTED, 10, &after, &nread, count_due, names),
		 0);
	T_EQ_STR(names, "one.example ");
	wr_close(&w);
}

/* Another writer holds the lock: DNSD_EBUSY, and nothing of the check kept. */
static void test_busy(void)
{
	struct wr w, other;
	struct reg_domain row;
	struct check_domain *d = calloc(1, sizeof(*d));
	t_open(&w, 50);
	t_open(&other, 0);
	T_EQ_INT(reg_domain_need(&w, "two.example", &row, 0), 0);
	T_EQ_INT(check_load(&w, &row, d), 0);
	judged(d, CO_IN_PLACE);
	T_EQ_INT(wr_begin(&other), 0);
	T_EQ_INT(check_save(&w, d, 6000), DNSD_EBUSY);
	wr_rollback(&other);
	wr_clear(&w);
	T_EQ_INT(num(&w, EVENTS, "two.example"), 0);
	T_EQ_INT(num(&w, DOMAIN_STATE, "two.example"), -1);
	/* The same save, once the lock is free, goes through. */
	T_EQ_INT(check_save(&w, d, 6000), 0);
	T_EQ_STR(d->state, "verified");
	wr_close(&other);
	wr_close(&w);
	free(d);
}

static void test_addr(void)
{
	char a[64];
	int port;
	T_EQ_INT(check_parse_addr("127.0.0.1:5353", a, sizeof(a), &port), 0);
	T_EQ_STR(a, "127.0.0.1");
	T_EQ_INT(port, 5353);
	T_EQ_INT(check_parse_addr("[::1]:53", a, sizeof(a), &port), 0);
	T_EQ_STR(a, "::1");
	T_EQ_INT(check_parse_addr("::1", a, sizeof(a), &port), 0);
	T_EQ_INT(port, 53);
	T_EQ_INT(check_parse_addr("resolver.example", a, sizeof(a), &port), -1);
	T_EQ_INT(check_parse_addr("127.0.0.1:0", a, sizeof(a), &port), -1);
}

int main(void)
{
	if (t_tmp("check") || make_store())
		return 1;
	T_RUN(test_load);
	T_RUN(test_save);
	T_RUN(test_due);
	T_RUN(test_busy);
	T_RUN(test_addr);
	t_tmp_rm();
	return t_done();
}
