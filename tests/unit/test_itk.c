/* test_itk.c - the ITK bridge: RAS<->LPS geometry, resampling, smoothing,
 * N4 bias correction, rigid registration, connected components and the
 * error paths (sheared grids, NaNs, empty masks, disjoint images). */
#include <stdlib.h>
#include <string.h>

#include "../../src/itk/itk_internal.h"
#include "check.h"
#include "itk_phantom.h"

static void test_geometry(void)
{
	bmeq_grid g, back;
	bmeq_itk_geometry geo;
	const double c[3] = {-40.0, 10.0, 5.0};

	/* Known case: the coronal LSP grid. In LPS the x and y rows flip sign:
	 * i -> +L becomes +x, k -> P becomes +y. */
	itk_phantom_grid(&g, 10, 12, 6, 0.9, c);
	CHECK(bmeq_itk_grid_to_lps(&g, &geo) == BMEQ_OK);
	CHECK_NEAR(geo.spacing[0], 0.9, 1e-12);
	CHECK_NEAR(geo.spacing[1], 0.9, 1e-12);
	CHECK_NEAR(geo.spacing[2], 5.0, 1e-12);
	CHECK_NEAR(geo.direction[0][0], 1.0, 1e-12); /* i -> L = +x in LPS */
	CHECK_NEAR(geo.direction[2][1], 1.0, 1e-12); /* j -> S = +z */
	CHECK_NEAR(geo.direction[1][2], 1.0, 1e-12); /* k -> P = +y in LPS */
	CHECK_NEAR(geo.origin[0], -g.affine[0][3], 1e-12);
	CHECK_NEAR(geo.origin[1], -g.affine[1][3], 1e-12);
	CHECK_NEAR(geo.origin[2], g.affine[2][3], 1e-12);
	CHECK(bmeq_itk_grid_from_lps(&geo, g.dim, &back) == BMEQ_OK);
	for (int r = 0; r < 4; r++)
		for (int k = 0; k < 4; k++)
			CHECK_NEAR(back.affine[r][k], g.affine[r][k], 1e-12);

	/* Round trip of an oblique grid (rotation about z by 30 degrees). */
	bmeq_rigid rot;
	const double z[3] = {0, 0, 1}, o[3] = {0, 0, 0};
	CHECK(bmeq_rigid_from_axis_angle(&rot, z, 30.0, o, o) == BMEQ_OK);
	bmeq_grid ob = g;
	for (int r = 0; r < 3; r++)
		for (int k = 0; k < 3; k++) {
			ob.affine[r][k] = 0.0;
			for (int m = 0; m < 3; m++)
				ob.affine[r][k] += rot.rotation[r][m] * g.affine[m][k];
		}
	CHECK(bmeq_itk_grid_to_lps(&ob, &geo) == BMEQ_OK);
	CHECK(bmeq_itk_grid_from_lps(&geo, ob.dim, &back) == BMEQ_OK);
	for (int r = 0; r < 4; r++)
		for (int k = 0; k < 4; k++)
			CHECK_NEAR(back.affine[r][k], ob.affine[r][k], 1e-12);

	/* A rigid's inverse undoes it: x -> R x + d -> x, for a turn about an
	 * off-origin centre with a shift. */
	bmeq_rigid tr;
	const double axis[3] = {0.3, -0.5, 0.8}, ctr[3] = {12, -40, 7}, mv[3] = {3, -2, 5};
	CHECK(bmeq_rigid_from_axis_angle(&tr, axis, 11.0, ctr, mv) == BMEQ_OK);
	double fwd[4][4], inv[3][4];
	bmeq_rigid_matrix(&tr, fwd);
	bmeq_rigid_inverse_matrix(&tr, inv);
	const double x[3] = {-95.0, 10.0, 33.0};
	double y[3], xb[3];
	for (int r = 0; r < 3; r++)
		y[r] = fwd[r][0] * x[0] + fwd[r][1] * x[1] + fwd[r][2] * x[2] + fwd[r][3];
	for (int r = 0; r < 3; r++) {
		xb[r] = inv[r][0] * y[0] + inv[r][1] * y[1] + inv[r][2] * y[2] + inv[r][3];
		CHECK_NEAR(xb[r], x[r], 1e-9);
	}
	CHECK(fabs(y[0] - x[0]) + fabs(y[1] - x[1]) + fabs(y[2] - x[2]) > 1.0);

	/* Shear and a projective bottom row are refused. */
	bmeq_grid sh = g;
	sh.affine[0][1] = 0.3;
	CHECK(bmeq_itk_grid_to_lps(&sh, &geo) == BMEQ_E_UNSUPPORTED);
	CHECK(strstr(bmeq_last_error(), "shear") != NULL);
	sh = g;
	sh.affine[3][0] = 0.1;
	CHECK(bmeq_itk_grid_to_lps(&sh, &geo) == BMEQ_E_UNSUPPORTED);
	sh = g;
	sh.affine[1][2] = 0.0;
	CHECK(bmeq_itk_grid_to_lps(&sh, &geo) == BMEQ_E_ARG);
}

