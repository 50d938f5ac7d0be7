/* policy: checks SPF (RFC 7208), DMARC (RFC 7489), MX and name text so dnsdctl never stores a broken policy. */
#include "policy.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"

#define SPF_MAX_LEN POLICY_MAX_LEN
#define SPF_MAX_LOOKUPS 10 /* RFC 7208 §4.6.4 */
#define SPF_MAX_VOIDS 2
/* Each expansion counts a lookup before it recurses and stops past the limit, so this bounds the depth. */
#define SPF_MAX_DEPTH (SPF_MAX_LOOKUPS + 2)
#define MX_MAX 10
#define SHOW_LEN 80 /* room for quoted user text in a message */

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }
static int is_wsp(int c) { return c == ' ' || c == '\t'; }
static int is_xdigit(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the message (if there is room for one) and returns the code every check fails with. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return DNSD_EINVAL;
}

/* Copies user text for quoting in a message into buf (SHOW_LEN bytes): bytes outside printable ASCII
 * become '?' because the message ends up on a terminal, and long text is cut with "...". */
static const char *show(char *buf, const char *s, size_t len)
{
	size_t i, n = len < SHOW_LEN ? len : SHOW_LEN - 4;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Trims spaces and tabs from both ends of s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
	while (*n && is_wsp(*s)) {
		s++;
		(*n)--;
	}
	while (*n && is_wsp(s[*n - 1]))
		(*n)--;
	return s;
}

/* Returns 1 if s[0..n) is one of the '|'-separated words, ignoring case. */
static int word_in(const char *words, const char *s, size_t n)
{
	while (*words) {
		size_t w = strcspn(words, "|");

		if (w == n && strncasecmp(words, s, n) == 0)
			return 1;
		words += w + (words[w] == '|');
	}
	return 0;
}

