/* refine.c - sub-voxel sphere fit of a head candidate on the scan's voxels.
 *
 * Rays are cast from the current centre in evenly spread directions; on each
 * ray the head's edge is the strongest step of the head's polarity near the
 * expected radius (the polarity is decided once per head from the mean
 * profile, so T1 and STIR both work). A robust (Tukey-weighted) algebraic
 * sphere fit to those edge points moves the centre and radius; the rays are
 * recast from the new centre and the fit repeated with a narrower window.
 * Rays along the neck, or through an effusion that hides the edge, find no
 * consistent edge and get zero weight.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

#define FH_NRAYS BMEQ_FH_NRAYS
#define FH_DR 0.5            /* profile step, mm */
#define FH_MAXS 128          /* samples per profile */
/* Edge-to-surface offsets. Inner edge: the subchondral cortex of the head
 * (1.0-1.6 mm) plus 0.3 mm by which blur across thick slices pulls the
 * strongest step inwards, towards the larger marrow-cortex contrast. Outer
 * edge: the bright fluid film beyond the cartilage pulls it outwards by
 * about 0.3 mm. Both measured on the phantom over every orientation. */
#define FH_INNER_EDGE_OFFSET_MM 1.6
#define FH_OUTER_EDGE_OFFSET_MM (-0.3)
/* A bright shell (fluid, cartilage) is at most this thick, and its inner
 * (bone) edge at least this fraction of its outer edge's mean strength. */
#define FH_SHELL_MAX_MM 6.0
#define FH_SHELL_RATIO 0.5

int bmeq_fh_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bmeq_fh_normalise(double v[3])
{
	double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);

	if (n > 0) {
		v[0] /= n;
		v[1] /= n;
		v[2] /= n;
	}
}

void bmeq_fh_directions(double (*dir)[3], size_t n)
{
	const double golden = FH_PI * (3.0 - sqrt(5.0));

	for (size_t i = 0; i < n; i++) {
		double z = 1.0 - (2.0 * (double)i + 1.0) / (double)n;
		double rr = sqrt(1.0 - z * z), phi = golden * (double)i;

		dir[i][0] = rr * cos(phi);
		dir[i][1] = rr * sin(phi);
		dir[i][2] = z;
	}
}

/* Derivative profile along one ray: D[s] = dI/dr at r0 + s*FH_DR, from the
 * profile smoothed with [1 2 1] twice (sigma ~0.5 mm). NaN outside the scan
 * propagates so such samples are never picked. */
