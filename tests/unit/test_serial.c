/* test_serial: the served serial derived from the store's, and dnsd's state file. */
#include "err.h"
#include "serial.h"
#include "t.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_rfc1982(void)
{
	T_CHECK(serial_gt(2, 1));
	T_CHECK(!serial_gt(1, 2));
	T_CHECK(!serial_gt(5, 5));
	T_CHECK(serial_gt(0, 0xffffffffu)); /* wraps */
	T_CHECK(serial_gt(10, 0xfffffff0u));
	T_CHECK(!serial_gt(0x80000001u, 1)); /* half the space ahead: behind */
}

static void test_served(void)
{
	struct serial_state st = { 0 };
	uint8_t d1[32], d2[32];
	memset(d1, 1, 32);
	memset(d2, 2, 32);
	/* the store's serial, whatever the zone file, until a writer records one */
	T_EQ_INT(serial_served(&st, 1000, NULL, d1, 5), 1000);
	/* the writers recorded the file dnsd loaded: the store's */
	T_EQ_INT(serial_served(&st, 1001, d1, d1, 5), 1001);
	/* dnsd loaded an edited file the writers have not recorded: one above */
	T_EQ_INT(serial_served(&st, 1001, d1, d2, 5), 1002);
	/* a writer's batch records it (moving the store's serial to that): the store's */
	T_EQ_INT(serial_served(&st, 1002, d2, d2, 5), 1002);
	T_EQ_INT(serial_served(&st, 1003, d2, d2, 5), 1003);
	T_EQ_INT(st.offset, 0);
	/* an operator raises the zone file's serial: served above it until recorded */
	T_EQ_INT(serial_served(&st, 1003, d2, d2, 5000), 5001);
	T_EQ_INT(serial_served(&st, 5001, d2, d2, 5000), 5001);
	T_EQ_INT(st.offset, 0);
	/* a store put back by hand from an older copy: above the last served, and on */
	T_EQ_INT(serial_served(&st, 4900, d2, d2, 5), 5002);
	T_EQ_INT(st.offset, 102);
	T_EQ_INT(serial_served(&st, 4901, d2, d2, 5), 5003);
	/* across the wrap */
	struct serial_state w = { 0 };
	T_EQ_INT(serial_served(&w, 0xffffffffu, NULL, d1, 0xfffffff0u), 0xffffffffu);
	T_EQ_INT(serial_served(&w, 0, NULL, d1, 0xfffffff0u), 0); /* 0 follows 2^32 - 1 */
	/* a zone file serial half the space away counts as behind... */
	struct serial_state h = { 0 };
	T_EQ_INT(serial_served(&h, 4000000000u, NULL, d1, 1), 2); /* ...so 4e9 is not above 1: 2 is */
}

static void test_state_file(void)
{
	char dir[] = "/tmp/dnsd-serial-XXXXXX", err[256], path[300];
	T_CHECK(mkdtemp(dir) != NULL);
	struct serial_state a = { 0 }, b;
	T_EQ_INT(serial_state_load(dir, &b, err, sizeof(err)), 0); /* none yet: zeroed */
	T_EQ_INT(b.have_last, 0);
	uint8_t d[32];
	memset(d, 7, 32);
	serial_served(&a, 4000000000u, NULL, d, 3999999999u);
	a.offset = 3;
	T_CHECK(a.dirty);
	T_EQ_INT(serial_state_save(dir, &a, err, sizeof(err)), 0);
	T_CHECK(!a.dirty);
	T_EQ_INT(serial_state_load(dir, &b, err, sizeof(err)), 0);
	T_EQ_INT(b.offset, 3);
	T_EQ_INT(b.last, 4000000000u);
	T_CHECK(b.have_last);
	/* a damaged file: refused, and the state starts afresh */
	snprintf(path, sizeof(path), "%s/serial", dir);
	FILE *f = fopen(path, "w");
	fputs("offset 12x\n", f);
	fclose(f);
	T_EQ_INT(serial_state_load(dir, &b, err, sizeof(err)), DNSD_EINVAL);
	T_EQ_INT(b.offset, 0);
	T_CHECK(strstr(err, "not a dnsd serial state file") != NULL);
	/* a link planted in its place is not followed */
	unlink(path);
	T_EQ_INT(symlink("/etc/passwd", path), 0);
	T_EQ_INT(serial_state_load(dir, &b, err, sizeof(err)), DNSD_EIO);
	unlink(path);
	/* an unwritable directory: an error, never a crash */
	snprintf(path, sizeof(path), "%s/none/deeper", dir);
	T_CHECK(serial_state_save(path, &a, err, sizeof(err)) != 0);
	rmdir(dir);
}

int main(void)
{
	T_RUN(test_rfc1982);
	T_RUN(test_served);
	T_RUN(test_state_file);
	return t_done();
}
