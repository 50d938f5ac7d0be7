/* fuzz_check: a libFuzzer target over the text readers of dnsdctl check
 * (check_lines, check_tag, check_brief): what a customer's DNS puts in its TXT
 * records, as the check joins them, one record a line. Replayed over
 * tests/fuzz/corpus/check by `make test`. */
#include "check.h"
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {"v=DKIM1", "v=spf1", "v=DMARC1"};
	static const char *const tags[] = {"p", "aspf", "adkim", "k", "v", ""};
	static const size_t sizes[] = {0, 1, 2, 8, 1100};
	char *text = malloc(size + 1), first[1100], out[1100], b[80];
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	int nlines = 1;
	for (const char *p = text; *p; p++)
		nlines += *p == '\n';
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		memset(first, 'x', sizeof(first));
		int n = check_lines(text, prefixes[i], first, sizeof(first));
		if (n < 0 || n > nlines || check_lines(text, prefixes[i], NULL, 0) != n)
			abort();
		if (!memchr(first, 0, sizeof(first)))
			abort();
		if (n && (strncasecmp(first, prefixes[i], pl) || strchr(first, '\n')))
			abort();
		if (!n && first[0])
			abort();
		/* The tags of the line found, into buffers of every size. */
		for (size_t t = 0; n && t < sizeof(tags) / sizeof(tags[0]); t++)
			for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
				memset(out, 'x', sizeof(out));
				int f = check_tag(first, tags[t], sizes[z] ? out : NULL, sizes[z]);
				if (f != 0 && f != 1)
					abort();
				if (sizes[z] && f) {
					if (!memchr(out, 0, sizes[z]))
						abort();
					for (const char *v = out; *v; v++)
						if (isspace((unsigned char)*v))
							abort();
				}
				if (sizes[z] && sizes[z] < sizeof(out) && out[sizes[z]] != 'x')
					abort(); /* written past its size */
			}
	}
	if (strlen(check_brief(text, b, sizeof(b))) >= sizeof(b))
		abort();
	free(text);
	return 0;
}
