/* test_policy: SPF, DMARC, MX and name validation, with the zone's SPF records served by a fake lookup. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "policy.h"
#include "t.h"

#define ZONE "auth.esp.example."

/* The SPF records the fake store holds in ZONE. */
static const char *const fake_zone[][2] = {
	{"a.auth.esp.example.", "v=spf1 ip4:192.0.2.0/24 include:b.auth.esp.example. -all"},
	{"b.auth.esp.example.", "v=spf1 a mx -all"},
	{"five.auth.esp.example.", "v=spf1 a mx ptr exists:%{i}.x.example.com a:y.example.com -all"},
	{"nest.auth.esp.example.", "v=spf1 include:five.auth.esp.example include:five.auth.esp.example -all"},
	{"loop1.auth.esp.example.", "v=spf1 include:loop2.auth.esp.example ~all"},
	{"loop2.auth.esp.example.", "v=spf1 include:LOOP1.auth.esp.example. ~all"},
	{"self.auth.esp.example.", "v=spf1 include:self.auth.esp.example -all"},
	{"bad.auth.esp.example.", "v=spf1 frobnicate -all"},
	{"redir.auth.esp.example.", "v=spf1 redirect=b.auth.esp.example"},
	{"auth.esp.example.", "v=spf1 mx -all"},
	{"inner.auth.esp.example.", "v=spf1 exists:%{i}.inner.auth.esp.example -all"},
};

/* Its other records: the kinds of lookup each name answers. */
static const struct {
	const char *name;
	int what[3];
} fake_hosts[] = {
	{"host.auth.esp.example.", {POLICY_SPF_A, POLICY_SPF_ADDR}},
	{"v6.auth.esp.example.", {POLICY_SPF_ADDR}},
	{"mail.auth.esp.example.", {POLICY_SPF_MX}},
};

static int fake_calls;

static int fake_lookup(void *ctx, const char *name, int what, char *out, size_t outlen)
{
	size_t i;

	fake_calls++;
	if (strcmp(name, "fail.auth.esp.example.") == 0)
		return DNSD_EIO;
	if (what != POLICY_SPF_TXT) {
		for (i = 0; i < sizeof fake_hosts / sizeof fake_hosts[0]; i++)
			if (strcmp(fake_hosts[i].name, name) == 0)
				return fake_hosts[i].what[0] == what || fake_hosts[i].what[1] == what ||
				       fake_hosts[i].what[2] == what;
		return 0;
	}
	for (i = 0; i < sizeof fake_zone / sizeof fake_zone[0]; i++) {
		if (strcmp(fake_zone[i][0], name) == 0) {
			snprintf(out, outlen, "%s", fake_zone[i][1]);
			return 1;
		}
	}
	return 0;
}

static char err[512];
static int lookups;

static int spf(const char *rec)
{
	err[0] = '\0';
	lookups = -1;
	return policy_spf_check(rec, ZONE, fake_lookup, NULL, &lookups, err, sizeof err);
}

/* Checks that rec is rejected with a message containing word. */
#define SPF_BAD(rec, word)                                    \
	do {                                                  \
		T_EQ_INT(spf(rec), DNSD_EINVAL);              \
		T_CHECK(strstr(err, word) != NULL);           \
		T_CHECK(strncmp(err, "SPF: ", 5) == 0);       \
	} while (0)

static void test_spf_valid(void)
{
	T_EQ_INT(spf("v=spf1 -all"), 0);
	T_EQ_INT(lookups, 0);
	T_EQ_INT(spf("v=spf1"), 0);
	T_EQ_INT(spf("V=SPF1 MX ~ALL  "), 0);
	T_EQ_INT(lookups, 1);
	T_EQ_INT(spf("v=spf1 ip4:192.0.2.1 ip4:192.0.2.0/24 ip4:0.0.0.0/0 ip6:2001:db8::/32 ip6:::1 "
		     "ip6:2001:db8::1/128 ?all"),
		 0);
	T_EQ_INT(lookups, 0);
	T_EQ_INT(spf("v=spf1 a a:mail.example.com a/24 a//64 a:mail.example.com/24//64 mx/30 -all"), 0);
	T_EQ_INT(lookups, 6);
	T_EQ_INT(spf("v=spf1 include:_spf.google.com include:spf.protection.outlook.com -all"), 0);
	T_EQ_INT(lookups, 2);
	T_EQ_INT(spf("v=spf1 ptr ptr:example.org +all"), 0);
	T_EQ_INT(spf("v=spf1 exists:%{i}._spf.%{d}.example.com exists:%{ir}.%{v}._spf.%{d2} "
		     "exists:%{l1r-}.x%%y%_z%-.example.com -all"),
		 0);
	T_EQ_INT(lookups, 3);
	T_EQ_INT(spf("v=spf1 -all exp=explain._spf.%{d} moo=bar%{s} foo.bar-baz="), 0);
	T_EQ_INT(spf("v=spf1 a:%{d}.example.com. -all"), 0);
	T_EQ_INT(spf("v=spf1 redirect=_spf.example.com"), 0);
	T_EQ_INT(lookups, 1);
	/* "all" followed by more mechanisms is odd but valid. */
	T_EQ_INT(spf("v=spf1 -all ip4:192.0.2.1"), 0);
}

