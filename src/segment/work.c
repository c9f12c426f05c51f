/* work.c - the axis-aligned RAS working grid the head detector runs on.
 *
 * Detection works on a coarse (2 mm) isotropic grid aligned with RAS so that
 * the same code serves coronal, axial, oblique and flipped acquisitions and
 * 5 mm slices alike: the scan is sampled trilinearly in world coordinates,
 * normalised by percentiles (contrast and scaling agnostic), smoothed and
 * differentiated. Precision is recovered later on the scan's own voxels.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

/* The working grid is capped so a whole-body field of view cannot make the
 * detector slow or huge: the spacing grows instead. */
#define FH_MAX_WORK_VOXELS 4000000.0

bmeq_status bmeq_fh_sampler_init(bmeq_fh_sampler *s, const bmeq_volume *scan)
{
	s->scan = scan;
	if (bmeq_affine_invert(&scan->grid.affine[0][0], s->inv) != BMEQ_OK)
		return bmeq_fail(BMEQ_E_FORMAT, "the scan's affine is singular");
	return BMEQ_OK;
}

/* Extent (mm) at which an edge's weight halves. */
#define FH_SHARP_MM 2.0

double bmeq_fh_ray_weight(const bmeq_fh_sampler *s, const double u[3])
{
	const double(*A)[4] = s->scan->grid.affine;
	double e = 0;

	for (int k = 0; k < 3; k++)
		e += fabs(u[0] * A[0][k] + u[1] * A[1][k] + u[2] * A[2][k]);
	e /= FH_SHARP_MM;
	return 1.0 / (1.0 + e * e);
}

/* Trilinear interpolation at continuous voxel index (fi, fj, fk); NaN when
 * the point lies more than half a voxel outside the image. Axes of a single
 * voxel are treated as constant across their half-voxel extent. */
static double sample_ijk(const bmeq_volume *v, double fi, double fj, double fk)
{
	const size_t *d = v->grid.dim;
	double f[3] = {fi, fj, fk};
	size_t i0[3], i1[3];
	double t[3];

	for (int a = 0; a < 3; a++) {
		double x = f[a];

		if (!(x >= -0.5 && x <= (double)d[a] - 0.5))
			return NAN;
		if (x < 0)
			x = 0;
		if (x > (double)d[a] - 1)
			x = (double)d[a] - 1;
		i0[a] = (size_t)x;
		i1[a] = i0[a] + 1 < d[a] ? i0[a] + 1 : i0[a];
		t[a] = x - (double)i0[a];
	}
	/* The eight corners as the voxel at i0 and steps of 0 or 1 along each
	 * axis (one product per axis instead of two per corner). */
	size_t sy = d[0], sz = d[0] * d[1];
	size_t dx = i1[0] - i0[0], dy = (i1[1] - i0[1]) * sy, dz = (i1[2] - i0[2]) * sz;
	const float *p = v->data + i0[0] + i0[1] * sy + i0[2] * sz;
	double c00 = p[0] * (1 - t[0]) + p[dx] * t[0];
	double c10 = p[dy] * (1 - t[0]) + p[dx + dy] * t[0];
	double c01 = p[dz] * (1 - t[0]) + p[dx + dz] * t[0];
	double c11 = p[dy + dz] * (1 - t[0]) + p[dx + dy + dz] * t[0];
	double c0 = c00 * (1 - t[1]) + c10 * t[1];
	double c1 = c01 * (1 - t[1]) + c11 * t[1];

	return c0 * (1 - t[2]) + c1 * t[2];
}

double bmeq_fh_sample(const bmeq_fh_sampler *s, const double xyz[3])
{
	const double *m = s->inv;
	double fi = m[0] * xyz[0] + m[1] * xyz[1] + m[2] * xyz[2] + m[3];
	double fj = m[4] * xyz[0] + m[5] * xyz[1] + m[6] * xyz[2] + m[7];
	double fk = m[8] * xyz[0] + m[9] * xyz[1] + m[10] * xyz[2] + m[11];

	return sample_ijk(s->scan, fi, fj, fk);
}