/* Parses s[0..n) as 1..maxdig decimal digits; returns the value or -1. */
static long long num(const char *s, size_t n, size_t maxdig)
{
	long long v = 0;
	size_t i;

	if (n == 0 || n > maxdig)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Compares two host names ignoring case and a trailing dot. */
static int same_name(const char *a, size_t an, const char *b, size_t bn)
{
	an -= an && a[an - 1] == '.';
	bn -= bn && b[bn - 1] == '.';
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* Checks the name s[0..len) (trailing dot allowed); what names it in the message ("domain", "MX: host"). */
static int name_check_n(const char *what, const char *s, size_t len, int us, char *err, size_t errlen)
{
	char q[SHOW_LEN], l[SHOW_LEN];
	const char *p, *dot, *end;
	size_t n, i, labels = 0;
	int numeric = 0;

	show(q, s, len);
	len -= len && s[len - 1] == '.';
	if (len == 0)
		return fail(err, errlen, "%s '%s': the name is empty", what, q);
	if (len > 253)
		return fail(err, errlen, "%s '%s': %zu characters, over the limit of 253", what, q, len);
	for (p = s, end = s + len;; p = dot + 1) {
		dot = memchr(p, '.', (size_t)(end - p));
		n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		show(l, p, n);
		if (n == 0)
			return fail(err, errlen, "%s '%s': has an empty label", what, q);
		if (n > 63)
			return fail(err, errlen, "%s '%s': label '%s' is longer than 63 characters", what, q, l);
		numeric = 1;
		for (i = 0; i < n; i++) {
			if (!is_alnum(p[i]) && p[i] != '-' && !(us && p[i] == '_'))
				return fail(err, errlen,
					    "%s '%s': label '%s' has a character that is not a letter, digit%s or hyphen",
					    what, q, l, us ? ", underscore" : "");
			numeric &= is_digit(p[i]);
		}
		if (p[0] == '-' || p[n - 1] == '-')
			return fail(err, errlen, "%s '%s': label '%s' starts or ends with a hyphen", what, q, l);
		labels++;
		if (!dot)
			break;
	}
	if (labels < 2)
		return fail(err, errlen, "%s '%s': needs at least two labels", what, q);
	if (numeric)
		return fail(err, errlen, "%s '%s': the top-level label '%s' is all digits", what, q, l);
	return 0;
}

int policy_name_check(const char *name, int allow_underscore, char *err, size_t errlen)
{
	if (!name)
		return fail(err, errlen, "domain: no name given");
	return name_check_n("domain", name, strlen(name), allow_underscore, err, errlen);
}

/* ---- SPF ---- */

struct spf {
	const char *zone; /* the hosted zone; zlen leaves out its trailing dot */
	size_t zlen;
	policy_spf_lookup_fn lookup;
	void *ctx;
	int lookups, voids, depth;
	char chain[SPF_MAX_DEPTH][256]; /* the names being expanded, outermost first, to find loops */
	const char *where;              /* the name of the record being checked; NULL for the caller's */
	char *err;
	size_t errlen;
};

/* What one record says about itself, checked once all its terms are read. */
struct spf_rec {
	int all, exp, redirect_literal;
	const char *redirect;
	size_t redirect_len;
};

enum { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS, M_COUNT };
static const char *const spf_mechs[M_COUNT] = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"};

static int spf_record(struct spf *st, const char *rec);

static int spf_fail(struct spf *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails with "SPF: ", naming the included record the problem is in, if it is not the caller's. */
static int spf_fail(struct spf *st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (st->where)
		return fail(st->err, st->errlen, "SPF: in the record at '%s': %s", st->where, msg);
	return fail(st->err, st->errlen, "SPF: %s", msg);
}

/* Checks a macro-string (RFC 7208 §7.1): counts its macros in *macros and says in *ends whether it
 * ends with one. */
static int spf_macros(struct spf *st, const char *s, size_t n, int *macros, int *ends)
{
	char q[SHOW_LEN];
	size_t i = 0, j, d;

	*macros = *ends = 0;
	while (i < n) {
		*ends = s[i] == '%';
		if (s[i] != '%') {
			i++;
			continue;
		}
		(*macros)++;
		if (i + 1 < n && (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-')) {
			i += 2;
			continue;
		}
		if (i + 2 < n && s[i + 1] == '{' && strchr("slodiphcrtv", lower(s[i + 2]))) {
			for (j = d = i + 3; j < n && is_digit(s[j]); j++)
				;
			/* The digit transformer keeps that many parts, so zero is an error (§7.3). */
			if (j == d || num(s + d, j - d, 3) > 0) {
				j += j < n && lower(s[j]) == 'r';
				while (j < n && strchr(".-+,/_=", s[j]))
					j++;
				if (j < n && s[j] == '}') {
					i = j + 1;
					continue;
				}
			}
		}
		return spf_fail(st, "bad macro in '%s' (see RFC 7208 §7)", show(q, s, n));
	}
	return 0;
}

/* Returns 1 if s[0..n) is a valid top label: LDH, not all digits. */
static int spf_toplabel(const char *s, size_t n)
{
	size_t i, digits = 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
		digits += is_digit(s[i]);
	}
	return digits < n;
}

/* Tells whether s[0..n) is the hosted zone or under it, ignoring case and a trailing dot. */
static int spf_in_zone(const struct spf *st, const char *s, size_t n)
{
	n -= n && s[n - 1] == '.';
	if (!st->zlen || n < st->zlen || strncasecmp(s + n - st->zlen, st->zone, st->zlen))
		return 0;
	return n == st->zlen || s[n - st->zlen - 1] == '.';
}

/* Checks the domain-spec s[0..n) of term q; *literal says whether it has no macros, so it names one host. */
static int spf_domain(struct spf *st, const char *q, const char *s, size_t n, int *literal)
{
	char msg[256];
	const char *dot;
	size_t m = n - (n > 1 && s[n - 1] == '.');
	int macros, ends, rc;

	if (n == 0)
		return spf_fail(st, "'%s' has an empty domain", q);
	if ((rc = spf_macros(st, s, m, &macros, &ends)))
		return rc;
	*literal = !macros;
	if (!macros) {
		/* Underscores are common in SPF targets such as _spf.example.com. */
		if (name_check_n("domain", s, n, 1, msg, sizeof msg))
			return spf_fail(st, "%s", msg);
		return 0;
	}
	dot = memrchr(s, '.', m);
	if (!ends && (!dot || !spf_toplabel(dot + 1, (size_t)(s + m - dot - 1))))
		return spf_fail(st, "the domain in '%s' must end with a macro or a top-level label", q);
	/* exists:%{i}._spf.Z asks for a name per message: the hosted zone has
	 * none of them (no wildcards), so every message would fail the term. */
	if (spf_in_zone(st, s, n))
		return spf_fail(st, "'%s' builds a name in the hosted zone from macros: the zone serves no such "
				    "names (it has no wildcards), so the term fails for every message",
				q);
	return 0;
}

/* Parses a CIDR length "/N" (no leading zeros, at most max) at s; returns where it ends, or NULL. */
static const char *spf_cidr(const char *s, const char *end, int max)
{
	const char *d = s + 1, *e = d;
	long long v;

	if (s >= end || *s != '/')
		return NULL;
	while (e < end && is_digit(*e))
		e++;
	v = num(d, (size_t)(e - d), 3);
	if (v < 0 || v > max || (e - d > 1 && *d == '0'))
		return NULL;
	return e;
}

/* Returns the first '/' in [p, end) outside %{...} macros: where a/mx's dual-cidr-length starts. */
static const char *spf_slash(const char *p, const char *end)
{
	for (; p < end && *p != '/'; p++) {
		if (*p == '%' && p + 1 < end && p[1] == '{') {
			while (p + 1 < end && *p != '}')
				p++;
		} else if (*p == '%' && p + 1 < end) {
			p++; /* %% %_ %- */
		}
	}
	return p;
}

/* Checks "ip4:addr[/len]" or "ip6:addr[/len]", arg pointing after the mechanism name. */
static int spf_ip(struct spf *st, const char *q, int v6, const char *arg, const char *end)
{
	char a[64];
	unsigned char bin[16];
	const char *slash;
	size_t n;

	if (arg >= end || *arg != ':')
		return spf_fail(st, "'%s' needs ':' and an address", q);
	arg++;
	slash = memchr(arg, '/', (size_t)(end - arg));
	slash = slash ? slash : end;
	n = (size_t)(slash - arg);
	if (n >= sizeof a)
		n = sizeof a - 1; /* inet_pton then fails on the cut address */
	memcpy(a, arg, n);
	a[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, bin) != 1)
		return spf_fail(st, "bad IPv%d address in '%s'", v6 ? 6 : 4, q);
	if (slash < end && spf_cidr(slash, end, v6 ? 128 : 32) != end)
		return spf_fail(st, "bad CIDR length in '%s' (0..%d)", q, v6 ? 128 : 32);
	return 0;
}

/* Writes the literal name s[0..n) (at most 253 characters, checked) lowercase with one trailing dot. */
static void spf_zone_name(const char *s, size_t n, char name[256])
{
	size_t i;

	n -= s[n - 1] == '.';
	for (i = 0; i < n; i++)
		name[i] = (char)lower(s[i]);
	memcpy(name + n, ".", 2);
}

/* Follows an include or redirect to the literal name s[0..n): counts a void lookup, reports a loop, or
 * checks the record found, counting its terms too. */
static int spf_expand(struct spf *st, const char *s, size_t n)
{
	char name[256], rec[SPF_MAX_LEN + 2];
	const char *where = st->where;
	int d, rc;

	/* Past the limit the answer is already an error, and expanding further could blow up. */
	if (!st->lookup || !spf_in_zone(st, s, n) || st->lookups > SPF_MAX_LOOKUPS)
		return 0;
	spf_zone_name(s, n, name);
	for (d = 0; d < st->depth; d++)
		if (strcmp(st->chain[d], name) == 0)
			return spf_fail(st, "include loop back to '%s'", name);
	if (st->depth == SPF_MAX_DEPTH)
		return spf_fail(st, "includes nested too deeply at '%s'", name);
	rc = st->lookup(st->ctx, name, POLICY_SPF_TXT, rec, sizeof rec);
	if (rc < 0) {
		spf_fail(st, "looking up the SPF record at '%s' failed", name);
		return rc;
	}
	if (rc == 0) {
		/* Receivers give permerror for an include or redirect whose target has no
		 * SPF record (RFC 7208 §5.2, §6.1): inside our own zone we can know. */
		st->voids++;
		return spf_fail(st, "'%s' has no SPF record: receivers would return permerror (RFC 7208 5.2)",
				name);
	}
	rec[sizeof rec - 1] = '\0';
	strcpy(st->chain[st->depth], name);
	st->where = st->chain[st->depth++];
	rc = spf_record(st, rec);
	st->depth--;
	st->where = where;
	return rc;
}

/* Checks what a receiver would find for term q of mechanism m at the literal name s[0..n) inside the
 * hosted zone: a ptr: there is refused, an a:, mx: or exists: needs its record (when there is a lookup). */
static int spf_target(struct spf *st, const char *q, int m, const char *s, size_t n)
{
	static const struct {
		int mech, what;
		const char *needs;
	} need[] = {
		{M_A, POLICY_SPF_ADDR, "A or AAAA record"},
		{M_MX, POLICY_SPF_MX, "MX record"},
		{M_EXISTS, POLICY_SPF_A, "A record (exists: asks for A only)"},
	};
	char name[256];
	size_t i;
	int rc;

	if (!spf_in_zone(st, s, n))
		return 0;
	if (m == M_PTR)
		return spf_fail(st, "'%s' points into the hosted zone, which serves no names for senders' "
				    "addresses: use ip4: or ip6: (RFC 7208 5.5 discourages ptr)",
				q);
	for (i = 0; i < sizeof need / sizeof need[0] && need[i].mech != m; i++)
		;
	if (i == sizeof need / sizeof need[0] || !st->lookup)
		return 0;
	spf_zone_name(s, n, name);
	rc = st->lookup(st->ctx, name, need[i].what, NULL, 0);
	if (rc < 0) {
		spf_fail(st, "looking up '%s' for '%s' failed", name, q);
		return rc;
	}
	if (rc == 0)
		return spf_fail(st, "'%s': the hosted zone has no %s at '%s', so the term never matches and "
				    "counts as a void lookup for every message (RFC 7208 4.6.4)",
				q, need[i].needs, name);
	return 0;
}

/* Checks one term t[0..tn): a mechanism with its qualifier, or a modifier. */
static int spf_term(struct spf *st, struct spf_rec *r, const char *t, size_t tn)
{
	char q[SHOW_LEN];
	const char *p = t, *end = t + tn, *arg, *dom = NULL, *slash = end;
	size_t nl;
	int qual = 0, m, lit = 0, rc;

	show(q, t, tn);
	if (strchr("+-~?", *p)) {
		qual = 1;
		p++;
	}
	for (nl = 0; p + nl < end && (is_alpha(p[nl]) || (nl && (is_digit(p[nl]) || strchr("-_.", p[nl])))); nl++)
		;
	arg = p + nl;
	for (m = 0; m < M_COUNT && !(strlen(spf_mechs[m]) == nl && strncasecmp(p, spf_mechs[m], nl) == 0); m++)
		;
	if (nl && arg < end && *arg == '=') {
		const char *v = arg + 1;
		size_t vn = (size_t)(end - v);

		if (qual)
			return spf_fail(st, "modifier '%s' cannot have a qualifier", q);
		/* Legal as an unknown modifier, but "include=" is surely a typo that receivers would ignore. */
		if (m < M_COUNT)
			return spf_fail(st, "'%s': %s is a mechanism and takes ':', not '='", q, spf_mechs[m]);
		if (nl == 8 && strncasecmp(p, "redirect", 8) == 0) {
			if (r->redirect)
				return spf_fail(st, "redirect= appears more than once");
			r->redirect = v;
			r->redirect_len = vn;
			st->lookups++;
			return spf_domain(st, q, v, vn, &r->redirect_literal);
		}
		if (nl == 3 && strncasecmp(p, "exp", 3) == 0) {
			if (r->exp++)
				return spf_fail(st, "exp= appears more than once");
			return spf_domain(st, q, v, vn, &lit);
		}
		return spf_macros(st, v, vn, &m, &lit); /* unknown modifiers are allowed */
	}
	if (m == M_COUNT || (arg < end && *arg != ':' && *arg != '/'))
		return spf_fail(st, "unknown mechanism '%s'", q);
	if (m == M_ALL) {
		if (arg < end)
			return spf_fail(st, "'%s': all takes no argument", q);
		r->all = 1;
		return 0;
	}
	if (m == M_IP4 || m == M_IP6)
		return spf_ip(st, q, m == M_IP6, arg, end);
	st->lookups++;
	if (arg < end && *arg == ':')
		dom = arg + 1;
	else if (m == M_INCLUDE || m == M_EXISTS)
		return spf_fail(st, "'%s' needs ':' and a domain", q);
	if (m == M_A || m == M_MX)
		slash = spf_slash(arg, end);
	else if (!dom && arg < end)
		return spf_fail(st, "'%s': %s takes no CIDR length", q, spf_mechs[m]);
	if (dom && (rc = spf_domain(st, q, dom, (size_t)(slash - dom), &lit)))
		return rc;
	if (slash < end) {
		/* dual-cidr-length: [/0..32][//0..128] */
		p = slash;
		if (!(p + 1 < end && p[1] == '/'))
			p = spf_cidr(p, end, 32);
		if (p && p < end)
			p = *p == '/' ? spf_cidr(p + 1, end, 128) : NULL;
		if (p != end)
			return spf_fail(st, "bad CIDR length in '%s' (/0..32 for IPv4, //0..128 for IPv6)", q);
	}
	if (m == M_INCLUDE && lit)
		return spf_expand(st, dom, (size_t)(end - dom));
	if (dom && lit)
		return spf_target(st, q, m, dom, (size_t)(slash - dom));
	return 0;
}

/* Checks one whole record: the caller's, or one reached through include or redirect. */
static int spf_record(struct spf *st, const char *rec)
{
	struct spf_rec r = {0};
	const char *p;
	size_t len = strlen(rec), i, n;
	int rc;

	if (len > SPF_MAX_LEN)
		return spf_fail(st, "the record is %zu characters, over the limit of %d", len, SPF_MAX_LEN);
	for (i = 0; i < len; i++)
		if ((unsigned char)rec[i] < 0x20 || (unsigned char)rec[i] > 0x7e)
			return spf_fail(st, "character 0x%02x at position %zu is not printable ASCII",
					(unsigned char)rec[i], i + 1);
	if (strncasecmp(rec, "v=spf1", 6) != 0 || (rec[6] != '\0' && rec[6] != ' '))
		return spf_fail(st, "must start with v=spf1");
	for (p = rec + 6;; p += n) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " ");
		if ((rc = spf_term(st, &r, p, n)))
			return rc;
	}
	if (r.redirect && r.all)
		return spf_fail(st, "redirect= with all: RFC 7208 §6.1 ignores redirect when all is present");
	if (r.redirect && r.redirect_literal)
		return spf_expand(st, r.redirect, r.redirect_len);
	return 0;
}