static void ray_derivative(const bmeq_fh_sampler *s, const double c[3], const double u[3],
			   double r0, int ns, double *D)
{
	double I[FH_MAXS + 8], T[FH_MAXS + 8];
	int m = ns + 6; /* three extra samples each side for smoothing and differences */

	for (int a = 0; a < m; a++) {
		double r = r0 + (a - 3) * FH_DR, p[3] = {c[0] + r * u[0], c[1] + r * u[1], c[2] + r * u[2]};

		I[a] = bmeq_fh_sample(s, p);
	}
	for (int pass = 0; pass < 2; pass++) {
		T[0] = I[0];
		T[m - 1] = I[m - 1];
		for (int a = 1; a + 1 < m; a++)
			T[a] = 0.25 * (I[a - 1] + 2 * I[a] + I[a + 1]);
		memcpy(I, T, (size_t)m * sizeof(double));
	}
	for (int a = 0; a < ns; a++)
		D[a] = (I[a + 4] - I[a + 2]) / (2 * FH_DR);
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(double), bmeq_fh_cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void refine(const bmeq_fh_sampler *s, const bmeq_femhead_params *p, bmeq_fh_cand *c,
		   double (*D)[FH_MAXS])
{
	double dir[FH_NRAYS][3];
	double pts[FH_NRAYS][3], w[FH_NRAYS], strength[FH_NRAYS], tmp[FH_NRAYS];
	int has[FH_NRAYS];
	double rlo = p->radius_min_mm - 6, rhi = p->radius_max_mm + 6;
	int ns = (int)((rhi - rlo) / FH_DR) + 1;

	/* Recomputed per call (cheap) so concurrent calls share nothing. */
	bmeq_fh_directions(dir, FH_NRAYS);
	if (rlo < 2)
		rlo = 2;
	if (ns > FH_MAXS)
		ns = FH_MAXS;
	c->ok = 0;
	c->conf = 0;

	/* Initial radius and polarity from the mean derivative over all rays:
	 * at the true radius the head's edge adds up coherently. */
	double M[FH_MAXS] = {0};
	int cnt[FH_MAXS] = {0};
	for (int a = 0; a < FH_NRAYS; a++) {
		ray_derivative(s, c->c, dir[a], rlo, ns, D[a]);
		for (int b = 0; b < ns; b++)
			if (isfinite(D[a][b])) {
				M[b] += D[a][b];
				cnt[b]++;
			}
	}
	int best = -1;
	double bestv = 0;
	for (int b = 0; b < ns; b++) {
		double r = rlo + b * FH_DR;

		if (r < p->radius_min_mm || r > p->radius_max_mm || cnt[b] < FH_NRAYS / 4)
			continue;
		if (fabs(M[b] / cnt[b]) > bestv) {
			bestv = fabs(M[b] / cnt[b]);
			best = b;
		}
	}
	if (best < 0)
		return;
	/* A bright shell around the head (joint fluid and cartilage on STIR,
	 * more so around an edematous head whose marrow is bright too) gives a
	 * rising edge at the bone surface and a falling one a few mm further
	 * out, against the acetabulum. The outer one can be the stronger; it is
	 * not the bone when a rising edge of comparable strength lies just
	 * inside it, where marrow meeting its own cortex (T1) has none. */
	if (M[best] < 0) {
		int inner = -1;

		for (int b = best - (int)(FH_SHELL_MAX_MM / FH_DR); b <= best - (int)(1.0 / FH_DR); b++) {
			if (b < 1 || rlo + b * FH_DR < p->radius_min_mm || cnt[b] < FH_NRAYS / 4)
				continue;
			if (M[b] > 0 && M[b] >= M[b - 1] && M[b] >= M[b + 1] &&
			    (inner < 0 || M[b] > M[inner]))
				inner = b;
		}
		if (inner >= 0 && M[inner] / cnt[inner] >= FH_SHELL_RATIO * bestv)
			best = inner;
	}
	c->polarity = M[best] > 0 ? 1 : -1;
	c->r = rlo + best * FH_DR;

	double win[3] = {5.0, 3.0, 2.0};
	size_t ninl = 0;
	double rms = 0;
	for (int it = 0; it < 3; it++) {
		if (it > 0)
			for (int a = 0; a < FH_NRAYS; a++)
				ray_derivative(s, c->c, dir[a], rlo, ns, D[a]);
		/* Strongest step of the head's polarity within the window. */
		size_t nh = 0;
		for (int a = 0; a < FH_NRAYS; a++) {
			int b0 = (int)ceil((c->r - win[it] - rlo) / FH_DR);
			int b1 = (int)floor((c->r + win[it] - rlo) / FH_DR);
			int bb = -1;
			double bv = 0;

			has[a] = 0;
			if (b0 < 1)
				b0 = 1;
			if (b1 > ns - 2)
				b1 = ns - 2;
			for (int b = b0; b <= b1; b++) {
				double v = c->polarity * D[a][b];

				if (isfinite(v) && v > bv && v >= c->polarity * D[a][b - 1] &&
				    v >= c->polarity * D[a][b + 1]) {
					bv = v;
					bb = b;
				}
			}
			if (bb < 0)
				continue;
			double fm = c->polarity * D[a][bb - 1], f0 = bv, fp = c->polarity * D[a][bb + 1];
			double den = fm - 2 * f0 + fp, off = 0;
			if (isfinite(den) && den < 0)
				off = 0.5 * (fm - fp) / den;
			double r = rlo + (bb + off) * FH_DR;
			for (int k = 0; k < 3; k++)
				pts[a][k] = c->c[k] + r * dir[a][k];
			strength[a] = bv;
			tmp[nh++] = bv;
			has[a] = 1;
		}
		if (nh < 12)
			return;
		/* Weak maxima are noise on rays with no edge (along the neck). */
		double smed = median(tmp, nh);
		for (int a = 0; a < FH_NRAYS; a++)
			if (has[a] && strength[a] < 0.35 * smed)
				has[a] = 0;

		/* Tukey-weighted iterations of the algebraic fit. */
		double cc[3] = {c->c[0], c->c[1], c->c[2]}, R = c->r;
		for (int a = 0; a < FH_NRAYS; a++)
			w[a] = has[a] ? 1.0 : 0.0;
		for (int irls = 0; irls < 6; irls++) {
			double res[FH_NRAYS];
			size_t nr = 0;

			if (!bmeq_fh_fit_ball(&pts[0][0], 3, w, FH_NRAYS, 1e-12, cc, &R))
				return;
			for (int a = 0; a < FH_NRAYS; a++) {
				if (!has[a])
					continue;
				double dx = pts[a][0] - cc[0], dy = pts[a][1] - cc[1], dz = pts[a][2] - cc[2];
				res[a] = sqrt(dx * dx + dy * dy + dz * dz) - R;
				tmp[nr++] = fabs(res[a]);
			}
			double scale = 1.4826 * median(tmp, nr);
			double k = 4.685 * (scale > 0.5 ? scale : 0.5);
			if (k > 4.0)
				k = 4.0;
			for (int a = 0; a < FH_NRAYS; a++) {
				if (!has[a]) {
					w[a] = 0;
					continue;
				}
				double t = res[a] / k;
				w[a] = fabs(t) < 1 ? (1 - t * t) * (1 - t * t) : 0;
			}
		}
		/* A jump far from the Hough centre means the fit locked onto
		 * something else. */
		double mv = sqrt((cc[0] - c->c[0]) * (cc[0] - c->c[0]) +
				 (cc[1] - c->c[1]) * (cc[1] - c->c[1]) +
				 (cc[2] - c->c[2]) * (cc[2] - c->c[2]));
		if (mv > 12 || !(R > 0.5 * p->radius_min_mm) || R > 1.5 * p->radius_max_mm)
			return;
		memcpy(c->c, cc, sizeof(cc));
		c->r = R;

		ninl = 0;
		rms = 0;
		for (int a = 0; a < FH_NRAYS; a++) {
			c->edge[a] = 0;
			if (!has[a])
				continue;
			double dx = pts[a][0] - cc[0], dy = pts[a][1] - cc[1], dz = pts[a][2] - cc[2];
			double e = sqrt(dx * dx + dy * dy + dz * dz) - R;
			if (fabs(e) < 1.5) {
				ninl++;
				rms += e * e;
				c->edge[a] = 1;
			}
		}
	}
	/* Edge support: the share of rays that meet the fitted surface's edge,
	 * each ray weighed by how well the scan resolves an edge along it (as
	 * in the neck's circle fits). Across slices 4-7 mm thick the cortex
	 * and cartilage blur into marrow and muscle, which on real STIR are
	 * alike: no edge can show there, on a head or anywhere else, and
	 * counting those rays as missing made every head of a thick-slice
	 * scan look doubtful. Likewise only rays that saw the surface count
	 * (bmeq_fh_ray_seen): a ray that leaves the field of view there shows
	 * no edge because nothing was seen. Counted as missing, they made a
	 * head cut by the field of view look doubtful instead of partial (on
	 * real STIR contrast, heads cut 12 mm above their centres fell to
	 * 0.44-0.46, below the least support a head needs to be tried at all,
	 * and were reported not in view); how much of the head is in view is
	 * bmeq_fh_in_view's to say. */
	double wsum = 0, wedge = 0;
	for (int a = 0; a < FH_NRAYS; a++) {
		if (!bmeq_fh_ray_seen(s, c->c, c->r, dir[a]))
			continue;
		double wa = bmeq_fh_ray_weight(s, dir[a]);
		wsum += wa;
		wedge += wa * c->edge[a];
	}
	/* The head's label is the outer bone surface. With the darker outside
	 * (STIR: black cortex against bright cartilage and fluid) the edge found
	 * is that surface. With the brighter inside (T1 fatty marrow, or an
	 * edematous STIR head) it is the inner surface of the cortex, whose
	 * outer edge (cortex against intermediate cartilage) is too weak to
	 * locate reliably: add the subchondral cortex thickness instead. */
	c->r += c->polarity < 0 ? FH_INNER_EDGE_OFFSET_MM : FH_OUTER_EDGE_OFFSET_MM;
	c->rms = ninl ? sqrt(rms / (double)ninl) : 0;
	c->conf = wsum > 0 ? wedge / wsum : 0;
	c->ok = c->r >= p->radius_min_mm - 2 && c->r <= p->radius_max_mm + 2;
}

void bmeq_fh_refine(const bmeq_fh_sampler *s, const bmeq_femhead_params *p, bmeq_fh_cand *c)
{
	/* The profiles (256 KiB) live on the heap so the batch's worker threads
	 * need no large stacks. Without memory the candidate is just not used. */
	double (*D)[FH_MAXS] = malloc(FH_NRAYS * sizeof(*D));

	c->ok = 0;
	c->conf = 0;
	if (!D)
		return;
	refine(s, p, c, D);
	free(D);
}
