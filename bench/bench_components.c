/* bench_components.c - bmeq's run-based labeller against ITK's
 * ConnectedComponentImageFilter on the same mask in the same process,
 * single-threaded.
 *
 * usage: bench_components [--dims NX NY NZ] [--seed S] [--reps R] [--write FILE.npy]
 *
 * The mask is made of small random blobs (seeded, so every run and the scipy
 * script see the same voxels) until about 2.5% of the voxels are set, which
 * on 384x384x160 gives roughly 200k components. --write stores it as a .npy
 * file for bench_components_scipy.py. Each side is timed over R steady-state
 * calls after a first call that is reported on its own (first touch of fresh
 * pages is slow on this VM): the minimum wall-clock time and the minimum
 * process CPU time (all threads; robust when other jobs share the cores).
 * Output lines are "key value".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "bmeq/components.h"
#include "../src/itk/itk_internal.h"
#include "bmeq/volume.h"
#include "bench_util.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/* Best wall and CPU time of a call, kept over repetitions. */
typedef struct timing {
	double wall, cpu, w0, c0;
} timing;

static void tic(timing *t)
{
	t->w0 = bench_wall_s();
	t->c0 = bench_cpu_s();
}

static void toc(timing *t)
{
	double w = bench_wall_s() - t->w0, c = bench_cpu_s() - t->c0;
	t->wall = w < t->wall ? w : t->wall;
	t->cpu = c < t->cpu ? c : t->cpu;
}

/* Small blobs placed uniformly until the target foreground fraction;
 * returns the number of foreground voxels. */
static size_t make_mask(uint8_t *m, const size_t d[3], double fraction)
{
	size_t n = d[0] * d[1] * d[2], target = (size_t)(fraction * (double)n), fg = 0;

	memset(m, 0, n);
	while (fg < target) {
		size_t x = rnd() % d[0], y = rnd() % d[1], z = rnd() % d[2];
		uint32_t kind = rnd() % 16;
		size_t ex = 1, ey = 1, ez = 1;

		/* 7/16 single voxels, 7/16 bars of 2-3 voxels along a random
		 * axis, 1/16 2x2 plates, 1/16 2x2x2 cubes: on 384x384x160 at
		 * 2.5% this gives about 198k components (26-connected). */
		if (kind >= 7 && kind < 14) {
			size_t len = 2 + rnd() % 2;
			uint32_t axis = rnd() % 3;
			ex = axis == 0 ? len : 1, ey = axis == 1 ? len : 1, ez = axis == 2 ? len : 1;
		} else if (kind == 14) {
			ex = 2, ey = 2;
		} else if (kind == 15) {
			ex = 2, ey = 2, ez = 2;
		}
		for (size_t k = z; k < z + ez && k < d[2]; k++)
			for (size_t j = y; j < y + ey && j < d[1]; j++)
				for (size_t i = x; i < x + ex && i < d[0]; i++) {
					uint8_t *p = &m[i + d[0] * (j + d[1] * k)];
					fg += !*p;
					*p = 1;
				}
	}
	return fg;
}

static int write_npy(const char *path, const uint8_t *m, const size_t d[3])
{
	char hdr[128];
	int len = snprintf(hdr, sizeof(hdr),
			   "{'descr': '|u1', 'fortran_order': False, 'shape': (%zu, %zu, %zu), }", d[2],
			   d[1], d[0]);
	/* magic (6) + version (2) + length (2) + header, padded to 64 with '\n' last */
	size_t total = (size_t)(10 + len + 1 + 63) / 64 * 64;
	size_t pad = total - 10 - (size_t)len;
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((total - 10) & 0xff),
				  (unsigned char)((total - 10) >> 8) };
	fwrite(pre, 1, 10, f);
	fwrite(hdr, 1, (size_t)len, f);
	for (size_t i = 0; i + 1 < pad; i++)
		fputc(' ', f);
	fputc('\n', f);
	size_t n = d[0] * d[1] * d[2];
	int ok = fwrite(m, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv)
{
	size_t d[3] = { 384, 384, 160 };
	unsigned long seed = 20240611;
	int reps = 15;
	const char *npy = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dims") && i + 3 < argc) {
			for (int a = 0; a < 3; a++)
				d[a] = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--write") && i + 1 < argc) {
			npy = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--dims NX NY NZ] [--seed S] [--reps R] [--write FILE.npy]\n",
				argv[0]);
			return 2;
		}
	}
	if (reps < 1 || reps > 1000 || !d[0] || !d[1] || !d[2]) {
		fprintf(stderr, "bench_components: bad --reps or --dims\n");
		return 2;
	}
