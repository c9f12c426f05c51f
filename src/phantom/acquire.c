/* acquire.c - simulating one 2D acquisition: the scan grid (orientation,
 * storage flip, slice spacing), thickness-averaged partial-volume sampling of
 * the model, coil bias, scanner scale, Rician noise, and the truth maps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "phantom_internal.h"

#define DEG (3.14159265358979323846 / 180.0)

bmeq_status bmeq_phantom_grid(const bmeq_phantom_acq *q, bmeq_grid *g)
{
	double e[3][3] = {{1, 0, 0}, {0, 0, 1}, {0, 1, 0}}; /* coronal: i R, j S, k A */
	size_t dim[3];
	double sp[3];

	memset(g, 0, sizeof(*g));
	if (!(q->inplane_mm >= 0.05 && q->inplane_mm <= 20.0) ||
	    !(q->thickness_mm >= 0.05 && q->thickness_mm <= 50.0) ||
	    !(q->gap_mm >= 0.0 && q->gap_mm <= 50.0) || !(q->fov_mm[0] > 0.0) ||
	    !(q->fov_mm[1] > 0.0) || q->nslices < 1 || q->nslices > 4096)
		return bmeq_fail(BMEQ_E_ARG, "phantom: acquisition sizes out of range");
	if (q->orient == BMEQ_PHANTOM_AXIAL) {
		double ax[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
		memcpy(e, ax, sizeof(e));
	} else if (q->orient == BMEQ_PHANTOM_OBLIQUE) {
		/* Turn the coronal plane about S-I (towards the neck's anteversion)
		 * and tilt it about A-P. */
		double cz = bmeq_ph_cos(q->oblique_deg * DEG), sz = bmeq_ph_sin(q->oblique_deg * DEG);
		double cy = bmeq_ph_cos(q->oblique_tilt_deg * DEG), sy = bmeq_ph_sin(q->oblique_tilt_deg * DEG);
		for (int a = 0; a < 3; a++) {
			double x = e[a][0], y = e[a][1], z = e[a][2];
			double x1 = cy * x + sy * z, z1 = -sy * x + cy * z;
			e[a][0] = cz * x1 - sz * y;
			e[a][1] = sz * x1 + cz * y;
			e[a][2] = z1;
		}
	} else if (q->orient != BMEQ_PHANTOM_CORONAL) {
		return bmeq_fail(BMEQ_E_ARG, "phantom: unknown orientation %d", q->orient);
	}
	if (q->flip_lr)
		for (int i = 0; i < 3; i++)
			e[0][i] = -e[0][i];
	dim[0] = (size_t)lround(q->fov_mm[0] / q->inplane_mm);
	dim[1] = (size_t)lround(q->fov_mm[1] / q->inplane_mm);
	dim[2] = q->nslices;
	if (dim[0] < 1 || dim[1] < 1 || dim[0] > 4096 || dim[1] > 4096 ||
	    dim[0] * dim[1] * dim[2] > BMEQ_MAX_VOXELS)
		return bmeq_fail(BMEQ_E_ARG, "phantom: %zux%zux%zu voxels is out of range", dim[0],
				 dim[1], dim[2]);
	sp[0] = sp[1] = q->inplane_mm;
	sp[2] = q->thickness_mm + q->gap_mm;
	for (int a = 0; a < 3; a++) {
		g->dim[a] = dim[a];
		for (int r = 0; r < 3; r++)
			g->affine[r][a] = e[a][r] * sp[a];
	}
	for (int r = 0; r < 3; r++) {
		double o = q->fov_centre[r];
		for (int a = 0; a < 3; a++)
			o -= g->affine[r][a] * 0.5 * (double)(dim[a] - 1);
		g->affine[r][3] = o;
	}
	g->affine[3][3] = 1.0;
	g->xform_code = 1; /* NIFTI_XFORM_SCANNER_ANAT */
	bmeq_grid_update_spacing(g);
	return BMEQ_OK;
}