static void test_resample(void)
{
	bmeq_grid g;
	const double c[3] = {0, 0, 0};
	bmeq_volume *v = NULL, *out = NULL;

	itk_phantom_grid(&g, 40, 36, 8, 2.0, c);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_OK);
	if (!v)
		return;
	const size_t n = bmeq_grid_nvox(&g);
	for (size_t i = 0; i < n; i++)
		v->data[i] = (float)((i * 7919) % 1000);

	/* Identity onto the same grid reproduces the image. */
	CHECK(bmeq_itk_resample(v, &g, NULL, -1.0f, &out) == BMEQ_OK);
	if (out) {
		double worst = 0.0;
		for (size_t i = 0; i < n; i++)
			worst = fmax(worst, fabs(out->data[i] - v->data[i]));
		CHECK(worst < 1e-3);
		bmeq_volume_destroy(out);
		out = NULL;
	}

	/* A translation of one voxel along i: t maps the target to the source,
	 * so out[i] = in[i + 1], and the last column falls outside (fill). */
	bmeq_rigid t;
	const double d[3] = {g.affine[0][0], g.affine[1][0], g.affine[2][0]};
	bmeq_rigid_translation(&t, d);
	CHECK(bmeq_itk_resample(v, &g, &t, -1.0f, &out) == BMEQ_OK);
	if (out) {
		CHECK_NEAR(out->data[5 + 40 * 3], v->data[6 + 40 * 3], 1e-3);
		CHECK_NEAR(out->data[38 + 40 * 30 + 40 * 36 * 4], v->data[39 + 40 * 30 + 40 * 36 * 4], 1e-3);
		CHECK_NEAR(out->data[39 + 40 * 2], -1.0, 1e-6);
		bmeq_volume_destroy(out);
		out = NULL;
	}

	/* A box of the target, through an oblique rigid onto a grid of its own:
	 * every voxel as the whole-grid resampling gives it, to the bit, the
	 * box's grid the target's moved to its first voxel. */
	{
		bmeq_rigid rt;
		bmeq_grid tg;
		const double ax[3] = {0.3, 1.0, 0.2}, ctr[3] = {3.0, -2.0, 1.0},
			     mv[3] = {1.7, -0.9, 2.3};
		itk_phantom_grid(&tg, 53, 41, 9, 1.7, c);
		bmeq_volume *whole = NULL, *part = NULL;
		CHECK(bmeq_rigid_from_axis_angle(&rt, ax, 7.0, ctr, mv) == BMEQ_OK);
		CHECK(bmeq_itk_resample(v, &tg, &rt, NAN, &whole) == BMEQ_OK);
		const size_t blo[3] = {2, 3, 2}, bhi[3] = {40, 37, 6};
		CHECK(bmeq_itk_resample_box(v, &tg, blo, bhi, &rt, NAN, &part) == BMEQ_OK);
		if (whole && part) {
			size_t bad = 0, nan_seen = 0, j = 0;
			for (size_t z = blo[2]; z <= bhi[2]; z++)
				for (size_t y = blo[1]; y <= bhi[1]; y++)
					for (size_t x = blo[0]; x <= bhi[0]; x++, j++) {
						float a = whole->data[(z * 41 + y) * 53 + x], b = part->data[j];
						nan_seen += isnan(a);
						bad += isnan(a) ? !isnan(b) : memcmp(&a, &b, sizeof(a)) != 0;
					}
			CHECK(j == bmeq_grid_nvox(&part->grid) && bad == 0);
			CHECK(nan_seen > 0 && nan_seen < j); /* the box reaches past the source */
			const double ijk[3] = {0, 0, 0}, tijk[3] = {2, 3, 2};
			double p0[3], p1[3];
			bmeq_grid_voxel_to_world(&part->grid, ijk, p0);
			bmeq_grid_voxel_to_world(&tg, tijk, p1);
			for (int a = 0; a < 3; a++)
				CHECK_NEAR(p0[a], p1[a], 1e-9);
			CHECK(part->grid.dim[0] == 39 && part->grid.dim[1] == 35 && part->grid.dim[2] == 5);
		}
		bmeq_volume_destroy(whole);
		bmeq_volume_destroy(part);
		const size_t off[3] = {40, 37, 9};
		CHECK(bmeq_itk_resample_box(v, &tg, blo, off, &rt, NAN, &part) == BMEQ_E_ARG);
		CHECK(part == NULL);
		CHECK(bmeq_itk_resample_box(v, &tg, bhi, blo, &rt, NAN, &part) == BMEQ_E_ARG);
	}

	/* Labels: nearest neighbour, identity exact, u8 and u16. */
	uint8_t *l8 = malloc(n), *o8 = malloc(n);
	uint16_t *l16 = malloc(n * 2), *o16 = malloc(n * 2);
	if (l8 && o8 && l16 && o16) {
		for (size_t i = 0; i < n; i++) {
			l8[i] = (uint8_t)(i % 7);
			l16[i] = (uint16_t)(i % 3000);
		}
		CHECK(bmeq_itk_resample_labels_u8(l8, &g, &g, NULL, o8) == BMEQ_OK);
		CHECK(memcmp(l8, o8, n) == 0);
		CHECK(bmeq_itk_resample_labels_u16(l16, &g, &g, NULL, o16) == BMEQ_OK);
		CHECK(memcmp(l16, o16, n * 2) == 0);
		CHECK(bmeq_itk_resample_labels_u16(l16, &g, &g, &t, o16) == BMEQ_OK);
		CHECK(o16[7 + 40 * 9] == l16[8 + 40 * 9]);
		CHECK(o16[39] == 0);
		/* Onto a coarser grid covering the same field. */
		bmeq_grid h = g;
		h.dim[0] = 20;
		for (int r = 0; r < 3; r++)
			h.affine[r][0] *= 2.0;
		bmeq_grid_update_spacing(&h);
		CHECK(bmeq_itk_resample_labels_u8(l8, &g, &h, NULL, o8) == BMEQ_OK);
		CHECK(o8[3] == l8[6]);
	}
	free(l8);
	free(o8);
	free(l16);
	free(o16);

	/* Sheared target or source, bad arguments: a status, no crash. */
	bmeq_grid sh = g;
	sh.affine[2][0] = 0.5;
	CHECK(bmeq_itk_resample(v, &sh, NULL, 0.0f, &out) == BMEQ_E_UNSUPPORTED);
	CHECK(out == NULL);
	bmeq_grid zero = g;
	zero.dim[1] = 0;
	CHECK(bmeq_itk_resample(v, &zero, NULL, 0.0f, &out) == BMEQ_E_ARG);
	bmeq_rigid bad;
	bmeq_rigid_identity(&bad);
	bad.translation[0] = NAN;
	CHECK(bmeq_itk_resample(v, &g, &bad, 0.0f, &out) == BMEQ_E_ARG);
	bmeq_volume_destroy(v);
}

