/* test_names: the shapes of names, labels, tenant names and key paths read from the store, and
 * how their text is quoted. */
#include "err.h"
#include "names.h"
#include "t.h"

static void test_domain(void)
{
	char err[256];

	T_EQ_INT(names_domain("example.com", err, sizeof(err)), 0);
	T_EQ_INT(names_domain("a-b.c0.xn--p1ai", NULL, 0), 0);
	/* the stored form only: no trailing dot, no capitals */
	T_EQ_INT(names_domain("example.com.", err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "stored form") != NULL);
	T_EQ_INT(names_domain("Example.com", err, sizeof(err)), DNSD_EINVAL);
	/* what review found in rows written by SQL */
	T_EQ_INT(names_domain("../../x", err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(names_domain("a\nb.example", err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strchr(err, '\n') == NULL);
	T_EQ_INT(names_domain("a/b.example", NULL, 0), DNSD_EINVAL);
	T_EQ_INT(names_domain("_x.example", NULL, 0), DNSD_EINVAL);
	T_EQ_INT(names_domain("x", NULL, 0), DNSD_EINVAL);
	T_EQ_INT(names_domain("", NULL, 0), DNSD_EINVAL);
	T_EQ_INT(names_domain(NULL, NULL, 0), DNSD_EINVAL);
}

/* n times 'a' in buf (n + 1 bytes); returns buf. */
static const char *as(char *buf, size_t n)
{
	memset(buf, 'a', n);
	buf[n] = '\0';
	return buf;
}

/* Counts the strings of list (NULL-terminated) that ok() accepts. */
static int accepted(int (*ok)(const char *), const char *const *list)
{
	int n = 0;

	for (; *list; list++)
		n += ok(*list) != 0;
	return n;
}

static int label63(const char *s)
{
	return names_label(s, 63);
}

static void test_label(void)
{
	static const char *const bad[] = {"..",	  "../x", "a.b",  "Esp1", "-esp",
					  "esp-", "e_1",  "e\n1", "",	  NULL};
	char buf[80];

	T_EQ_INT(names_label("esp1", 63), 1);
	T_EQ_INT(names_label("esp-ed2", 63), 1);
	T_EQ_INT(names_label(as(buf, 63), 63), 1);
	T_EQ_INT(names_label(as(buf, 64), 63), 0);
	T_EQ_INT(names_label("abcdef", 5), 0);
	T_EQ_INT(accepted(label63, bad), 0);
	T_EQ_INT(names_label(NULL, 63), 0);
}

static void test_tenant(void)
{
	static const char *const bad[] = {".",	 "..",	      "-x",	     "_x", "a b",
					  "a/b", "a\x1b[31m", "caf\xc3\xa9", "",   NULL};
	char buf[80];

	T_EQ_INT(names_tenant("acme"), 1);
	T_EQ_INT(names_tenant("Acme_Corp.eu-2"), 1);
	T_EQ_INT(names_tenant("0day"), 1);
	T_EQ_INT(names_tenant(as(buf, 64)), 1);
	T_EQ_INT(names_tenant(as(buf, 65)), 0);
	T_EQ_INT(accepted(names_tenant, bad), 0);
	T_EQ_INT(names_tenant(NULL), 0);
}

static void test_key_path(void)
{
	static const char *const bad[] = {
		"keys/example.com/esp1.pem", /* relative */
		"/k/../etc/shadow",
		"/k/./x.pem",
		"/k//x.pem",
		"/k/x.pem/",
		"/k/..",
		"/k/x.pem\n*@victim.example esp1._domainkey.evil.example",
		"/k/my key.pem",
		"/k/x\t.pem",
		"/k/a:b.pem",
		"/k/a#b.pem",
		"/k/a\"b.pem",
		"/k/a\\b.pem",
		"/",
		"",
		NULL,
	};

	T_EQ_INT(names_key_path(
			 "/var/lib/dnsd/keys/example.com/esp1-abcdefghijklmnop-1795682046.pem"),
		 1);
	T_EQ_INT(names_key_path("/k/a.b/.hidden-ok.pem"), 1);
	T_EQ_INT(accepted(names_key_path, bad), 0);
	T_EQ_INT(names_key_path(NULL), 0);
}

static void test_show(void)
{
	char out[16], big[64];

	T_EQ_STR(names_show(big, sizeof(big), "plain"), "plain");
	T_EQ_STR(names_show(big, sizeof(big), "a\x1b[31mb\nc"), "a\\x1b[31mb\\x0ac");
	T_EQ_STR(names_show(big, sizeof(big), "back\\slash\x7f\xc3\xa9"),
		 "back\\\\slash\\x7f\\xc3\\xa9");
	T_EQ_STR(names_show(big, sizeof(big), NULL), "(null)");
	/* cut to fit, with "..." */
	T_EQ_STR(names_show(out, sizeof(out), "0123456789abcdef"), "0123456789ab...");
	T_EQ_STR(names_show(out, sizeof(out), "0123456789abcde"), "0123456789abcde");
	T_EQ_STR(names_show(out, sizeof(out), "0123456789\x1b\x1b\x1b"), "0123456789...");
	T_EQ_INT(strlen(names_show(out, 8, "\x01\x02\x03\x04")), 7);
}

/* Bytes as valid UTF-8: valid text as it is, each other byte U+FFFD, cut before a character. */
static void test_utf8(void)
{
	char out[16];
	T_EQ_STR(names_utf8(out, sizeof(out), "v=DMARC1; \xc3\xa9"), "v=DMARC1; \xc3\xa9");
	T_EQ_STR(names_utf8(out, sizeof(out),
			    "a\xff"
			    "b"),
		 "a\xef\xbf\xbd"
		 "b");
	T_EQ_STR(names_utf8(out, sizeof(out), "\xc0\xaf"),
		 "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong */
	T_EQ_STR(names_utf8(out, sizeof(out), "\xed\xa0\x80"),
		 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");	   /* surrogate */
	T_EQ_STR(names_utf8(out, sizeof(out), "\xf4\x90\x80\x80"), /* past U+10FFFF */
		 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	T_EQ_STR(names_utf8(out, sizeof(out), "ab\xe2\x82"),
		 "ab\xef\xbf\xbd\xef\xbf\xbd"); /* cut */
	T_EQ_STR(names_utf8(out, 4, "abc\xc3\xa9"), "abc");
	T_EQ_STR(names_utf8(out, 6, "ab\xc3\xa9\xc3\xa9"), "ab\xc3\xa9");
	T_EQ_STR(names_utf8(out, 4, "a\xff"), "a");
}

int main(void)
{
	T_RUN(test_domain);
	T_RUN(test_label);
	T_RUN(test_tenant);
	T_RUN(test_key_path);
	T_RUN(test_show);
	T_RUN(test_utf8);
	return t_done();
}
