/* test_fatsat.c - the fat-suppression witness (bmeq/fatsat.h) on a body drawn in memory:
 * air, then 20 mm of subcutaneous fat, 40 mm of muscle and marrow-like tissue inside, on
 * both sides; the hips' regions 50 mm from the midline. Sides follow RAS (+x is the
 * patient's right) whichever way the T1 is stored; a side whose body reaches the edge of
 * the T1's field of view is unseen; a hip fails against the other hip or, alone, against
 * BMEQ_FATSAT_WORKING_MAX; the T1 is read through the transform it is given. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/fatsat.h"
#include "check.h"

#define NX 120
#define NY 20
#define NZ 20
#define SP 2.0

enum { AIR, FAT, MUSCLE, INNER };

/* The tissue at world x (mm): the body spans |x| <= 100 (or reaches x = -edge
 * on the left when edge > 0: no air on that side). */
static int tissue(double x, double left_edge)
{
	double ax = fabs(x);
	if (x < 0.0 && left_edge > 0.0 && x >= -left_edge)
		return ax >= 80.0 ? FAT : ax >= 40.0 ? MUSCLE : INNER;
	if (ax > 100.0)
		return AIR;
	return ax >= 80.0 ? FAT : ax >= 40.0 ? MUSCLE : INNER;
}

/* A grid of NX x NY x NZ voxels of SP mm centred on the origin; flip: its i
 * axis points to -x. */
static void make_grid(bmeq_grid *g, int flip)
{
	const size_t dim[3] = {NX, NY, NZ};
	const double sp[3] = {SP, SP, SP};
	const double origin[3] = {-(NX / 2) * SP, -(NY / 2) * SP, -(NZ / 2) * SP};
	CHECK(bmeq_grid_make(g, dim, sp, origin) == BMEQ_OK);
	if (flip) {
		g->affine[0][0] = -SP;
		g->affine[0][3] = (NX / 2 - 1) * SP;
	}
}

/* An image by tissue: T1 (fat 1000, muscle 380, inside 900) or STIR (fat at
 * fat_right / fat_left, muscle 100, inside 60). */
static bmeq_volume *make_image(int flip, int t1, double fat_right, double fat_left,
			       double left_edge)
{
	bmeq_grid g;
	bmeq_volume *v = NULL;

	make_grid(&g, flip);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_OK);
	for (size_t z = 0, i = 0; z < NZ; z++)
		for (size_t y = 0; y < NY; y++)
			for (size_t x = 0; x < NX; x++, i++) {
				double ijk[3] = {(double)x, (double)y, (double)z}, p[3];
				bmeq_grid_voxel_to_world(&g, ijk, p);
				int t = tissue(p[0], left_edge);
				double val = 0.0;
				if (t1)
					val = t == FAT ? 1000.0 : t == MUSCLE ? 380.0 : t == INNER ? 900.0 : 2.0;
				else
					val = t == FAT ? (p[0] > 0.0 ? fat_right : fat_left)
					      : t == MUSCLE ? 100.0
					      : t == INNER  ? 60.0
							    : 1.0;
				v->data[i] = (float)val;
			}
	return v;
}

/* The hips' regions on the STIR's grid: right head (label 1) around x = +50,
 * left (2) around x = -50. */
static uint16_t *make_roi(void)
{
	uint16_t *roi = calloc((size_t)NX * NY * NZ, sizeof(*roi));
	bmeq_grid g;

	make_grid(&g, 0);
	for (size_t z = 0, i = 0; z < NZ; z++)
		for (size_t y = 0; y < NY; y++)
			for (size_t x = 0; x < NX; x++, i++) {
				double ijk[3] = {(double)x, (double)y, (double)z}, p[3];
				bmeq_grid_voxel_to_world(&g, ijk, p);
				if (fabs(fabs(p[0]) - 50.0) <= 8.0 && fabs(p[1]) <= 8.0 && fabs(p[2]) <= 8.0)
					roi[i] = p[0] > 0.0 ? 1 : 2;
			}
	return roi;
}

static const double identity[3][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}};

/* Runs the witness on a STIR with the given fat levels and a T1 stored as
 * flip says. */
static void judge(double fat_right, double fat_left, int flip, double left_edge,
		  bmeq_fatsat_side out[2])
{
	bmeq_volume *stir = make_image(0, 0, fat_right, fat_left, left_edge);
	bmeq_volume *t1 = make_image(flip, 1, 0, 0, left_edge);
	uint16_t *roi = make_roi();

	CHECK(bmeq_fatsat_witness(stir, roi, t1, identity, BMEQ_FATSAT_FACTOR_DEFAULT, out) ==
	      BMEQ_OK);
	free(roi);
	bmeq_volume_destroy(stir);
	bmeq_volume_destroy(t1);
}

