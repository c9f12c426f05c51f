/* test_volume.c - grids, affine inversion, orientation letters. */
#include <math.h>
#include <string.h>

#include "bmeq/volume.h"
#include "check.h"

int main(void)
{
	bmeq_grid g, h;
	size_t dim[3] = {10, 20, 30};
	double sp[3] = {0.5, 1.0, 4.0}, org[3] = {-10.0, 5.0, 2.0};
	char o[4];

	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	CHECK(bmeq_grid_nvox(&g) == 6000);
	bmeq_grid_orientation(&g, o);
	CHECK(strcmp(o, "RAS") == 0);

	double ijk[3] = {3, 4, 5}, xyz[3], back[3];
	bmeq_grid_voxel_to_world(&g, ijk, xyz);
	CHECK_NEAR(xyz[0], -8.5, 1e-12);
	CHECK_NEAR(xyz[1], 9.0, 1e-12);
	CHECK_NEAR(xyz[2], 22.0, 1e-12);
	CHECK(bmeq_grid_world_to_voxel(&g, xyz, back) == BMEQ_OK);
	for (int c = 0; c < 3; c++)
		CHECK_NEAR(back[c], ijk[c], 1e-9);

	/* A coronal LR-flipped grid: i -> -x, j -> -z, k -> +y reads "LIA". */
	h = g;
	memset(h.affine, 0, sizeof(h.affine));
	h.affine[0][0] = -0.8;
	h.affine[2][1] = -0.8;
	h.affine[1][2] = 4.0;
	h.affine[3][3] = 1.0;
	bmeq_grid_update_spacing(&h);
	bmeq_grid_orientation(&h, o);
	CHECK(strcmp(o, "LIA") == 0);
	CHECK_NEAR(h.spacing[2], 4.0, 1e-12);
	CHECK(!bmeq_grid_same(&g, &h, 1e-3));
	CHECK(bmeq_grid_same(&g, &g, 1e-9));

	double inv[4][4], sing[4][4] = {{1, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
	CHECK(bmeq_affine_invert(&sing[0][0], &inv[0][0]) == BMEQ_E_ARG);
	CHECK(bmeq_last_error()[0] != '\0');

	/* The world box of g: voxel edges, x -10.25 .. -5.25 (10 x 0.5 mm from
	 * -10), y 4.5 .. 24.5, z 0 .. 120; grown by a margin on every side. */
	double lo[3], hi[3];
	bmeq_grid_world_box(&g, 0.0, lo, hi);
	CHECK_NEAR(lo[0], -10.25, 1e-12);
	CHECK_NEAR(hi[0], -5.25, 1e-12);
	CHECK_NEAR(lo[1], 4.5, 1e-12);
	CHECK_NEAR(hi[1], 24.5, 1e-12);
	CHECK_NEAR(lo[2], 0.0, 1e-12);
	CHECK_NEAR(hi[2], 120.0, 1e-12);
	bmeq_grid_world_box(&h, 2.0, lo, hi);
	double c[3] = {-0.5, -0.5, -0.5}, p[3];
	bmeq_grid_voxel_to_world(&h, c, p);
	for (int a = 0; a < 3; a++)
		CHECK(lo[a] <= p[a] - 2.0 + 1e-9 && hi[a] >= p[a] + 2.0 - 1e-9);

	/* Products and points: the affine times its inverse is the identity,
	 * and a voxel through the affine is its world point. */
	double ginv[4][4], id[4][4];
	CHECK(bmeq_affine_invert(&h.affine[0][0], &ginv[0][0]) == BMEQ_OK);
	bmeq_affine_mul(&h.affine[0][0], &ginv[0][0], &id[0][0]);
	for (int r = 0; r < 4; r++)
		for (int k = 0; k < 4; k++)
			CHECK_NEAR(id[r][k], r == k ? 1.0 : 0.0, 1e-12);
	double q[3] = {1.0, 2.0, 3.0}, wq[3], wv[3];
	bmeq_affine_apply(&h.affine[0][0], q, wq);
	bmeq_grid_voxel_to_world(&h, q, wv);
	for (int a = 0; a < 3; a++)
		CHECK_NEAR(wq[a], wv[a], 1e-12);

	/* Gauss-Jordan: a system whose first pivot is zero (row swap needed), two
	 * right-hand sides; a singular one and one holding a NaN are refused. */
	double m[3][5] = {{0, 2, 1, 7, 3}, {1, 1, 1, 6, 0}, {2, 1, 3, 13, 0}};
	CHECK(bmeq_gauss_jordan(&m[0][0], 3, 5, 1e-12) == 0);
	CHECK_NEAR(m[0][3], 1.0, 1e-12); /* x, y, z = 1, 2, 3 */
	CHECK_NEAR(m[1][3], 2.0, 1e-12);
	CHECK_NEAR(m[2][3], 3.0, 1e-12);
	CHECK_NEAR(m[0][4], -2.0, 1e-12); /* 3 x the inverse's first column */
	CHECK_NEAR(m[1][4], 1.0, 1e-12);
	CHECK_NEAR(m[2][4], 1.0, 1e-12);
	double s2[2][3] = {{1, 2, 3}, {2, 4, 6}};
	CHECK(bmeq_gauss_jordan(&s2[0][0], 2, 3, 1e-12) == -1);
	double nan2[2][3] = {{NAN, 0, 1}, {0, 1, 1}};
	CHECK(bmeq_gauss_jordan(&nan2[0][0], 2, 3, 1e-12) == -1);

	size_t bad[3] = {0, 1, 1};
	CHECK(bmeq_grid_make(&g, bad, sp, org) == BMEQ_E_ARG);

	bmeq_volume *v = NULL;
	size_t huge[3] = {100000, 100000, 1000};
	CHECK(bmeq_grid_make(&g, huge, sp, org) == BMEQ_OK);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_E_NOMEM);
	CHECK(v == NULL);
	bmeq_volume_destroy(NULL);
	CHECK_DONE();
}