int bmeq_fh_ray_seen(const bmeq_fh_sampler *s, const double c[3], double R, const double u[3])
{
	for (double r = R - 4.0; r <= R + 4.0; r += 1.0) {
		double p[3] = {c[0] + r * u[0], c[1] + r * u[1], c[2] + r * u[2]};

		if (!isfinite(bmeq_fh_sample(s, p)))
			return 0;
	}
	return 1;
}

int bmeq_fh_fit_ball(const double *p, int d, const double *w, size_t n, double tol, double *c,
		     double *R)
{
	/* Unknowns: the centre's d coordinates and R^2 - |c|^2; the augmented
	 * normal equations m x (m + 1), packed by rows for the solver. */
	const int m = d + 1, cols = d + 2;
	double A[4 * 5] = {0};

	for (size_t i = 0; i < n; i++) {
		if (w[i] <= 0)
			continue;
		const double *q = p + i * (size_t)d;
		double row[4], b = 0;

		for (int k = 0; k < d; k++) {
			row[k] = 2 * q[k];
			b += q[k] * q[k];
		}
		row[d] = 1;
		for (int a = 0; a < m; a++) {
			for (int bb = 0; bb < m; bb++)
				A[a * cols + bb] += w[i] * row[a] * row[bb];
			A[a * cols + m] += w[i] * row[a] * b;
		}
	}
	if (bmeq_gauss_jordan(A, m, cols, tol) != 0)
		return 0;
	double r2 = A[d * cols + m];
	for (int k = 0; k < d; k++)
		r2 += A[k * cols + m] * A[k * cols + m];
	if (!(r2 > 0))
		return 0;
	for (int k = 0; k < d; k++)
		c[k] = A[k * cols + m];
	*R = sqrt(r2);
	return 1;
}

void bmeq_fh_work_free(bmeq_fh_work *w)
{
	if (!w)
		return;
	free(w->img);
	free(w->gx);
	free(w->gy);
	free(w->gz);
	free(w->valid);
	memset(w, 0, sizeof(*w));
}

/* Value at fraction q of a histogram of n values over [lo, hi]. */
static double hist_quantile(const size_t *hist, size_t nb, size_t n, double lo, double hi, double q)
{
	size_t target = (size_t)(q * (double)n), acc = 0;

	for (size_t b = 0; b < nb; b++) {
		acc += hist[b];
		if (acc > target)
			return lo + (hi - lo) * ((double)b + 0.5) / (double)nb;
	}
	return hi;
}

#define FH_NBINS 4096