int policy_spf_check(const char *spf, const char *zone, policy_spf_lookup_fn lookup, void *ctx,
		     int *lookups_out, char *err, size_t errlen)
{
	struct spf st = {.zone = zone, .lookup = lookup, .ctx = ctx, .err = err, .errlen = errlen};
	int rc;

	st.zlen = zone ? strlen(zone) : 0;
	st.zlen -= st.zlen && zone[st.zlen - 1] == '.';
	rc = spf ? spf_record(&st, spf) : spf_fail(&st, "no record given");
	if (!rc && st.lookups > SPF_MAX_LOOKUPS)
		rc = spf_fail(&st, "%d DNS-querying terms (include, a, mx, ptr, exists, redirect), over the limit of %d",
			      st.lookups, SPF_MAX_LOOKUPS);
	if (!rc && st.voids > SPF_MAX_VOIDS)
		rc = spf_fail(&st, "%d void lookups (include or redirect targets in the zone with no SPF record), "
				   "over the limit of %d",
			      st.voids, SPF_MAX_VOIDS);
	if (lookups_out)
		*lookups_out = st.lookups;
	return rc;
}

/* ---- DMARC ---- */

/* Each tag with the words its value may be, or "" when it needs its own check. */
static const char *const dmarc_tags[][2] = {
	{"v", ""},    {"p", "none|quarantine|reject"}, {"sp", "none|quarantine|reject"},
	{"np", "none|quarantine|reject"},              {"pct", ""},
	{"adkim", "r|s"}, {"aspf", "r|s"},             {"fo", ""},
	{"rf", "afrf"}, {"ri", ""},                    {"rua", ""},
	{"ruf", ""},  {"psd", "y|n|u"},                {"t", "y|n"},
};
#define DMARC_NTAGS (sizeof dmarc_tags / sizeof dmarc_tags[0])

