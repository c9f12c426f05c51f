/* bench_util.h - timers and the median shared by the benchmark programs. */
#ifndef BMEQ_BENCH_UTIL_H
#define BMEQ_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#include "bmeq/clock.h"
#include "bmeq/phantom.h"

/* Process CPU seconds: with ITK on one thread this is the one-core cost, and
 * unlike wall time it hardly grows when other jobs share the cores. */
static inline double bench_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Monotonic wall-clock seconds: bmeq's own clock (bmeq/clock.h). */
static inline double bench_wall_s(void)
{
	return bmeq_clock_seconds();
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of the n > 0 values at v (sorts them in place). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The phantom scan behind the per-scan figures of bench/RESULTS.md: coronal
 * STIR, 320x320x24 (1.2 mm pixels over 384 mm, 4 mm slices, 1 mm gaps). */
static inline void bench_scan_params(bmeq_phantom_params *p)
{
	bmeq_phantom_params_default(p);
	p->acq.inplane_mm = 1.2;
	p->acq.fov_mm[0] = 384.0;
	p->acq.fov_mm[1] = 384.0;
	p->acq.thickness_mm = 4.0;
	p->acq.gap_mm = 1.0;
	p->acq.nslices = 24;
}

#endif