void bmeq_phantom_scan_destroy(bmeq_phantom_scan *s)
{
	if (!s)
		return;
	bmeq_volume_destroy(s->image);
	free(s->labels);
	free(s->edema);
	free(s);
}

/* The voxels i in [lo, hi] of a row p0 + i d whose boxes may reach the
 * bounding sphere (c, rad). Returns 0 when none. */
static int row_range(const double p0[3], const double d[3], size_t n, const double c[3], double rad,
		     long *lo, long *hi)
{
	double w[3] = {p0[0] - c[0], p0[1] - c[1], p0[2] - c[2]};
	double a = bmeq_ph_dot(d, d), b = bmeq_ph_dot(w, d), cc = bmeq_ph_dot(w, w) - rad * rad;
	double disc = b * b - a * cc;

	if (disc < 0.0)
		return 0;
	double r = sqrt(disc), t0 = (-b - r) / a, t1 = (-b + r) / a;
	if (t1 < 0.0 || t0 > (double)(n - 1))
		return 0;
	*lo = t0 < 0.0 ? 0 : (long)floor(t0);
	*hi = t1 > (double)(n - 1) ? (long)(n - 1) : (long)ceil(t1);
	return 1;
}

static void voxel_labels(const bmeq_ph_accum *a, uint8_t *lab, uint8_t *ed)
{
	*lab = 0;
	*ed = 0;
	/* A voxel belongs to a side's head or neck when at least half of it
	 * does; which of the two is decided by the larger share. */
	for (int s = 0; s < 2; s++) {
		double fh = a->region[1 + s], fn = a->region[3 + s];
		double eh = a->edema[1 + s], en = a->edema[3 + s];
		if (fh + fn >= 0.5)
			*lab = (uint8_t)(fh >= fn ? 1 + s : 3 + s);
		if (eh + en >= 0.5)
			*ed = (*lab == 1 + s || *lab == 3 + s) ? *lab : (uint8_t)(eh >= en ? 1 + s : 3 + s);
	}
}

/* The log of the coil bias at world point w: a smooth polynomial. */
static double log_bias_at(const bmeq_phantom_acq *q, const double w[3])
{
	double x = (w[0] - q->fov_centre[0]) / 150.0, y = (w[1] - q->fov_centre[1]) / 150.0;
	double z = (w[2] - q->fov_centre[2]) / 150.0;
	const double *c = q->bias_coef;

	return c[0] * x + c[1] * y + c[2] * z + c[3] * x * x + c[4] * y * y + c[5] * z * z +
	       c[6] * x * y + c[7] * x * z + c[8] * y * z;
}

/* The bias along row (j, k), exponentiated every BIAS_STEP voxels and
 * interpolated linearly in between (the field varies over centimetres). */
#define BIAS_STEP 8
static void row_bias(const bmeq_phantom_acq *q, const bmeq_grid *g, size_t j, size_t k,
		     double *out)
{
	size_t n = g->dim[0];

	for (size_t i0 = 0; i0 < n; i0 += BIAS_STEP) {
		size_t i1 = i0 + BIAS_STEP < n ? i0 + BIAS_STEP : n - 1;
		double w0[3], w1[3], a[3] = {(double)i0, (double)j, (double)k};
		double b[3] = {(double)i1, (double)j, (double)k};
		bmeq_grid_voxel_to_world(g, a, w0);
		bmeq_grid_voxel_to_world(g, b, w1);
		double e0 = bmeq_ph_exp(log_bias_at(q, w0)), e1 = bmeq_ph_exp(log_bias_at(q, w1));
		size_t end = i0 + BIAS_STEP < n ? i0 + BIAS_STEP : n;
		for (size_t i = i0; i < end; i++) {
			double f = i1 > i0 ? (double)(i - i0) / (double)(i1 - i0) : 0.0;
			out[i] = e0 + (e1 - e0) * f;
		}
	}
}