/* Checks one rua/ruf URI: mailto:local@domain with an optional !size[kmgt] limit (RFC 7489 §6.4). */
static int dmarc_uri(const char *tag, const char *u, size_t n, char *err, size_t errlen)
{
	char q[SHOW_LEN], msg[256];
	const char *a, *end = u + n, *at, *bang, *p;

	show(q, u, n);
	if (n < 7 || strncasecmp(u, "mailto:", 7) != 0)
		return fail(err, errlen, "DMARC: %s URI '%s' must be a mailto: URI", tag, q);
	a = u + 7;
	at = memrchr(a, '@', (size_t)(end - a));
	if (!at)
		return fail(err, errlen, "DMARC: %s URI '%s' has no address (local@domain)", tag, q);
	/* '!' is legal in a local part, so only one after the '@' starts the size limit. */
	bang = memchr(at, '!', (size_t)(end - at));
	if (bang) {
		for (p = bang + 1; p < end && is_digit(*p); p++)
			;
		p += p > bang + 1 && p < end && strchr("kmgtKMGT", *p);
		if (p == bang + 1 || p != end)
			return fail(err, errlen, "DMARC: %s URI '%s' has a bad size limit (digits and an optional k, m, g or t after '!')",
				    tag, q);
		end = bang;
	}
	if (at == a || at - a > 64)
		return fail(err, errlen, "DMARC: %s URI '%s' has an empty or too long local part", tag, q);
	for (p = a; p < at; p++) {
		if (*p == '%' && p + 2 < at && is_xdigit(p[1]) && is_xdigit(p[2]))
			p += 2; /* URI percent-encoding */
		else if (*p == '.' ? p == a || p + 1 == at || p[1] == '.'
				   : !is_alnum(*p) && !strchr("!#$&'*+-/=^_`{|}~", *p))
			return fail(err, errlen, "DMARC: %s URI '%s' has a bad local part", tag, q);
	}
	if (name_check_n("domain", at + 1, (size_t)(end - at - 1), 0, msg, sizeof msg))
		return fail(err, errlen, "DMARC: %s URI '%s': %s", tag, q, msg);
	return 0;
}

