/* hough.c - sphere-centre voting on the working grid.
 *
 * Every strong edge voxel votes for the points at distances rmin..rmax along
 * both directions of its gradient: the centre of a sphere of any radius in
 * that range collects the votes of its whole surface, whichever side of the
 * edge is brighter (dark STIR marrow in bright fluid, bright T1 marrow in
 * dark cortex, or a bright edematous head). Radius is not an accumulator
 * dimension: it is measured afterwards on the scan, which keeps the
 * accumulator one working-grid volume.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

typedef struct peak {
	float v;
	size_t idx;
} peak;

static int peak_desc(const void *a, const void *b)
{
	const peak *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? 1 : -1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* In-place separable [1 2 1]/4 smoothing along each axis, an end sample
 * standing in for its missing neighbour. Row by row, so no voxel's place on
 * its line needs a division (they were most of its cost). */
static bmeq_status blur121(float *acc, const size_t n[3])
{
	size_t n0 = n[0], n1 = n[1], n2 = n[2], tot = n0 * n1 * n2;
	float *tmp = malloc(tot * sizeof(float));

	if (!tmp)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory (accumulator)");
	for (int ax = 0; ax < 3; ax++) {
		size_t s = ax == 0 ? 1 : (ax == 1 ? n0 : n0 * n1);

		for (size_t k = 0; k < n2; k++)
			for (size_t j = 0; j < n1; j++) {
				size_t row = n0 * (j + n1 * k);
				size_t pos = ax == 1 ? j : k; /* along y or z: the row's place */
				const float *a = acc + row, *l = a, *r = a;
				float *o = tmp + row;

				if (ax != 0) {
					size_t len = n[ax];
					l = pos > 0 ? a - s : a;
					r = pos + 1 < len ? a + s : a;
					for (size_t i = 0; i < n0; i++) {
						float v = 2 * a[i];
						v += l[i];
						v += r[i];
						o[i] = 0.25f * v;
					}
					continue;
				}
				for (size_t i = 0; i < n0; i++) {
					float v = 2 * a[i];
					v += i > 0 ? a[i - 1] : a[i];
					v += i + 1 < n0 ? a[i + 1] : a[i];
					o[i] = 0.25f * v;
				}
			}
		memcpy(acc, tmp, tot * sizeof(float));
	}
	free(tmp);
	return BMEQ_OK;
}

