/* plausible.c - anatomical plausibility of a detected femoral head.
 *
 * A sphere of the right size with good edge support is not yet a femoral
 * head: an orbit on a brain MR (fat-filled, 22 mm, edged all round by bone)
 * fits as well as a hip. What only a proximal femur has:
 *   - a place in the body: the heads sit 75-110 mm either side of the
 *     midsagittal plane, so the mirror image of a head across the midline is
 *     the other head, at least sep_min away. A lone head (no partner to
 *     confirm a pair) whose mirror twin is a round structure closer than
 *     that (the other orbit, 65 mm away) is not a hip. The midline is the
 *     plane of best left-right mirror symmetry of the scan itself (the
 *     pelvis, like the head and trunk, is bilaterally symmetric; the measure
 *     needs no contrast or body outline, so STIR, where fat, marrow and air
 *     are all dark, and T1 behave alike), and the twins must straddle it.
 *     Without a twin the symmetry alone must be strong: a 170 mm field of
 *     view around one phantom hip can be as symmetric about its centre
 *     (correlation up to 0.69) as a real pelvis about its midline (0.65),
 *     though not as a straight brain (0.97 for the one with the orbit). A
 *     lone head within sep_min / 2 - 15 mm of a strongly symmetric scan's
 *     midline is not a hip either;
 *   - a neck that leaves the head inferiorly: the neck's elevation below the
 *     horizontal is the neck-shaft angle plus the shaft's adduction less 90
 *     degrees, 30-55 degrees in adults (20 even in coxa vara with the leg
 *     abducted); on the phantom and the real hips the measured neck descends
 *     33-63 degrees. This is a weak test on its own (the "neck" of an orbit
 *     points anywhere, often steeply down), but it rejects a sphere whose
 *     only way out runs sideways (one orbit of a brain rolled 15 degrees).
 * A brain cut to one orbit has neither twin nor midline and still passes.
 */
#include <math.h>
#include <stddef.h>

#include "femhead_internal.h"

/* The mirror must reach at least this far either side of a midline before
 * the symmetry says anything about the body (a brain MR spans 75 mm either
 * side; a field of view around one hip is symmetric about no plane this wide
 * except by chance, which the correlation bound catches). */
#define FH_MIDLINE_MIN_HALF_MM 70.0
/* Normalised correlation of the scan with its mirror: 0.65-0.97 about the
 * true midline on the phantom, the real pelvic T1 scans and the brain MRs;
 * below this the plane is not taken for a midline at all. */
#define FH_MIDLINE_MIN_CORR 0.6
/* A scan this symmetric shows the body's midline without a twin to confirm
 * it: the brain MRs of tests/data 0.78-0.99 (0.97 for someones_anatomy),
 * whole pelves 0.65-0.97, while 160 fields of view of 130-220 mm cut around
 * one hip (phantom and real) reach at most 0.69, three of them 0.6-0.69
 * about a plane 10-11 mm from the head. The bound keeps a wide margin above
 * those, since losing a real head is worse than relying on the twin. */
#define FH_MIDLINE_STRONG_CORR 0.9
/* A mirror twin: radius and height within these of the candidate's, depth
 * within tan(20 degrees) of their left-right distance. */
#define FH_TWIN_DR_MM 4.0
#define FH_TWIN_DZ_MM 12.0
#define FH_TWIN_YAW_TAN 0.36
/* Neck descent: sin(15 degrees), well below the 30-55 degrees of anatomy,
 * so an abducted leg or a 10-degree error of the axis still passes. */
#define FH_NECK_MIN_DESCENT 0.26

/* Correlation of the working image with its mirror about x = x0, on every
 * second row and slice (the midline is wanted to a few mm, not a voxel). */
