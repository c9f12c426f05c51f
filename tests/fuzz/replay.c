/* replay.c - runs every file of the given corpus folders (or files) through the fuzz target
 * without libFuzzer, so that the corpus and the saved regressions are an ordinary ctest test
 * (and run under the ASan/UBSan build like everything else). */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fuzz_nifti.h"

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;

	if (!f || fstat(fileno(f), &sb) != 0) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	size_t n = (size_t)sb.st_size;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

/* Without a sanitizer (whose shadow memory needs a huge address space), cap the address space
 * at 4 GiB: no fuzz input is large enough to need more, and a reader that allocates what a
 * header claims instead of what the file holds (a fuzzed 600-byte gzip asked for 7.8 GB) then
 * meets a failed allocation that the target reports, instead of an untouched mapping that
 * overcommit would let pass. */
static void cap_address_space(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
	return;
#endif
#endif
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 &&
	    (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > ((rlim_t)4 << 30))) {
		rl.rlim_cur = (rlim_t)4 << 30;
		setrlimit(RLIMIT_AS, &rl);
	}
}

int main(int argc, char **argv)
{
	int files = 0, errors = 0;

	cap_address_space();

	for (int a = 1; a < argc; a++) {
		struct stat sb;
		if (stat(argv[a], &sb) != 0) {
			fprintf(stderr, "replay: no such file or folder: %s\n", argv[a]);
			errors++;
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			errors += replay_file(argv[a]) != 0;
			files++;
			continue;
		}
		DIR *d = opendir(argv[a]);
		struct dirent *e;
		if (!d) {
			errors++;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[a], e->d_name);
			if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
				continue;
			errors += replay_file(path) != 0;
			files++;
		}
		closedir(d);
	}
	printf("replayed %d inputs, %d unreadable\n", files, errors);
	return errors || files == 0 ? 1 : 0;
}
