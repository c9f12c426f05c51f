/* bench_pipeline.c - one scan end to end (issue 8): load, N4, segmentation,
 * threshold, lesions, outputs, on a phantom STIR 320x320x24 on one core.
 *
 * usage: bench_pipeline DIR [reps]
 * Writes DIR/scan.nii.gz (int16, like a scanner export), then times
 * bmeq_measure_scan + bmeq_scan_write_maps: the first call in this process and
 * the steady state (median of reps), process CPU and wall, the split by stage,
 * and the ratio to the 1.5 s target. ITK runs on one thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmeq/itk.h"
#include "bmeq/measure.h"
#include "bmeq/nifti_io.h"
#include "bmeq/phantom.h"

#include "bench_util.h"

int main(int argc, char **argv)
{
	char path[4096];
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL;
	bmeq_write_opts wo;

	if (argc < 2 || reps < 1) {
		fprintf(stderr, "usage: bench_pipeline DIR [reps]\n");
		return 2;
	}
	bmeq_itk_set_threads(1);
	bench_scan_params(&p);
	if (bmeq_phantom_scan_make(&p, &sc) != BMEQ_OK) {
		fprintf(stderr, "phantom: %s\n", bmeq_last_error());
		return 1;
	}
	snprintf(path, sizeof(path), "%s/scan.nii.gz", argv[1]);
	bmeq_write_opts_init(&wo, &sc->image->grid);
	wo.datatype = BMEQ_DT_INT16;
	if (bmeq_nifti_write(path, &sc->image->grid, sc->image->data, &wo) != BMEQ_OK) {
		fprintf(stderr, "write: %s\n", bmeq_last_error());
		return 1;
	}
	printf("scan: %zux%zux%zu, %.2f x %.2f x %.2f mm, int16 .nii.gz\n", sc->image->grid.dim[0],
	       sc->image->grid.dim[1], sc->image->grid.dim[2], sc->image->grid.spacing[0],
	       sc->image->grid.spacing[1], sc->image->grid.spacing[2]);
	bmeq_phantom_scan_destroy(sc);

	double *cpus = calloc((size_t)reps + 1, sizeof(double));
	double *walls = calloc((size_t)reps + 1, sizeof(double));
	double stage[4] = {0};
	for (int r = 0; r <= reps; r++) {
		bmeq_scan_result *res = NULL;
		double c0 = bench_cpu_s(), w0 = bench_wall_s();
		if (bmeq_measure_scan(path, NULL, NULL, NULL, NULL, &res) != BMEQ_OK ||
		    bmeq_scan_write_maps(res, argv[1], "scan") != BMEQ_OK) {
			fprintf(stderr, "measure: %s\n", bmeq_last_error());
			return 1;
		}
		cpus[r] = bench_cpu_s() - c0;
		walls[r] = bench_wall_s() - w0;
		if (r > 0)
			for (int s = 0; s < 4; s++)
				stage[s] += res->seconds[s] / reps;
		bmeq_scan_result_destroy(res);
	}
	printf("first call (fresh process): %.3f s CPU, %.3f s wall\n", cpus[0], walls[0]);
	double med_cpu = bench_median(cpus + 1, reps), med_wall = bench_median(walls + 1, reps);
	printf("steady state (median of %d): %.3f s CPU, %.3f s wall\n", reps, med_cpu, med_wall);
	printf("stages (mean wall): load %.3f s, N4 %.3f s, segmentation %.3f s, measurement %.3f s\n",
	       stage[0], stage[1], stage[2], stage[3]);
	printf("target 1.5 s per scan on one core: steady CPU is %.2fx of it\n", med_cpu / 1.5);
	free(cpus);
	free(walls);
	return 0;
}
