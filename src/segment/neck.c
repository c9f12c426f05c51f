/* neck.c - the neck axis of a fitted head and the head/neck labels.
 *
 * Around the head the sphere's edge is everywhere except where the bone goes
 * on into the neck: rays leaving the sphere in that direction keep the
 * marrow's intensity for centimetres. The axis is the (weighted) mean of the
 * directions whose rays stay marrow-like outside the sphere, restricted to
 * the anatomically possible cone (lateral and inferior of the head), then
 * sharpened by a few mean-shift steps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

#define FH_NECK_RAYS 1024

void bmeq_fh_neck_axis(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, int lateral_sign,
		       bmeq_femhead_side *side)
{
	double (*dir)[3] = malloc(FH_NECK_RAYS * sizeof(*dir));
	double *score = malloc(FH_NECK_RAYS * sizeof(double));
	double inner[600];
	size_t nin = 0;
	double R = c->r;
	/* Without a better estimate the neck points 45 degrees below lateral. */
	double axis[3] = {lateral_sign >= 0 ? 0.7071 : -0.7071, 0, -0.7071};

	if (!dir || !score)
		goto done;

	/* First choice: the gap in the head's edge. Everywhere but where the
	 * neck leaves it, the sphere's surface is an edge (cortex against
	 * cartilage, fluid or the acetabulum); towards the neck the bone goes on
	 * without one, whatever the marrow signal (fatty, edematous, mixed). The
	 * gap is a disc of about 45 degrees' radius; its centre is the axis.
	 * Only rays that saw the surface count (bmeq_fh_ray_seen): a ray
	 * that leaves the field of view there shows no edge because nothing
	 * was seen, not because the bone goes on, and an oblique or short
	 * slab that cuts the head would otherwise put a second, false gap
	 * beside the neck's and pull the axis towards it. */
	{
		double gd[BMEQ_FH_NRAYS][3], g[3] = {0, 0, 0};
		uint8_t gap[BMEQ_FH_NRAYS];
		int ng = 0;

		bmeq_fh_directions(gd, BMEQ_FH_NRAYS);
		for (int a = 0; a < BMEQ_FH_NRAYS; a++) {
			gap[a] = !c->edge[a] && bmeq_fh_ray_seen(s, c->c, R, gd[a]);
			if (gap[a] && gd[a][2] <= 0.2 && !(lateral_sign && lateral_sign * gd[a][0] < 0.1)) {
				for (int k = 0; k < 3; k++)
					g[k] += gd[a][k];
				ng++;
			}
		}
		if (ng >= 6) {
			bmeq_fh_normalise(g);
			/* Mean shift in a 40-degree cone drops stray gaps (an
			 * effusion or lesion blurring a few rays) far from the neck. */
			for (int it = 0; it < 5; it++) {
				double nx[3] = {0, 0, 0};
				int cnt = 0;

				for (int a = 0; a < BMEQ_FH_NRAYS; a++) {
					double d = gd[a][0] * g[0] + gd[a][1] * g[1] + gd[a][2] * g[2];

					if (gap[a] && d > cos(40 * FH_PI / 180)) {
						for (int k = 0; k < 3; k++)
							nx[k] += gd[a][k];
						cnt++;
					}
				}
				if (cnt < 4)
					break;
				bmeq_fh_normalise(nx);
				memcpy(g, nx, sizeof(g));
			}
			memcpy(axis, g, sizeof(axis));
			goto done;
		}
	}
	bmeq_fh_directions(dir, FH_NECK_RAYS);

	/* Marrow statistics: the inner part of the head, away from the edge. */
	for (int a = 0; a < FH_NECK_RAYS && nin + 3 <= 600; a += 2)
		for (int t = 1; t <= 3; t++) {
			double r = R * 0.2 * t, p[3] = {c->c[0] + r * dir[a][0], c->c[1] + r * dir[a][1],
							 c->c[2] + r * dir[a][2]};
			double v = bmeq_fh_sample(s, p);

			if (isfinite(v))
				inner[nin++] = v;
		}
	if (nin < 20)
		goto done;
	qsort(inner, nin, sizeof(double), bmeq_fh_cmp_double);
	double med = inner[nin / 2], q1 = inner[nin / 4], q3 = inner[3 * nin / 4];
	double tol = 1.5 * (q3 - q1);
	/* Floor on the tolerance: a very homogeneous phantom head would otherwise
	 * reject the neck's own partial-volume samples. */
	double spread = inner[nin - 1 - nin / 50] - inner[nin / 50];
	if (tol < 0.15 * spread + 1e-6 * fabs(med))
		tol = 0.15 * spread + 1e-6 * fabs(med);
	/* Bone-like: near the head's median marrow signal. */
	double lo = med - tol, hi = med + tol;

	/* Tube score: the neck is a bony cylinder, so a candidate axis is judged
	 * on its centre line and a ring at 0.4 R around it (the neck's radius is
	 * 0.6-0.7 R) from 2 to 20 mm outside the sphere.
	 * A single ray would also follow a thin bony path into the trochanter. */
	double best = -1;
	int ibest = -1;
	for (int a = 0; a < FH_NECK_RAYS; a++) {
		const double *u = dir[a];
		int good = 0, tot = 0;
		double e1[3], e2[3], ref[3] = {0, 0, 1};

		score[a] = 0;
		/* The neck leaves the head inferiorly; a ray upwards cannot be it. */
		if (u[2] > 0.2 || (lateral_sign && lateral_sign * u[0] < 0.1))
			continue;
		if (fabs(u[2]) > 0.9) {
			ref[0] = 1;
			ref[2] = 0;
		}
		e1[0] = u[1] * ref[2] - u[2] * ref[1];
		e1[1] = u[2] * ref[0] - u[0] * ref[2];
		e1[2] = u[0] * ref[1] - u[1] * ref[0];
		bmeq_fh_normalise(e1);
		e2[0] = u[1] * e1[2] - u[2] * e1[1];
		e2[1] = u[2] * e1[0] - u[0] * e1[2];
		e2[2] = u[0] * e1[1] - u[1] * e1[0];
		for (double r = R + 2; r <= R + 20; r += 2.0)
			for (int q = 0; q < 7; q++) {
				double ang = q * (2 * FH_PI / 6), rr = q ? 0.5 * R : 0;
				double p[3];

				for (int k = 0; k < 3; k++)
					p[k] = c->c[k] + r * u[k] +
					       rr * (cos(ang) * e1[k] + sin(ang) * e2[k]);
				double v = bmeq_fh_sample(s, p);

				tot++;
				good += isfinite(v) && v >= lo && v <= hi;
			}
		score[a] = (double)good / tot;
		if (score[a] > best) {
			best = score[a];
			ibest = a;
		}
	}
	if (ibest < 0 || best < 0.5)
		goto done;
	/* Many directions inside the neck score alike (a plateau): its centroid,
	 * not the first maximum, is the axis; then mean shift within 20 degrees
	 * so other bone (trochanter, shaft) at the plateau's rim drops out. */
	double acc[3] = {0, 0, 0};
	for (int a = 0; a < FH_NECK_RAYS; a++)
		if (score[a] >= best - 0.05)
			for (int k = 0; k < 3; k++)
				acc[k] += dir[a][k];
	bmeq_fh_normalise(acc);
	for (int it = 0; it < 5; it++) {
		double nx[3] = {0, 0, 0};

		for (int a = 0; a < FH_NECK_RAYS; a++) {
			double d = dir[a][0] * acc[0] + dir[a][1] * acc[1] + dir[a][2] * acc[2];

			if (score[a] >= best - 0.1 && d > cos(20 * FH_PI / 180))
				for (int k = 0; k < 3; k++)
					nx[k] += score[a] * dir[a][k];
		}
		if (nx[0] * nx[0] + nx[1] * nx[1] + nx[2] * nx[2] < 1e-12)
			break;
		bmeq_fh_normalise(nx);
		memcpy(acc, nx, sizeof(acc));
	}
	memcpy(axis, acc, sizeof(axis));
