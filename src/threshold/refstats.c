/* refstats.c - robust statistics of reference intensities in O(n).
 *
 * Quantiles come from selection (bmeq/order.h), not a full sort: a reference
 * region holds up to millions of voxels and only four order statistics are
 * needed per quantile set.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/order.h"
#include "bmeq/threshold.h"

/* Type 7 quantile of a[0..n-1] (n >= 1), reordering a. */
static double quantile_inplace(float *a, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	double frac = h - (double)lo;

	if (lo >= n - 1)
		lo = n - 1, frac = 0.0;
	bmeq_select_float(a, n, lo);
	double x = a[lo];
	if (frac == 0.0)
		return x;
	/* After selection the next order statistic is the minimum of the upper part. */
	double y = bmeq_min_float(a + lo + 1, n - lo - 1);
	return x + frac * (y - x);
}

/* Copies the finite values of v into a fresh array. */
static bmeq_status finite_copy(const float *v, size_t n, float **out, size_t *m)
{
	float *a = malloc((n ? n : 1) * sizeof(*a));
	size_t k = 0;

	if (!a)
		return bmeq_fail(BMEQ_E_NOMEM, "refstats: cannot allocate %zu values", n);
	for (size_t i = 0; i < n; i++) {
		a[k] = v[i];
		k += isfinite(v[i]) ? 1 : 0;
	}
	*out = a;
	*m = k;
	return BMEQ_OK;
}

bmeq_status bmeq_quantile(const float *v, size_t n, double p, double *out)
{
	float *a;
	size_t m;
	bmeq_status st;

	if (!(p >= 0.0 && p <= 1.0))
		return bmeq_fail(BMEQ_E_ARG, "quantile: p = %g is outside [0, 1]", p);
	if ((st = finite_copy(v, n, &a, &m)) != BMEQ_OK)
		return st;
	if (m == 0) {
		free(a);
		return bmeq_fail(BMEQ_E_PROCESS, "quantile: no finite value among %zu", n);
	}
	*out = quantile_inplace(a, m, p);
	free(a);
	return BMEQ_OK;
}

/* Median and MAD of a[0..n-1] (reorders a; uses dev as scratch of n). */
static void median_mad(float *a, size_t n, float *dev, double *median, double *mad)
{
	double med = quantile_inplace(a, n, 0.5);

	for (size_t i = 0; i < n; i++)
		dev[i] = (float)fabs((double)a[i] - med);
	*median = med;
	*mad = quantile_inplace(dev, n, 0.5);
}

bmeq_status bmeq_refstats_compute(const float *v, size_t n, const bmeq_refstats_opts *opts,
				  bmeq_refstats *out)
{
	double reject_k = opts ? opts->reject_k : 0.0;
	float *a, *dev;
	size_t m;
	bmeq_status st;
	bmeq_refstats s;

	if (!(reject_k >= 0.0) || !isfinite(reject_k))
		return bmeq_fail(BMEQ_E_ARG, "refstats: tail rejection factor %g is invalid", reject_k);
	if ((st = finite_copy(v, n, &a, &m)) != BMEQ_OK)
		return st;
	if (m == 0) {
		free(a);
		return bmeq_fail(BMEQ_E_PROCESS, "refstats: no finite reference value among %zu", n);
	}
	dev = malloc(m * sizeof(*dev));
	if (!dev) {
		free(a);
		return bmeq_fail(BMEQ_E_NOMEM, "refstats: cannot allocate %zu values", m);
	}
	memset(&s, 0, sizeof(s));
	median_mad(a, m, dev, &s.median, &s.mad);
	if (reject_k > 0.0 && s.mad > 0.0) {
		/* Bright lesions inside the reference would inflate every
		 * statistic; the median and MAD of all values are barely moved
		 * by them, so they define the cut. */
		double cut = s.median + reject_k * 1.4826 * s.mad;
		size_t k = 0;

		for (size_t i = 0; i < m; i++) {
			a[k] = a[i];
			k += (double)a[i] <= cut ? 1 : 0;
		}
		s.n_rejected = m - k;
		m = k; /* never 0: the median itself is below the cut */
		if (s.n_rejected)
			median_mad(a, m, dev, &s.median, &s.mad);
	}
	s.n = m;
	s.robust_sd = 1.4826 * s.mad;

	/* Two-pass mean and SD: the values are intensities of similar size,
	 * so the centred second pass keeps full double precision. */
	double sum = 0.0, mn = a[0], mx = a[0];
	for (size_t i = 0; i < m; i++) {
		sum += a[i];
		mn = a[i] < mn ? a[i] : mn;
		mx = a[i] > mx ? a[i] : mx;
	}
	s.mean = sum / (double)m;
	s.min = mn;
	s.max = mx;
	double ss = 0.0;
	for (size_t i = 0; i < m; i++)
		ss += ((double)a[i] - s.mean) * ((double)a[i] - s.mean);
	s.sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;

	s.q1 = quantile_inplace(a, m, 0.25);
	s.q3 = quantile_inplace(a, m, 0.75);
	s.iqr = s.q3 - s.q1;
	free(dev);
	free(a);
	*out = s;
	return BMEQ_OK;
}