int main(void)
{
	bmeq_fatsat_side f[2];

	/* A working suppression as real STIR shows it: fat 1.4x muscle on both
	 * sides (real: 0.87-1.48). Neither fails, the ratio is exact. */
	judge(140.0, 140.0, 0, 0.0, f);
	for (int s = 0; s < 2; s++) {
		CHECK(f[s].seen && !f[s].failed);
		CHECK_NEAR(f[s].fat_to_muscle, 1.4, 1e-6);
		/* 20 mm of fat (10 voxels) and muscle beneath on 400 rows. */
		CHECK(f[s].fat_voxels >= 3000 && f[s].muscle_voxels >= 3000);
	}

	/* The right hip's fat comes back (4x muscle): the right fails, against
	 * the left's 1.4; the left does not, against min(4.0, 1.5). RAS: the
	 * right is +x, whichever way the T1 is stored. */
	for (int flip = 0; flip < 2; flip++) {
		judge(400.0, 140.0, flip, 0.0, f);
		CHECK(f[0].seen && f[0].failed);
		CHECK_NEAR(f[0].fat_to_muscle, 4.0, 1e-6);
		CHECK(f[1].seen && !f[1].failed);
		CHECK_NEAR(f[1].fat_to_muscle, 1.4, 1e-6);
		judge(140.0, 400.0, flip, 0.0, f);
		CHECK(!f[0].failed && f[1].failed);
	}

	/* The other hip sets the level: 2.5x muscle fails beside a 1.0x hip
	 * (above 2 x 1.0), though not against 1.5 alone. */
	judge(250.0, 100.0, 0, 0.0, f);
	CHECK(f[0].failed && !f[1].failed);

	/* Both hips failed: caught only when gross (above 2 x 1.5). */
	judge(400.0, 400.0, 0, 0.0, f);
	CHECK(f[0].failed && f[1].failed);
	judge(250.0, 250.0, 0, 0.0, f);
	CHECK(!f[0].failed && !f[1].failed);

	/* The body reaches the T1's left edge: no skin there, the left unseen;
	 * the right is judged against 1.5 alone. */
	judge(140.0, 140.0, 0, 200.0, f);
	CHECK(!f[1].seen && !f[1].failed && isnan(f[1].fat_to_muscle));
	CHECK(f[0].seen && !f[0].failed);
	judge(400.0, 140.0, 0, 200.0, f);
	CHECK(f[0].seen && f[0].failed);

	/* The T1 read through its transform: a T1 whose world lies 30 mm to the
	 * patient's left of the STIR's (its skin at -70 and +130 in its own
	 * world) sees the STIR's skin once mapped; through the identity instead
	 * its fat would fall on the STIR's muscle on one side and on air on the
	 * other, and the ratios would not be the STIR's. */
	{
		bmeq_volume *stir = make_image(0, 0, 400.0, 140.0, 0.0);
		bmeq_volume *t1 = make_image(0, 1, 0, 0, 0.0);
		uint16_t *roi = make_roi();
		/* Move the T1's voxels 30 mm to +x: its affine's offset. */
		t1->grid.affine[0][3] += 30.0;
		const double back[3][4] = {{1, 0, 0, -30.0}, {0, 1, 0, 0}, {0, 0, 1, 0}};
		CHECK(bmeq_fatsat_witness(stir, roi, t1, back, 2.0, f) == BMEQ_OK);
		CHECK(f[0].failed && !f[1].failed);
		CHECK_NEAR(f[0].fat_to_muscle, 4.0, 1e-6);
		CHECK_NEAR(f[1].fat_to_muscle, 1.4, 1e-6);
		CHECK(bmeq_fatsat_witness(stir, roi, t1, identity, 2.0, f) == BMEQ_OK);
		CHECK(!(f[0].seen && fabs(f[0].fat_to_muscle - 4.0) < 1e-3 && f[1].seen &&
			fabs(f[1].fat_to_muscle - 1.4) < 1e-3));
		/* No regions: nothing judged. A factor <= 0 is refused. */
		memset(roi, 0, (size_t)NX * NY * NZ * sizeof(*roi));
		CHECK(bmeq_fatsat_witness(stir, roi, t1, back, 2.0, f) == BMEQ_OK);
		CHECK(!f[0].seen && !f[1].seen);
		CHECK(bmeq_fatsat_witness(stir, roi, t1, back, 0.0, f) == BMEQ_E_ARG);
		free(roi);
		bmeq_volume_destroy(stir);
		bmeq_volume_destroy(t1);
	}
	CHECK_DONE();
}
