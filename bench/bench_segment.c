/* bench_segment.c - time of bmeq_femhead_segment on one core.
 *
 * usage: bench_segment [REPEATS] [REAL_SCAN.nii.gz ...]
 *
 * Scans: a phantom STIR 320x320x24 (1.2 mm in-plane, 5 mm coronal slices) and
 * any real scans given. For each: the first call (the process's first touch
 * of its buffers) and the median of REPEATS steady-state calls, as process CPU
 * seconds (one core's cost, robust on a shared machine) and wall seconds. The
 * peer measured in the same run is one ITK Gaussian gradient-magnitude pass
 * (sigma 1 mm) over the same scan: the cheapest ITK step a classical
 * segmentation would start from.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmeq/femhead.h"
#include "../src/itk/itk_internal.h"
#include "bmeq/nifti_io.h"
#include "bmeq/phantom.h"

#include "bench_util.h"

static void bench(const char *name, const bmeq_volume *v, int reps)
{
	size_t n = bmeq_grid_nvox(&v->grid);
	uint8_t *lab = malloc(n);
	double cpu[64], wall[64], c0, w0, first_cpu = 0, first_wall = 0;
	bmeq_femhead_result r;

	if (!lab)
		return;
	if (reps > 64)
		reps = 64;
	for (int i = 0; i <= reps; i++) {
		c0 = bench_cpu_s();
		w0 = bench_wall_s();
		if (bmeq_femhead_segment(v, NULL, lab, &r) != BMEQ_OK) {
			fprintf(stderr, "%s: %s\n", name, bmeq_last_error());
			free(lab);
			return;
		}
		if (i == 0) {
			first_cpu = bench_cpu_s() - c0;
			first_wall = bench_wall_s() - w0;
		} else {
			cpu[i - 1] = bench_cpu_s() - c0;
			wall[i - 1] = bench_wall_s() - w0;
		}
	}

	/* Peer: ITK gradient magnitude on the same scan, one thread. */
	double peer[64];
	for (int i = 0; i < reps; i++) {
		bmeq_volume *gm = NULL;
		c0 = bench_cpu_s();
		if (bmeq_itk_gradient_magnitude(v, 1.0, &gm) != BMEQ_OK) {
			peer[i] = 0;
			continue;
		}
		peer[i] = bench_cpu_s() - c0;
		bmeq_volume_destroy(gm);
	}
	double med = bench_median(cpu, reps), pmed = bench_median(peer, reps);
	double med_wall = bench_median(wall, reps);
	printf("%-44s %zux%zux%zu  first %.3f s cpu (%.3f wall)  steady %.3f s cpu (%.3f wall)  "
	       "target 1 s: %.2fx  ITK gradmag %.3f s: %.2fx  heads %d/%d\n",
	       name, v->grid.dim[0], v->grid.dim[1], v->grid.dim[2], first_cpu, first_wall, med,
	       med_wall, med / 1.0, pmed, pmed > 0 ? med / pmed : 0.0, r.side[0].found,
	       r.side[1].found);
	free(lab);
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL;

	if (reps < 1)
		reps = 1;
	bmeq_itk_set_threads(1);
	bench_scan_params(&p);
	if (bmeq_phantom_scan_make(&p, &sc) != BMEQ_OK) {
		fprintf(stderr, "phantom: %s\n", bmeq_last_error());
		return 1;
	}
	bench("phantom STIR coronal", sc->image, reps);
	bmeq_phantom_scan_destroy(sc);
	for (int a = 2; a < argc; a++) {
		bmeq_volume *v = NULL;
		const char *b = strrchr(argv[a], '/');

		if (bmeq_nifti_read(argv[a], NULL, &v, NULL) != BMEQ_OK) {
			fprintf(stderr, "%s: %s\n", argv[a], bmeq_last_error());
			return 1;
		}
		bench(b ? b + 1 : argv[a], v, reps);
		bmeq_volume_destroy(v);
	}
	return 0;
}