/* Checks the value v[0..n) of a known tag. */
static int dmarc_value(const char *tag, const char *words, const char *v, size_t n, char *err, size_t errlen)
{
	char q[SHOW_LEN];
	const char *p, *e, *w, *end = v + n;
	size_t k;
	long long x;
	int rc, list = strncmp(tag, "ru", 2) == 0; /* rua, ruf */

	show(q, v, n);
	if (*words)
		return word_in(words, v, n) ? 0 : fail(err, errlen, "DMARC: %s='%s' must be one of %s", tag, q, words);
	if (strcmp(tag, "pct") == 0) {
		x = num(v, n, 3);
		if (x < 0 || x > 100)
			return fail(err, errlen, "DMARC: pct='%s' must be an integer from 0 to 100", q);
	} else if (strcmp(tag, "ri") == 0) {
		x = num(v, n, 10);
		if (x < 0 || x > 4294967295LL)
			return fail(err, errlen, "DMARC: ri='%s' must be a number of seconds from 0 to 4294967295", q);
	} else if (list || strcmp(tag, "fo") == 0) {
		for (p = v;; p = e + 1) {
			e = memchr(p, list ? ',' : ':', (size_t)(end - p));
			e = e ? e : end;
			k = (size_t)(e - p);
			w = trim(p, &k);
			if (list && k == 0)
				return fail(err, errlen, "DMARC: %s='%s' has an empty URI", tag, q);
			if (list && (rc = dmarc_uri(tag, w, k, err, errlen)))
				return rc;
			if (!list && !word_in("0|1|d|s", w, k))
				return fail(err, errlen, "DMARC: fo='%s' must be a colon-separated list of 0, 1, d and s", q);
			if (e == end)
				break;
		}
	}
	return 0;
}

