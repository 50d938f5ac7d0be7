/* config: dnsd's options, from the command line and from config files. */
#include "config.h"
#include "err.h"
#include "log.h"
#include "sock.h"
#include "wire.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_udp = 1232;
	c->tcp_idle_ms = 10000;
	c->tcp_max_conns = 1000;
	c->tcp_max_per_client = 64;
	c->tcp_query_timeout_ms = 5000;
	c->rrl_rate = 100;
	c->rrl_slip = 2;
	c->poll_ms = 200;
	c->log_level = -1;
	c->xfr_max = 16;
	c->ixfr_max_age = 604800;
	c->ixfr_max_bytes = (size_t)64 << 20;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	c->owned = NULL;
	c->nowned = c->capowned = 0;
}

/* A copy of s that c owns, or NULL when out of memory. */
static char *keep(struct config *c, const char *s)
{
	if (c->nowned == c->capowned) {
		size_t n = c->capowned ? c->capowned * 2 : 16;
		char **o = realloc(c->owned, n * sizeof(*o));
		if (!o)
			return NULL;
		c->owned = o;
		c->capowned = n;
	}
	char *d = strdup(s);
	if (d)
		c->owned[c->nowned++] = d;
	return d;
}

/* s as it may be shown on a terminal: control bytes as \xHH, at most about 80
 * characters. */
static const char *shown(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 5 < cap && n < 80; s++) {
		unsigned char b = (unsigned char)*s;
		if (b < 0x20 || b == 0x7f)
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", b);
		else
			buf[n++] = (char)b;
	}
	if (*s && n + 4 < cap)
		n += (size_t)snprintf(buf + n, cap - n, "...");
	buf[n] = 0;
	return buf;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_size(const char *s, unsigned long long hi, size_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > hi)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Splits "ADDR [key NAME]" at the first blank into buf (the address) and *key
 * (the name, lowercase and absolute, kept by c), or NULL without "key". Returns
 * 0, -1 for a bad shape or name, DNSD_ENOMEM. */
static int split_key(struct config *c, const char *val, char *buf, size_t cap, const char **key)
{
	char rest[CONFIG_MAX_LINE + 1], word[16], name[WIRE_MAXNAME * 4 + 2];
	uint8_t wire[WIRE_MAXNAME];
	size_t n = strcspn(val, " \t");
	*key = NULL;
	if (n == 0 || n >= cap)
		return DNSD_EINVAL;
	memcpy(buf, val, n);
	buf[n] = 0;
	const char *p = val + n + strspn(val + n, " \t");
	if (!*p)
		return 0;
	if (strlen(p) >= sizeof(rest))
		return DNSD_EINVAL;
	/* "key NAME" and nothing else. */
	int used = 0;
	if (sscanf(p, "%15s %4095s %n", word, rest, &used) != 2 || p[used] || strcmp(word, "key"))
		return DNSD_EINVAL;
	int wl = wire_name_from_text(rest, wire);
	if (wl < 0 || wire_name_to_text(wire, name, sizeof(name)) < 0)
		return DNSD_EINVAL;
	if (!(*key = keep(c, name)))
		return DNSD_ENOMEM;
	return 0;
}

/* --allow-transfer ADDR[/LEN] [key NAME]. */
static int parse_acl(struct config *c, const char *val, struct config_acl *a)
{
	char addr[INET6_ADDRSTRLEN + 8], *slash;
	memset(a, 0, sizeof(*a));
	int rc = split_key(c, val, addr, sizeof(addr), &a->key);
	if (rc)
		return rc;
	unsigned len = 0, have_len = 0;
	if ((slash = strchr(addr, '/'))) {
		*slash = 0;
		if (!isdigit((unsigned char)slash[1]) || parse_uint(slash + 1, 0, 128, &len))
			return DNSD_EINVAL;
		have_len = 1;
	}
	char *host = addr;
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		host++;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->addr;
	if (host == addr && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		if (len > 32)
			return DNSD_EINVAL;
		a->prefix = (uint8_t)(have_len ? len : 32);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		a->prefix = (uint8_t)(have_len ? len : 128);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && a->prefix >= 96) {
			struct in_addr v4;
			memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
			memset(&a->addr, 0, sizeof(a->addr));
			s4->sin_family = AF_INET;
			s4->sin_addr = v4;
			a->prefix = (uint8_t)(a->prefix - 96);
		}
	} else {
		return DNSD_EINVAL;
	}
	return 0;
}

/* --notify ADDR[:PORT] [key NAME]: 192.0.2.1, 192.0.2.1:5300, [2001:db8::1]:53,
 * [2001:db8::1] or 2001:db8::1 (port 53 when not given). */