bmeq_status bmeq_fh_hough(const bmeq_fh_work *w, double rmin, double rmax, bmeq_fh_cand *out,
			  size_t max, double min_sep, size_t *nout)
{
	size_t n0 = w->n[0], n1 = w->n[1], n2 = w->n[2], tot = n0 * n1 * n2;
	float *acc = calloc(tot, sizeof(float));
	peak *pk = NULL;
	size_t npk = 0, cap = 0;
	bmeq_status st;

	*nout = 0;
	if (!acc)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory (accumulator)");

	/* One-voxel steps along the gradient line: a diagonal line may skip a
	 * voxel, which the accumulator's smoothing below fills in, at half the
	 * cost of half-voxel steps. */
	double step = w->h;
	int nr = (int)floor((rmax - rmin) / step) + 1;
	float gthr = w->gthr, gclip = w->gclip;
	/* The vote distances in voxels, inwards then outwards (computed once:
	 * the division per vote was a tenth of the transform's cost). */
	float *dist = malloc(2 * (size_t)nr * sizeof(float));

	if (!dist) {
		free(acc);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory (accumulator)");
	}
	for (int sgn = -1, q = 0; sgn <= 1; sgn += 2)
		for (int r = 0; r < nr; r++)
			dist[q++] = (float)(sgn * (rmin + step * r) / w->h);

	for (size_t k = 1; k + 1 < n2; k++)
		for (size_t j = 1; j + 1 < n1; j++)
			for (size_t i = 1; i + 1 < n0; i++) {
				size_t p = i + n0 * (j + n1 * k);
				if (!w->valid[p])
					continue;
				float gx = w->gx[p], gy = w->gy[p], gz = w->gz[p];
				float m = sqrtf(gx * gx + gy * gy + gz * gz);

				if (m < gthr)
					continue;
				/* Clipped weights: a few very strong edges (fat against
				 * air, bright fluid) must not outvote a whole head. */
				float wt = (m < gclip ? m : gclip) / gclip;
				float u[3] = {gx / m, gy / m, gz / m};

				/* Rounding by truncation of a value shifted to be
				 * positive: lround() dominated the profile. */
				for (int q = 0; q < 2 * nr; q++) {
					float d = dist[q];
					long ci = (long)((float)i + d * u[0] + 1.5f) - 1;
					long cj = (long)((float)j + d * u[1] + 1.5f) - 1;
					long ck = (long)((float)k + d * u[2] + 1.5f) - 1;

					if (ci < 0 || cj < 0 || ck < 0 || ci >= (long)n0 ||
					    cj >= (long)n1 || ck >= (long)n2)
						continue;
					acc[(size_t)ci + n0 * ((size_t)cj + n1 * (size_t)ck)] += wt;
				}
			}
	if ((st = blur121(acc, w->n)) != BMEQ_OK)
		goto done;

	/* Local maxima over the 26-neighbourhood. */
	float amax = 0;
	for (size_t i = 0; i < tot; i++)
		amax = acc[i] > amax ? acc[i] : amax;
	if (!(amax > 0)) {
		st = BMEQ_OK;
		goto done;
	}
	for (size_t k = 1; k + 1 < n2; k++)
		for (size_t j = 1; j + 1 < n1; j++)
			for (size_t i = 1; i + 1 < n0; i++) {
				size_t p = i + n0 * (j + n1 * k);
				float v = acc[p];
				int is_max = v > 0.05f * amax;

				for (int dz = -1; dz <= 1 && is_max; dz++)
					for (int dy = -1; dy <= 1 && is_max; dy++)
						for (int dx = -1; dx <= 1 && is_max; dx++) {
							size_t q = (size_t)((long)p + dx +
									    (long)n0 * (dy + (long)n1 * dz));
							if (q != p && (acc[q] > v || (acc[q] == v && q < p)))
								is_max = 0;
						}
				if (!is_max)
					continue;
				if (npk == cap) {
					size_t nc = cap ? 2 * cap : 256;
					peak *np = realloc(pk, nc * sizeof(*pk));
					if (!np) {
						st = bmeq_fail(BMEQ_E_NOMEM, "out of memory (peaks)");
						goto done;
					}
					pk = np;
					cap = nc;
				}
				pk[npk].v = v;
				pk[npk].idx = p;
				npk++;
			}
	if (npk)
		qsort(pk, npk, sizeof(*pk), peak_desc);

	/* Greedy non-maximum suppression in world distance. */
	for (size_t a = 0; a < npk && *nout < max; a++) {
		size_t p = pk[a].idx;
		double c[3] = {w->origin[0] + w->h * (double)(p % n0),
			       w->origin[1] + w->h * (double)((p / n0) % n1),
			       w->origin[2] + w->h * (double)(p / (n0 * n1))};
		int near = 0;

		/* Sub-voxel centre from a parabola through the neighbours. */
		size_t st3[3] = {1, n0, n0 * n1};
		for (int ax = 0; ax < 3; ax++) {
			double fm = acc[p - st3[ax]], f0 = acc[p], fp = acc[p + st3[ax]];
			double den = fm - 2 * f0 + fp;

			if (den < 0)
				c[ax] += w->h * 0.5 * (fm - fp) / den;
		}
		for (size_t b = 0; b < *nout && !near; b++) {
			double dx = c[0] - out[b].c[0], dy = c[1] - out[b].c[1], dz = c[2] - out[b].c[2];
			near = dx * dx + dy * dy + dz * dz < min_sep * min_sep;
		}
		if (near)
			continue;
		memset(&out[*nout], 0, sizeof(out[0]));
		memcpy(out[*nout].c, c, sizeof(c));
		out[*nout].votes = pk[a].v / amax;
		(*nout)++;
	}
	st = BMEQ_OK;
done:
	free(dist);
	free(pk);
	free(acc);
	return st;
}