/* A primitive that may touch a row: the voxel range its bounding sphere
 * reaches, and a cache of its state. The signed distance bound is
 * 1-Lipschitz, so a primitive whose surface is d mm from a voxel centre stays
 * wholly in (or out of) the boxes of the next (d - half-diagonal) / step
 * voxels of the row without being evaluated again. */
typedef struct rowcand {
	uint16_t idx;
	int cacheable;
	int inside;
	long lo, hi, next;
} rowcand;

/* REALISTIC edema of the voxel centred at pt: per side, the mean over the
 * voxel's sub-points (1 mm slabs through the slice, 2 x 2 in-plane, as thick
 * slices average it) of the edema excess (peak ratio - 1) x graded edge x
 * patchy texture, into ex[side], and of the graded edge alone into pr_out
 * (for T1). Lesion primitives are rc[0..nrc) in range of voxel li. */
static void realistic_edema(const bmeq_ph_model *m, const rowcand *rc, size_t nrc, long li,
			    const double pt[3], double half[3][3], double hd, int ns,
			    const int want[2], double ex[2], double pr_out[2])
{
	uint16_t les[2][BMEQ_PHANTOM_MAX_LESIONS * 2];
	size_t nl[2] = {0, 0};

	ex[0] = ex[1] = pr_out[0] = pr_out[1] = 0.0;
	for (size_t c = 0; c < nrc; c++) {
		const bmeq_ph_prim *pr = &m->prim[rc[c].idx];
		if (pr->role != BMEQ_PH_LESION || pr->group > 1 || !want[pr->group] ||
		    li < rc[c].lo || li > rc[c].hi || nl[pr->group] >= BMEQ_PHANTOM_MAX_LESIONS * 2)
			continue;
		/* 1-Lipschitz: no sub-point of this voxel is within the edge. */
		if (bmeq_ph_prim_eval(pr, pt) >= 0.5 * pr->edge + hd)
			continue;
		les[pr->group][nl[pr->group]++] = rc[c].idx;
	}
	if (nl[0] == 0 && nl[1] == 0)
		return;
	double n = 0.0;
	for (int k = 0; k < ns; k++) {
		double fk = (2.0 * k + 1.0) / ns - 1.0;
		for (int j = 0; j < 2; j++)
			for (int i = 0; i < 2; i++) {
				double fi = i ? 0.5 : -0.5, fj = j ? 0.5 : -0.5, q[3];
				for (int x = 0; x < 3; x++)
					q[x] = pt[x] + fi * half[0][x] + fj * half[1][x] +
					       fk * half[2][x];
				n += 1.0;
				for (int s = 0; s < 2; s++) {
					double best = 0.0, bw = 0.0;
					for (size_t l = 0; l < nl[s]; l++) {
						const bmeq_ph_prim *pr = &m->prim[les[s][l]];
						double w = bmeq_ph_edema_profile(bmeq_ph_prim_eval(pr, q),
										 pr->edge);
						if (w * pr->excess > best)
							best = w * pr->excess;
						if (w > bw)
							bw = w;
					}
					if (best > 0.0)
						ex[s] += best * bmeq_ph_edema_patch(m, s, q);
					pr_out[s] += bw;
				}
			}
	}
	for (int s = 0; s < 2; s++) {
		ex[s] /= n;
		pr_out[s] /= n;
	}
}

/* What a failed fat suppression gives back at full level (strength 1): fat
 * and fatty marrow about as bright as on a T2-weighted image without fat
 * suppression, red marrow (half fat) less. */
#define FATSAT_FAT 1.5
#define FATSAT_MARROW 1.2
#define FATSAT_RED_MARROW 0.9
/* The STIR level that the acquisition's SNR refers to (add_noise). */
#define STIR_NOISE_LEVEL 0.9

double bmeq_ph_fatsat_profile(const bmeq_phantom_fatsat *f, double d)
{
	double lo = f->half_mm - 0.5 * f->ramp_mm, hi = f->half_mm + 0.5 * f->ramp_mm;

	if (f->edge == 0 || d >= hi)
		return 0.0;
	if (d <= lo)
		return f->strength;
	return f->strength * 0.5 * (1.0 + bmeq_ph_cos(3.14159265358979323846 * (d - lo) / f->ramp_mm));
}