static int parse_notify(struct config *c, const char *val, struct config_notify *t)
{
	char addr[INET6_ADDRSTRLEN + 16], full[INET6_ADDRSTRLEN + 24];
	memset(t, 0, sizeof(*t));
	int rc = split_key(c, val, addr, sizeof(addr), &t->key);
	if (rc)
		return rc;
	const char *colon = strchr(addr, ':'), *close = strchr(addr, ']');
	if (addr[0] == '[' && close && !close[1])
		snprintf(full, sizeof(full), "%s:53", addr); /* [v6] */
	else if (addr[0] != '[' && colon && strchr(colon + 1, ':'))
		snprintf(full, sizeof(full), "[%s]:53", addr); /* bare v6 */
	else if (!colon)
		snprintf(full, sizeof(full), "%s:53", addr); /* v4 */
	else
		snprintf(full, sizeof(full), "%s", addr);
	if (net_parse_addr(full, &t->to) || !sock_port(&t->to))
		return DNSD_EINVAL;
	return 0;
}

int config_acl_match(const struct config_acl *a, const struct sockaddr *sa)
{
	const uint8_t *want, *have;
	uint8_t v4[4];
	unsigned bits;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in)) {
			memcpy(v4, &in->s6_addr[12], 4);
			have = v4;
			if (a->addr.ss_family != AF_INET)
				goto v6;
		} else {
		v6:
			if (a->addr.ss_family != AF_INET6)
				return 0;
			have = in->s6_addr;
		}
	} else if (sa->sa_family == AF_INET) {
		if (a->addr.ss_family != AF_INET)
			return 0;
		have = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else {
		return 0;
	}
	if (a->addr.ss_family == AF_INET) {
		want = (const uint8_t *)&((const struct sockaddr_in *)&a->addr)->sin_addr;
		bits = a->prefix > 32 ? 32 : a->prefix;
	} else {
		want = ((const struct sockaddr_in6 *)&a->addr)->sin6_addr.s6_addr;
		bits = a->prefix > 128 ? 128 : a->prefix;
	}
	size_t whole = bits / 8;
	if (memcmp(want, have, whole))
		return 0;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
		if ((want[whole] ^ have[whole]) & mask)
			return 0;
	}
	return 1;
}