static void test_smooth(void)
{
	bmeq_grid g;
	const double c[3] = {0, 0, 0};
	bmeq_volume *v = NULL, *s = NULL, *gm = NULL;

	itk_phantom_grid(&g, 32, 32, 12, 1.0, c);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_OK);
	if (!v)
		return;
	/* A ramp of 2 per mm along world z (voxel axis j): smoothing keeps it,
	 * the gradient magnitude is 2 away from the borders. */
	for (size_t k = 0; k < 12; k++)
		for (size_t j = 0; j < 32; j++)
			for (size_t i = 0; i < 32; i++)
				v->data[(k * 32 + j) * 32 + i] = (float)(2.0 * (double)j);
	CHECK(bmeq_itk_smooth(v, 1.5, &s) == BMEQ_OK);
	CHECK(bmeq_itk_gradient_magnitude(v, 1.5, &gm) == BMEQ_OK);
	if (s && gm) {
		size_t q = (6 * 32 + 16) * 32 + 16;
		CHECK_NEAR(s->data[q], v->data[q], 0.05);
		CHECK_NEAR(gm->data[q], 2.0, 0.05);
	}
	bmeq_volume_destroy(s);
	bmeq_volume_destroy(gm);
	CHECK(bmeq_itk_smooth(v, 0.0, &s) == BMEQ_E_ARG);
	CHECK(bmeq_itk_smooth(v, NAN, &s) == BMEQ_E_ARG);
	bmeq_volume_destroy(v);
}

