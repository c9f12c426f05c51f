/* bench_dicom.c - reading a DICOM series against reading the same volume as .nii.gz (issue
 * 20: a series may cost at most 1.5x). Usage: bench_dicom SERIES_DIR NIFTI [ROUNDS]: reads
 * each alternately ROUNDS times (default 15) through bmeq_scan_read, checks that they hold the
 * same voxels, and prints the medians and their ratio. bench/bench_dicom.sh makes the NIfTI
 * with dcm2niix from the series of tests/data.
 * With --worker a second thread idles while the series is read, so the reader takes the path
 * of a batch's worker threads (a started reader program, src/itk/dicom_child.c) instead of
 * the single-threaded commands' fork. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/clock.h"
#include "bmeq/scan.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double read_once(const char *ref, bmeq_volume **keep)
{
	bmeq_volume *v = NULL;
	double t0 = bmeq_clock_seconds();
	if (bmeq_scan_read(ref, NULL, &v, NULL) != BMEQ_OK) {
		fprintf(stderr, "bench_dicom: %s: %s\n", ref, bmeq_last_error());
		exit(1);
	}
	double t = bmeq_clock_seconds() - t0;
	if (keep && !*keep)
		*keep = v;
	else
		bmeq_volume_destroy(v);
	return t;
}

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_done;

static void *idle(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&idle_lock);
	while (!idle_done)
		pthread_cond_wait(&idle_cond, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	int worker = argc > 1 && strcmp(argv[argc - 1], "--worker") == 0;
	pthread_t idler;
	if (worker)
		argc--;
	if (argc < 3) {
		fprintf(stderr, "usage: bench_dicom SERIES_DIR NIFTI [ROUNDS] [--worker]\n");
		return 2;
	}
	if (worker && pthread_create(&idler, NULL, idle, NULL) != 0)
		return 1;
	int rounds = argc > 3 ? atoi(argv[3]) : 15;
	if (rounds < 1 || rounds > 1000)
		rounds = 15;
	double *td = calloc((size_t)rounds, sizeof(double)), *tn = calloc((size_t)rounds, sizeof(double));
	bmeq_volume *a = NULL, *b = NULL;
	if (!td || !tn)
		return 1;
	for (int r = 0; r < rounds; r++) {
		td[r] = read_once(argv[1], &a);
		tn[r] = read_once(argv[2], &b);
	}
	size_t n = bmeq_grid_nvox(&a->grid);
	if (n != bmeq_grid_nvox(&b->grid) || memcmp(a->data, b->data, n * sizeof(float)) != 0) {
		fprintf(stderr, "bench_dicom: the two inputs hold different voxels\n");
		return 1;
	}
	qsort(td, (size_t)rounds, sizeof(double), cmp_double);
	qsort(tn, (size_t)rounds, sizeof(double), cmp_double);
	double md = td[rounds / 2], mn = tn[rounds / 2];
	printf("voxels %zu (%zux%zux%zu), %d rounds each, alternating; the reader %s\n", n,
	       a->grid.dim[0], a->grid.dim[1], a->grid.dim[2], rounds,
	       worker ? "as in a batch's worker (a second thread runs: a started program)"
		      : "as in a one-thread command (a forked child)");
	printf("DICOM series   median %.1f ms (min %.1f)\n", md * 1e3, td[0] * 1e3);
	printf("NIfTI .nii.gz  median %.1f ms (min %.1f)\n", mn * 1e3, tn[0] * 1e3);
	printf("ratio DICOM / .nii.gz: %.2f (target <= 1.5)\n", md / mn);
	bmeq_volume_destroy(a);
	bmeq_volume_destroy(b);
	free(td);
	free(tn);
	if (worker) {
		pthread_mutex_lock(&idle_lock);
		idle_done = 1;
		pthread_cond_signal(&idle_cond);
		pthread_mutex_unlock(&idle_lock);
		pthread_join(idler, NULL);
	}
	return 0;
}
