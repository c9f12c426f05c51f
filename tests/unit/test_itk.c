/* test_itk.c - the ITK bridge: geometry, components (more to come). */
#include <stdlib.h>
#include <string.h>

#include "bmeq/itk.h"
#include "check.h"

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
	CHECK(bmeq_itk_set_threads(1) == BMEQ_OK);
	CHECK(bmeq_itk_get_threads() == 1);
	CHECK(bmeq_itk_set_threads(0) == BMEQ_E_ARG);
	test_components();
	CHECK_DONE();
}