/* Coefficient of variation of v over voxels with sel[i] set. */
static double cov(const float *v, const uint8_t *sel, size_t n)
{
	double s = 0, s2 = 0, m = 0;
	for (size_t i = 0; i < n; i++)
		if (sel[i]) {
			s += v[i];
			s2 += (double)v[i] * v[i];
			m++;
		}
	double mean = s / m;
	return sqrt(fmax(0.0, s2 / m - mean * mean)) / mean;
}

static void test_n4(void)
{
	bmeq_grid g;
	const double c[3] = {0, 0, 0};
	bmeq_volume *v = NULL, *cor = NULL, *field = NULL;

	itk_phantom_grid(&g, 128, 128, 20, 1.5, c);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_OK);
	if (!v)
		return;
	const size_t n = bmeq_grid_nvox(&g);
	uint8_t *sel = calloc(n, 1), *empty = calloc(n, 1);
	if (!sel || !empty) {
		free(sel);
		free(empty);
		bmeq_volume_destroy(v);
		CHECK(0);
		return;
	}
	/* Body ellipsoid of uniform 100 holding a darker ball, times a smooth
	 * field varying about +-35 %, with 1 % deterministic noise. */
	unsigned rng = 12345;
	for (size_t q = 0; q < n; q++) {
		size_t i = q % 128, j = q / 128 % 128, k = q / (128 * 128);
		double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
		bmeq_grid_voxel_to_world(&g, ijk, x);
		double e = x[0] * x[0] / (85.0 * 85.0) + x[1] * x[1] / (45.0 * 45.0) +
			   x[2] * x[2] / (85.0 * 85.0);
		double ball = (x[0] - 30) * (x[0] - 30) + x[1] * x[1] + (x[2] + 20) * (x[2] + 20);
		double t = e < 1.0 ? (ball < 25.0 * 25.0 ? 55.0 : 100.0) : 0.0;
		sel[q] = e < 0.8 && ball > 28.0 * 28.0;
		double b = exp(0.3 * x[0] / 90.0 + 0.25 * (x[2] / 90.0) * (x[2] / 90.0) -
			       0.15 * x[1] / 50.0 + 0.1 * x[0] * x[2] / (90.0 * 90.0));
		rng = rng * 1103515245u + 12345u;
		double noise = 1.0 + 0.01 * (((rng >> 8) & 0xffff) / 32768.0 - 1.0);
		v->data[q] = (float)(t * b * noise);
	}
	double before = cov(v->data, sel, n);
	CHECK(bmeq_itk_n4(v, NULL, NULL, &cor, &field) == BMEQ_OK);
	if (cor && field) {
		double after = cov(cor->data, sel, n);
		printf("N4: CoV of the homogeneous region %.4f -> %.4f\n", before, after);
		CHECK(before > 0.08);
		CHECK(after < 0.5 * before);
		/* field * corrected = input */
		CHECK_NEAR(cor->data[n / 2] * field->data[n / 2], v->data[n / 2],
			   1e-3 * fabs(v->data[n / 2]) + 1e-6);
	}
	bmeq_volume_destroy(cor);
	bmeq_volume_destroy(field);
	cor = field = NULL;

	/* Empty mask, NaN voxel, bad parameters, sheared grid: statuses. */
	CHECK(bmeq_itk_n4(v, empty, NULL, &cor, &field) == BMEQ_E_PROCESS);
	CHECK(cor == NULL && field == NULL);
	bmeq_n4_params p;
	bmeq_n4_params_default(&p);
	p.levels = 9;
	CHECK(bmeq_itk_n4(v, NULL, &p, &cor, NULL) == BMEQ_E_ARG);
	v->grid.affine[0][1] = 0.4;
	CHECK(bmeq_itk_n4(v, NULL, NULL, &cor, NULL) == BMEQ_E_UNSUPPORTED);
	v->grid.affine[0][1] = 0.0;
	v->data[77] = NAN;
	CHECK(bmeq_itk_n4(v, NULL, NULL, &cor, NULL) == BMEQ_E_ARG);
	CHECK(cor == NULL);
	free(sel);
	free(empty);
	bmeq_volume_destroy(v);
}

