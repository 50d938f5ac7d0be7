/* t.h: the tiny unit-test harness every tests/unit file uses. Each binary ends with
 * "N passed, N failed" and exits non-zero on any failure. */
#ifndef DNSD_T_H
#define DNSD_T_H
#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;
static const char *t_name = "";

#define T_CHECK(cond)                                                                    \
	do {                                                                             \
		if (cond) {                                                              \
			t_pass++;                                                        \
		} else {                                                                 \
			t_fail++;                                                        \
			fprintf(stderr, "FAIL %s: %s:%d: %s\n", t_name, __FILE__, __LINE__, \
				#cond);                                                  \
		}                                                                        \
	} while (0)

#define T_EQ_INT(a, b)                                                                    \
	do {                                                                              \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                   \
		if (t_a_ == t_b_) {                                                       \
			t_pass++;                                                         \
		} else {                                                                  \
			t_fail++;                                                         \
			fprintf(stderr, "FAIL %s: %s:%d: %s == %lld, expected %lld\n", t_name, \
				__FILE__, __LINE__, #a, t_a_, t_b_);                      \
		}                                                                         \
	} while (0)

#define T_EQ_STR(a, b)                                                                    \
	do {                                                                              \
		const char *t_a_ = (a), *t_b_ = (b);                                      \
		if (t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0) {                            \
			t_pass++;                                                         \
		} else {                                                                  \
			t_fail++;                                                         \
			fprintf(stderr, "FAIL %s: %s:%d: %s == \"%s\", expected \"%s\"\n", t_name, \
				__FILE__, __LINE__, #a, t_a_ ? t_a_ : "(null)",           \
				t_b_ ? t_b_ : "(null)");                                  \
		}                                                                         \
	} while (0)

#define T_RUN(fn)                \
	do {                     \
		t_name = #fn;    \
		fn();            \
	} while (0)

static inline int t_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
#endif
