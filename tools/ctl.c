/* ctl: helpers shared by the parts of dnsdctl. */
#include "ctl.h"
#include "check.h"
#include "err.h"
#include "fsafe.h"
#include "names.h"
#include "registry.h"
#include "zone.h"
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *ctl_cmd_name;
int ctl_json;

/* In --json mode, the error as {"error": {"code", "message", "field"?}} on
 * stdout (what was printed of the output before is dropped: see ctl_print). */
static void json_error(const char *code, const char *field, const char *msg)
{
	json_t *e = json_pack("{s:s, s:o}", "code", code, "message", ctl_jstr(msg));
	if (e && field && *field)
		json_object_set_new(e, "field", ctl_jstr(field));
	__fpurge(stdout); /* a part of the output, still buffered, goes */
	ctl_print(e ? json_pack("{s:o}", "error", e) : NULL);
	fflush(stdout);
}

void die_usage(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctl_cmd_name)
		fprintf(stderr, "dnsdctl %s: %s (see dnsdctl help %s)\n", ctl_cmd_name, msg,
			ctl_cmd_name);
	else
		fprintf(stderr, "dnsdctl: %s (see dnsdctl --help)\n", msg);
	if (ctl_json)
		json_error("usage", NULL, msg);
	exit(2);
}

/* The error on stderr (and in --json mode on stdout), then exit 1. */
static void __attribute__((noreturn)) fail_msg(int rc, const char *field, const char *msg)
{
	int busy = rc == DNSD_EBUSY;
	fprintf(stderr, "dnsdctl: %s%s\n", msg, busy ? " (busy: try again)" : "");
	if (ctl_json)
		json_error(err_code_name(rc), field, msg);
	exit(busy ? EXIT_BUSY : 1);
}

/* Prints the error and exits: commands call it before or after their transaction,
 * never inside one that is open (they roll back first). */
void fail(struct ctx *c, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	if (c)
		wr_rollback(&c->w);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg(c ? c->w.rc : 0, c ? c->w.field : NULL, msg);
}

/* ---- output helpers ---- */

/* Writes all of p to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The write side of a guarded stream: every byte a terminal could take as part
 * of a command (control characters but the line end and tab, DEL, and every
 * byte above 0x7e, which some terminals read as C1 controls) goes out as \xNN. */
static ssize_t guarded_write(void *cookie, const char *buf, size_t n)
{
	int fd = (int)(intptr_t)cookie;
	char out[4096];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (o + 4 > sizeof(out)) {
			if (write_all(fd, out, o))
				return 0;
			o = 0;
		}
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch > 0x7e)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	if (o && write_all(fd, out, o))
		return 0;
	return (ssize_t)n;
}