static void test_spf_zone_expansion(void)
{
	/* a: ip4, include b (1) -> b: a, mx (2) */
	fake_calls = 0;
	T_EQ_INT(spf("v=spf1 include:a.auth.esp.example -all"), 0);
	T_EQ_INT(lookups, 4);
	T_EQ_INT(fake_calls, 2);
	/* Case and trailing dot do not matter; the zone apex counts as inside. */
	T_EQ_INT(spf("v=spf1 include:A.Auth.ESP.example. include:auth.esp.example -all"), 0);
	T_EQ_INT(lookups, 6);
	/* A name that merely ends like the zone is outside it. */
	fake_calls = 0;
	T_EQ_INT(spf("v=spf1 include:xauth.esp.example -all"), 0);
	T_EQ_INT(fake_calls, 0);
	T_EQ_INT(lookups, 1);
	/* Redirect is followed too. */
	T_EQ_INT(spf("v=spf1 mx redirect=redir.auth.esp.example"), 0);
	T_EQ_INT(lookups, 5);
	/* Targets with macros outside the zone cannot be expanded, nor checked. */
	fake_calls = 0;
	T_EQ_INT(spf("v=spf1 include:%{d}.example.com exists:%{i}._spf.%{d} -all"), 0);
	T_EQ_INT(fake_calls, 0);
	/* An include of an in-zone name without SPF is an error (permerror at receivers). */
	T_EQ_INT(spf("v=spf1 include:none1.auth.esp.example -all"), DNSD_EINVAL);
	T_CHECK(strstr(err, "has no SPF record") != NULL);
	/* Without a lookup function an inside-zone include is one term. */
	T_EQ_INT(policy_spf_check("v=spf1 include:nest.auth.esp.example -all", ZONE, NULL, NULL, &lookups, err,
				  sizeof err),
		 0);
	T_EQ_INT(lookups, 1);
	/* Nor with no zone; NULL err and lookups_out are fine. */
	T_EQ_INT(policy_spf_check("v=spf1 include:nest.auth.esp.example -all", NULL, fake_lookup, NULL, NULL, NULL, 0),
		 0);
	T_EQ_INT(policy_spf_check("v=spf1 bogus", ZONE, fake_lookup, NULL, NULL, NULL, 0), DNSD_EINVAL);
}