/* Distance (mm) of continuous voxel index i from the failure's edge of the
 * field of view: the outer face of the edge voxels is at i = -0.5 or
 * dim - 0.5. */
static double fatsat_distance(const bmeq_phantom_fatsat *f, const bmeq_grid *g, double i)
{
	double d = f->edge < 0 ? i + 0.5 : (double)g->dim[0] - 0.5 - i;

	return d * g->spacing[0];
}

double bmeq_phantom_fatsat_level(const bmeq_phantom_fatsat *f, const bmeq_grid *g,
				 const double w[3])
{
	double ijk[3];

	if (f->edge == 0 || bmeq_grid_world_to_voxel(g, w, ijk) != BMEQ_OK)
		return 0.0;
	return bmeq_ph_fatsat_profile(f, fatsat_distance(f, g, ijk[0]));
}

/* Fills image, labels and truth maps voxel by voxel. fsl (NULL: none) holds
 * the fat-suppression failure's level per voxel index i. */
static void render(const bmeq_phantom_params *p, const bmeq_ph_model *m, bmeq_phantom_scan *sc,
		   double W[4][4], double *bias, const double *fsl)
{
	const bmeq_grid *g = &sc->image->grid;
	const bmeq_phantom_acq *q = &p->acq;
	double ax[4][3]; /* body-frame voxel axes i, j, k and the origin */
	double half[3][3];
	rowcand rc[BMEQ_PH_MAX_PRIM];
	uint16_t cand[BMEQ_PH_MAX_PRIM];
	double s0[BMEQ_PH_MAX_PRIM];
	bmeq_ph_plan plan;
	int ss = q->supersample > 0 ? (q->supersample > 8 ? 8 : q->supersample) : 3;
	int ns = (int)ceil(q->thickness_mm / 1.0);

	/* body = R^T (world - t) */
	for (int a = 0; a < 4; a++)
		for (int r = 0; r < 3; r++) {
			double v = 0.0;
			for (int x = 0; x < 3; x++)
				v += W[x][r] * (g->affine[x][a] - (a == 3 ? W[x][3] : 0.0));
			ax[a][r] = v;
		}
	double klen = sqrt(bmeq_ph_dot(ax[2], ax[2]));
	for (int r = 0; r < 3; r++) {
		half[0][r] = 0.5 * ax[0][r];
		half[1][r] = 0.5 * ax[1][r];
		half[2][r] = 0.5 * q->thickness_mm * ax[2][r] / klen;
	}
	double hd = sqrt(bmeq_ph_dot(half[0], half[0]) + bmeq_ph_dot(half[1], half[1]) +
			 bmeq_ph_dot(half[2], half[2]));
	double step = sqrt(bmeq_ph_dot(ax[0], ax[0]));
	/* Slices are thick: first split through the slice into ~1 mm slabs,
	 * then each slab in-plane ss x ss; sample points are the leaves. */
	memset(&plan, 0, sizeof(plan));
	plan.nlevels = 2;
	plan.split[0][0] = plan.split[0][1] = 1;
	plan.split[0][2] = ns < 1 ? 1 : ns;
	plan.split[1][0] = plan.split[1][1] = ss;
	plan.split[1][2] = 1;

	size_t ni = g->dim[0], nj = g->dim[1], nk = g->dim[2];
	float *img = sc->image->data;
	for (size_t k = 0; k < nk; k++) {
		for (size_t j = 0; j < nj; j++) {
			double p0[3];
			size_t nrc = 0;
			for (int r = 0; r < 3; r++)
				p0[r] = ax[3][r] + (double)j * ax[1][r] + (double)k * ax[2][r];
			for (size_t c = 0; c < m->nprim; c++) {
				const bmeq_ph_prim *pr = &m->prim[c];
				long lo = 0, hi = (long)ni - 1;
				if (pr->br >= 0.0 &&
				    !row_range(p0, ax[0], ni, pr->bc, pr->br + hd, &lo, &hi))
					continue;
				rc[nrc].idx = (uint16_t)c;
				rc[nrc].lo = lo;
				rc[nrc].hi = hi;
				rc[nrc].next = lo;
				rc[nrc].inside = 0;
				/* Lesions need their distance at every voxel (soft edge). */
				rc[nrc].cacheable = pr->role != BMEQ_PH_LESION;
				nrc++;
			}
			size_t base = (k * nj + j) * ni;
			row_bias(q, g, j, k, bias);
			for (size_t i = 0; i < ni; i++) {
				double pt[3];
				size_t nc = 0;
				uint32_t masks[3] = {0, 0, 0};
				bmeq_ph_accum acc;
				long li = (long)i;
				for (int r = 0; r < 3; r++)
					pt[r] = p0[r] + (double)i * ax[0][r];
				for (size_t c = 0; c < nrc; c++) {
					rowcand *q1 = &rc[c];
					const bmeq_ph_prim *pr = &m->prim[q1->idx];
					if (li < q1->lo || li > q1->hi)
						continue;
					if (q1->cacheable && li < q1->next) {
						if (q1->inside)
							masks[pr->group] |= 1u << pr->role;
						continue;
					}
					double s = bmeq_ph_prim_eval(pr, pt);
					if (q1->cacheable && fabs(s) > hd) {
						double kk = floor((fabs(s) - hd) / step - 1e-9);
						q1->inside = s < 0.0;
						q1->next = li + 1 + (kk > 0.0 ? (long)(kk < 1e9 ? kk : 1e9) : 0);
						if (q1->inside)
							masks[pr->group] |= 1u << pr->role;
						continue;
					}
					s0[nc] = s;
					cand[nc++] = q1->idx;
				}
				memset(&acc, 0, sizeof(acc));
				bmeq_ph_sample_box(m, &plan, pt, half, cand, s0, nc, masks, 1.0, &acc);

				double we[2] = {0.0, 0.0}, ex[2] = {0.0, 0.0};
				if (m->edema_model == BMEQ_PHANTOM_EDEMA_BRIGHT) {
					/* The earlier model, kept bit for bit: the edge
					 * sampled at the voxel centre, one ratio per hip. */
					for (size_t c = 0; c < nc; c++) {
						const bmeq_ph_prim *pr = &m->prim[cand[c]];
						if (pr->role == BMEQ_PH_LESION && pr->group < 2) {
							double w = bmeq_ph_edema_weight(s0[c], pr->margin);
							if (w > we[pr->group])
								we[pr->group] = w;
						}
					}
					for (int s = 0; s < 2; s++)
						ex[s] = (m->edema_ratio[s] - 1.0) * we[s];
				} else {
					const int want[2] = {acc.marrow[0] > 0.0, acc.marrow[1] > 0.0};
					if (want[0] || want[1])
						realistic_edema(m, rc, nrc, li, pt, half, hd, ns < 1 ? 1 : ns,
								want, ex, we);
				}
				double v = acc.signal;
				double mi = m->intensity[BMEQ_PH_T_MARROW];
				double ri = m->intensity[BMEQ_PH_T_RED_MARROW];
				if (fsl && fsl[i] > 0.0) {
					/* Fat-suppression failure: the nulled fat signal
					 * comes partly back, in fat and in marrow. */
					double l = fsl[i];
					v += acc.fat * l * (FATSAT_FAT - m->intensity[BMEQ_PH_T_FAT]);
					mi += l * (FATSAT_MARROW - mi);
					ri += l * (FATSAT_RED_MARROW - ri);
				}
				if (acc.marrow[0] > 0.0 || acc.marrow[1] > 0.0 || acc.red_marrow > 0.0) {
					double tex = bmeq_ph_texture(m, pt);
					for (int s = 0; s < 2; s++) {
						double f = m->contrast == BMEQ_PHANTOM_T1 ? 1.0 - 0.6 * we[s]
											  : 1.0 + ex[s];
						v += acc.marrow[s] * mi * f * tex;
					}
					v += acc.red_marrow * ri * tex;
				}
				img[base + i] = (float)(v * bias[i] * q->scanner_scale);
				voxel_labels(&acc, &sc->labels[base + i], &sc->edema[base + i]);
			}
		}
	}
}