void ctl_guard_output(void)
{
	cookie_io_functions_t io = {.write = guarded_write};
	FILE *o = fopencookie((void *)(intptr_t)STDOUT_FILENO, "w", io);
	FILE *e = fopencookie((void *)(intptr_t)STDERR_FILENO, "w", io);
	if (o) {
		setvbuf(o, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
		stdout = o;
	}
	if (e) {
		setvbuf(e, NULL, _IONBF, 0);
		stderr = e;
	}
}

const char *shown(const char *s)
{
	static char ring[8][4200];
	static unsigned next;
	if (!s ||
	    !s[strcspn(s,
		       "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14"
		       "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f")])
		return s;
	char *out = ring[next++ % 8];
	return names_show(out, sizeof(ring[0]), s);
}

/* The code point of the UTF-8 sequence at s, and its length; 0 when it is not
 * one (a stray or missing continuation byte, an overlong form, a surrogate). */
static size_t utf8_point(const unsigned char *s, uint32_t *cp)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	uint32_t v = s[0] & (0x7f >> len);
	if (!len || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < least[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

json_t *ctl_jstr(const char *s)
{
	if (!s)
		return json_null();
	json_t *v = json_string(s);
	if (v)
		return v;
	/* not UTF-8: each byte that does not start a sequence becomes U+FFFD */
	size_t n = strlen(s), o = 0;
	char *fixed = malloc(n * 3 + 1);
	if (!fixed)
		return NULL;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = (unsigned char)s[i] < 0x80
				     ? 1
				     : utf8_point((const unsigned char *)s + i, &cp);
		if (len) {
			memcpy(fixed + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	fixed[o] = 0;
	v = json_string(fixed);
	free(fixed);
	return v;
}

/* Out of memory while building the output: nothing can be printed. */
static void json_oom(json_t *v)
{
	if (!v) {
		ctl_json = 0;
		fail(NULL, "out of memory");
	}
}

json_t *ctl_jobj(void)
{
	json_t *v = json_object();
	json_oom(v);
	return v;
}

json_t *ctl_jarr(void)
{
	json_t *v = json_array();
	json_oom(v);
	return v;
}

void ctl_jset(json_t *o, const char *k, const char *v)
{
	json_t *s = ctl_jstr(v);
	json_oom(s);
	if (json_object_set_new(o, k, s))
		json_oom(NULL);
}

void ctl_jseti(json_t *o, const char *k, long long v)
{
	json_t *n = json_integer(v);
	json_oom(n);
	if (json_object_set_new(o, k, n))
		json_oom(NULL);
}

void ctl_jsetv(json_t *o, const char *k, json_t *v)
{
	json_oom(v);
	if (json_object_set_new(o, k, v))
		json_oom(NULL);
}

void ctl_jpush(json_t *a, json_t *v)
{
	json_oom(v);
	if (json_array_append_new(a, v))
		json_oom(NULL);
}

json_t *ctl_jtime(int64_t t)
{
	char buf[32];
	return t > 0 ? json_string(fmt_time(t, buf, sizeof(buf))) : json_null();
}

void ctl_print(json_t *v)
{
	/* The layout dnsdctl always had ({"a": 1, "b": [2, 3]}), every character
	 * outside ASCII as \uXXXX; and DEL, which jansson leaves as it is and the
	 * output guard would turn into an escape JSON does not have, as \u007f. */
	char *text = v ? json_dumps(v, JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	if (!text) {
		ctl_json = 0;
		fail(NULL, "out of memory");
	}
	for (const char *p = text; *p; p++)
		if (*p == 0x7f)
			fputs("\\u007f", stdout);
		else
			fputc(*p, stdout);
	fputc('\n', stdout);
	free(text);
}

const char *fmt_time(int64_t t, char *buf, size_t n)
{
	if (t <= 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- store access ---- */

void ctl_check(struct ctx *c)
{
	if (c->w.rc)
		fail(c, "%s", c->w.err);
}

void need_safe(struct ctx *c, const char *what, const char *path, int flags)
{
	char why[1200];
	if (fsafe_check(path, flags, why, sizeof(why)))
		fail(c, "refusing the %s: %s", what, why);
}

/* The writer's notices (staged keys finished or left) go to stderr. */
static void ctl_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "dnsdctl: %s\n", msg);
}

void open_store(struct ctx *c, int create)
{
	struct wr_conf conf = { .db = c->o.db, .keys = c->o.keys, .zone_file = c->o.zone_file };
	if (c->o.lock_timeout) {
		char *end;
		long ms = strtol(c->o.lock_timeout, &end, 10);
		if (end == c->o.lock_timeout || *end || ms < 0 || ms > 600000)
			die_usage("--lock-timeout takes milliseconds, 0 to 600000, not '%s'",
				  c->o.lock_timeout);
		conf.lock_ms = ms ? (int)ms : -1;
	}
	c->w.warn = ctl_warn;
	if (wr_open(&c->w, &conf, create)) {
		char msg[sizeof(c->w.err)];
		int rc = c->w.rc;
		snprintf(msg, sizeof(msg), "%s", c->w.err);
		wr_close(&c->w);
		fail_msg(rc, NULL, msg);
	}
	c->st = c->w.st;
	c->db = c->w.db;
	c->zone = c->w.zone;
}

/* ---- names ---- */

const char *keys_dir(struct ctx *c, char *buf, size_t n)
{
	if (c->w.conf.db)
		return wr_keys_dir(&c->w, buf, n);
	struct wr tmp = {.conf = {.db = c->o.db, .keys = c->o.keys}};
	return wr_keys_dir(&tmp, buf, n);
}

int yes_no(struct ctx *c, const char *v, const char *what, int def)
{
	if (!v)
		return def;
	if (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	if (c)
		c->w.rc = DNSD_EINVAL; /* the code of a --json error */
	fail(c, "%s is yes or no, not '%s'", what, v);
}

long num_arg(struct ctx *c, const char *v, const char *what, long lo, long hi, long def)
{
	char *end;
	if (!v)
		return def;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < lo || n > hi) {
		if (c)
			c->w.rc = DNSD_EINVAL;
		fail(c, "%s must be a whole number from %ld to %ld, not '%s'", what, lo, hi, v);
	}
	return n;
}

int slot_selector(const char *prefix, int pos, int nmain, char *out, size_t n)
{
	return reg_slot_selector(prefix, pos, nmain, out, n);
}

char *ctl_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* The library's reader of "ADDR[:PORT]" (check.h). */
int ctl_parse_addr(const char *in, char *addr, size_t n, int *port)
{
	return check_parse_addr(in, addr, n, port);
}
