/* neckfit.c - the femoral neck measured on the image.
 *
 * The axis from neck.c (the gap in the head's edge) is only a direction
 * estimate, good to 5-15 degrees; an elliptic cylinder of fixed proportions
 * along it takes in muscle wherever the axis or the proportions are off, and
 * muscle on STIR is twice as bright as normal marrow, so the edema measurement
 * would count it. Here the neck is measured instead:
 *   1. cross-sections perpendicular to the axis, from just outside the
 *      head-neck junction to short of the neck's base (where the trochanteric
 *      block widens the bone);
 *   2. in each, rays from the axis find the bone's outer surface (below);
 *   3. a robust circle fit per section gives the section's centre; the axis
 *      is re-aimed from the head centre through those centres (the neck axis
 *      passes through the head centre, as in the phantom and in the usual
 *      anatomical definition), and steps 1-3 repeat within a cone around the
 *      first estimate;
 *   4. on the final axis the surface radius per angle is the median over the
 *      sections, smoothed round the circle, and clamped to plausible bounds.
 *
 * Finding the surface without knowing the contrast: cortex is dark on every
 * sequence and everything around it (muscle, fat, fluid, cartilage) is
 * brighter, so the outer surface is a rise in intensity going outwards, and
 * on a sharp image it follows a fall (marrow into cortex) within a few mm.
 * On thick slices the thin cortex blurs away and one step remains: a rise
 * where the outside is brighter than the marrow (STIR muscle, fluid), a fall
 * where it is darker (T1 muscle), centred about 1 mm inside the surface.
 * Rises are scored with the fall just before them; the innermost strong
 * candidate cluster wins, so the edges of things further out (the far side of
 * an effusion, fat planes between muscles) are not taken for the neck.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

#define NF_NSEC 6        /* cross-sections */
#define NF_DR 0.5        /* profile step, mm */
#define NF_MAXS 96       /* profile samples */
#define NF_PRE 10        /* profile samples inside rmin (room for the fall before a rise) */
#define NF_CONE_DEG 36.0 /* the refined axis stays within this of the first estimate */

void bmeq_fh_neck_frame(const double ax[3], double e0[3], double e1[3])
{
	/* e0 in the vertical plane through the axis (the neck-shaft plane, the
	 * shaft being near vertical), e1 across it. */
	double n;

	e0[0] = -ax[2] * ax[0];
	e0[1] = -ax[2] * ax[1];
	e0[2] = 1.0 - ax[2] * ax[2];
	n = sqrt(e0[0] * e0[0] + e0[1] * e0[1] + e0[2] * e0[2]);
	if (n < 1e-6) {
		e0[0] = 1;
		e0[1] = e0[2] = 0;
	} else {
		for (int a = 0; a < 3; a++)
			e0[a] /= n;
	}
	e1[0] = ax[1] * e0[2] - ax[2] * e0[1];
	e1[1] = ax[2] * e0[0] - ax[0] * e0[2];
	e1[2] = ax[0] * e0[1] - ax[1] * e0[0];
}

/* The bone's outer surface on the ray o + r u, rmin <= r <= rmax: its radius,
 * or NAN when the ray leaves the scan or shows no edge. */