static void add_noise(const bmeq_phantom_params *p, const bmeq_ph_model *m, bmeq_volume *v)
{
	const bmeq_phantom_acq *q = &p->acq;
	size_t n = bmeq_grid_nvox(&v->grid);
	bmeq_ph_rng rng;

	if (!(q->snr > 0.0))
		return;
	/* Rician: the magnitude of the signal plus complex Gaussian noise. SNR is
	 * defined against an intermediate level: the T1's muscle, and on a STIR
	 * the classic table's muscle level 0.9 whatever the tissue table, so that
	 * the real table's darker muscle does not make its noise smaller (normal
	 * marrow, 0.42, has about half the stated SNR on both tables). */
	double ref = m->contrast == BMEQ_PHANTOM_T1 ? m->intensity[BMEQ_PH_T_MUSCLE]
						    : STIR_NOISE_LEVEL;
	double sigma = q->scanner_scale * ref / q->snr;
	bmeq_ph_rng_seed(&rng, q->noise_seed, 0x6e6f697365ull, 0);
	for (size_t i = 0; i < n; i++) {
		double n1, n2;
		bmeq_ph_rng_normal2(&rng, &n1, &n2);
		double re = v->data[i] + sigma * n1, im = sigma * n2;
		v->data[i] = (float)sqrt(re * re + im * im);
	}
}