int policy_dmarc_check(const char *dmarc, char *err, size_t errlen)
{
	char q[SHOW_LEN];
	const char *p, *e, *t, *eq, *v;
	size_t n, tn, vn, i, k;
	unsigned seen = 0;
	int rc;

	if (!dmarc)
		return fail(err, errlen, "DMARC: no record given");
	if ((n = strlen(dmarc)) > POLICY_MAX_LEN)
		return fail(err, errlen, "DMARC: the record is %zu characters, over the limit of %d", n,
			    POLICY_MAX_LEN);
	for (i = 0; dmarc[i]; i++)
		if (((unsigned char)dmarc[i] < 0x20 && dmarc[i] != '\t') || (unsigned char)dmarc[i] > 0x7e)
			return fail(err, errlen, "DMARC: character 0x%02x at position %zu is not printable ASCII",
				    (unsigned char)dmarc[i], i + 1);
	for (p = dmarc, k = 0;; p = e + 1, k++) {
		e = strchr(p, ';');
		n = e ? (size_t)(e - p) : strlen(p);
		t = trim(p, &n);
		if (n == 0 && k > 0) {
			if (!e)
				break; /* a trailing ';' */
			return fail(err, errlen, "DMARC: empty tag between two ';'");
		}
		eq = memchr(t, '=', n);
		tn = eq ? (size_t)(eq - t) : n;
		trim(t, &tn);
		vn = eq ? (size_t)(t + n - eq - 1) : 0;
		v = eq ? trim(eq + 1, &vn) : t + n;
		if (k == 0) {
			/* "DMARC1" is case-sensitive in RFC 7489's grammar; the tag name is not. */
			if (!eq || tn != 1 || lower(*t) != 'v' || vn != 6 || strncmp(v, "DMARC1", 6) != 0)
				return fail(err, errlen, "DMARC: must start with v=DMARC1");
			seen = 1;
		} else {
			if (!eq)
				return fail(err, errlen, "DMARC: '%s' is not a tag=value pair", show(q, t, n));
			for (i = 0; i < DMARC_NTAGS && !(strlen(dmarc_tags[i][0]) == tn &&
							 strncasecmp(dmarc_tags[i][0], t, tn) == 0);
			     i++)
				;
			if (i == DMARC_NTAGS)
				return fail(err, errlen, "DMARC: unknown tag '%s'", show(q, t, tn));
			if (seen & (1u << i))
				return fail(err, errlen, "DMARC: duplicate tag '%s'", dmarc_tags[i][0]);
			seen |= 1u << i;
			if ((rc = dmarc_value(dmarc_tags[i][0], dmarc_tags[i][1], v, vn, err, errlen)))
				return rc;
		}
		if (!e)
			break;
	}
	if (!(seen & 2u))
		return fail(err, errlen, "DMARC: p= is required (none, quarantine or reject)");
	return 0;
}

