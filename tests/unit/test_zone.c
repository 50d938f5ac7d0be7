/* test_zone: zone files parsed from memory: what loads, and what is refused with
 * the file and line (quotes and parentheses left open, $INCLUDE). */
#include "db.h"
#include "err.h"
#include "t.h"
#include "zone.h"

#define HEAD                                                                                       \
	"$ORIGIN z.example.\n"                                                                     \
	"$TTL 300\n"                                                                               \
	"@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"                                           \
	"@ IN NS ns1\n"                                                                            \
	"ns1 IN A 192.0.2.1\n"
/* The first line after HEAD. */
#define NEXT 6

static int load(const char *text, char *err, size_t errlen, struct db_zone **z)
{
	return zone_parse(text, strlen(text), "mem.zone", "z.example.", NULL, z, err, errlen);
}

/* text is refused, err naming the line and holding why. */
static void refused(const char *text, int line, const char *why)
{
	struct db_zone *z = NULL;
	char err[512] = "", where[64];
	T_EQ_INT(load(text, err, sizeof(err), &z), DNSD_EINVAL);
	T_CHECK(z == NULL);
	snprintf(where, sizeof(where), "zone file mem.zone, line %d: ", line);
	T_CHECK(strstr(err, where) == err);
	T_CHECK(strstr(err, why) != NULL);
	if (strstr(err, where) != err || !strstr(err, why))
		fprintf(stderr, "    err: %s\n", err);
}

/* text loads, and name has an RRset of type whose first RDATA is rd (n bytes). */
static void loads(const char *text, const char *name, uint16_t type, const void *rd, size_t n)
{
	struct db_zone *z = NULL;
	char err[512] = "";
	uint8_t w[WIRE_MAXNAME];
	T_EQ_INT(load(text, err, sizeof(err), &z), 0);
	if (!z) {
		fprintf(stderr, "    err: %s\n", err);
		return;
	}
	int l = wire_name_from_text(name, w);
	const struct db_node *node = l > 0 ? db_zone_find(z, w, (size_t)l) : NULL;
	const struct db_rrset *rs = node ? db_node_rrset(node, type) : NULL;
	T_CHECK(rs != NULL);
	/* The first RR in tail form: type, class, TTL, RDLENGTH, RDATA. */
	if (rs && rs->len >= 10) {
		T_EQ_INT(wire_get16(rs->data + 8), n);
		T_CHECK(wire_get16(rs->data + 8) == n && memcmp(rs->data + 10, rd, n) == 0);
	}
	db_zone_free(z);
}

static void test_quotes(void)
{
	refused(HEAD "q1 IN TXT \"v=spf1 -all\nq2 IN A 192.0.2.2\n", NEXT, "quoted string");
	refused(HEAD "q1 IN TXT \"v=spf1 -all", NEXT, "quoted string");
	refused(HEAD "q1 IN TXT \"a ; b\n", NEXT, "quoted string");
	refused(HEAD "q1 IN TXT ( \"a\n b\" )\n", NEXT, "quoted string");
	/* \" does not close it; \\" does. */
	refused(HEAD "q1 IN TXT \"a\\\"\n", NEXT, "quoted string");
	loads(HEAD "q1 IN TXT \"a\\\\\"\n", "q1.z.example.", WIRE_T_TXT,
	      "\x02"
	      "a\\",
	      3);
	loads(HEAD "q1 IN TXT \"say \\\"hi\\\"; (x\" ; \"comment\n", "q1.z.example.", WIRE_T_TXT,
	      "\x0csay \"hi\"; (x", 13);
	loads(HEAD "; a \" in a comment\nq1 IN TXT \"ok\"\n", "q1.z.example.", WIRE_T_TXT, "\x02ok",
	      3);
}

static void test_parentheses(void)
{
	refused(HEAD "q1 IN TXT ( \"a\"\nq2 IN TXT \"b\"\n", NEXT, "never closed");
	refused(HEAD "\nq1 IN TXT \"a\" )\n", NEXT + 1, "no '('");
	loads(HEAD "q1 IN TXT ( \"a\" ; one\n  \"b\" ) ; two\n", "q1.z.example.", WIRE_T_TXT,
	      "\x01"
	      "a\x01"
	      "b",
	      4);
	loads(HEAD "q1 IN TXT \"(\" \\( \n", "q1.z.example.", WIRE_T_TXT, "\x01(\x01(", 4);
}

/* ldns makes a name of more than 255 octets from a long $ORIGIN and a relative
 * name: refused before anything copies it (it overran a 255-octet buffer). */
static void test_long_names(void)
{
	char text[1024], lab[61];
	memset(lab, 'a', 60);
	lab[60] = 0;
	snprintf(text, sizeof(text), HEAD "$ORIGIN %s.%s.%s.%s.\nx23456789012 A 192.0.2.1\n", lab,
		 lab, lab, lab);
	refused(text, NEXT + 1, "longer than 255 octets");
	snprintf(text, sizeof(text), HEAD "$ORIGIN %s.%s.%s.%s.\nx23456789 A 192.0.2.1\n", lab, lab,
		 lab, lab);
	/* 255 octets: a name, though out of the zone. */
	struct db_zone *z = NULL;
	char err[512] = "";
	T_EQ_INT(load(text, err, sizeof(err), &z), DNSD_EINVAL);
	T_CHECK(strstr(err, "is outside the zone z.example.") != NULL);
}

static void test_directives(void)
{
	refused(HEAD "$INCLUDE /etc/passwd\n", NEXT, "$INCLUDE is not supported");
	struct db_zone *z = NULL;
	char err[512];
	/* $ORIGIN may move names, never out of the zone. */
	T_EQ_INT(load(HEAD "$ORIGIN other.example.\nx IN A 192.0.2.3\n", err, sizeof(err), &z),
		 DNSD_EINVAL);
	T_CHECK(strstr(err, "x.other.example. is outside the zone") != NULL);
	T_EQ_INT(load("", err, sizeof(err), &z), DNSD_EINVAL);
	T_CHECK(strstr(err, "no SOA") != NULL);
	T_EQ_INT(zone_load("/nonexistent/z.zone", NULL, NULL, &z, err, sizeof(err)), DNSD_EIO);
	T_EQ_INT(zone_load("/", NULL, NULL, &z, err, sizeof(err)), DNSD_EIO);
}

int main(void)
{
	T_RUN(test_quotes);
	T_RUN(test_parentheses);
	T_RUN(test_long_names);
	T_RUN(test_directives);
	return t_done();
}