static bmeq_status make_truth(const bmeq_phantom_params *p, const bmeq_ph_model *m,
			      bmeq_phantom_scan *sc)
{
	const bmeq_grid *g = &sc->image->grid;
	size_t n = bmeq_grid_nvox(g);
	size_t cnt[5] = {0}, ecnt[5] = {0};
	double vox_ml;
	double det = g->affine[0][0] * (g->affine[1][1] * g->affine[2][2] - g->affine[1][2] * g->affine[2][1]) -
		     g->affine[0][1] * (g->affine[1][0] * g->affine[2][2] - g->affine[1][2] * g->affine[2][0]) +
		     g->affine[0][2] * (g->affine[1][0] * g->affine[2][1] - g->affine[1][1] * g->affine[2][0]);

	vox_ml = fabs(det) / 1000.0;
	for (size_t i = 0; i < n; i++) {
		cnt[sc->labels[i]]++;
		ecnt[sc->edema[i]]++;
	}
	for (int s = 0; s < 2; s++) {
		bmeq_phantom_side_truth *t = &sc->truth[s];
		const bmeq_phantom_hip *h = &p->anat.hip[s];
		bmeq_status st;
		bmeq_ph_truth_volumes(m, h, s, t);
		t->head_grid_ml = (double)cnt[1 + s] * vox_ml;
		t->neck_grid_ml = (double)cnt[3 + s] * vox_ml;
		t->edema_head_grid_ml = (double)ecnt[1 + s] * vox_ml;
		t->edema_neck_grid_ml = (double)ecnt[3 + s] * vox_ml;
		st = bmeq_ph_count_components(sc->edema, g->dim, 1 + s, 3 + s, &t->lesion_count);
		if (st != BMEQ_OK)
			return st;
		for (int r = 0; r < 3; r++)
			t->head_centre_ras[r] = sc->world_from_body[r][0] * h->head_centre[0] +
						sc->world_from_body[r][1] * h->head_centre[1] +
						sc->world_from_body[r][2] * h->head_centre[2] +
						sc->world_from_body[r][3];
		t->head_radius_mm = h->head_radius;
	}
	return BMEQ_OK;
}

