/* bench_itk.c - what the ITK bridge costs on a 320x320x24 hip-like scan:
 * N4 bias correction and the rigid registration of one hip region, on one
 * core (ITK threads = 1), first call in this process and steady state
 * (median of the following calls), printed as ratios against the targets
 * (N4 1 s, registration 1.5 s) and, for N4, against the same N4 at full
 * resolution (shrink 1) as the in-run peer.
 *
 * Times are process CPU seconds (one thread, so one core's cost even on a
 * shared machine); the wall time of the steady calls is printed beside.
 *
 * Usage: bench_itk [n4|reg|all] [repeats]   (default: all 5)
 * Run n4 and reg in separate processes to see each one's true first call. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c17 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/itk/itk_internal.h"
#include "../tests/unit/itk_phantom.h"

#include "bench_util.h"

static int bench_n4(bmeq_volume *scan, int reps)
{
	const size_t n = bmeq_grid_nvox(&scan->grid);
	bmeq_volume *biased = NULL, *cor = NULL, *field = NULL;
	double t[64];

	if (bmeq_volume_clone(scan, &biased) != BMEQ_OK)
		return 1;
	/* A smooth +-30 % field over the field of view. */
	for (size_t q = 0; q < n; q++) {
		double ijk[3] = {(double)(q % 320), (double)(q / 320 % 320), (double)(q / (320 * 320))}, x[3];
		bmeq_grid_voxel_to_world(&scan->grid, ijk, x);
		biased->data[q] *= (float)exp(0.3 * x[0] / 140.0 + 0.2 * x[2] * x[2] / (140.0 * 140.0));
	}
	double w0 = 0.0;
	for (int r = 0; r <= reps; r++) {
		double t0 = bench_cpu_s();
		if (r == 1)
			w0 = bench_wall_s();
		if (bmeq_itk_n4(biased, NULL, NULL, &cor, &field) != BMEQ_OK) {
			fprintf(stderr, "bench_itk: n4: %s\n", bmeq_last_error());
			return 1;
		}
		t[r] = bench_cpu_s() - t0;
		bmeq_volume_destroy(cor);
		bmeq_volume_destroy(field);
	}
	double wsteady = (bench_wall_s() - w0) / reps;
	double first = t[0], steady = bench_median(t + 1, reps);
	/* Peer: the same N4 on 2.5 mm fitting voxels, close to what ANTs'
	 * usual shrink factor 4 gives on 0.6-0.9 mm scans. */
	bmeq_n4_params full;
	bmeq_n4_params_default(&full);
	full.shrink_mm = 2.5;
	double t0 = bench_cpu_s();
	if (bmeq_itk_n4(biased, NULL, &full, &cor, &field) != BMEQ_OK)
		return 1;
	double tfull = bench_cpu_s() - t0;
	bmeq_volume_destroy(cor);
	bmeq_volume_destroy(field);
	printf("n4 320x320x24 1 thread: first %.3f s, steady %.3f s CPU (wall %.3f s; "
	       "target 1 s: %.2fx); peer N4 on 2.5 mm voxels (ANTs-like shrink) %.3f s (%.1fx slower)\n",
	       first, steady, wsteady, steady / 1.0, tfull, tfull / steady);
	bmeq_volume_destroy(biased);
	return 0;
}

static int bench_reg(bmeq_volume *scan, const double head[3], int reps)
{
	bmeq_volume *moved = NULL;
	bmeq_rigid truth, init, res;
	const double axis[3] = {0.3, 1.0, 0.4}, shift[3] = {8.0, -4.0, 4.472};
	const double guess[3] = {10.0, -5.5, 5.5};
	double t[64], worst_ang = 0.0;

	if (bmeq_volume_create(&scan->grid, &moved) != BMEQ_OK)
		return 1;
	bmeq_rigid_from_axis_angle(&truth, axis, 5.0, head, shift);
	itk_phantom_fill(moved, head, &truth);
	bmeq_rigid_translation(&init, guess);
	bmeq_reg_params p;
	bmeq_reg_params_default(&p);
	p.region = BMEQ_REGION_SPHERE;
	memcpy(p.centre, head, sizeof(p.centre));
	p.radius = 45.0;
	double w0 = 0.0;
	for (int r = 0; r <= reps; r++) {
		double t0 = bench_cpu_s();
		if (r == 1)
			w0 = bench_wall_s();
		if (bmeq_itk_register_rigid(scan, moved, &init, &p, &res) != BMEQ_OK) {
			fprintf(stderr, "bench_itk: reg: %s\n", bmeq_last_error());
			return 1;
		}
		t[r] = bench_cpu_s() - t0;
		double err = fabs(bmeq_rigid_angle_deg(&res) - 5.0);
		worst_ang = err > worst_ang ? err : worst_ang;
	}
	double wsteady = (bench_wall_s() - w0) / reps;
	double first = t[0], steady = bench_median(t + 1, reps), dc = 0.0;
	for (int r = 0; r < 3; r++) {
		double a = res.translation[r], b = truth.translation[r];
		for (int m = 0; m < 3; m++) {
			a += res.rotation[r][m] * head[m];
			b += truth.rotation[r][m] * head[m];
		}
		dc += (a - b) * (a - b);
	}
	printf("registration, one hip (sphere r 45 mm) 1 thread: first %.3f s, steady %.3f s CPU "
	       "(wall %.3f s; target 1.5 s: %.2fx); %d iterations, angle error %.3f deg, centre "
	       "error %.3f mm, flags %u\n",
	       first, steady, wsteady, steady / 1.5, res.iterations, worst_ang, sqrt(dc), res.flags);
	bmeq_volume_destroy(moved);
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	const double centre[3] = {0.0, 0.0, 0.0}, head[3] = {-60.0, 10.0, 20.0};
	bmeq_grid g;
	bmeq_volume *scan = NULL;
	bmeq_rigid ident;
	int rc = 0;

	if (reps < 1 || reps > 63) {
		fprintf(stderr, "usage: bench_itk [n4|reg|all] [repeats 1..63]\n");
		return 2;
	}
	bmeq_itk_set_threads(1);
	/* 0.9 mm in-plane, 5 mm coronal slices like the CPTAC hip scans; the
	 * object's head sits 60 mm right of the centre, like one hip. */
	itk_phantom_grid(&g, 320, 320, 24, 0.9, centre);
	if (bmeq_volume_create(&g, &scan) != BMEQ_OK)
		return 1;
	bmeq_rigid_identity(&ident);
	itk_phantom_fill(scan, head, &ident);
	if (!strcmp(what, "n4") || !strcmp(what, "all"))
		rc |= bench_n4(scan, reps);
	if (!strcmp(what, "reg") || !strcmp(what, "all"))
		rc |= bench_reg(scan, head, reps);
	bmeq_volume_destroy(scan);
	return rc;
}