int config_option(struct config *c, const char *name, const char *val, int depth, char *err,
		  size_t errlen)
{
	char sn[96], sv[96];
	unsigned u;
	if (!val) {
		snprintf(err, errlen, "option --%s needs a value", shown(name, sn, sizeof(sn)));
		return DNSD_EINVAL;
	}
	if (!strcmp(name, "db")) {
		c->db = val;
	} else if (!strcmp(name, "zone")) {
		if (c->nzones == CONFIG_MAX_ZONES) {
			snprintf(err, errlen, "at most %d zones", CONFIG_MAX_ZONES);
			return DNSD_EINVAL;
		}
		c->zones[c->nzones++] = val;
	} else if (!strcmp(name, "listen")) {
		if (c->nlisten == CONFIG_MAX_LISTEN ||
		    net_parse_addr(val, &c->listen[c->nlisten])) {
			snprintf(err, errlen,
				 "bad --listen '%s': use ADDR:PORT, e.g. 127.0.0.1:53 or [::1]:53",
				 shown(val, sv, sizeof(sv)));
			return DNSD_EINVAL;
		}
		c->nlisten++;
	} else if (!strcmp(name, "threads")) {
		if (parse_uint(val, 1, 256, &u))
			goto bad;
		c->threads = (int)u;
	} else if (!strcmp(name, "max-udp")) {
		if (parse_uint(val, 512, 4096, &c->max_udp))
			goto bad;
	} else if (!strcmp(name, "tcp-idle")) {
		if (parse_uint(val, 100, 3600000, &c->tcp_idle_ms))
			goto bad;
	} else if (!strcmp(name, "tcp-max-conns")) {
		if (parse_uint(val, 1, 1000000, &c->tcp_max_conns))
			goto bad;
	} else if (!strcmp(name, "tcp-query-timeout")) {
		if (parse_uint(val, 100, 3600000, &c->tcp_query_timeout_ms))
			goto bad;
	} else if (!strcmp(name, "tcp-max-per-client")) {
		if (parse_uint(val, 1, 1000000, &c->tcp_max_per_client))
			goto bad;
	} else if (!strcmp(name, "tcp-max-unsent")) {
		if (parse_uint(val, 1024, 16u << 20, &c->tcp_max_unsent))
			goto bad;
	} else if (!strcmp(name, "tcp-max-unsent-total")) {
		if (parse_uint(val, 64u << 10, 1u << 30, &c->tcp_max_unsent_total))
			goto bad;
	} else if (!strcmp(name, "rrl-rate")) {
		if (parse_uint(val, 0, 1000000, &c->rrl_rate))
			goto bad;
	} else if (!strcmp(name, "rrl-slip")) {
		if (parse_uint(val, 0, 100, &c->rrl_slip))
			goto bad;
	} else if (!strcmp(name, "identity")) {
		if (strlen(val) > 255)
			goto bad;
		c->identity = val;
	} else if (!strcmp(name, "version-string")) {
		if (strlen(val) > 255)
			goto bad;
		c->version = val;
	} else if (!strcmp(name, "nsid")) {
		if (!*val || strlen(val) > 512)
			goto bad;
		c->nsid = val;
	} else if (!strcmp(name, "user")) {
		c->user = val;
	} else if (!strcmp(name, "poll")) {
		if (parse_uint(val, 10, 60000, &c->poll_ms))
			goto bad;
	} else if (!strcmp(name, "metrics")) {
		if (net_parse_addr(val, &c->metrics)) {
			snprintf(err, errlen, "bad --metrics '%s': use ADDR:PORT, e.g. 127.0.0.1:9153",
				 shown(val, sv, sizeof(sv)));
			return DNSD_EINVAL;
		}
		c->have_metrics = 1;
	} else if (!strcmp(name, "ready-file")) {
		c->ready_file = val;
	} else if (!strcmp(name, "state-dir")) {
		c->state_dir = val;
	} else if (!strcmp(name, "log-level")) {
		int l = !strcmp(val, "error")	   ? LOG_ERR
			: !strncmp(val, "warn", 4) ? LOG_WARN
			: !strcmp(val, "info")	   ? LOG_INFO
			: !strcmp(val, "debug")	   ? LOG_DEBUG
						   : -1;
		if (l < 0)
			goto bad;
		c->log_level = l;
	} else if (!strcmp(name, "tsig-keys")) {
		c->tsig_keys = val;
	} else if (!strcmp(name, "allow-transfer")) {
		int rc;
		if (c->nallow_xfr == CONFIG_MAX_XFR) {
			snprintf(err, errlen, "at most %d --allow-transfer", CONFIG_MAX_XFR);
			return DNSD_EINVAL;
		}
		if ((rc = parse_acl(c, val, &c->allow_xfr[c->nallow_xfr]))) {
			if (rc == DNSD_ENOMEM)
				goto nomem;
			snprintf(err, errlen,
				 "bad --allow-transfer '%s': use ADDR[/LEN] [key NAME], e.g. "
				 "192.0.2.0/24 or '2001:db8::53 key xfr-key.'",
				 shown(val, sv, sizeof(sv)));
			return DNSD_EINVAL;
		}
		c->nallow_xfr++;
	} else if (!strcmp(name, "notify")) {
		int rc;
		if (c->nnotify == CONFIG_MAX_XFR) {
			snprintf(err, errlen, "at most %d --notify", CONFIG_MAX_XFR);
			return DNSD_EINVAL;
		}
		if ((rc = parse_notify(c, val, &c->notify[c->nnotify]))) {
			if (rc == DNSD_ENOMEM)
				goto nomem;
			snprintf(err, errlen,
				 "bad --notify '%s': use ADDR[:PORT] [key NAME], e.g. 192.0.2.1, "
				 "[2001:db8::1]:5300 or '192.0.2.1 key xfr-key.'",
				 shown(val, sv, sizeof(sv)));
			return DNSD_EINVAL;
		}
		c->nnotify++;
	} else if (!strcmp(name, "xfr-max")) {
		if (parse_uint(val, 1, NET_MAX_XFR, &c->xfr_max))
			goto bad;
	} else if (!strcmp(name, "ixfr-max-age")) {
		if (parse_uint(val, 1, 315360000, &c->ixfr_max_age))
			goto bad;
	} else if (!strcmp(name, "ixfr-max-bytes")) {
		if (parse_size(val, 1ull << 40, &c->ixfr_max_bytes))
			goto bad;
	} else if (!strcmp(name, "config")) {
		if (depth > CONFIG_MAX_DEPTH) {
			snprintf(err, errlen, "config files nested more than %d deep",
				 CONFIG_MAX_DEPTH);
			return DNSD_EINVAL;
		}
		return config_file(c, val, depth + 1, err, errlen);
	} else if (!strcmp(name, "log-target")) {
		if (strcmp(val, "stderr") && strcmp(val, "syslog")) {
			snprintf(err, errlen, "--log-target is stderr or syslog, not '%s'",
				 shown(val, sv, sizeof(sv)));
			return DNSD_EINVAL;
		}
		c->log_target = val;
	} else {
		snprintf(err, errlen, "unknown option --%s (see dnsd --help)",
			 shown(name, sn, sizeof(sn)));
		return DNSD_EINVAL;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return DNSD_ENOMEM;
bad:
	snprintf(err, errlen, "bad value '%s' for --%s (see dnsd --help)",
		 shown(val, sv, sizeof(sv)), name);
	return DNSD_EINVAL;
}

/* Reads one line into buf (cap bytes), without its newline. Returns its length,
 * -1 at the end of the file, DNSD_ERANGE for a line too long (fgets handed the
 * rest of a long line over as a line of its own: the end of a long comment
 * could set an option), DNSD_EFORMAT for a NUL byte (the text after it was
 * dropped unseen), DNSD_EIO when reading fails (a directory read as empty). */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == 0)
			return DNSD_EFORMAT;
		if (n + 1 >= cap)
			return DNSD_ERANGE;
		buf[n++] = (char)ch;
	}
	if (ferror(f))
		return DNSD_EIO;
	buf[n] = 0;
	return ch == EOF && n == 0 ? -1 : (int)n;
}