/* ---- MX ---- */

int policy_mx_check(const char *mx, char *err, size_t errlen)
{
	char q[SHOW_LEN];
	const char *host[MX_MAX], *p, *e, *t, *h;
	size_t hlen[MX_MAX], n, d, i, k = 0, j;
	long long pref;
	int rc;

	if (!mx)
		return fail(err, errlen, "MX: no list given");
	if ((n = strlen(mx)) > POLICY_MAX_LEN)
		return fail(err, errlen, "MX: the list is %zu characters, over the limit of %d", n,
			    POLICY_MAX_LEN);
	for (p = mx;; p = e + 1) {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		t = trim(p, &n);
		if (n == 0)
			return fail(err, errlen, k || e ? "MX: empty entry (two commas, or one at an end)"
							: "MX: the list is empty");
		if (k == MX_MAX)
			return fail(err, errlen, "MX: more than %d entries", MX_MAX);
		for (d = 0; d < n && is_digit(t[d]); d++)
			;
		for (i = d; i < n && is_wsp(t[i]); i++)
			;
		if (d == 0 || i == d || i == n)
			return fail(err, errlen, "MX: entry '%s' is not PREFERENCE HOST, e.g. '10 mx.example.com.'",
				    show(q, t, n));
		pref = num(t, d, 5);
		if (pref < 0 || pref > 65535)
			return fail(err, errlen, "MX: preference '%s' is not in 0..65535", show(q, t, d));
		h = t + i;
		if ((rc = name_check_n("MX: host", h, n - i, 0, err, errlen)))
			return rc;
		for (j = 0; j < k; j++)
			if (same_name(host[j], hlen[j], h, n - i))
				return fail(err, errlen, "MX: host '%s' is listed twice", show(q, h, n - i));
		host[k] = h;
		hlen[k++] = n - i;
		if (!e)
			break;
	}
	return 0;
}
