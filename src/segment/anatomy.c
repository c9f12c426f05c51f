/* anatomy.c - is a fitted sphere a femoral head, and is it all in view?
 *
 * A sphere of a head's size with good edge support is not yet a femoral
 * head: on a scan above the hips a bowel loop, the iliac bone or a vertebral
 * body fits one as well (edge support 0.46-0.62, real heads 0.68-0.90).
 * What only a hip has, measured here on the scan in world coordinates (any
 * orientation, any contrast):
 *   - an acetabulum: the head sits in a cup of the pelvic bone, and the
 *     joint is congruent, so the cup's surfaces are spheres concentric with
 *     the head a few mm further out (cartilage, joint space, cortex). Along
 *     rays from the head's centre towards the roof of the cup, the
 *     intensity profiles just outside the head are then alike on every ray;
 *     around a bowel loop or a vertebral body the neighbours lie at any
 *     distance and the profiles differ (bmeq_fh_cup_score);
 *   - a neck that leaves the head inferiorly (plausible.c) and laterally,
 *     turned forwards or backwards no more than femoral version and the
 *     leg's rotation in the scanner allow (bmeq_fh_neck_version_ok);
 *   - the whole head in the field of view: a head cut by the edge of the
 *     field or by the slab cannot give a whole head's edema
 *     (bmeq_fh_in_view).
 * The measurements behind the bounds are in the README ("When a hip is not
 * in view") and bench/RESULTS.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

/* Lattice step for the in-view fraction, mm. */
#define AN_VIEW_STEP 2.0

double bmeq_fh_in_view(const bmeq_fh_sampler *s, const double c[3], double r)
{
	size_t in = 0, all = 0;
	int m = (int)ceil(r / AN_VIEW_STEP);

	for (int k = -m; k <= m; k++)
		for (int j = -m; j <= m; j++)
			for (int i = -m; i <= m; i++) {
				double d[3] = {i * AN_VIEW_STEP, j * AN_VIEW_STEP, k * AN_VIEW_STEP};

				if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > r * r)
					continue;
				double p[3] = {c[0] + d[0], c[1] + d[1], c[2] + d[2]};

				all++;
				in += isfinite(bmeq_fh_sample(s, p));
			}
	return all ? (double)in / (double)all : 0;
}

/* The cup's roof: rays within AN_CUP_DEG of the vertical (the acetabulum
 * covers the head from above, its opening inclined 38-50 degrees from the
 * horizontal; 50 degrees keeps the rays under the roof on every hip), over
 * AN_DIRS directions of the whole sphere. Profiles run from AN_GAP0 to
 * AN_GAP1 mm outside the fitted surface (the head's own edge, which the fit
 * makes concentric by construction, stays out), in AN_DT mm steps. */
#define AN_CUP_DEG 50.0
#define AN_DIRS 400
#define AN_MAXRAYS 128
#define AN_GAP0 2.0
#define AN_GAP1 12.0
#define AN_DT 0.5
#define AN_NPROF 21 /* (AN_GAP1 - AN_GAP0) / AN_DT + 1 */

/* Pearson correlation of a and b over n samples (0 when either is flat). */
static double correlation(const double *a, const double *b, int n)
{
	double ma = 0, mb = 0, va = 0, vb = 0, cab = 0;

	for (int q = 0; q < n; q++) {
		ma += a[q];
		mb += b[q];
	}
	ma /= n;
	mb /= n;
	for (int q = 0; q < n; q++) {
		va += (a[q] - ma) * (a[q] - ma);
		vb += (b[q] - mb) * (b[q] - mb);
		cab += (a[q] - ma) * (b[q] - mb);
	}
	return va > 0 && vb > 0 ? cab / sqrt(va * vb) : 0;
}

double bmeq_fh_cup_score(const bmeq_fh_sampler *s, const bmeq_fh_cand *c)
{
	double dirs[AN_DIRS][3];
	double prof[AN_MAXRAYS][AN_NPROF], mean[AN_NPROF] = {0};
	double cz = cos(AN_CUP_DEG * FH_PI / 180);
	int nray = 0, nd = 0;

	bmeq_fh_directions(dirs, AN_DIRS);
	for (int a = 0; a < AN_DIRS && nray < AN_MAXRAYS; a++) {
		const double *u = dirs[a];
		int ok = 1;

		if (u[2] < cz)
			continue;
		nray++;
		for (int q = 0; q < AN_NPROF && ok; q++) {
			double t = c->r + AN_GAP0 + AN_DT * q;
			double p[3] = {c->c[0] + t * u[0], c->c[1] + t * u[1], c->c[2] + t * u[2]};

			prof[nd][q] = bmeq_fh_sample(s, p);
			ok = isfinite(prof[nd][q]);
		}
		if (!ok)
			continue;
		for (int q = 0; q < AN_NPROF; q++)
			mean[q] += prof[nd][q];
		nd++;
	}
	/* Half the roof must be in view to be judged: a field of view that
	 * ends just above the head leaves it unknown (the head is then
	 * partial). */
	if (nray == 0 || 2 * nd < nray)
		return NAN;
	for (int q = 0; q < AN_NPROF; q++)
		mean[q] /= nd;
	double sum = 0;
	for (int a = 0; a < nd; a++)
		sum += correlation(prof[a], mean, AN_NPROF);
	return sum / nd;
}

/* Femoral version (the neck's turn forwards from the coronal plane) is -10
 * to +45 degrees in adults, and the leg lies in the scanner turned 15-20
 * degrees either way; the measured neck axis is good to 5-15 degrees. The
 * neck, followed from the head to the shaft, therefore runs laterally and
 * somewhat backwards: its horizontal direction lies within AN_VERSION_MIN ..
 * AN_VERSION_MAX degrees of lateral, positive towards posterior. The phantom
 * and the real hips measure 5-35. */
#define AN_VERSION_MIN (-20.0)
#define AN_VERSION_MAX 75.0

int bmeq_fh_neck_version_ok(const double axis[3], int lateral_sign)
{
	double lat = axis[0] * lateral_sign, back = -axis[1];
	double deg = atan2(back, lat) * 180 / FH_PI;

	return deg >= AN_VERSION_MIN && deg <= AN_VERSION_MAX;
}

/* The neck's opening: the fraction of the fitted sphere's rays within
 * AN_OPEN_DEG of the neck axis that found no edge on the surface (the bone
 * goes on into the neck there). A closed ball (a bowel loop, a cyst) has its
 * edge all round, and a neck axis placed on it by default meets edges. */
#define AN_OPEN_DEG 30.0

double bmeq_fh_neck_opening(const bmeq_fh_cand *c, const double axis[3])
{
	double dirs[BMEQ_FH_NRAYS][3];
	double cz = cos(AN_OPEN_DEG * FH_PI / 180);
	int n = 0, open = 0;

	bmeq_fh_directions(dirs, BMEQ_FH_NRAYS);
	for (int a = 0; a < BMEQ_FH_NRAYS; a++) {
		if (dirs[a][0] * axis[0] + dirs[a][1] * axis[1] + dirs[a][2] * axis[2] < cz)
			continue;
		n++;
		open += !c->edge[a];
	}
	return n ? (double)open / n : 0;
}
