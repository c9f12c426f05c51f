/* test_components_scipy.c - bmeq's labels equal scipy.ndimage.label's (6, 18
 * and 26 connectivity; scipy also numbers components in raster order) on a
 * generated mask. Exits 77 (ctest SKIP) when python3 with scipy is missing.
 * BMEQ_PYTHON selects the interpreter (default /usr/bin/python3). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmeq/components.h"
#include "check.h"

static const char *script =
	"import sys, numpy as np\n"
	"from scipy import ndimage\n"
	"nx, ny, nz = (int(a) for a in sys.argv[2:5])\n"
	"m = np.fromfile(sys.argv[1], np.uint8).reshape(nz, ny, nx)\n"
	"for rank, name in ((1, '6'), (2, '18'), (3, '26')):\n"
	"    lab, n = ndimage.label(m, ndimage.generate_binary_structure(3, rank))\n"
	"    lab.astype(np.uint32).tofile(sys.argv[1] + '.' + name)\n"
	"    print(name, n)\n";

int main(void)
{
	const char *py = getenv("BMEQ_PYTHON") ? getenv("BMEQ_PYTHON") : "/usr/bin/python3";
	char probe[512], dir[] = "/tmp/bmeq_cc_scipy_XXXXXX", path[600], cmd[2048];
	size_t d[3] = { 97, 61, 23 }, n = 97 * 61 * 23;

	snprintf(probe, sizeof(probe), "%s -c 'import scipy.ndimage' >/dev/null 2>&1", py);
	if (system(probe) != 0) {
		printf("python3 with scipy not available: skipped\n");
		return 77;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	uint8_t *m = malloc(n);
	uint32_t *got = malloc(n * sizeof(uint32_t)), *want = malloc(n * sizeof(uint32_t));
	CHECK(m && got && want);
	if (!m || !got || !want)
		CHECK_DONE();
	uint64_t s = 0x853C49E6748FEA9Bull;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		m[i] = (s % 100) < 12 ? 1 : 0;
	}
	/* a few long structures so that components span rows and slices */
	for (size_t z = 3; z < 20; z++)
		for (size_t x = 10; x < 90; x++)
			m[x + d[0] * (30 + d[1] * z)] = (x + z) % 7 != 0;
	snprintf(path, sizeof(path), "%s/mask.u8", dir);
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(m, 1, n, f) == n && fclose(f) == 0);
	snprintf(path, sizeof(path), "%s/run.py", dir);
	f = fopen(path, "w");
	CHECK(f && fputs(script, f) >= 0 && fclose(f) == 0);
	snprintf(cmd, sizeof(cmd), "%s %s/run.py %s/mask.u8 %zu %zu %zu", py, dir, dir, d[0], d[1], d[2]);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	int conn;
	unsigned long scount;
	int seen = 0;
	bmeq_cc_workspace *ws = NULL;
	CHECK(bmeq_cc_workspace_create(&ws) == BMEQ_OK);
	while (p && ws && fscanf(p, "%d %lu", &conn, &scount) == 2) {
		bmeq_cc_options o = { conn, 0, 0.0, 0.0 };
		uint32_t cnt = 0;
		CHECK(bmeq_components_label(ws, m, d, &o, got, &cnt) == BMEQ_OK);
		printf("connectivity %d: bmeq %u scipy %lu\n", conn, cnt, scount);
		CHECK(cnt == scount);
		CHECK(cnt > 100);
		snprintf(path, sizeof(path), "%s/mask.u8.%d", dir, conn);
		FILE *lf = fopen(path, "rb");
		CHECK(lf && fread(want, sizeof(uint32_t), n, lf) == n);
		if (lf)
			fclose(lf);
		CHECK(memcmp(got, want, n * sizeof(uint32_t)) == 0);
		remove(path);
		seen++;
	}
	CHECK(p && pclose(p) == 0);
	CHECK(seen == 3);
	snprintf(path, sizeof(path), "%s/mask.u8", dir);
	remove(path);
	snprintf(path, sizeof(path), "%s/run.py", dir);
	remove(path);
	rmdir(dir);
	bmeq_cc_workspace_destroy(ws);
	free(m), free(got), free(want);
	CHECK_DONE();
}