/* Percentiles q[0..nq) of the values v[i] with mask[i] (NULL: all). */
static void quantiles(const float *v, const uint8_t *mask, size_t n, const double *q, double *out,
		      int nq, size_t *hist)
{
	double lo = DBL_MAX, hi = -DBL_MAX;
	size_t cnt = 0;

	for (size_t i = 0; i < n; i++) {
		if (mask && !mask[i])
			continue;
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	if (!(hi > lo)) {
		for (int a = 0; a < nq; a++)
			out[a] = lo == DBL_MAX ? 0 : lo;
		return;
	}
	memset(hist, 0, FH_NBINS * sizeof(*hist));
	for (size_t i = 0; i < n; i++) {
		if (mask && !mask[i])
			continue;
		size_t b = (size_t)((v[i] - lo) / (hi - lo) * (FH_NBINS - 1));
		hist[b]++;
		cnt++;
	}
	for (int a = 0; a < nq; a++)
		out[a] = hist_quantile(hist, FH_NBINS, cnt, lo, hi, q[a]);
}

/* Four floats, for the convolution's rows (GCC and Clang vector extension;
 * -O2 does not vectorise loops of unknown length on its own). */
typedef float fh_v4 __attribute__((vector_size(16)));

static inline fh_v4 ld4(const float *p)
{
	fh_v4 v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* o[i] = k[2] r0[i] + k[1] rm1[i] + k[0] rm2[i] + k[3] rp1[i] + k[4] rp2[i]
 * for i < n, a term left out where its row is NULL (beyond the line's end),
 * summed in this order in float: each voxel's sum is the one the scalar
 * five-tap loop made, to the bit, four voxels at a time. */
static void conv_rows(float *restrict o, const float *rm2, const float *rm1, const float *r0,
		      const float *rp1, const float *rp2, const float k[5], size_t n)
{
	fh_v4 k0 = {k[0], k[0], k[0], k[0]}, k1 = {k[1], k[1], k[1], k[1]};
	fh_v4 k2 = {k[2], k[2], k[2], k[2]}, k3 = {k[3], k[3], k[3], k[3]};
	fh_v4 k4 = {k[4], k[4], k[4], k[4]};
	size_t i = 0;

	if (rm2 && rm1 && rp1 && rp2) /* the interior: no test per voxel */
		for (; i + 4 <= n; i += 4) {
			fh_v4 acc = k2 * ld4(r0 + i) + k1 * ld4(rm1 + i) + k0 * ld4(rm2 + i) +
				    k3 * ld4(rp1 + i) + k4 * ld4(rp2 + i);
			memcpy(o + i, &acc, sizeof(acc));
		}
	for (; i + 4 <= n; i += 4) {
		fh_v4 acc = k2 * ld4(r0 + i);
		if (rm1)
			acc += k1 * ld4(rm1 + i);
		if (rm2)
			acc += k0 * ld4(rm2 + i);
		if (rp1)
			acc += k3 * ld4(rp1 + i);
		if (rp2)
			acc += k4 * ld4(rp2 + i);
		memcpy(o + i, &acc, sizeof(acc));
	}
	for (; i < n; i++) {
		float acc = k[2] * r0[i];
		if (rm1)
			acc += k[1] * rm1[i];
		if (rm2)
			acc += k[0] * rm2[i];
		if (rp1)
			acc += k[3] * rp1[i];
		if (rp2)
			acc += k[4] * rp2[i];
		o[i] = acc;
	}
}

/* Convolves every line of v along axis ax with the 5-tap kernel k. Samples
 * beyond the ends are left out (the caller normalises by the equally treated
 * weights). Along x a line is a row; along y and z whole rows of x are
 * combined at once (buf holds one plane of them, n[0] times the longest of
 * n[1], n[2]); the sums are the same either way (conv_rows). */
static void conv_axis(float *v, const size_t n[3], int ax, const float k[5], float *buf)
{
	size_t n0 = n[0];

	if (ax == 0) {
		size_t len = n0;
		for (size_t row = 0; row < n[1] * n[2]; row++) {
			float *r = v + row * n0;
			for (size_t t = 0; t < len; t++) {
				if (t == 2 && len >= 5) {
					/* o[t] from r[t-2 .. t+2] for t in 2 .. len-3 */
					conv_rows(buf + 2, r, r + 1, r + 2, r + 3, r + 4, k, len - 4);
					t = len - 3;
					continue;
				}
				conv_rows(buf + t, t >= 2 ? r + t - 2 : NULL, t >= 1 ? r + t - 1 : NULL,
					  r + t, t + 1 < len ? r + t + 1 : NULL,
					  t + 2 < len ? r + t + 2 : NULL, k, 1);
			}
			memcpy(r, buf, len * sizeof(float));
		}
		return;
	}
	/* y: planes z = b, rows t * n0; z: planes y = b, rows t * n0 * n1. */
	size_t len = n[ax], s = ax == 1 ? n0 : n0 * n[1], nb = ax == 1 ? n[2] : n[1];
	size_t bs = ax == 1 ? n0 * n[1] : n0;
	for (size_t b = 0; b < nb; b++) {
		float *base = v + b * bs;
		for (size_t t = 0; t < len; t++)
			conv_rows(buf + t * n0, t >= 2 ? base + (t - 2) * s : NULL,
				  t >= 1 ? base + (t - 1) * s : NULL, base + t * s,
				  t + 1 < len ? base + (t + 1) * s : NULL,
				  t + 2 < len ? base + (t + 2) * s : NULL, k, n0);
		for (size_t t = 0; t < len; t++)
			memcpy(base + t * s, buf + t * n0, n0 * sizeof(float));
	}
}

/* Separable Gaussian (sigma one voxel) of img, normalised by the smoothed
 * validity so the field-of-view border does not bleed in as a fake edge. */
static bmeq_status smooth(bmeq_fh_work *w, const uint8_t *inside)
{
	static const float k[5] = {0.0545f, 0.2442f, 0.4026f, 0.2442f, 0.0545f};
	size_t n = w->n[0] * w->n[1] * w->n[2];
	size_t plane = w->n[0] * (w->n[1] > w->n[2] ? w->n[1] : w->n[2]);
	float *wt = malloc(n * sizeof(float)), *buf = malloc(plane * sizeof(float));

	if (!wt || !buf) {
		free(wt);
		free(buf);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory (working grid)");
	}
	for (size_t i = 0; i < n; i++) {
		wt[i] = inside[i] ? 1.0f : 0.0f;
		if (!inside[i])
			w->img[i] = 0.0f;
	}
	for (int ax = 0; ax < 3; ax++) {
		conv_axis(w->img, w->n, ax, k, buf);
		conv_axis(wt, w->n, ax, k, buf);
	}
	for (size_t i = 0; i < n; i++)
		w->img[i] = wt[i] > 1e-3f ? w->img[i] / wt[i] : 0.0f;
	free(wt);
	free(buf);
	return BMEQ_OK;
}

bmeq_status bmeq_fh_work_build(const bmeq_volume *scan, double h, const double *box_lo,
			       const double *box_hi, bmeq_fh_work *w)
{
	const bmeq_grid *g = &scan->grid;
	double lo[3], hi[3];
	bmeq_fh_sampler s;
	bmeq_status st;
	uint8_t *inside = NULL;
	size_t *hist = NULL;

	memset(w, 0, sizeof(*w));
	if ((st = bmeq_fh_sampler_init(&s, scan)) != BMEQ_OK)
		return st;
	bmeq_grid_world_box(g, 0.0, lo, hi);
	/* A search box cuts the grid (and so its cost) to the part of the
	 * field of view inside it. */
	for (int a = 0; box_lo && box_hi && a < 3; a++) {
		lo[a] = box_lo[a] > lo[a] ? box_lo[a] : lo[a];
		hi[a] = box_hi[a] < hi[a] ? box_hi[a] : hi[a];
		if (!(hi[a] > lo[a]))
			return bmeq_fail(BMEQ_E_FORMAT,
					 "the search box lies outside the scan's field of view");
	}
	double vol = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
	if (vol / (h * h * h) > FH_MAX_WORK_VOXELS)
		h = cbrt(vol / FH_MAX_WORK_VOXELS);
	for (int a = 0; a < 3; a++) {
		w->n[a] = (size_t)floor((hi[a] - lo[a]) / h) + 1;
		w->origin[a] = lo[a] + 0.5 * ((hi[a] - lo[a]) - (double)(w->n[a] - 1) * h);
		if (w->n[a] < 8)
			return bmeq_fail(BMEQ_E_FORMAT,
					 "the scan covers only %.0f mm along %c%s: too small to hold a hip",
					 hi[a] - lo[a], "xyz"[a], box_lo ? " inside the search box" : "");
	}
	w->h = h;
	size_t n = w->n[0] * w->n[1] * w->n[2];
	w->img = malloc(n * sizeof(float));
	w->gx = malloc(n * sizeof(float));
	w->gy = malloc(n * sizeof(float));
	w->gz = malloc(n * sizeof(float));
	w->valid = malloc(n);
	inside = malloc(n);
	hist = malloc(FH_NBINS * sizeof(*hist));
	if (!w->img || !w->gx || !w->gy || !w->gz || !w->valid || !inside || !hist) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory (working grid of %zu voxels)", n);
		goto fail;
	}

	/* Sampling: the scan index moves by a constant step along each working
	 * axis, so only the row start needs the full matrix product. */
	size_t nin = 0;
	for (size_t k = 0; k < w->n[2]; k++)
		for (size_t j = 0; j < w->n[1]; j++) {
			double xyz[3] = {w->origin[0], w->origin[1] + h * (double)j,
					 w->origin[2] + h * (double)k};
			const double *m = s.inv;
			double f[3];

			for (int a = 0; a < 3; a++)
				f[a] = m[4 * a] * xyz[0] + m[4 * a + 1] * xyz[1] + m[4 * a + 2] * xyz[2] +
				       m[4 * a + 3];
			size_t row = (k * w->n[1] + j) * w->n[0];
			for (size_t i = 0; i < w->n[0]; i++) {
				double v = sample_ijk(scan, f[0] + m[0] * h * (double)i,
						      f[1] + m[4] * h * (double)i,
						      f[2] + m[8] * h * (double)i);
				inside[row + i] = isfinite(v) ? 1 : 0;
				w->img[row + i] = isfinite(v) ? (float)v : 0.0f;
				nin += inside[row + i];
			}
		}
	if (nin < 1000) {
		st = bmeq_fail(BMEQ_E_FORMAT, "the scan has too few finite voxels to search");
		goto fail;
	}

	/* Robust normalisation: 1st..99th percentile -> 0..1, so thresholds on
	 * the gradient do not depend on the datatype, scaling or sequence. */
	double q[2] = {0.01, 0.99}, pq[2];
	quantiles(w->img, inside, n, q, pq, 2, hist);
	if (!(pq[1] > pq[0])) {
		st = bmeq_fail(BMEQ_E_FORMAT, "the scan has no contrast to search");
		goto fail;
	}
	float off = (float)pq[0], sc = (float)(1.0 / (pq[1] - pq[0]));
	for (size_t i = 0; i < n; i++) {
		float v = (w->img[i] - off) * sc;
		w->img[i] = v < -0.25f ? -0.25f : (v > 1.25f ? 1.25f : v);
	}
	if ((st = smooth(w, inside)) != BMEQ_OK)
		goto fail;

	/* Central differences; a voxel is valid when its whole stencil lies in
	 * the field of view, so the border never looks like an edge. */
	size_t sx = 1, sy = w->n[0], sz = w->n[0] * w->n[1];
	float inv2h = (float)(0.5 / h);
	for (size_t k = 0; k < w->n[2]; k++)
		for (size_t j = 0; j < w->n[1]; j++)
			for (size_t i = 0; i < w->n[0]; i++) {
				size_t p = i + j * sy + k * sz;
				int ok = i > 0 && j > 0 && k > 0 && i + 1 < w->n[0] &&
					 j + 1 < w->n[1] && k + 1 < w->n[2] && inside[p];

				ok = ok && inside[p - sx] && inside[p + sx] && inside[p - sy] &&
				     inside[p + sy] && inside[p - sz] && inside[p + sz];
				w->valid[p] = (uint8_t)ok;
				if (!ok) {
					w->gx[p] = w->gy[p] = w->gz[p] = 0;
					continue;
				}
				w->gx[p] = (w->img[p + sx] - w->img[p - sx]) * inv2h;
				w->gy[p] = (w->img[p + sy] - w->img[p - sy]) * inv2h;
				w->gz[p] = (w->img[p + sz] - w->img[p - sz]) * inv2h;
			}

	/* Vote thresholds from the distribution of gradient magnitudes inside
	 * the field of view (reuse img-sized scratch: inside holds validity). */
	{
		float *mag = malloc(n * sizeof(float));
		double gq[2] = {0.80, 0.985}, gv[2];

		if (!mag) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory (working grid)");
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			mag[i] = sqrtf(w->gx[i] * w->gx[i] + w->gy[i] * w->gy[i] + w->gz[i] * w->gz[i]);
		quantiles(mag, w->valid, n, gq, gv, 2, hist);
		free(mag);
		w->gthr = (float)gv[0];
		w->gclip = (float)(gv[1] > gv[0] ? gv[1] : gv[0] * 1.01 + 1e-6);
	}
	free(inside);
	free(hist);
	return BMEQ_OK;
fail:
	free(inside);
	free(hist);
	bmeq_fh_work_free(w);
	return st;
}