static double ray_surface(const bmeq_fh_sampler *s, const double o[3], const double u[3], double rmin,
			  double rmax, int polarity)
{
	double I[NF_MAXS + 4], T[NF_MAXS + 4], D[NF_MAXS + 4];
	double cpos[NF_MAXS], cscore[NF_MAXS];
	int crise[NF_MAXS];
	int m = (int)((rmax - rmin) / NF_DR) + NF_PRE + 4, nc = 0;
	double r0 = rmin - NF_PRE * NF_DR;

	if (m > NF_MAXS)
		m = NF_MAXS;
	for (int a = 0; a < m; a++) {
		double r = r0 + a * NF_DR;
		double p[3] = {o[0] + r * u[0], o[1] + r * u[1], o[2] + r * u[2]};

		I[a] = bmeq_fh_sample(s, p);
		/* The field of view may cut the neck (a slab that ends in
		 * the hip): keep the part of the ray inside it. */
		if (!isfinite(I[a])) {
			m = a;
			break;
		}
	}
	if (m < NF_PRE + 8)
		return NAN;
	double rend = r0 + (m - 2) * NF_DR;
	/* [1 2 1] twice (sigma about 0.5 mm): noise off, edges kept. */
	for (int pass = 0; pass < 2; pass++) {
		T[0] = I[0];
		T[m - 1] = I[m - 1];
		for (int a = 1; a + 1 < m; a++)
			T[a] = 0.25 * (I[a - 1] + 2 * I[a] + I[a + 1]);
		memcpy(I, T, (size_t)m * sizeof(double));
	}
	D[0] = D[m - 1] = 0;
	for (int a = 1; a + 1 < m; a++)
		D[a] = (I[a + 1] - I[a - 1]) / (2 * NF_DR);

	double best = 0;
	for (int a = NF_PRE; a + 1 < m; a++) {
		double r = r0 + a * NF_DR;

		if (r > rmax)
			break;
		if (D[a] > 0 && D[a] >= D[a - 1] && D[a] >= D[a + 1]) {
			/* A rise, plus the strongest fall 1-4 mm inside it: the
			 * cortex between them. */
			double fall = 0;
			for (int b = a - 8; b <= a - 2; b++)
				if (b >= 0 && -D[b] > fall)
					fall = -D[b];
			cpos[nc] = r;
			crise[nc] = 1;
			cscore[nc++] = D[a] + fall;
		} else if (D[a] < 0 && D[a] <= D[a - 1] && D[a] <= D[a + 1]) {
			/* A fall alone: marrow into cortex, the surface about a
			 * cortex's half-thickness further out. */
			cpos[nc] = r + 1.0;
			crise[nc] = 0;
			cscore[nc++] = -D[a];
		}
	}
	/* Where the head's outside is brighter than its marrow (STIR), the
	 * bone's surface is the rise out of the cortex. A fall alone with such
	 * a rise further out is inside the bone: the edge of an edematous
	 * zone, brighter than the normal marrow beyond it. On real STIR, where
	 * muscle and fatty marrow are alike, that fall can be as strong as the
	 * cortex, and as the innermost candidate it took the neck's surface
	 * 3-8 mm inside the bone. (On T1 the marrow is the bright side and
	 * falls are the surface; the rises further out are fat planes.) */
	for (int k = 0; k < nc && polarity > 0; k++) {
		if (crise[k])
			continue;
		for (int j = k + 1; j < nc; j++) {
			if (crise[j] && cscore[j] >= 0.5 * cscore[k]) {
				cscore[k] = 0;
				break;
			}
		}
	}
	for (int k = 0; k < nc; k++)
		if (cscore[k] > best)
			best = cscore[k];
	if (nc == 0 || !(best > 0))
		return NAN;
	/* The innermost strong candidate, then the best one within 5 mm of it
	 * (a fall into cortex and the rise out of it are one surface). */
	int first = 0;
	while (first < nc && cscore[first] < 0.5 * best)
		first++;
	int pick = first;
	for (int a = first; a < nc && cpos[a] <= cpos[first] + 5.0; a++)
		if (cscore[a] > cscore[pick])
			pick = a;
	/* A ray cut short by the field of view must show its surface well
	 * inside what it saw; otherwise the strongest step may be noise. */
	if (rend < rmax && cpos[pick] > rend - 3.0)
		return NAN;
	return cpos[pick] <= rmax ? cpos[pick] : NAN;
}

/* A section's surface point lies on the neck's circle within this fraction
 * of its radius: the section is near round (semi-axes within about 15 % of
 * each other), and the surface is found to about a millimetre. */
#define NF_ROUND 0.25

/* Surface radii rho[a] of the section at o (frame e0, e1) and the centre
 * (in-plane offsets cx, cy) of a robust circle through them. Returns the
 * number of inlier rays. */