done:
	free(dir);
	free(score);
	memcpy(side->neck_axis, axis, sizeof(axis));
	/* Anatomical proportions (adult means, as the phantom draws them): neck
	 * semi-axes 0.71 and 0.61 of the head radius, the base of the neck 20 mm
	 * beyond the head's surface. */
	side->neck_radius_mm[0] = 0.71 * R;
	side->neck_radius_mm[1] = 0.61 * R;
	side->junction_mm = sqrt(R * R - side->neck_radius_mm[0] * side->neck_radius_mm[0]);
	side->neck_length_mm = R + 20.0;
}

void bmeq_fh_label(const bmeq_grid *g, bmeq_femhead_side *side, const bmeq_fh_neck *nk,
		   uint8_t head_label, uint8_t neck_label, int label_neck, uint8_t *labels)
{
	double inv[16];
	const double *c = side->centre, *ax = nk->axis, *e0 = nk->e0, *e1 = nk->e1;
	double R = side->radius_mm, L = side->neck_length_mm, rn = 0;
	size_t lo[3], hi[3], nh = 0, nn = 0;

	for (int a = 0; a < BMEQ_FH_NECK_NANG; a++)
		rn = nk->rho[a] > rn ? nk->rho[a] : rn;
	double ext = label_neck ? (L > R ? L : R) + rn : R;

	side->head_ml = side->neck_ml = 0;
	if (bmeq_affine_invert(&g->affine[0][0], inv) != BMEQ_OK)
		return;
	/* Voxel-index bounding box of the world cube that holds head and neck. */
	double fmin[3] = {HUGE_VAL, HUGE_VAL, HUGE_VAL}, fmax[3] = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
	for (int corner = 0; corner < 8; corner++) {
		double p[3];

		for (int a = 0; a < 3; a++)
			p[a] = c[a] + ((corner >> a & 1) ? ext : -ext);
		for (int a = 0; a < 3; a++) {
			double f = inv[4 * a] * p[0] + inv[4 * a + 1] * p[1] + inv[4 * a + 2] * p[2] +
				   inv[4 * a + 3];
			fmin[a] = f < fmin[a] ? f : fmin[a];
			fmax[a] = f > fmax[a] ? f : fmax[a];
		}
	}
	for (int a = 0; a < 3; a++) {
		double top = (double)g->dim[a] - 1;

		if (fmax[a] < 0 || fmin[a] > top)
			return;
		lo[a] = fmin[a] < 0 ? 0 : (size_t)floor(fmin[a]);
		hi[a] = fmax[a] > top ? g->dim[a] - 1 : (size_t)ceil(fmax[a]);
	}
	/* Membership of the voxel centre: the partial-volume-neutral choice,
	 * which makes the labelled volume an unbiased estimate of the solid's. */
	for (size_t k = lo[2]; k <= hi[2]; k++)
		for (size_t j = lo[1]; j <= hi[1]; j++)
			for (size_t i = lo[0]; i <= hi[0]; i++) {
				double ijk[3] = {(double)i, (double)j, (double)k}, p[3];
				size_t idx = i + g->dim[0] * (j + g->dim[1] * k);

				if (labels[idx])
					continue;
				bmeq_grid_voxel_to_world(g, ijk, p);
				double d[3] = {p[0] - c[0], p[1] - c[1], p[2] - c[2]};
				double t = d[0] * ax[0] + d[1] * ax[1] + d[2] * ax[2];
				double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];

				if (r2 <= R * R) {
					labels[idx] = head_label;
					nh++;
				} else if (label_neck && t > 0 && t <= L) {
					double q0 = d[0] * e0[0] + d[1] * e0[1] + d[2] * e0[2];
					double q1 = d[0] * e1[0] + d[1] * e1[1] + d[2] * e1[2];
					double q2 = q0 * q0 + q1 * q1;

					/* Outside the largest radius: nothing to look up. */
					if (q2 > rn * rn)
						continue;
					/* The measured radius at this angle, linear
					 * between the sampled angles. */
					double f = atan2(q1, q0) * (BMEQ_FH_NECK_NANG / (2 * FH_PI));
					if (f < 0)
						f += BMEQ_FH_NECK_NANG;
					int a0 = (int)f % BMEQ_FH_NECK_NANG;
					int a1 = (a0 + 1) % BMEQ_FH_NECK_NANG;
					double w = f - floor(f);
					double rr = (1 - w) * nk->rho[a0] + w * nk->rho[a1];

					if (q2 <= rr * rr) {
						labels[idx] = neck_label;
						nn++;
					}
				}
			}
	double vml = fabs(g->spacing[0] * g->spacing[1] * g->spacing[2]) / 1000.0;
	/* Spacing is the column norms; a sheared grid's true voxel volume is the
	 * determinant, so use it. */
	const double (*A)[4] = g->affine;
	double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
		     A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
		     A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
	if (fabs(det) > 0)
		vml = fabs(det) / 1000.0;
	side->head_ml = (double)nh * vml;
	side->neck_ml = (double)nn * vml;
}