/* Largest distance, over the corners of a 60 mm cube around c, between the
 * points mapped by a and by b. */
static double rigid_gap(const bmeq_rigid *a, const bmeq_rigid *b, const double c[3])
{
	double worst = 0.0;
	for (int k = 0; k < 8; k++) {
		double x[3], pa[3], pb[3], d2 = 0.0;
		for (int r = 0; r < 3; r++)
			x[r] = c[r] + ((k >> r & 1) ? 30.0 : -30.0);
		for (int r = 0; r < 3; r++) {
			pa[r] = a->translation[r];
			pb[r] = b->translation[r];
			for (int m = 0; m < 3; m++) {
				pa[r] += a->rotation[r][m] * x[m];
				pb[r] += b->rotation[r][m] * x[m];
			}
			d2 += (pa[r] - pb[r]) * (pa[r] - pb[r]);
		}
		worst = fmax(worst, sqrt(d2));
	}
	return worst;
}

static void test_register(void)
{
	bmeq_grid g;
	const double c[3] = {-60.0, 10.0, 20.0}; /* the "right hip" */
	bmeq_volume *fix = NULL, *mov = NULL;

	itk_phantom_grid(&g, 200, 200, 24, 1.0, c);
	CHECK(bmeq_volume_create(&g, &fix) == BMEQ_OK);
	CHECK(bmeq_volume_create(&g, &mov) == BMEQ_OK);
	if (!fix || !mov) {
		bmeq_volume_destroy(fix);
		bmeq_volume_destroy(mov);
		return;
	}
	bmeq_rigid ident, truth, init, res;
	bmeq_rigid_identity(&ident);
	itk_phantom_fill(fix, c, &ident);
	/* The second session: 5 degrees about an oblique axis through the
	 * head and a 10 mm shift. */
	const double axis[3] = {0.3, 1.0, 0.4}, shift[3] = {8.0, -4.0, 4.472};
	CHECK(bmeq_rigid_from_axis_angle(&truth, axis, 5.0, c, shift) == BMEQ_OK);
	itk_phantom_fill(mov, c, &truth);

	/* Initialise as the femoral-head detector would: a translation that is
	 * a few mm off. */
	const double guess[3] = {shift[0] + 2.0, shift[1] - 1.5, shift[2] + 1.0};
	bmeq_rigid_translation(&init, guess);
	bmeq_reg_params p;
	bmeq_reg_params_default(&p);
	p.region = BMEQ_REGION_SPHERE;
	memcpy(p.centre, c, sizeof(p.centre));
	p.radius = 45.0;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &p, &res) == BMEQ_OK);

	/* Errors of the recovered motion: rotation angle of R_res R_truth^T
	 * and displacement at the head centre. */
	bmeq_rigid diff;
	bmeq_rigid_identity(&diff);
	for (int r = 0; r < 3; r++)
		for (int k = 0; k < 3; k++) {
			diff.rotation[r][k] = 0.0;
			for (int m = 0; m < 3; m++)
				diff.rotation[r][k] += res.rotation[r][m] * truth.rotation[k][m];
		}
	double ang = bmeq_rigid_angle_deg(&diff), dc = 0.0;
	for (int r = 0; r < 3; r++) {
		double pr = res.translation[r], pt = truth.translation[r];
		for (int m = 0; m < 3; m++) {
			pr += res.rotation[r][m] * c[m];
			pt += truth.rotation[r][m] * c[m];
		}
		dc += (pr - pt) * (pr - pt);
	}
	dc = sqrt(dc);
	printf("registration: angle %.3f deg (error %.3f deg), centre error %.3f mm, corner error "
	       "%.3f mm, metric %.4f (initial %.4f), %d iterations, flags %u\n",
	       bmeq_rigid_angle_deg(&res), ang, dc, rigid_gap(&res, &truth, c), res.metric,
	       res.metric_initial, res.iterations, res.flags);
	CHECK(ang < 1.0);
	CHECK(dc < 1.0);
	CHECK(res.flags == 0);
	CHECK(res.metric < res.metric_initial);

	/* Box region with a caller mask gives the same answer within tolerance. */
	bmeq_reg_params pb = p;
	pb.region = BMEQ_REGION_BOX;
	pb.half_size[0] = pb.half_size[1] = pb.half_size[2] = 40.0;
	bmeq_rigid rb;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pb, &rb) == BMEQ_OK);
	CHECK(rigid_gap(&rb, &truth, c) < 1.5);

	/* The T1's settings: crops block-averaged towards 2 mm before the
	 * pyramid (2 x 2 x 2 blocks of these 1 mm voxels), 5,000 samples on the
	 * coarse level and 15,000 on the finest: the same answer. */
	bmeq_reg_params pa = pb;
	pa.finest_mm = 2.0;
	pa.levels = 2;
	pa.preaverage = 1;
	pa.max_samples = 5000;
	pa.max_samples_finest = 15000;
	bmeq_rigid ra;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pa, &ra) == BMEQ_OK);
	printf("registration, crops averaged to 2 mm, 5,000 / 15,000 samples: corner error %.3f mm, "
	       "flags %u\n", rigid_gap(&ra, &truth, c), ra.flags);
	CHECK(rigid_gap(&ra, &truth, c) < 1.5);
	CHECK(ra.flags == 0);
	/* bmeq's moving-image gradient and ITK's CentralDifferenceImageFunction
	 * differ only by rounding, so the optimiser takes the same path: the
	 * same transform to far below a micrometre, on the averaged crops and
	 * on the sphere at full resolution. */
	bmeq_rigid rg;
	bmeq_reg_params pg = pa;
	pg.itk_gradient = 1;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pg, &rg) == BMEQ_OK);
	printf("registration, ITK's gradient against bmeq's: %.2e mm apart, %d and %d iterations\n",
	       rigid_gap(&rg, &ra, c), rg.iterations, ra.iterations);
	CHECK(rigid_gap(&rg, &ra, c) < 1e-4);
	CHECK(rg.iterations == ra.iterations);
	pg = p;
	pg.itk_gradient = 1;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pg, &rg) == BMEQ_OK);
	CHECK(rigid_gap(&rg, &res, c) < 1e-4);
	CHECK(rg.iterations == res.iterations);
	/* Convergence steps per level (the T1's setting) keep the answer. */
	pg = pa;
	pg.min_step_per_level = 1;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pg, &rg) == BMEQ_OK);
	printf("registration, convergence step per level: corner error %.3f mm, %d iterations "
	       "(%d with one step)\n", rigid_gap(&rg, &truth, c), rg.iterations, ra.iterations);
	CHECK(rigid_gap(&rg, &truth, c) < 1.5);
	CHECK(rg.flags == 0);
	pa.max_samples_finest = 100;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pa, &ra) == BMEQ_E_ARG);

	/* Error paths: empty mask, region outside either image, NaN in the
	 * region, sheared moving grid, bad parameters. */
	const size_t n = bmeq_grid_nvox(&g);
	uint8_t *empty = calloc(n, 1);
	if (empty) {
		bmeq_reg_params pm = p;
		pm.fixed_mask = empty;
		CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pm, &res) == BMEQ_E_PROCESS);
		free(empty);
	}
	bmeq_reg_params po = p;
	po.centre[0] += 1000.0;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &po, &res) == BMEQ_E_PROCESS);
	const double far[3] = {0.0, 0.0, 900.0};
	bmeq_rigid away;
	bmeq_rigid_translation(&away, far);
	CHECK(bmeq_itk_register_rigid(fix, mov, &away, &p, &res) == BMEQ_E_PROCESS);
	bmeq_reg_params pr = p;
	pr.sampling = 0.0;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &pr, &res) == BMEQ_E_ARG);
	mov->grid.affine[1][0] = 0.5;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &p, &res) == BMEQ_E_UNSUPPORTED);
	mov->grid.affine[1][0] = 0.0;
	fix->data[100 + 200 * 100 + 200 * 200 * 12] = NAN;
	CHECK(bmeq_itk_register_rigid(fix, mov, &init, &p, &res) == BMEQ_E_ARG);
	CHECK(bmeq_last_error()[0] != '\0');
	bmeq_volume_destroy(fix);
	bmeq_volume_destroy(mov);
}