static int section(const bmeq_fh_sampler *s, const double o[3], const double e0[3], const double e1[3],
		   double R, int polarity, double *rho, double *cx, double *cy)
{
	double xy[BMEQ_FH_NECK_NANG][2], w[BMEQ_FH_NECK_NANG];
	uint8_t use[BMEQ_FH_NECK_NANG];
	int nv = 0;

	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++) {
		double th = 2 * FH_PI * a / BMEQ_FH_NECK_NANG, u[3];

		for (int k = 0; k < 3; k++)
			u[k] = cos(th) * e0[k] + sin(th) * e1[k];
		rho[a] = ray_surface(s, o, u, 0.3 * R, 1.0 * R, polarity);
		use[a] = isfinite(rho[a]);
		xy[a][0] = use[a] ? rho[a] * cos(th) : 0;
		xy[a][1] = use[a] ? rho[a] * sin(th) : 0;
		/* Each ray weighs by how well the scan resolves an edge along
		 * it: across thick slices the cortex blurs into its neighbours
		 * and, where marrow and muscle are alike (real STIR), the step
		 * found there may be anything; in-plane rays then fix the
		 * centre. */
		w[a] = use[a] ? bmeq_fh_ray_weight(s, u) : 0;
		nv += use[a];
	}
	*cx = *cy = 0;
	/* A third of the circle still fixes its centre (a field of view that
	 * cuts the neck leaves no more). */
	if (nv < BMEQ_FH_NECK_NANG / 3)
		return 0;
	/* Rays that stopped at something else (a vessel, a lesion's edge) or ran
	 * on into other bone are dropped: the neck's section is near round. They
	 * are judged against a circle fitted to the rays, not against their
	 * distance from the axis: the axis is only an estimate, and off the
	 * neck's centre by d it meets the near surface at r - d and the far one
	 * at r + d. Judged by their median distance, an axis 4-6 mm off (9
	 * degrees, the first estimate on a real-like STIR) lost the whole far
	 * side of every section, the fitted centres stayed on the axis and the
	 * iteration never corrected it. So: a circle through every ray found,
	 * then twice through those within NF_ROUND of the last circle. (A free
	 * search for the circle most rays agree on went astray on oval
	 * sections: a circle well off the centre passes through three of an
	 * oval's four sides.) */
	double f[2] = {0, 0}, fr = 0;
	int nin = 0;
	for (int pass = 0; pass < 3; pass++) {
		double win[BMEQ_FH_NECK_NANG]; /* w of the rays taken this pass, else 0 */

		nin = 0;
		for (int a = 0; a < BMEQ_FH_NECK_NANG; a++) {
			int in = use[a] && (pass == 0 || fabs(hypot(xy[a][0] - f[0], xy[a][1] - f[1]) - fr) <=
								 NF_ROUND * fr);
			win[a] = in ? w[a] : 0;
			nin += in;
		}
		if (nin < BMEQ_FH_NECK_NANG / 3 ||
		    !bmeq_fh_fit_ball(&xy[0][0], 2, win, BMEQ_FH_NECK_NANG, 1e-9, f, &fr))
			return 0;
		if (pass == 2)
			for (int a = 0; a < BMEQ_FH_NECK_NANG; a++)
				if (!(win[a] > 0))
					rho[a] = NAN;
	}
	*cx = f[0];
	*cy = f[1];
	return nin;
}

/* Sections along axis ax from the head centre c: t from just beyond the
 * junction to well short of the neck's base. */
static void section_range(double R, double *t0, double *t1)
{
	*t0 = 0.72 * R + 3.0;
	*t1 = R + 12.0;
}

/* How much the image looks like a neck along axis ax: the sections near the
 * head hold a ring of surface points centred on the axis. */
static double axis_score(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, const double ax[3], double t0)
{
	double e0[3], e1[3], rho[BMEQ_FH_NECK_NANG], R = c->r, sum = 0;

	bmeq_fh_neck_frame(ax, e0, e1);
	for (int k = 0; k < 3; k++) {
		double o[3], cx, cy, t = t0 + 5.0 * k;

		for (int q = 0; q < 3; q++)
			o[q] = c->c[q] + t * ax[q];
		int nin = section(s, o, e0, e1, R, c->polarity, rho, &cx, &cy);
		double off = sqrt(cx * cx + cy * cy) / (0.3 * R);

		if (nin && off < 1)
			sum += nin * (1 - off);
	}
	return sum;
}

/* An axis_score at which an axis looks like a neck (of 3 sections' rays). */
#define NF_NECK_SCORE (0.3 * 3 * BMEQ_FH_NECK_NANG)

/* Coarse search in a 30-degree cone around ax (rings every 6 degrees) when
 * ax does not look like a neck at all: the gap-in-the-edge estimate can be
 * off by 20 degrees and more on oblique thick slabs, too far for the
 * centroid iteration, whose far sections then leave the bone (or the field
 * of view). */