static void test_spf_errors(void)
{
	SPF_BAD("v=spf2 -all", "v=spf1");
	SPF_BAD("v=spf1-all", "v=spf1");
	SPF_BAD(" v=spf1 -all", "v=spf1");
	SPF_BAD("", "v=spf1");
	SPF_BAD("spf1 -all", "v=spf1");
	SPF_BAD("v=spf1 ipv4:192.0.2.1 -all", "unknown mechanism 'ipv4:192.0.2.1'");
	SPF_BAD("v=spf1 +foo -all", "unknown mechanism");
	SPF_BAD("v=spf1 mx: -all", "empty domain");
	SPF_BAD("v=spf1 allx", "unknown mechanism");
	SPF_BAD("v=spf1 all:foo", "all");
	SPF_BAD("v=spf1 ip4:192.0.2.300 -all", "IPv4 address");
	SPF_BAD("v=spf1 ip4:2001:db8::1 -all", "IPv4 address");
	SPF_BAD("v=spf1 ip6:192.0.2.1 -all", "IPv6 address");
	SPF_BAD("v=spf1 ip6:2001:db8:::1 -all", "IPv6 address");
	SPF_BAD("v=spf1 ip4 -all", "address");
	SPF_BAD("v=spf1 ip4:192.0.2.0/33 -all", "CIDR");
	SPF_BAD("v=spf1 ip4:192.0.2.0/024 -all", "CIDR");
	SPF_BAD("v=spf1 ip4:192.0.2.0/ -all", "CIDR");
	SPF_BAD("v=spf1 ip6:2001:db8::/129 -all", "CIDR");
	SPF_BAD("v=spf1 a/33 -all", "CIDR");
	SPF_BAD("v=spf1 mx//129 -all", "CIDR");
	SPF_BAD("v=spf1 a/24/64 -all", "CIDR");
	SPF_BAD("v=spf1 ptr/24 -all", "CIDR");
	SPF_BAD("v=spf1 include -all", "needs ':'");
	SPF_BAD("v=spf1 include:example -all", "two labels");
	SPF_BAD("v=spf1 include:exa..mple.com -all", "empty label");
	SPF_BAD("v=spf1 include:"
		"a234567890123456789012345678901234567890123456789012345678901234.example.com -all",
		"longer than 63");
	SPF_BAD("v=spf1 exists:%{x}.example.com -all", "macro");
	SPF_BAD("v=spf1 exists:%{i0}.example.com -all", "macro");
	SPF_BAD("v=spf1 exists:%{i.example.com -all", "macro");
	SPF_BAD("v=spf1 exists:100%.example.com -all", "macro");
	SPF_BAD("v=spf1 exists:%{i}.example.c_m -all", "top-level");
	SPF_BAD("v=spf1 -exp=foo.example.com -all", "qualifier");
	SPF_BAD("v=spf1 include=_spf.example.com -all", "include is a mechanism");
	SPF_BAD("v=spf1 redirect=a.example.com redirect=b.example.com", "more than once");
	SPF_BAD("v=spf1 exp=a.example.com exp=b.example.com -all", "more than once");
	SPF_BAD("v=spf1 mx redirect=_spf.example.com -all", "redirect= with all");
	SPF_BAD("v=spf1 ip4:192.0.2.1 \xc3\xa9 -all", "not printable ASCII");
	SPF_BAD("v=spf1 ip4:192.0.2.1\t-all", "not printable ASCII");
	SPF_BAD("v=spf1 a a a a a a a a a a a -all",
		"11 DNS-querying terms (include, a, mx, ptr, exists, redirect), over the limit of 10");
	T_EQ_INT(lookups, 11);
}

static void test_spf_zone_errors(void)
{
	char big[2100];

	/* nest: 2 includes of five (5 each) = 12, plus the include of nest = 13. */
	SPF_BAD("v=spf1 include:nest.auth.esp.example -all", "13 DNS-querying terms");
	T_EQ_INT(lookups, 13);
	/* 10 at the top is fine; 6 more from a.auth.esp.example via the zone is not. */
	T_EQ_INT(spf("v=spf1 a mx ptr a a a a a a include:a.auth.esp.example -all"), DNSD_EINVAL);
	T_CHECK(strstr(err, "over the limit of 10") != NULL);
	SPF_BAD("v=spf1 include:loop1.auth.esp.example -all", "include loop back to 'loop1.auth.esp.example.'");
	SPF_BAD("v=spf1 redirect=self.auth.esp.example", "loop");
	SPF_BAD("v=spf1 include:n1.auth.esp.example include:n2.auth.esp.example include:n3.auth.esp.example -all",
		"'n1.auth.esp.example.' has no SPF record");
	/* An error inside an included record names that record. */
	SPF_BAD("v=spf1 include:bad.auth.esp.example -all", "in the record at 'bad.auth.esp.example.'");
	T_CHECK(strstr(err, "unknown mechanism 'frobnicate'") != NULL);
	/* A failing lookup returns its own code and names the target. */
	T_EQ_INT(spf("v=spf1 include:fail.auth.esp.example -all"), DNSD_EIO);
	T_CHECK(strstr(err, "fail.auth.esp.example.") != NULL);
	/* Length limit. */
	strcpy(big, "v=spf1");
	while (strlen(big) < 2060)
		strcat(big, " ip4:1.2.3.4");
	T_CHECK(strlen(big) > 2048);
	SPF_BAD(big, "2048");
}

/* Writes head, then blanks up to len characters, into big; returns big. */
static const char *padded(char *big, const char *head, size_t len)
{
	memset(big, ' ', len);
	memcpy(big, head, strlen(head));
	big[len] = '\0';
	return big;
}