static double mirror_corr(const bmeq_fh_work *w, long i0)
{
	size_t n0 = w->n[0], n1 = w->n[1], n2 = w->n[2];
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
	size_t n = 0;

	for (size_t k = 0; k < n2; k += 2)
		for (size_t j = 0; j < n1; j += 2) {
			size_t row = n0 * (j + n1 * k);

			for (long d = 1; i0 - d >= 0 && i0 + d < (long)n0; d++) {
				size_t p = row + (size_t)(i0 - d), q = row + (size_t)(i0 + d);

				if (!w->valid[p] || !w->valid[q])
					continue;
				double a = w->img[p], b = w->img[q];

				sa += a;
				sb += b;
				saa += a * a;
				sbb += b * b;
				sab += a * b;
				n++;
			}
		}
	if (n < 1000)
		return 0;
	double ma = sa / (double)n, mb = sb / (double)n;
	double va = saa / (double)n - ma * ma, vb = sbb / (double)n - mb * mb;

	if (!(va > 1e-12) || !(vb > 1e-12))
		return 0;
	return (sab / (double)n - ma * mb) / sqrt(va * vb);
}

void bmeq_fh_midline(const bmeq_fh_work *w, double *x0, double *corr)
{
	long n0 = (long)w->n[0];
	long dmin = (long)ceil(FH_MIDLINE_MIN_HALF_MM / w->h);
	double best = -2;
	long ibest = -1;

	*x0 = NAN;
	*corr = 0;
	/* Coarse search every second column, then the columns beside the best. */
	for (long i = dmin; i + dmin < n0; i += 2) {
		double c = mirror_corr(w, i);

		if (c > best) {
			best = c;
			ibest = i;
		}
	}
	if (ibest < 0)
		return;
	for (long i = ibest - 1; i <= ibest + 1; i += 2) {
		if (i < dmin || i + dmin >= n0)
			continue;
		double c = mirror_corr(w, i);

		if (c > best) {
			best = c;
			ibest = i;
		}
	}
	*corr = best;
	if (best >= FH_MIDLINE_MIN_CORR)
		*x0 = w->origin[0] + w->h * (double)ibest;
}

int bmeq_fh_lone_has_near_twin(const bmeq_femhead_params *p, double midline_x, const bmeq_fh_cand *cand,
				size_t n, size_t b)
{
	const bmeq_fh_cand *c = &cand[b];

	/* Without a symmetric body there is no midline to be near. */
	if (!isfinite(midline_x))
		return 0;
	for (size_t i = 0; i < n; i++) {
		const bmeq_fh_cand *t = &cand[i];

		if (i == b || !t->ok || t->conf < p->min_confidence)
			continue;
		double dx = fabs(t->c[0] - c->c[0]);
		/* The mirror image of c: same size and height, on the other
		 * side of the midline. A head turned about the vertical (a
		 * brain 15 degrees off straight) moves the twins' depths apart
		 * and their midpoint off the plane found at the image's
		 * centre, so depth is allowed a yaw of 20 degrees and the plane
		 * need only lie between them. */
		if (dx >= p->sep_min_mm || fabs(t->r - c->r) > FH_TWIN_DR_MM ||
		    fabs(t->c[2] - c->c[2]) > FH_TWIN_DZ_MM ||
		    fabs(t->c[1] - c->c[1]) > FH_TWIN_YAW_TAN * dx)
			continue;
		if ((t->c[0] - midline_x) * (c->c[0] - midline_x) < 0)
			return 1;
	}
	return 0;
}

int bmeq_fh_lone_position_ok(const bmeq_femhead_params *p, double midline_x, double corr, const double c[3])
{
	/* Only a strongly symmetric scan vouches for its midline on its own
	 * (see FH_MIDLINE_STRONG_CORR); otherwise nothing to check against. */
	if (!isfinite(midline_x) || corr < FH_MIDLINE_STRONG_CORR)
		return 1;
	return fabs(c[0] - midline_x) >= 0.5 * p->sep_min_mm - 15.0;
}

int bmeq_fh_neck_descends(const double axis[3])
{
	return axis[2] <= -FH_NECK_MIN_DESCENT;
}