static void test_components(void)
{
	bmeq_grid g;
	size_t dim[3] = {8, 6, 4}, n = 0;
	double sp[3] = {1, 1, 3}, org[3] = {0, 0, 0};
	uint8_t mask[8 * 6 * 4];
	uint32_t lab[8 * 6 * 4];

	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	memset(mask, 0, sizeof(mask));
	/* Two voxels touching only by a corner, and a separate bar. */
	mask[0] = 1;
	mask[1 + 8 + 48] = 1;
	for (int x = 3; x < 7; x++)
		mask[x + 8 * 4 + 48 * 2] = 1;
	CHECK(bmeq_itk_connected_components(mask, &g, 0, lab, &n) == BMEQ_OK);
	CHECK(n == 3);
	CHECK(lab[0] != 0 && lab[1 + 8 + 48] != 0 && lab[0] != lab[1 + 8 + 48]);
	CHECK(lab[3 + 32 + 96] == lab[6 + 32 + 96] && lab[3 + 32 + 96] != 0);
	CHECK(lab[2] == 0);
	CHECK(bmeq_itk_connected_components(mask, &g, 1, lab, &n) == BMEQ_OK);
	CHECK(n == 2);
	CHECK(lab[0] == lab[1 + 8 + 48]);
	CHECK(bmeq_itk_connected_components(mask, &g, 1, NULL, &n) == BMEQ_OK);
	CHECK(n == 2);
	memset(mask, 0, sizeof(mask));
	CHECK(bmeq_itk_connected_components(mask, &g, 1, lab, &n) == BMEQ_OK);
	CHECK(n == 0);
	CHECK(bmeq_itk_connected_components(NULL, &g, 1, lab, &n) == BMEQ_E_ARG);
}

int main(void)
{
	CHECK(bmeq_itk_set_threads(0) == BMEQ_E_ARG);
	CHECK(bmeq_itk_set_threads(1) == BMEQ_OK);
	CHECK(bmeq_itk_get_threads() == 1);
	test_geometry();
	test_components();
	test_resample();
	test_smooth();
	test_n4();
	test_register();
	CHECK_DONE();
}
