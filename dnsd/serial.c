/* serial: the served SOA serial, derived from the store's; dnsd's own state file. */
#include "serial.h"
#include "err.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

uint32_t serial_served(struct serial_state *st, uint32_t store_serial, const uint8_t *store_digest,
		       const uint8_t file_digest[32], uint32_t file_serial)
{
	uint32_t v = store_serial + st->offset;
	/* A zone file the writers have not recorded yet. */
	if (store_digest && memcmp(store_digest, file_digest, 32))
		v++;
	if (!serial_gt(v, file_serial))
		v = file_serial + 1;
	/* Never back: a store put back by hand from an older copy. */
	if (st->have_last && serial_gt(st->last, v)) {
		st->offset += st->last - v + 1;
		v = st->last + 1;
		st->dirty = 1;
	}
	if (!st->have_last || st->last != v) {
		st->last = v;
		st->have_last = 1;
		st->dirty = 1;
	}
	return v;
}

int serial_state_load(const char *dir, struct serial_state *st, char *err, size_t errlen)
{
	char path[4200], line[160];
	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/serial", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return DNSD_EIO;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return DNSD_EIO;
	}
	int bad = 0;
	unsigned long v;
	char *end;
	while (!bad && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "offset ", 7)) {
			v = strtoul(line + 7, &end, 10);
			bad = end == line + 7 || (*end && *end != '\n') || v > 0xffffffffUL;
			st->offset = (uint32_t)v;
		} else if (!strncmp(line, "last ", 5)) {
			v = strtoul(line + 5, &end, 10);
			bad = end == line + 5 || (*end && *end != '\n') || v > 0xffffffffUL;
			st->last = (uint32_t)v;
			st->have_last = 1;
		} else if (line[0] != '#' && line[0] != '\n') {
			bad = 1;
		}
	}
	fclose(f);
	if (bad) {
		memset(st, 0, sizeof(*st));
		snprintf(err, errlen, "%s is not a dnsd serial state file", path);
		return DNSD_EINVAL;
	}
	return 0;
}

int serial_state_save(const char *dir, struct serial_state *st, char *err, size_t errlen)
{
	char path[4200], tmp[4300], buf[256];
	int n = snprintf(
		buf, sizeof(buf),
		"# dnsd's own state: the last serial it served, and how far a store put back\n"
		"# by hand from an older copy made it serve above the store's\n"
		"offset %u\n",
		st->offset);
	if (st->have_last)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "last %u\n", st->last);
	snprintf(path, sizeof(path), "%s/serial", dir);
	snprintf(tmp, sizeof(tmp), "%s/.serial.tmp", dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return errno == ENOSPC || errno == EDQUOT ? DNSD_EFULL : DNSD_EIO;
	}
	ssize_t w = write(fd, buf, (size_t)n);
	int e = w == n ? 0 : w < 0 ? errno : ENOSPC;
	if (close(fd) && !e)
		e = errno;
	if (!e && rename(tmp, path))
		e = errno;
	if (e) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path,
			 e == ENOSPC ? "disk full" : strerror(e));
		return e == ENOSPC || e == EDQUOT ? DNSD_EFULL : DNSD_EIO;
	}
	st->dirty = 0;
	return 0;
}