static int dmarc(const char *rec)
{
	err[0] = '\0';
	return policy_dmarc_check(rec, err, sizeof err);
}

#define DMARC_BAD(rec, word)                               \
	do {                                               \
		T_EQ_INT(dmarc(rec), DNSD_EINVAL);         \
		T_CHECK(strstr(err, word) != NULL);        \
		T_CHECK(strncmp(err, "DMARC: ", 7) == 0);  \
	} while (0)

/* The terms other than include and redirect that point into the zone: each is
 * checked as a receiver would find it (exists:%{i}._spf.Z was accepted, and
 * failed every message). */
static void test_spf_zone_targets(void)
{
	SPF_BAD("v=spf1 exists:%{i}._spf.auth.esp.example -all", "from macros");
	SPF_BAD("v=spf1 a:%{d}.Auth.ESP.example. -all", "from macros");
	SPF_BAD("v=spf1 mx:%{l}.auth.esp.example/24 -all", "from macros");
	SPF_BAD("v=spf1 include:%{d}.auth.esp.example -all", "from macros");
	SPF_BAD("v=spf1 redirect=%{d}.auth.esp.example", "from macros");
	SPF_BAD("v=spf1 -all exp=%{i}.auth.esp.example", "from macros");
	SPF_BAD("v=spf1 ptr:auth.esp.example -all", "ptr");
	SPF_BAD("v=spf1 ptr:x.auth.esp.example -all", "ptr");
	/* with the record the term asks for, a target in the zone is fine */
	T_EQ_INT(spf("v=spf1 a:host.auth.esp.example a:V6.auth.esp.example./24//64 exists:host.auth.esp.example "
		     "mx:mail.auth.esp.example -all"),
		 0);
	T_EQ_INT(lookups, 4);
	SPF_BAD("v=spf1 a:nohost.auth.esp.example -all", "no A or AAAA record");
	T_CHECK(strstr(err, "'nohost.auth.esp.example.'") != NULL && strstr(err, "void lookup") != NULL);
	SPF_BAD("v=spf1 exists:v6.auth.esp.example -all", "no A record");
	SPF_BAD("v=spf1 mx:host.auth.esp.example -all", "no MX record");
	SPF_BAD("v=spf1 a:auth.esp.example -all", "A or AAAA");
	/* in an included record of the zone too */
	SPF_BAD("v=spf1 include:inner.auth.esp.example -all", "in the record at 'inner.auth.esp.example.'");
	T_CHECK(strstr(err, "from macros") != NULL);
	/* a failing lookup returns its own code */
	T_EQ_INT(spf("v=spf1 a:fail.auth.esp.example -all"), DNSD_EIO);
	T_CHECK(strstr(err, "fail.auth.esp.example.") != NULL);
	/* outside the zone nothing is looked up */
	fake_calls = 0;
	T_EQ_INT(spf("v=spf1 a:nohost.example.com exists:%{i}.example.com mx:x.example.org ptr:example.org -all"), 0);
	T_EQ_INT(fake_calls, 0);
	/* without a lookup, existence is not checked, but macros and ptr still are */
	T_EQ_INT(policy_spf_check("v=spf1 a:nohost.auth.esp.example -all", ZONE, NULL, NULL, NULL, err, sizeof err), 0);
	T_EQ_INT(policy_spf_check("v=spf1 exists:%{i}.auth.esp.example -all", ZONE, NULL, NULL, NULL, err,
				  sizeof err),
		 DNSD_EINVAL);
	/* dnsd checks rows with no zone: nothing is in it */
	T_EQ_INT(policy_spf_check("v=spf1 exists:%{i}.auth.esp.example ptr:auth.esp.example -all", ".", NULL, NULL,
				  NULL, err, sizeof err),
		 0);
}

