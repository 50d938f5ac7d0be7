/* names: validators for the names, labels and paths read from the store, shared by dnsd and
 * dnsdctl so that both refuse the same rows. */
#include "names.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "policy.h"

static int is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int names_domain(const char *s, char *err, size_t errlen)
{
	char q[80];
	size_t n;

	if (policy_name_check(s, 0, err, errlen))
		return DNSD_EINVAL;
	n = strlen(s);
	if (s[n - 1] == '.' || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n) {
		if (err && errlen)
			snprintf(err, errlen,
				 "domain '%s': not in the stored form (lowercase, no trailing dot)",
				 names_show(q, sizeof(q), s));
		return DNSD_EINVAL;
	}
	return 0;
}

int names_label(const char *s, size_t max)
{
	size_t n;

	if (!s || !(n = strlen(s)) || n > max || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int names_tenant(const char *s)
{
	size_t n;

	if (!s || !(n = strlen(s)) || n > NAMES_TENANT_MAX)
		return 0;
	if (!is_lower_alnum(s[0] | 0x20))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int names_key_path(const char *s)
{
	const char *p, *slash;
	size_t n;

	if (!s || s[0] != '/')
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr(":#\"\\", *p))
			return 0;
	/* Each component after a slash: not empty, not "." or "..". */
	for (p = s + 1;; p = slash + 1) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))))
			return 0;
		if (!slash)
			return 1;
	}
}

/* Writes the quoted form of c into e (at least 5 bytes); returns its length. */
static size_t show_char(unsigned char c, char *e)
{
	if (c < 0x20 || c > 0x7e)
		return (size_t)snprintf(e, 5, "\\x%02x", c);
	if (c == '\\')
		return (size_t)snprintf(e, 5, "\\\\");
	e[0] = (char)c;
	return 1;
}

const char *names_show(char *out, size_t outlen, const char *s)
{
	size_t o = 0, total = 0;
	char e[5];

	if (!s)
		s = "(null)";
	for (const char *p = s; *p; p++)
		total += show_char((unsigned char)*p, e);
	for (; *s; s++) {
		size_t el = show_char((unsigned char)*s, e);
		/* When the whole does not fit, each step leaves room for "...". */
		if (total >= outlen && o + el + 3 >= outlen) {
			memcpy(out + o, "...", 4);
			return out;
		}
		memcpy(out + o, e, el);
		o += el;
	}
	out[o] = '\0';
	return out;
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = s[0] < 0x80		   ? 1
		     : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
		     : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
		     : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
						   : 0;
	uint32_t v = len == 1 ? s[0] : len ? s[0] & (0x7f >> len) : 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (len > 1 && (v < least[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)))
		return 0;
	return len;
}

char *names_utf8(char *out, size_t n, const char *s)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t len = utf8_len(p);
		const char *put = len ? (const char *)p : "\xef\xbf\xbd";
		size_t pl = len ? len : 3;
		if (o + pl + 1 > n)
			break;
		memcpy(out + o, put, pl);
		o += pl;
		p += len ? len : 1;
	}
	out[o] = 0;
	return out;
}