void bmeq_femhead_side_move(bmeq_femhead_side *side, const double m[3][4])
{
	double *v[4] = {side->centre, side->neck_axis, side->neck_e0, side->neck_e1};

	for (int q = 0; q < 4; q++) {
		double x[3] = {v[q][0], v[q][1], v[q][2]};
		for (int a = 0; a < 3; a++)
			/* Directions turn; only the centre moves. */
			v[q][a] = m[a][0] * x[0] + m[a][1] * x[1] + m[a][2] * x[2] +
				  (q == 0 ? m[a][3] : 0.0);
	}
}

bmeq_status bmeq_femhead_label_side(const bmeq_grid *g, bmeq_femhead_side *side,
				    uint8_t head_label, uint8_t neck_label, int label_neck,
				    uint8_t *labels)
{
	bmeq_fh_neck nk;

	if (!g || !side || !labels || !(side->radius_mm > 0.0))
		return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_label_side: NULL argument or no head");
	memcpy(nk.axis, side->neck_axis, sizeof(nk.axis));
	memcpy(nk.e0, side->neck_e0, sizeof(nk.e0));
	memcpy(nk.e1, side->neck_e1, sizeof(nk.e1));
	memcpy(nk.rho, side->neck_rho_mm, sizeof(nk.rho));
	nk.measured = 1;
	bmeq_fh_label(g, side, &nk, head_label, neck_label, label_neck, labels);
	return BMEQ_OK;
}