static void test_dmarc(void)
{
	char big[POLICY_MAX_LEN + 2];

	T_EQ_INT(dmarc("v=DMARC1; p=none"), 0);
	T_EQ_INT(dmarc("v=DMARC1;p=reject;"), 0);
	T_EQ_INT(dmarc("v = DMARC1 ;\tp = quarantine ; "), 0);
	T_EQ_INT(dmarc("v=DMARC1; p=reject; sp=quarantine; np=reject; pct=100; adkim=s; aspf=r; fo=0:1 : d:s; "
		       "rf=afrf; ri=86400; rua=mailto:dmarc@example.com,mailto:agg+x@rep.example.net!10m; "
		       "ruf=mailto:f.o%2Eo@example.org!500; psd=n; t=y"),
		 0);
	T_EQ_INT(dmarc("v=DMARC1; P=None; PCT=0"), 0);
	DMARC_BAD("p=none; v=DMARC1", "v=DMARC1");
	DMARC_BAD("v=dmarc1; p=none", "v=DMARC1");
	DMARC_BAD("v=DMARC2; p=none", "v=DMARC1");
	DMARC_BAD("", "v=DMARC1");
	DMARC_BAD("v=DMARC1", "p= is required");
	DMARC_BAD("v=DMARC1; sp=none", "p= is required");
	DMARC_BAD("v=DMARC1; p=block", "none|quarantine|reject");
	DMARC_BAD("v=DMARC1; p=", "p=''");
	DMARC_BAD("v=DMARC1; p=none; sp=rejected", "sp=");
	DMARC_BAD("v=DMARC1; p=none; np=x", "np=");
	DMARC_BAD("v=DMARC1; p=none; pct=101", "pct");
	DMARC_BAD("v=DMARC1; p=none; pct=-1", "pct");
	DMARC_BAD("v=DMARC1; p=none; adkim=x", "adkim");
	DMARC_BAD("v=DMARC1; p=none; aspf=relaxed", "aspf");
	DMARC_BAD("v=DMARC1; p=none; fo=0:2", "fo");
	DMARC_BAD("v=DMARC1; p=none; fo=0:", "fo");
	DMARC_BAD("v=DMARC1; p=none; rf=iodef", "rf");
	DMARC_BAD("v=DMARC1; p=none; ri=1h", "ri");
	DMARC_BAD("v=DMARC1; p=none; ri=4294967296", "ri");
	DMARC_BAD("v=DMARC1; p=none; rua=dmarc@example.com", "mailto:");
	DMARC_BAD("v=DMARC1; p=none; rua=https://example.com/r", "mailto:");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:example.com", "no address");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:@example.com", "local part");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:a..b@example.com", "local part");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:a@example", "two labels");
	DMARC_BAD("v=DMARC1; p=none; ruf=mailto:a@exa mple.com", "letter, digit or hyphen");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:a@example.com!10x", "size");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:a@example.com!m", "size");
	DMARC_BAD("v=DMARC1; p=none; rua=mailto:a@example.com,", "empty URI");
	DMARC_BAD("v=DMARC1; p=none; psd=x", "psd");
	DMARC_BAD("v=DMARC1; p=none; t=u", "t=");
	DMARC_BAD("v=DMARC1; p=none; pc=100", "unknown tag 'pc'");
	DMARC_BAD("v=DMARC1; p=none; p=reject", "duplicate tag 'p'");
	DMARC_BAD("v=DMARC1; p=none;; pct=5", "empty tag");
	DMARC_BAD("v=DMARC1; p=none; reject", "tag=value");
	DMARC_BAD("v=DMARC1; p=none\n", "printable");
	/* Length: 2,048 characters at most (a 76,411-character value was taken,
	 * and stopped dnsd applying changes). */
	T_EQ_INT(dmarc(padded(big, "v=DMARC1; p=none;", POLICY_MAX_LEN)), 0);
	DMARC_BAD(padded(big, "v=DMARC1; p=none;", POLICY_MAX_LEN + 1), "2049 characters, over the limit of 2048");
}

static int mx(const char *list)
{
	err[0] = '\0';
	return policy_mx_check(list, err, sizeof err);
}

#define MX_BAD(list, word)                               \
	do {                                             \
		T_EQ_INT(mx(list), DNSD_EINVAL);         \
		T_CHECK(strstr(err, word) != NULL);      \
		T_CHECK(strncmp(err, "MX: ", 4) == 0);   \
	} while (0)