bmeq_status bmeq_phantom_scan_make(const bmeq_phantom_params *p, bmeq_phantom_scan **out)
{
	bmeq_ph_model *m;
	bmeq_phantom_scan *sc;
	bmeq_grid g;
	bmeq_status st;
	size_t n;

	*out = NULL;
	if (!(p->acq.scanner_scale > 0.0) || !isfinite(p->acq.scanner_scale) ||
	    !isfinite(p->acq.snr))
		return bmeq_fail(BMEQ_E_ARG, "phantom: scanner scale must be positive");
	/* Positions and angles must be finite, or voxel indices become garbage. */
	const bmeq_phantom_acq *q = &p->acq;
	double chk = q->oblique_deg + q->oblique_tilt_deg;
	for (int i = 0; i < 3; i++)
		chk += q->fov_centre[i] + q->rotation_deg[i] + q->translation_mm[i];
	for (int i = 0; i < 9; i++)
		chk += q->bias_coef[i];
	for (int s = 0; s < 2; s++) {
		const bmeq_phantom_hip *h = &p->anat.hip[s];
		chk += h->head_centre[0] + h->head_centre[1] + h->head_centre[2] + h->effusion_mm +
		       h->edema_scale + h->neck_shaft_deg + h->anteversion_deg + h->adduction_deg;
		for (int l = 0; l < h->nlesions && l < BMEQ_PHANTOM_MAX_LESIONS; l++)
			for (int i = 0; i < 3; i++)
				chk += h->lesion[l].centre[i] + h->lesion[l].radii[i] +
				       h->lesion[l].margin_mm;
	}
	if (!isfinite(chk))
		return bmeq_fail(BMEQ_E_ARG, "phantom: a position, angle or size is not finite");
	const bmeq_phantom_fatsat *fs = &q->fatsat;
	if (fs->edge != 0 &&
	    ((fs->edge != -1 && fs->edge != 1) || !(fs->half_mm > 0.0 && fs->half_mm < 1e4) ||
	     !(fs->ramp_mm > 0.0 && fs->ramp_mm < 1e4) || !(fs->strength >= 0.0 && fs->strength <= 1.0)))
		return bmeq_fail(BMEQ_E_ARG, "phantom: fat-suppression failure out of range");
	if (fs->edge != 0 && q->contrast != BMEQ_PHANTOM_STIR)
		return bmeq_fail(BMEQ_E_ARG, "phantom: a fat-suppression failure needs a STIR");
	st = bmeq_phantom_grid(&p->acq, &g);
	if (st != BMEQ_OK)
		return st;
	m = malloc(sizeof(*m));
	sc = calloc(1, sizeof(*sc));
	if (!m || !sc) {
		free(m);
		free(sc);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	st = bmeq_ph_model_build(&p->anat, p->acq.contrast, m);
	if (st != BMEQ_OK)
		goto fail;
	n = bmeq_grid_nvox(&g);
	st = bmeq_volume_create(&g, &sc->image);
	if (st != BMEQ_OK)
		goto fail;
	sc->labels = malloc(n);
	sc->edema = malloc(n);
	if (!sc->labels || !sc->edema) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	bmeq_ph_rigid(&p->acq, sc->world_from_body);
	double *bias = malloc(g.dim[0] * sizeof(*bias));
	double *fsl = fs->edge != 0 ? malloc(g.dim[0] * sizeof(*fsl)) : NULL;
	if (!bias || (fs->edge != 0 && !fsl)) {
		free(bias);
		free(fsl);
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; fsl && i < g.dim[0]; i++)
		fsl[i] = bmeq_ph_fatsat_profile(fs, fatsat_distance(fs, &g, (double)i));
	render(p, m, sc, sc->world_from_body, bias, fsl);
	free(bias);
	free(fsl);
	add_noise(p, m, sc->image);
	st = make_truth(p, m, sc);
	if (st != BMEQ_OK)
		goto fail;
	free(m);
	*out = sc;
	return BMEQ_OK;
fail:
	free(m);
	bmeq_phantom_scan_destroy(sc);
	return st;
}