void config_report(struct config *c, const char *msg)
{
	c->nreported++;
	if (c->report)
		c->report(c->report_arg, msg);
}

int config_parse(struct config *c, FILE *f, const char *name, int depth, char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE + 1], why[512];
	int n = 0, len, first = 0;
	while ((len = read_line(f, line, sizeof(line))) >= 0) {
		n++;
		char *p = line, *opt, *val;
		p[strcspn(p, "#\r")] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		opt = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		val = p;
		for (char *e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = 0;
		/* Values must outlive the file: the config keeps pointers to them. */
		const char *v = NULL;
		if (*val && !(v = keep(c, val))) {
			snprintf(err, errlen, "%s, line %d: out of memory", name, n);
			return DNSD_ENOMEM;
		}
		unsigned before = c->nreported;
		int rc = config_option(c, opt, v, depth, why, sizeof(why));
		if (rc) {
			/* A nested file's message names that file and line already. */
			if (!strcmp(opt, "config") && v)
				snprintf(err, errlen, "%s (in %s, line %d)", why, name, n);
			else
				snprintf(err, errlen, "%s, line %d: %s", name, n, why);
			if (!c->report || rc == DNSD_ENOMEM)
				return rc;
			if (c->nreported == before) /* a nested file reported its own */
				config_report(c, err);
			first = first ? first : rc;
		}
	}
	if (len == -1)
		return first;
	if (len == DNSD_ERANGE)
		snprintf(err, errlen, "%s, line %d: line too long (at most %d characters)", name,
			 n + 1, CONFIG_MAX_LINE);
	else if (len == DNSD_EFORMAT)
		snprintf(err, errlen, "%s, line %d: a NUL byte", name, n + 1);
	else
		snprintf(err, errlen, "cannot read config %s: %s", name, strerror(errno));
	if (c->report)
		config_report(c, err);
	return len == DNSD_EIO ? DNSD_EIO : DNSD_EINVAL;
}

int config_file(struct config *c, const char *path, int depth, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
		return DNSD_EIO;
	}
	int rc = config_parse(c, f, path, depth, err, errlen);
	fclose(f);
	return rc;
}

int config_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	char sa[96];
	int first = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return CONFIG_HELP;
		if (!strcmp(a, "--version"))
			return CONFIG_VERSION;
		if (!strcmp(a, "--check-config")) {
			c->check = 1;
			continue;
		}
		if (strncmp(a, "--", 2)) {
			snprintf(err, errlen, "unexpected argument '%s' (see dnsd --help)",
				 shown(a, sa, sizeof(sa)));
			if (!c->report)
				return DNSD_EINVAL;
			config_report(c, err);
			first = first ? first : DNSD_EINVAL;
			continue;
		}
		char name[64];
		const char *eq = strchr(a, '=');
		const char *val;
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - a - 2), a + 2);
			val = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a + 2);
			val = i + 1 < argc ? argv[++i] : NULL;
		}
		unsigned before = c->nreported;
		int rc = config_option(c, name, val, 0, err, errlen);
		if (rc && (!c->report || rc == DNSD_ENOMEM))
			return rc;
		if (rc && c->nreported == before) /* a config file reported its own */
			config_report(c, err);
		first = first ? first : rc;
	}
	return first;
}
