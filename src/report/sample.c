/* sample.c - reformatting by world coordinates: whatever the acquisition
 * orientation (axial, coronal, oblique, flipped), a panel pixel is a RAS
 * point and the scan is sampled there through its inverse affine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/order.h"
#include "report_internal.h"

bmeq_status bmeq_rp_sampler_init(bmeq_rp_sampler *s, const bmeq_grid *g)
{
	s->g = g;
	return bmeq_affine_invert(&g->affine[0][0], s->inv);
}

static void to_ijk(const bmeq_rp_sampler *s, const double w[3], double ijk[3])
{
	for (int r = 0; r < 3; r++)
		ijk[r] = s->inv[r * 4] * w[0] + s->inv[r * 4 + 1] * w[1] + s->inv[r * 4 + 2] * w[2] +
			 s->inv[r * 4 + 3];
}

float bmeq_rp_sample(const bmeq_rp_sampler *s, const float *data, const double w[3])
{
	const size_t *d = s->g->dim;
	double ijk[3];
	size_t i0[3], i1[3];
	double f[3];

	to_ijk(s, w, ijk);
	for (int a = 0; a < 3; a++) {
		/* Half a voxel beyond the outer centres still shows the edge
		 * voxel, as the scanner's own display would. */
		if (!(ijk[a] >= -0.5 && ijk[a] <= (double)d[a] - 0.5))
			return NAN;
		double x = ijk[a] < 0 ? 0 : ijk[a] > (double)(d[a] - 1) ? (double)(d[a] - 1) : ijk[a];
		double fl = floor(x);
		i0[a] = (size_t)fl;
		i1[a] = i0[a] + 1 < d[a] ? i0[a] + 1 : i0[a];
		f[a] = x - fl;
	}
	double acc = 0;
	for (int c = 0; c < 8; c++) {
		size_t ii = c & 1 ? i1[0] : i0[0], jj = c & 2 ? i1[1] : i0[1], kk = c & 4 ? i1[2] : i0[2];
		double wt = (c & 1 ? f[0] : 1 - f[0]) * (c & 2 ? f[1] : 1 - f[1]) *
			    (c & 4 ? f[2] : 1 - f[2]);
		if (wt != 0)
			acc += wt * data[(kk * d[1] + jj) * d[0] + ii];
	}
	return (float)acc;
}

static int nearest(const bmeq_rp_sampler *s, const double w[3], size_t *idx)
{
	const size_t *d = s->g->dim;
	double ijk[3];
	size_t v[3];

	to_ijk(s, w, ijk);
	for (int a = 0; a < 3; a++) {
		double r = floor(ijk[a] + 0.5);
		if (!(r >= 0 && r < (double)d[a]))
			return 0;
		v[a] = (size_t)r;
	}
	*idx = (v[2] * d[1] + v[1]) * d[0] + v[0];
	return 1;
}

unsigned bmeq_rp_label(const bmeq_rp_sampler *s, const uint16_t *lab, const double w[3])
{
	size_t i;
	return nearest(s, w, &i) ? lab[i] : 0;
}

unsigned bmeq_rp_label8(const bmeq_rp_sampler *s, const uint8_t *lab, const double w[3])
{
	size_t i;
	return nearest(s, w, &i) ? lab[i] : 0;
}

void bmeq_rp_view_point(const bmeq_rp_view *v, int u, int v_, double w[3])
{
	double px = 2.0 * v->half / v->size;

	/* Radiological display: the viewer's left is the patient's right (+x). */
	w[0] = v->centre[0] + v->half - (u + 0.5) * px;
	w[1] = v->centre[1];
	w[2] = v->centre[2] + v->half - (v_ + 0.5) * px;
}

int bmeq_rp_densest_y(const bmeq_grid *g, const void *labels, int bytes,
		      int (*want)(unsigned label, const double w[3], const void *ctx),
		      const void *ctx, double *y)
{
	/* Bins of 1 mm over +-1 m: every world y a scan can hold. */
	enum { NB = 2001 };
	size_t *hist = calloc(NB, sizeof(*hist));
	const size_t *d = g->dim;
	size_t best = 0;
	long best_bin = -1;

	if (!hist)
		return 0;
	for (size_t k = 0, n = 0; k < d[2]; k++)
		for (size_t j = 0; j < d[1]; j++)
			for (size_t i = 0; i < d[0]; i++, n++) {
				unsigned l = bytes == 1 ? ((const uint8_t *)labels)[n]
							: ((const uint16_t *)labels)[n];
				if (!l)
					continue;
				double ijk[3] = {(double)i, (double)j, (double)k}, w[3];
				bmeq_grid_voxel_to_world(g, ijk, w);
				if (!want(l, w, ctx))
					continue;
				long b = lround(w[1]) + NB / 2;
				if (b >= 0 && b < NB && ++hist[b] > best) {
					best = hist[b];
					best_bin = b;
				}
			}
	free(hist);
	if (best_bin < 0)
		return 0;
	*y = (double)(best_bin - NB / 2);
	return 1;
}

int bmeq_rp_window(float *vals, size_t n, double *lo, double *hi)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (isfinite(vals[i]))
			vals[m++] = vals[i];
	if (m == 0)
		return 0;
	/* The same order statistics a sort would give: select the upper one,
	 * then the lower one among the values at or below it. */
	size_t klo = (size_t)(0.01 * (double)(m - 1)), khi = (size_t)(0.99 * (double)(m - 1));
	bmeq_select_float(vals, m, khi);
	*hi = vals[khi];
	bmeq_select_float(vals, khi + 1, klo);
	*lo = vals[klo];
	if (!(*hi > *lo))
		*hi = *lo + 1;
	return 1;
}

uint8_t bmeq_rp_grey(float v, double lo, double hi)
{
	if (!isfinite(v))
		return 0;
	double t = (v - lo) / (hi - lo);
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	return (uint8_t)(t * 255.0 + 0.5);
}
