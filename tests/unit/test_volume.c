/* test_volume.c - grids, affine inversion, orientation letters. */
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