#ifdef __GLIBC__
	/* Keep freed big blocks in the heap, so ITK's per-call output image is
	 * not page-faulted afresh on every call: steady state for both sides. */
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, -1);
#endif
	rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)seed;
	size_t n = d[0] * d[1] * d[2];
	uint8_t *mask = malloc(n);
	uint32_t *lab = malloc(n * sizeof(uint32_t)), *itk_lab = malloc(n * sizeof(uint32_t));
	if (!mask || !lab || !itk_lab) {
		fprintf(stderr, "bench_components: out of memory\n");
		return 1;
	}
	size_t fg = make_mask(mask, d, 0.025);
	printf("dims %zu %zu %zu\nforeground_fraction %.4f\n", d[0], d[1], d[2], (double)fg / (double)n);
	if (npy && write_npy(npy, mask, d) != 0) {
		fprintf(stderr, "bench_components: cannot write %s\n", npy);
		return 1;
	}

	bmeq_cc_workspace *ws = NULL;
	bmeq_cc_options o = { 26, 0, 0.0, 0.0 };
	uint32_t cnt = 0;
	if (bmeq_cc_workspace_create(&ws) != BMEQ_OK)
		return 1;
	double t0 = bench_wall_s();
	if (bmeq_components_label(ws, mask, d, &o, lab, &cnt) != BMEQ_OK) {
		fprintf(stderr, "bench_components: %s\n", bmeq_last_error());
		return 1;
	}
	printf("bmeq_first_s %.6f\n", bench_wall_s() - t0);
	timing tb = { 1e30, 1e30, 0, 0 };
	for (int r = 0; r < reps; r++) {
		tic(&tb);
		bmeq_components_label(ws, mask, d, &o, lab, &cnt);
		toc(&tb);
	}
	printf("bmeq_components_26 %u\nbmeq_s %.6f\nbmeq_cpu_s %.6f\n", cnt, tb.wall, tb.cpu);
	uint32_t cnt6 = 0;
	o.connectivity = 6;
	bmeq_components_label(ws, mask, d, &o, lab, &cnt6);
	printf("bmeq_components_6 %u\n", cnt6);

	bmeq_grid g;
	double sp[3] = { 1, 1, 1 }, org[3] = { 0, 0, 0 };
	size_t icnt = 0, icnt6 = 0;
	bmeq_grid_make(&g, d, sp, org);
	if (bmeq_itk_set_threads(1) != BMEQ_OK) {
		fprintf(stderr, "bench_components: %s\n", bmeq_last_error());
		return 1;
	}
	t0 = bench_wall_s();
	if (bmeq_itk_connected_components(mask, &g, 1, itk_lab, &icnt) != BMEQ_OK) {
		fprintf(stderr, "bench_components: %s\n", bmeq_last_error());
		return 1;
	}
	printf("itk_first_s %.6f\n", bench_wall_s() - t0);
	timing ti = { 1e30, 1e30, 0, 0 };
	int itk_reps = reps < 5 ? reps : 5; /* ITK is slow; five calls give a stable minimum */
	for (int r = 0; r < itk_reps; r++) {
		tic(&ti);
		bmeq_itk_connected_components(mask, &g, 1, itk_lab, &icnt);
		toc(&ti);
	}
	bmeq_itk_connected_components(mask, &g, 0, NULL, &icnt6);
	printf("itk_components_26 %zu\nitk_s %.6f\nitk_cpu_s %.6f\nitk_components_6 %zu\n", icnt, ti.wall,
	       ti.cpu, icnt6);
	printf("speedup_vs_itk %.2f\nspeedup_vs_itk_cpu %.2f\n", ti.wall / tb.wall, ti.cpu / tb.cpu);
	int same = icnt == cnt && icnt6 == cnt6;
	printf("counts_match_itk %s\n", same ? "yes" : "NO");

	bmeq_cc_workspace_destroy(ws);
	free(mask), free(lab), free(itk_lab);
	return same ? 0 : 1;
}
