/* fuzz_config: a libFuzzer target over dnsd's config file parser
 * (config_parse). Replayed over tests/fuzz/corpus/config by `make test`. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512] = "";
	if (!size)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	config_init(&c);
	/* As deep as files may go: a "config" line is refused rather than
	 * opening whatever file the input names. */
	int rc = config_parse(&c, f, "fuzz.conf", CONFIG_MAX_DEPTH + 1, err, sizeof(err));
	fclose(f);
	if (rc && !err[0])
		abort();
	if (c.nzones > CONFIG_MAX_ZONES || c.nlisten > CONFIG_MAX_LISTEN ||
	    (c.identity && strlen(c.identity) > 255) || (c.nsid && strlen(c.nsid) > 512))
		abort();
	for (size_t i = 0; i < c.nzones; i++)
		if (!c.zones[i] || !*c.zones[i])
			abort();
	config_free(&c);
	return 0;
}