static void axis_search(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, double ax[3], double t0)
{
	double e0[3], e1[3], best[3], bs;

	bmeq_fh_neck_frame(ax, e0, e1);
	memcpy(best, ax, sizeof(best));
	bs = axis_score(s, c, ax, t0);
	/* The score is only a rescue: off-axis sections can also hold a
	 * rounder ring of some other edges, so an estimate that already looks
	 * like a neck (on the phantom a true axis scores 50-95 of 96, wrong
	 * rescues came from 35-60) is left to the centroid iteration. */
	if (bs >= NF_NECK_SCORE)
		return;
	for (int ring = 1; ring <= 5; ring++) {
		double th = ring * 6.0 * FH_PI / 180;
		int nphi = 6 * ring;

		for (int j = 0; j < nphi; j++) {
			double phi = 2 * FH_PI * j / nphi, d[3];

			for (int q = 0; q < 3; q++)
				d[q] = cos(th) * ax[q] + sin(th) * (cos(phi) * e0[q] + sin(phi) * e1[q]);
			/* Anatomy: the neck never runs upwards from the head. */
			if (d[2] > 0.2)
				continue;
			double sc = axis_score(s, c, d, t0);
			if (sc > bs) {
				bs = sc;
				memcpy(best, d, sizeof(best));
			}
		}
	}
	memcpy(ax, best, sizeof(best));
}

/* Re-aims the axis ax through the section centres, never further than
 * NF_CONE_DEG from the estimate first. The near sections decide most
 * (their centres sit closest to the true axis when the estimate is off, and
 * their lever arm is what the angle needs). */
static void centre_iterate(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, const double first[3], double t0,
			   double t1, double ax[3])
{
	double e0[3], e1[3], rho[BMEQ_FH_NECK_NANG], R = c->r;

	for (int it = 0; it < 5; it++) {
		double acc[3] = {0, 0, 0}, wsum = 0;

		bmeq_fh_neck_frame(ax, e0, e1);
		for (int k = 0; k < NF_NSEC; k++) {
			double t = t0 + (t1 - t0) * k / (NF_NSEC - 1), o[3], cx, cy;

			for (int q = 0; q < 3; q++)
				o[q] = c->c[q] + t * ax[q];
			int nin = section(s, o, e0, e1, R, c->polarity, rho, &cx, &cy);
			/* A centre far off the axis is a failed section, not a
			 * neck that bends. */
			if (nin == 0 || cx * cx + cy * cy > 0.25 * R * R)
				continue;
			double p[3];
			for (int q = 0; q < 3; q++)
				p[q] = o[q] + cx * e0[q] + cy * e1[q] - c->c[q];
			bmeq_fh_normalise(p);
			double w = (double)nin;
			for (int q = 0; q < 3; q++)
				acc[q] += w * p[q];
			wsum += w;
		}
		if (wsum < 1.5 * BMEQ_FH_NECK_NANG)
			break;
		bmeq_fh_normalise(acc);
		if (acc[0] * first[0] + acc[1] * first[1] + acc[2] * first[2] < cos(NF_CONE_DEG * FH_PI / 180))
			break;
		double change = acc[0] * ax[0] + acc[1] * ax[1] + acc[2] * ax[2];
		memcpy(ax, acc, sizeof(double) * 3);
		if (change > cos(0.3 * FH_PI / 180))
			break;
	}
}

