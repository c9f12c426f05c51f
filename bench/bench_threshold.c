/* bench_threshold.c - ROI threshold throughput against memcpy bandwidth
 * measured in the same run on buffers of the same size.
 *
 * usage: bench_threshold [--n VOXELS] [--reps R]
 *
 * Bandwidth counts the bytes a call touches: bmeq_threshold_roi16 reads 4 +
 * 2 bytes and writes 2 per voxel; memcpy of the float buffer reads and
 * writes 4 each. All buffers are written once before timing (first touch of
 * fresh pages is very slow on this VM); the first timed call of each kernel
 * is reported apart from the steady state (best of R). Every CPU path the
 * machine supports is measured; "auto" is what the portable build picks.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmeq/threshold.h"
#include "bench_util.h"

int main(int argc, char **argv)
{
	size_t n = (size_t)384 * 384 * 160;
	int reps = 15;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc) {
			n = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--n VOXELS] [--reps R]\n", argv[0]);
			return 2;
		}
	}
	if (n < 64 || reps < 1) {
		fprintf(stderr, "bench_threshold: bad --n or --reps\n");
		return 2;
	}
	float *v = malloc(n * sizeof(float)), *copy = malloc(n * sizeof(float));
	uint16_t *roi = malloc(n * sizeof(uint16_t)), *out = malloc(n * sizeof(uint16_t));
	if (!v || !copy || !roi || !out) {
		fprintf(stderr, "bench_threshold: out of memory\n");
		return 1;
	}
	uint64_t s = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		v[i] = (float)(s % 1000);
		roi[i] = (uint16_t)((s >> 20) % 5);
	}
	memset(copy, 0, n * sizeof(float));
	memset(out, 0, n * sizeof(uint16_t));

	/* memcpy: first call, then best of reps */
	double t0 = bench_wall_s(), best = 1e30;
	memcpy(copy, v, n * sizeof(float));
	double first = bench_wall_s() - t0;
	for (int r = 0; r < reps; r++) {
		t0 = bench_wall_s();
		memcpy(copy, v, n * sizeof(float));
		double t = bench_wall_s() - t0;
		best = t < best ? t : best;
	}
	double mc_bytes = 2.0 * (double)n * sizeof(float), mc_gbs = mc_bytes / best / 1e9;
	printf("voxels %zu\nmemcpy_first_s %.9f\nmemcpy_s %.9f\nmemcpy_gbs %.2f\n", n, first, best, mc_gbs);

	double th_bytes = (double)n * (sizeof(float) + 2 * sizeof(uint16_t)), auto_ratio = 0.0;
	for (int p = BMEQ_CPU_AUTO; p <= BMEQ_CPU_AVX512; p++) {
		if (bmeq_threshold_force_path((bmeq_cpu_path)p) != BMEQ_OK)
			continue;
		const char *name = bmeq_cpu_path_name((bmeq_cpu_path)p);
		t0 = bench_wall_s();
		bmeq_threshold_roi16(v, roi, n, 500.0f, out);
		first = bench_wall_s() - t0;
		best = 1e30;
		for (int r = 0; r < reps; r++) {
			t0 = bench_wall_s();
			bmeq_threshold_roi16(v, roi, n, 500.0f, out);
			double t = bench_wall_s() - t0;
			best = t < best ? t : best;
		}
		double gbs = th_bytes / best / 1e9;
		printf("roi16_%s_first_s %.9f\nroi16_%s_s %.9f\nroi16_%s_gbs %.2f\nroi16_%s_vs_memcpy %.2f\n", name,
		       first, name, best, name, gbs, name, gbs / mc_gbs);
		if (p == BMEQ_CPU_AUTO) {
			auto_ratio = gbs / mc_gbs;
			printf("auto_path %s\n", bmeq_cpu_path_name(bmeq_threshold_active_path()));
		}
	}
	printf("target_80pct_of_memcpy %s\n", auto_ratio >= 0.8 ? "met" : "NOT met");
	free(v), free(copy), free(roi), free(out);
	return 0;
}
