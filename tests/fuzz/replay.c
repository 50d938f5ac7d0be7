/* replay: runs a fuzz target over every file in the directories given, or in
 * its corpus (FUZZ_CORPUS, set by the Makefile) without arguments, without
 * libFuzzer, so the normal gcc test run replays it. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "tests/fuzz/corpus/answer"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	int pass = 0, fail = 0;
	static uint8_t buf[1 << 16];
	static char *def[] = { NULL, FUZZ_CORPUS };
	if (argc < 2) {
		argv = def;
		argc = 2;
	}
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		if (!d) {
			fprintf(stderr, "cannot open %s\n", argv[i]);
			fail++;
			continue;
		}
		while ((de = readdir(d))) {
			char path[4096];
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			FILE *f = fopen(path, "rb");
			if (!f) {
				fail++;
				continue;
			}
			size_t n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, n); /* a crash or abort fails the run */
			pass++;
		}
		closedir(d);
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}
