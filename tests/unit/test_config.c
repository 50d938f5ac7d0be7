/* test_config: dnsd's options from the command line and from config files, and
 * the errors that name the file and line. */
#include "config.h"
#include "err.h"
#include "log.h"
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/dnsd-test-config.XXXXXX";

/* Writes text to dir/name; returns the path (static buffer, one at a time). */
static const char *file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
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
	snprintf(loop, sizeof(loop), "%s/loop.conf", dir);
	snprintf(self, sizeof(self), "config %s\n", loop);
	file("loop.conf", self);
	config_init(&c);
	T_EQ_INT(config_file(&c, loop, 1, err, sizeof(err)), DNSD_EINVAL);
	T_CHECK(strstr(err, "nested more than 4 deep") != NULL);
	T_EQ_INT(config_file(&c, "/nonexistent/dnsd.conf", 1, err, sizeof(err)), DNSD_EIO);
	T_EQ_STR(err, "cannot read config /nonexistent/dnsd.conf: No such file or directory");
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
	T_EQ_INT(config_file(&c, dir, 1, err, sizeof(err)), DNSD_EIO);
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

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_defaults);
	T_RUN(test_args);
	T_RUN(test_file);
	T_RUN(test_nested);
	T_RUN(test_long_line);
	T_RUN(test_odd_bytes);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		t_fail++;
	return t_done();
}