void bmeq_fh_neck_fit(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, bmeq_femhead_side *side,
		      bmeq_fh_neck *nk)
{
	double R = c->r, t0, t1;
	double ax[3], e0[3], e1[3], first[3];
	double rho[NF_NSEC][BMEQ_FH_NECK_NANG];

	memcpy(ax, side->neck_axis, sizeof(ax));
	memcpy(first, ax, sizeof(first));
	section_range(R, &t0, &t1);
	nk->measured = 0;
	/* Until measured: the model's ellipse shrunk by about 0.1 R, so a neck
	 * that could not be measured holds marrow rather than muscle. */
	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++) {
		double th = 2 * FH_PI * a / BMEQ_FH_NECK_NANG;
		double p0 = cos(th) / (0.62 * R), p1 = sin(th) / (0.52 * R);

		nk->rho[a] = 1.0 / sqrt(p0 * p0 + p1 * p1);
	}
	side->neck_radius_mm[0] = 0.62 * R;
	side->neck_radius_mm[1] = 0.52 * R;

	/* The estimate from the gap is re-aimed through the section centres;
	 * only when that axis still does not look like a neck is the coarse
	 * search tried, and its axis, re-aimed the same way, kept when it
	 * looks more like one. With sections that find their own centre
	 * (section) the centre iteration corrects an estimate 10 degrees off
	 * in one step, where the search, judging every direction by rings of
	 * other edges too, could leave the neck for a rounder ring elsewhere. */
	centre_iterate(s, c, first, t0, t1, ax);
	double score = axis_score(s, c, ax, t0);
	if (score < NF_NECK_SCORE) {
		double alt[3];

		memcpy(alt, first, sizeof(alt));
		axis_search(s, c, alt, t0);
		centre_iterate(s, c, first, t0, t1, alt);
		if (axis_score(s, c, alt, t0) > score)
			memcpy(ax, alt, sizeof(ax));
	}

	/* The radius per angle on the final axis. */
	bmeq_fh_neck_frame(ax, e0, e1);
	int good = 0;
	for (int k = 0; k < NF_NSEC; k++) {
		double t = t0 + (t1 - t0) * k / (NF_NSEC - 1), o[3], cx, cy;

		for (int q = 0; q < 3; q++)
			o[q] = c->c[q] + t * ax[q];
		if (section(s, o, e0, e1, R, c->polarity, rho[k], &cx, &cy) == 0) {
			for (int a = 0; a < BMEQ_FH_NECK_NANG; a++)
				rho[k][a] = NAN;
		} else {
			good++;
		}
	}
	memcpy(side->neck_axis, ax, sizeof(ax));
	memcpy(nk->axis, ax, sizeof(ax));
	memcpy(nk->e0, e0, sizeof(e0));
	memcpy(nk->e1, e1, sizeof(e1));
	if (good < 2)
		return;

	double raw[BMEQ_FH_NECK_NANG];
	int nraw = 0;
	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++) {
		double v[NF_NSEC];
		int n = 0;

		for (int k = 0; k < NF_NSEC; k++)
			if (isfinite(rho[k][a]))
				v[n++] = rho[k][a];
		raw[a] = NAN;
		if (n >= 2) {
			qsort(v, (size_t)n, sizeof(double), bmeq_fh_cmp_double);
			raw[a] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
			nraw++;
		}
	}
	if (nraw < BMEQ_FH_NECK_NANG / 2)
		return;
	/* Round the circle: median of five neighbours (missing angles take
	 * their neighbours' value), then bounds. The lower bound keeps a
	 * labelled neck; the upper one is beyond any adult neck (0.56-0.76 of
	 * the head radius) so muscle never gets in by a wild ray. */
	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++) {
		double v[5];
		int n = 0;

		for (int d = -2; d <= 2; d++) {
			double x = raw[(a + d + BMEQ_FH_NECK_NANG) % BMEQ_FH_NECK_NANG];
			if (isfinite(x))
				v[n++] = x;
		}
		if (n == 0) {
			nk->rho[a] = NAN;
			continue;
		}
		qsort(v, (size_t)n, sizeof(double), bmeq_fh_cmp_double);
		nk->rho[a] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
	}
	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++) {
		if (!isfinite(nk->rho[a]))
			nk->rho[a] = 0.55 * R;
		if (nk->rho[a] < 0.4 * R)
			nk->rho[a] = 0.4 * R;
		if (nk->rho[a] > 0.85 * R)
			nk->rho[a] = 0.85 * R;
	}
	nk->measured = 1;
	/* Public semi-axes: the mean radius in the neck-shaft plane and
	 * across it. */
	int q = BMEQ_FH_NECK_NANG / 4;
	side->neck_radius_mm[0] = 0.5 * (nk->rho[0] + nk->rho[2 * q]);
	side->neck_radius_mm[1] = 0.5 * (nk->rho[q] + nk->rho[3 * q]);
	double rmax = 0;
	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++)
		rmax = nk->rho[a] > rmax ? nk->rho[a] : rmax;
	side->junction_mm = rmax < R ? sqrt(R * R - rmax * rmax) : 0;
}
