/* fuzz_answer: a libFuzzer target over the query parser and the answer path, the
 * transfer path (request parsing, the whole AXFR or IXFR) and TSIG verification. The
 * same file builds with gcc into a replay program (tests/fuzz/replay.c) that
 * `make test` runs over the corpus in tests/fuzz/corpus. */
#include "answer.h"
#include "db.h"
#include "tsig.h"
#include "wire.h"
#include "xfr.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db_view *view;
static struct xfr_hist *hist;
static struct db_view *old; /* serial 6: the history's one step leads from it to view */
static struct tsig_keys *keys;

static void add(struct db_zone *z, const char *owner, uint16_t type, const uint8_t *rd, size_t n)
{
	uint8_t w[WIRE_MAXNAME];
	int l = wire_name_from_text(owner, w);
	if (l < 0 || db_zone_add(z, w, (size_t)l, type, 3600, rd, n))
		abort();
}

/* A small hosted zone with a few customer domains: enough to reach every branch
 * of the answer path. */
static void setup(void)
{
	static struct db_zone *zones[1];
	uint8_t apex[WIRE_MAXNAME], rd[512];
	int al = wire_name_from_text("auth.fuzz.example.", apex);
	struct db_zone *z = db_zone_new(apex, (size_t)al);
	int n = wire_name_from_text("ns1.auth.fuzz.example.", rd);
	n += wire_name_from_text("hostmaster.fuzz.example.", rd + n);
	memcpy(rd + n, "\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x02\x58\x00\x12\x75\x00\x00\x00\x01\x2c", 20);
	add(z, "auth.fuzz.example.", WIRE_T_SOA, rd, (size_t)n + 20);
	n = wire_name_from_text("ns1.auth.fuzz.example.", rd);
	add(z, "auth.fuzz.example.", WIRE_T_NS, rd, (size_t)n);
	n = wire_txt_rdata("v=spf1 ip4:192.0.2.0/24 -all", 28, rd, sizeof(rd));
	add(z, "_spf.auth.fuzz.example.", WIRE_T_TXT, rd, (size_t)n);
	add(z, "a.b.c.auth.fuzz.example.", WIRE_T_A, (const uint8_t *)"\x7f\0\0\1", 4);
	n = wire_name_from_text("a.b.c.auth.fuzz.example.", rd);
	add(z, "www.auth.fuzz.example.", WIRE_T_CNAME, rd, (size_t)n);
	z->neg_ttl = 300;
	zones[0] = z;

	struct db_edit *e = db_edit_begin(NULL, zones, 1, z);
	struct db_settings set = { 7, 3600, 3600 };
	db_edit_settings(e, &set, 1);
	char longkey[801];
	memset(longkey, 'A', 800);
	longkey[800] = 0;
	char txt[900];
	snprintf(txt, sizeof(txt), "v=DKIM1; k=rsa; p=%s", longkey);
	const char *names[3] = { "example.com", "example.org", "removed.example" };
	const char *tokens[3] = { "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc" };
	for (int i = 0; i < 3; i++) {
		struct db_domain_spec d = { 0 };
		d.id = i + 1;
		d.tenant_id = 1;
		d.name = names[i];
		d.token = tokens[i];
		d.removed = i == 2;
		d.nslots = 2;
		d.slots[0].selector = "esp1";
		d.slots[0].txt = txt;
		d.slots[1].selector = "esp2";
		if (i == 1)
			d.spf = "v=spf1 -all";
		if (db_edit_put_domain(e, &d))
			abort();
	}
	db_edit_put_policy(e, 0, "v=spf1 include:_spf.auth.fuzz.example -all", "10 bounce.auth.fuzz.example.",
			   "v=DMARC1; p=none");
	struct db_garbage g = { 0 };
	view = db_edit_commit(e, NULL, &g);
	db_garbage_free(&g);
	/* A history of one step (serial 6 to 7), for IXFR. */
	e = db_edit_begin(view, zones, 1, z);
	set.serial = 6;
	db_edit_settings(e, &set, 1);
	old = db_edit_commit(e, NULL, &g);
	hist = xfr_hist_new(1 << 20, 3600);
	if (!old || xfr_hist_note(hist, old, view, 0))
		abort();
	/* A TSIG key the corpus's signed messages use. */
	static const char kf[] = "xfr-key. hmac-sha256 aGVsbG8gZnV6emVyIHNlY3JldCBrZXk=\n";
	FILE *f = fmemopen((void *)kf, sizeof(kf) - 1, "r");
	char err[256];
	if (!f || tsig_keys_parse(f, "fuzz", &keys, err, sizeof(err)))
		abort();
	fclose(f);
}

/* The transfer path: a request that parses is answered whole, every message
 * within bounds. */
static void transfer(const uint8_t *data, size_t size, uint8_t *out)
{
	struct xfr_req r;
	struct tsig_ctx ctx;
	size_t lw = size;
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return;
	memcpy(copy, data, size);
	int st = tsig_verify(keys, copy, size, 1700000000, &ctx, &lw);
	if (st == TSIG_OK && size >= 12 && lw <= size)
		copy[11] = (uint8_t)(copy[11] - 1); /* as net.c strips it */
	int k = xfr_parse(view, copy, lw, &r);
	if (k == XFR_AXFR || k == XFR_IXFR) {
		struct xfr_stream *s = xfr_begin(view, hist, &r, copy, lw);
		size_t n;
		int msgs = 0;
		while (s && ((n = xfr_next(s, out, 65535, TSIG_MAX_RR)) > 0 || xfr_blocked(s))) {
			if (!n)
				continue;
			if (n > 65535 - TSIG_MAX_RR || n < 12 || ++msgs > 1000)
				abort();
			if (st == TSIG_OK && tsig_sign(&ctx, out, &n, 65535, 1700000000))
				abort();
		}
		xfr_end(s);
		n = xfr_udp_answer(view, &r, copy, out, 512);
		if (n > 512)
			abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536 + 16];
	static const struct answer_cfg cfg = { .max_udp = 1232 };
	if (!view)
		setup();
	/* The answer must never exceed what the transport allows. */
	size_t n = answer_query(view, &cfg, data, size, out, 65535, 0);
	if (n > 1232 || (n && n < 12))
		abort();
	n = answer_query(view, &cfg, data, size, out, 65535, 1);
	if (n > 65535 || (n && n < 12))
		abort();
	transfer(data, size, out);
	return 0;
}
