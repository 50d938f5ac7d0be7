/* test_config: dnsd's options from the command line and from config files, and
 * the errors that name the file and line. */
#include "config.h"
#include "err.h"
#include "log.h"
#include "t_store.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes text to tmpdir/name; returns the path (static buffer, one at a time). */
static const char *file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
	return path;
}

/* Parses n bytes of text as a config file held in memory. */
static int parse_n(struct config *c, const char *text, size_t n, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, n, "r");
	if (!f)
		abort();
	int rc = config_parse(c, f, "mem.conf", 1, err, errlen);
	fclose(f);
	return rc;
}

static int parse(struct config *c, const char *text, char *err, size_t errlen)
{
	return parse_n(c, text, strlen(text), err, errlen);
}

static void test_defaults(void)
{
	struct config c;
	config_init(&c);
	T_EQ_INT(c.max_udp, 1232);
	T_EQ_INT(c.rrl_rate, 100);
	T_EQ_INT(c.rrl_slip, 2);
	T_EQ_INT(c.poll_ms, 200);
	T_EQ_INT(c.log_level, -1);
	T_EQ_INT(c.nzones, 0);
	config_free(&c);
	config_free(NULL);
}

static void test_args(void)
{
	struct config c;
	char err[512] = "";
	char *argv[] = {"dnsd",	       "--db",	 "s.db",       "--zone", "a.zone",
			"--zone",      "b.zone", "--threads",  "3",	 "--listen=127.0.0.1:0",
			"--log-level", "debug",	 "--rrl-rate", "0"};
	config_init(&c);
	T_EQ_INT(config_args(&c, sizeof(argv) / sizeof(argv[0]), argv, err, sizeof(err)), 0);
	T_EQ_STR(c.db, "s.db");
	T_EQ_INT(c.nzones, 2);
	T_EQ_STR(c.zones[1], "b.zone");
	T_EQ_INT(c.threads, 3);
	T_EQ_INT(c.nlisten, 1);
	T_EQ_INT(c.log_level, LOG_DEBUG);
	T_EQ_INT(c.rrl_rate, 0);
	config_free(&c);

	char *help[] = {"dnsd", "--db", "x", "--help"};
	config_init(&c);
	T_EQ_INT(config_args(&c, 4, help, err, sizeof(err)), CONFIG_HELP);
	char *ver[] = {"dnsd", "--version"};
	T_EQ_INT(config_args(&c, 2, ver, err, sizeof(err)), CONFIG_VERSION);
	char *bad[] = {"dnsd", "--threads", "0"};
	T_EQ_INT(config_args(&c, 3, bad, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "bad value '0' for --threads (see dnsd --help)");
	char *novalue[] = {"dnsd", "--db"};
	T_EQ_INT(config_args(&c, 2, novalue, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "option --db needs a value");
	char *stray[] = {"dnsd", "stray"};
	T_EQ_INT(config_args(&c, 2, stray, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "unexpected argument 'stray' (see dnsd --help)");
	config_free(&c);
}

static void test_file(void)
{
	struct config c;
	char err[512] = "";
	config_init(&c);
	T_EQ_INT(parse(&c,
		       "# a comment\n"
		       "\n"
		       "  db   /var/lib/dnsd/store.db   # trailing comment\n"
		       "zone\tz1.zone\r\n"
		       "zone z2.zone\n"
		       "identity ns1 example\n"
		       "max-udp 4096",
		       err, sizeof(err)),
		 0);
	T_EQ_STR(c.db, "/var/lib/dnsd/store.db");
	T_EQ_INT(c.nzones, 2);
	T_EQ_STR(c.zones[0], "z1.zone");
	T_EQ_STR(c.identity, "ns1 example");
	T_EQ_INT(c.max_udp, 4096);
	config_free(&c);

	config_init(&c);
	T_EQ_INT(parse(&c, "db x\nthreads 1\nrrl-slip 101\n", err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 3: bad value '101' for --rrl-slip (see dnsd --help)");
	T_EQ_INT(parse(&c, "frob 1\n", err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 1: unknown option --frob (see dnsd --help)");
	T_EQ_INT(parse(&c, "\n\ndb\n", err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 3: option --db needs a value");
	config_free(&c);
}

/* A file that includes another: errors name the inner file and line, then
 * where it was included; a loop stops at the depth limit. */
static void test_nested(void)
{
	struct config c;
	char err[512] = "", inner[300], text[400];
	snprintf(inner, sizeof(inner), "%s", file("inner.conf", "poll 50\nlisten nowhere\n"));
	snprintf(text, sizeof(text), "db x\nconfig %s\n", inner);
	config_init(&c);
	T_EQ_INT(parse(&c, text, err, sizeof(err)), DNSD_EINVAL);
	char want[600];
	snprintf(want, sizeof(want),
		 "%s, line 2: bad --listen 'nowhere': use ADDR:PORT, e.g. 127.0.0.1:53 or "
		 "[::1]:53 (in mem.conf, line 2)",
		 inner);
	T_EQ_STR(err, want);
	T_EQ_INT(c.poll_ms, 50);
	config_free(&c);

	char loop[300], self[400];
	snprintf(loop, sizeof(loop), "%s/loop.conf", tmpdir);
	snprintf(self, sizeof(self), "config %s\n", loop);
	file("loop.conf", self);
	config_init(&c);
	T_EQ_INT(config_file(&c, loop, 1, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "nested more than 4 deep") != NULL);
	T_EQ_INT(config_file(&c, "/nonexistent/dnsd.conf", 1, err, sizeof(err)), DNSD_EIO);
	T_EQ_STR(err, "cannot read config /nonexistent/dnsd.conf: No such file or directory");
	config_free(&c);
}

/* --check-config: every error reported once, with its file and line, nested
 * files' errors named by their own file, and parsing going on after each. */
static char reported[8][600];
static int nrep;
static void collect(void *arg, const char *msg)
{
	(void)arg;
	if (nrep < 8)
		snprintf(reported[nrep], sizeof(reported[0]), "%s", msg);
	nrep++;
}

static void test_report_all(void)
{
	struct config c;
	char err[512] = "", inner[300], text[500];
	snprintf(inner, sizeof(inner), "%s", file("inner2.conf", "listen nowhere\npoll 70\nbogus 1\n"));
	snprintf(text, sizeof(text), "poll 5\nconfig %s\ndb x\nthreads many\n", inner);
	config_init(&c);
	c.report = collect;
	nrep = 0;
	T_EQ_INT(parse(&c, text, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(nrep, 4);
	T_EQ_INT(c.nreported, 4);
	T_CHECK(strstr(reported[0], "mem.conf, line 1: ") == reported[0]);
	T_CHECK(strncmp(reported[1], inner, strlen(inner)) == 0 && strstr(reported[1], ", line 1: bad --listen"));
	T_CHECK(strncmp(reported[2], inner, strlen(inner)) == 0 && strstr(reported[2], ", line 3: unknown option"));
	T_CHECK(strstr(reported[3], "mem.conf, line 4: ") == reported[3]);
	/* What was good was applied: the lines after the errors were read. */
	T_EQ_INT(c.poll_ms, 70);
	T_EQ_STR(c.db, "x");
	config_free(&c);

	/* The command line: every bad argument, and --check-config itself taken. */
	char *argv[] = { "dnsd", "stray", "--poll", "1", "--check-config", "--db", "y", "--nope", "2", NULL };
	config_init(&c);
	c.report = collect;
	nrep = 0;
	T_EQ_INT(config_args(&c, 9, argv, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(nrep, 3);
	T_EQ_INT(c.check, 1);
	T_EQ_STR(c.db, "y");
	config_free(&c);
}

/* A line longer than the reader's buffer: its tail was read as a line of its
 * own, so the end of a long comment could set an option. */
static void test_long_line(void)
{
	struct config c;
	char err[512] = "", text[6000];
	memset(text, 'x', sizeof(text));
	text[0] = '#';
	/* The old reader's 1023 characters end just before the option: the
	 * whole line is a comment. */
	snprintf(text + 1023, sizeof(text) - 1023, "threads 7\n");
	config_init(&c);
	T_EQ_INT(parse(&c, text, err, sizeof(err)), 0);
	T_EQ_INT(c.threads, 0);
	/* Past the limit: refused, not split. */
	memset(text, 'x', sizeof(text));
	text[0] = '#';
	snprintf(text + 4097, sizeof(text) - 4097, "threads 7\n");
	T_EQ_INT(parse(&c, text, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 1: line too long (at most 4096 characters)");
	T_EQ_INT(c.threads, 0);
	config_free(&c);

	/* Up to the limit is fine. */
	char ok[4200];
	memset(ok, ' ', sizeof(ok));
	memcpy(ok, "threads 5", 9);
	ok[4096] = '\n';
	ok[4097] = 0;
	config_init(&c);
	T_EQ_INT(parse(&c, ok, err, sizeof(err)), 0);
	T_EQ_INT(c.threads, 5);
	config_free(&c);
}

/* A NUL byte hid the rest of its line; a directory read as an empty file;
 * control characters in a value were echoed raw to the terminal. */
static void test_odd_bytes(void)
{
	struct config c;
	char err[512] = "";
	config_init(&c);
	T_EQ_INT(parse_n(&c, "db /a\0/b\n", 10, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 1: a NUL byte");
	T_CHECK(c.db == NULL);
	T_EQ_INT(config_file(&c, tmpdir, 1, err, sizeof(err)), DNSD_EIO);
	T_CHECK(strstr(err, "Is a directory") != NULL);
	T_EQ_INT(parse(&c, "threads \x1b[2J\n", err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 1: bad value '\\x1b[2J' for --threads (see dnsd --help)");
	T_EQ_INT(parse(&c,
		       "\x07"
		       "bell 1\n",
		       err, sizeof(err)),
		 DNSD_EINVAL);
	T_EQ_STR(err, "mem.conf, line 1: unknown option --\\x07bell (see dnsd --help)");
	config_free(&c);
}

/* A sockaddr for text (v4 or v6) in ss. */
static const struct sockaddr *sa(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(4242);
	} else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
	} else {
		abort();
	}
	return (const struct sockaddr *)ss;
}

/* The transfer options: defaults, values, keys, and what is refused. */
static void test_xfr_options(void)
{
	struct config c;
	char err[512] = "";
	config_init(&c);
	T_EQ_INT(c.xfr_max, 16);
	T_EQ_INT(c.ixfr_max_age, 604800);
	T_EQ_INT(c.ixfr_max_bytes, 64 << 20);
	T_CHECK(c.tsig_keys == NULL);
	char *argv[] = {"dnsd",
			"--tsig-keys",
			"/etc/dnsd/tsig.keys",
			"--allow-transfer",
			"127.0.0.1 key Xfr-Key",
			"--allow-transfer=2001:db8::/32",
			"--notify",
			"192.0.2.1",
			"--notify",
			"[::1]:5300 key xfr-key.",
			"--notify",
			"2001:db8::53",
			"--xfr-max",
			"4",
			"--ixfr-max-age",
			"3600",
			"--ixfr-max-bytes",
			"0"};
	T_EQ_INT(config_args(&c, sizeof(argv) / sizeof(argv[0]), argv, err, sizeof(err)), 0);
	T_EQ_STR(c.tsig_keys, "/etc/dnsd/tsig.keys");
	T_EQ_INT(c.nallow_xfr, 2);
	T_EQ_INT(c.allow_xfr[0].addr.ss_family, AF_INET);
	T_EQ_INT(c.allow_xfr[0].prefix, 32);
	T_EQ_STR(c.allow_xfr[0].key, "xfr-key.");
	T_EQ_INT(c.allow_xfr[1].addr.ss_family, AF_INET6);
	T_EQ_INT(c.allow_xfr[1].prefix, 32);
	T_CHECK(c.allow_xfr[1].key == NULL);
	T_EQ_INT(c.nnotify, 3);
	T_EQ_STR(c.notify[0].to.text, "192.0.2.1:53");
	T_CHECK(c.notify[0].key == NULL);
	T_EQ_STR(c.notify[1].to.text, "[::1]:5300");
	T_EQ_INT(c.notify[1].to.ss.ss_family, AF_INET6);
	T_EQ_STR(c.notify[1].key, "xfr-key.");
	T_EQ_STR(c.notify[2].to.text, "[2001:db8::53]:53");
	T_EQ_INT(c.xfr_max, 4);
	T_EQ_INT(c.ixfr_max_age, 3600);
	T_EQ_INT(c.ixfr_max_bytes, 0);
	config_free(&c);

	/* In a file, the key is the rest of the line. */
	config_init(&c);
	T_EQ_INT(parse(&c,
		       "allow-transfer 10.0.0.0/8   key  a.example   # the secondaries\n"
		       "notify 10.1.2.3:53 key a.example.\n"
		       "ixfr-max-bytes 1048576\n",
		       err, sizeof(err)),
		 0);
	T_EQ_INT(c.allow_xfr[0].prefix, 8);
	T_EQ_STR(c.allow_xfr[0].key, "a.example.");
	T_EQ_STR(c.notify[0].key, "a.example.");
	T_EQ_INT(c.ixfr_max_bytes, 1048576);
	config_free(&c);

	static const char *bad_acl[] = {
		"nowhere", "10.0.0.0/33", "2001:db8::/129", "10.0.0.1/", "10.0.0.1/x",
		"10.0.0.1 key", "10.0.0.1 kee a.", "10.0.0.1 key a. b.", "10.0.0.1 key a..b",
		"[10.0.0.1]", "10.0.0.1:53", "10.0.0.1/-1",
	};
	for (size_t i = 0; i < sizeof(bad_acl) / sizeof(bad_acl[0]); i++) {
		config_init(&c);
		int rc = config_option(&c, "allow-transfer", bad_acl[i], 0, err, sizeof(err));
		if (rc != DNSD_EINVAL)
			fprintf(stderr, "accepted --allow-transfer '%s'\n", bad_acl[i]);
		T_EQ_INT(rc, DNSD_EINVAL);
		T_EQ_INT(c.nallow_xfr, 0);
		config_free(&c);
	}
	config_init(&c);
	T_EQ_INT(config_option(&c, "allow-transfer", "10.0.0.0/33", 0, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "bad --allow-transfer '10.0.0.0/33': use ADDR[/LEN] [key NAME], e.g. "
		      "192.0.2.0/24 or '2001:db8::53 key xfr-key.'");
	static const char *bad_notify[] = {
		"nowhere", "192.0.2.1:0", "192.0.2.1:65536", "[::1]:", "192.0.2.1 key",
		"192.0.2.1/32", "192.0.2.1 key a b",
	};
	for (size_t i = 0; i < sizeof(bad_notify) / sizeof(bad_notify[0]); i++) {
		int rc = config_option(&c, "notify", bad_notify[i], 0, err, sizeof(err));
		if (rc != DNSD_EINVAL)
			fprintf(stderr, "accepted --notify '%s'\n", bad_notify[i]);
		T_EQ_INT(rc, DNSD_EINVAL);
	}
	T_EQ_INT(c.nnotify, 0);
	T_EQ_INT(config_option(&c, "xfr-max", "0", 0, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(config_option(&c, "ixfr-max-age", "0", 0, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(config_option(&c, "ixfr-max-bytes", "-1", 0, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(config_option(&c, "ixfr-max-bytes", "1x", 0, err, sizeof(err)), DNSD_EINVAL);
	for (int i = 0; i < CONFIG_MAX_XFR; i++)
		T_EQ_INT(config_option(&c, "notify", "192.0.2.1", 0, err, sizeof(err)), 0);
	T_EQ_INT(config_option(&c, "notify", "192.0.2.1", 0, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_STR(err, "at most 64 --notify");
	config_free(&c);
}

/* Prefix matching, IPv4-mapped addresses both ways. */
static void test_acl_match(void)
{
	struct config c;
	struct sockaddr_storage ss;
	char err[512] = "";
	config_init(&c);
	const char *acl[] = {"192.0.2.0/24", "2001:db8:1::/48", "198.51.100.7", "::ffff:203.0.113.0/120",
			     "0.0.0.0/0", "10.0.0.0/9"};
	for (size_t i = 0; i < 6; i++)
		T_EQ_INT(config_option(&c, "allow-transfer", acl[i], 0, err, sizeof(err)), 0);
	const struct config_acl *a = c.allow_xfr;
	T_EQ_INT(config_acl_match(&a[0], sa("192.0.2.200", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[0], sa("192.0.3.1", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[0], sa("::ffff:192.0.2.1", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[0], sa("::ffff:192.0.3.1", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[0], sa("2001:db8:1::1", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[1], sa("2001:db8:1:ffff::1", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[1], sa("2001:db8:2::1", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[1], sa("192.0.2.1", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[2], sa("198.51.100.7", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[2], sa("198.51.100.6", &ss)), 0);
	T_EQ_INT(a[3].addr.ss_family, AF_INET);
	T_EQ_INT(a[3].prefix, 24);
	T_EQ_INT(config_acl_match(&a[3], sa("203.0.113.9", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[3], sa("::ffff:203.0.113.9", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[3], sa("203.0.114.9", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[4], sa("8.8.8.8", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[4], sa("::1", &ss)), 0);
	T_EQ_INT(config_acl_match(&a[5], sa("10.127.0.1", &ss)), 1);
	T_EQ_INT(config_acl_match(&a[5], sa("10.128.0.1", &ss)), 0);
	config_free(&c);
}

int main(void)
{
	if (t_tmp("config"))
		return 1;
	T_RUN(test_defaults);
	T_RUN(test_args);
	T_RUN(test_file);
	T_RUN(test_nested);
	T_RUN(test_report_all);
	T_RUN(test_long_line);
	T_RUN(test_odd_bytes);
	T_RUN(test_xfr_options);
	T_RUN(test_acl_match);
	t_tmp_rm();
	return t_done();
}
