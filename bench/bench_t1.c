/* bench_t1.c - what the visit's T1 adds to one scan (issue 17's cost target:
 * T1 registration and segmentation add <= 0.5 s CPU per scan).
 *
 * usage: bench_t1 DIR [scans] [reps] [--t1-segment]
 * Writes a phantom study with T1 twins (seed 7, `scans` subjects, one visit;
 * default 4) into DIR, then measures every scan with bmeq_measure_scan, on
 * the STIR alone and with its T1 twin (registered, T1 gate on; with
 * --t1-segment also the regions found on the T1), `reps` times each (default
 * 3), alternating the two so that drift on a shared machine falls on both.
 * Process CPU seconds with ITK on one thread (what bmeq runs everywhere), so
 * the figures are one core's cost even when other jobs share the machine.
 * Prints per scan the median of each path, what the T1 adds and the ratio,
 * then the mean added seconds per scan (the target's figure), the ratio of
 * the sums, and the mean stage split (wall) of each path. The first call of
 * the process (page faults, ITK's factories) is made and not counted.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/itk.h"
#include "bmeq/measure.h"
#include "bmeq/phantom.h"

#include "bench_util.h"

#define MAX_SCANS 32

static int measure(const char *stir, const char *t1, const bmeq_measure_opts *o, double *cpu,
		   double stage[4])
{
	bmeq_scan_result *res = NULL;
	double c0 = bench_cpu_s();

	if (bmeq_measure_scan(stir, NULL, NULL, t1, o, &res) != BMEQ_OK) {
		fprintf(stderr, "bench_t1: %s%s: %s\n", stir, t1 ? " with its T1" : "",
			bmeq_last_error());
		return -1;
	}
	*cpu = bench_cpu_s() - c0;
	for (int s = 0; s < 4; s++)
		stage[s] += res->seconds[s];
	bmeq_scan_result_destroy(res);
	return 0;
}

int main(int argc, char **argv)
{
	int nscans = 4, reps = 3, segment = 0, npos = 0;
	const char *dir = NULL;
	bmeq_phantom_study_opts so;
	bmeq_measure_opts mo;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--t1-segment") == 0)
			segment = 1;
		else if (npos == 0 && ++npos)
			dir = argv[i];
		else if (npos == 1 && ++npos)
			nscans = atoi(argv[i]);
		else if (npos == 2 && ++npos)
			reps = atoi(argv[i]);
	}
	if (!dir || nscans < 1 || nscans > MAX_SCANS || reps < 1) {
		fprintf(stderr, "usage: bench_t1 DIR [scans 1..%d] [reps] [--t1-segment]\n", MAX_SCANS);
		return 2;
	}
	bmeq_itk_set_threads(1);
	bmeq_phantom_study_opts_init(&so);
	so.with_t1 = 1;
	if (bmeq_phantom_study_write(dir, (unsigned)nscans, 1, 7, &so) != BMEQ_OK) {
		fprintf(stderr, "bench_t1: phantom: %s\n", bmeq_last_error());
		return 1;
	}
	bmeq_measure_opts_init(&mo);
	mo.t1_segment = segment;

	char stir[MAX_SCANS][1024], t1[MAX_SCANS][1024];
	for (int s = 0; s < nscans; s++) {
		snprintf(stir[s], sizeof(stir[s]), "%s/sub-%02d/ses-01/anat/sub-%02d_ses-01_acq-STIR_T2w.nii.gz",
			 dir, s + 1, s + 1);
		snprintf(t1[s], sizeof(t1[s]), "%s/sub-%02d/ses-01/anat/sub-%02d_ses-01_T1w.nii.gz", dir,
			 s + 1, s + 1);
	}
	double warm, junk[4] = {0};
	if (measure(stir[0], t1[0], &mo, &warm, junk) != 0)
		return 1;

	double stage0[4] = {0}, stage1[4] = {0}, sum0 = 0.0, sum1 = 0.0, added = 0.0;
	double *c0 = calloc((size_t)reps, sizeof(double)), *c1 = calloc((size_t)reps, sizeof(double));
	if (!c0 || !c1)
		return 1;
	printf("bench_t1: %d phantom scans (seed 7) x %d repetitions, ITK on one thread, T1 %s\n",
	       nscans, reps, segment ? "registered, regions from the T1, gate" : "registered, gate");
	printf("%-8s %12s %12s %10s %7s\n", "scan", "STIR only s", "with T1 s", "added s", "ratio");
	for (int s = 0; s < nscans; s++) {
		for (int r = 0; r < reps; r++)
			if (measure(stir[s], NULL, &mo, &c0[r], stage0) != 0 ||
			    measure(stir[s], t1[s], &mo, &c1[r], stage1) != 0)
				return 1;
		double m0 = bench_median(c0, reps), m1 = bench_median(c1, reps);
		printf("sub-%02d   %12.3f %12.3f %10.3f %7.2f\n", s + 1, m0, m1, m1 - m0, m1 / m0);
		sum0 += m0;
		sum1 += m1;
		added += (m1 - m0) / nscans;
	}
	printf("T1 adds %.3f s CPU per scan (target 0.5 s); ratio to the STIR-only path %.2f\n", added,
	       sum1 / sum0);
	double k = 1.0 / (nscans * reps);
	printf("stages, mean wall s (load, N4, segmentation+registration, measurement+gate):\n");
	printf("  STIR only %.3f %.3f %.3f %.3f\n", stage0[0] * k, stage0[1] * k, stage0[2] * k,
	       stage0[3] * k);
	printf("  with T1   %.3f %.3f %.3f %.3f\n", stage1[0] * k, stage1[1] * k, stage1[2] * k,
	       stage1[3] * k);
	free(c0);
	free(c1);
	return 0;
}