static void test_mx(void)
{
	T_EQ_INT(mx("10 bounce.esp.example."), 0);
	T_EQ_INT(mx("10 bounce.esp.example., 20 b2.esp.example"), 0);
	T_EQ_INT(mx(" 0 a.example.com ,65535\tb.example.com "), 0);
	T_EQ_INT(mx("1 a.example.com,2 b.example.com,3 c.example.com,4 d.example.com,5 e.example.com,"
		    "6 f.example.com,7 g.example.com,8 h.example.com,9 i.example.com,10 j.example.com"),
		 0);
	MX_BAD("1 a.example.com,2 b.example.com,3 c.example.com,4 d.example.com,5 e.example.com,"
	       "6 f.example.com,7 g.example.com,8 h.example.com,9 i.example.com,10 j.example.com,11 k.example.com",
	       "more than 10");
	MX_BAD("", "empty");
	MX_BAD("10 a.example.com,", "empty entry");
	MX_BAD("10 a.example.com,,20 b.example.com", "empty entry");
	MX_BAD("a.example.com", "PREFERENCE HOST");
	MX_BAD("10", "PREFERENCE HOST");
	MX_BAD("10a.example.com", "PREFERENCE HOST");
	MX_BAD("-1 a.example.com", "PREFERENCE HOST");
	MX_BAD("65536 a.example.com", "0..65535");
	MX_BAD("10 localhost", "two labels");
	MX_BAD("10 mx_1.example.com", "letter, digit or hyphen");
	MX_BAD("10 a.example.com 20 b.example.com", "letter, digit or hyphen");
	MX_BAD("10 A.example.com., 20 a.example.com", "listed twice");
	/* Length: 2,048 characters at most, however much of it is blanks. */
	char big[POLICY_MAX_LEN + 2];
	T_EQ_INT(mx(padded(big, "10 a.example.com", POLICY_MAX_LEN)), 0);
	MX_BAD(padded(big, "10 a.example.com", POLICY_MAX_LEN + 1), "2049 characters, over the limit of 2048");
}

static int name(const char *n, int us)
{
	err[0] = '\0';
	return policy_name_check(n, us, err, sizeof err);
}

#define NAME_BAD(n, us, word)                                   \
	do {                                                    \
		T_EQ_INT(name(n, us), DNSD_EINVAL);             \
		T_CHECK(strstr(err, word) != NULL);             \
	} while (0)

static void test_name(void)
{
	char label[64], longname[400];

	T_EQ_INT(name("example.com", 0), 0);
	T_EQ_INT(name("Example.COM.", 0), 0);
	T_EQ_INT(name("a-b.c0.xn--p1ai", 0), 0);
	T_EQ_INT(name("1.2.3.example", 0), 0);
	T_EQ_INT(name("_dmarc.example.com", 1), 0);
	T_EQ_INT(name("s1._domainkey.example.com.", 1), 0);
	NAME_BAD("_dmarc.example.com", 0, "letter, digit or hyphen");
	NAME_BAD("exa mple.com", 0,
		 "domain 'exa mple.com': label 'exa mple' has a character that is not a letter, digit or hyphen");
	NAME_BAD("exa$mple.com", 1, "not a letter, digit, underscore or hyphen");
	NAME_BAD("ex\xc3\xa4mple.com", 0, "'ex??mple'");
	NAME_BAD("com", 0, "two labels");
	NAME_BAD("com.", 0, "two labels");
	NAME_BAD("", 0, "empty");
	NAME_BAD(".", 0, "empty");
	NAME_BAD("a..com", 0, "empty label");
	NAME_BAD(".example.com", 0, "empty label");
	NAME_BAD("example.com..", 0, "empty label");
	NAME_BAD("-a.example.com", 0, "hyphen");
	NAME_BAD("a-.example.com", 0, "hyphen");
	NAME_BAD("192.0.2.1", 0, "all digits");
	NAME_BAD(NULL, 0, "no name");

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(longname, sizeof longname, "%s.example.com", label);
	T_EQ_INT(name(longname, 0), 0);
	snprintf(longname, sizeof longname, "%sb.example.com", label);
	NAME_BAD(longname, 0, "longer than 63");
	/* 4 x 63 + 3 dots = 255 > 253; 253 exactly is fine. */
	snprintf(longname, sizeof longname, "%s.%s.%s.%s", label, label, label, label);
	NAME_BAD(longname, 0, "over the limit of 253");
	longname[253] = '\0';
	longname[252] = 'a';
	T_EQ_INT(name(longname, 0), 0);
	longname[253] = '.';
	longname[254] = '\0';
	T_EQ_INT(name(longname, 0), 0);
}

int main(void)
{
	T_RUN(test_spf_valid);
	T_RUN(test_spf_zone_expansion);
	T_RUN(test_spf_errors);
	T_RUN(test_spf_zone_errors);
	T_RUN(test_spf_zone_targets);
	T_RUN(test_dmarc);
	T_RUN(test_mx);
	T_RUN(test_name);
	return t_done();
}
