/* rim.c - the rim guard: edema at the edge of a region must be supported by
 * edema inside it.
 *
 * A femoral head voxel next to the articular surface mixes marrow with the
 * cartilage and joint fluid beyond the cortex, which are bright on STIR. With
 * thick slices that partial volume reaches several millimetres in from the
 * surface wherever the surface is oblique to the slices, and a ring of such
 * voxels passes any threshold that real edema passes. Real edema that reaches
 * the surface continues inwards; the partial-volume ring does not. So a voxel
 * in the rim (within rim_mm of the region's edge along any voxel axis, and
 * always the edge voxel itself) counts
 * as edema only when it is joined, through rim edema voxels and within a few
 * steps, to edema in the interior.
 */
#include <stdlib.h>
#include <string.h>

#include "measure_internal.h"

/* Erodes a binary volume in place along one axis by r voxels (a voxel stays
 * set only if all voxels within r along that axis are set; outside the volume
 * counts as unset). tmp holds one line. */
static void erode_axis(uint8_t *m, const size_t dim[3], int axis, size_t r, uint8_t *tmp)
{
	bmeq_axis_lines L = bmeq_axis_lines_of(dim, axis);
	size_t stride = L.stride, len = L.len;

	if (r == 0)
		return;
	for (size_t l = 0; l < L.count; l++) {
		size_t base = bmeq_axis_line_start(dim, axis, l);
		/* Distance to the nearest unset voxel on each side, by two sweeps. */
		size_t run = 0;
		for (size_t i = 0; i < len; i++) {
			run = m[base + i * stride] ? run + 1 : 0;
			tmp[i] = run > r ? 1 : 0;
		}
		run = 0;
		for (size_t i = len; i-- > 0;) {
			run = m[base + i * stride] ? run + 1 : 0;
			m[base + i * stride] = tmp[i] && run > r;
		}
	}
}

size_t bmeq_neighbours26(const size_t dim[3], size_t x, size_t y, size_t z, size_t out[26])
{
	const size_t nx = dim[0], ny = dim[1], nz = dim[2];
	size_t k = 0;

	for (size_t zz = z ? z - 1 : 0; zz <= z + 1 && zz < nz; zz++)
		for (size_t yy = y ? y - 1 : 0; yy <= y + 1 && yy < ny; yy++)
			for (size_t xx = x ? x - 1 : 0; xx <= x + 1 && xx < nx; xx++)
				if (xx != x || yy != y || zz != z)
					out[k++] = (zz * ny + yy) * nx + xx;
	return k;
}

bmeq_status bmeq_rim_guard(const bmeq_grid *g, const uint16_t *roi, double rim_mm, uint8_t *edema)
{
	size_t n = bmeq_grid_nvox(g), r[3], maxd = 0, steps = 0;
	uint8_t *interior, *tmp, *reach;

	for (int a = 0; a < 3; a++) {
		/* At least one voxel: the edge voxel of a region always straddles the
		 * surface, by up to half its size, however thick the slice. */
		r[a] = (size_t)(rim_mm / g->spacing[a] + 0.5);
		if (r[a] < 1)
			r[a] = 1;
		maxd = g->dim[a] > maxd ? g->dim[a] : maxd;
		steps = r[a] > steps ? r[a] : steps;
	}
	/* Enough steps to cross the rim along its thickest axis, and one more. */
	steps += 1;
	interior = malloc(n);
	reach = malloc(n);
	tmp = malloc(maxd);
	if (!interior || !reach || !tmp) {
		free(interior);
		free(reach);
		free(tmp);
		return bmeq_fail(BMEQ_E_NOMEM, "rim guard: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		interior[i] = roi[i] != 0;
	for (int a = 0; a < 3; a++)
		erode_axis(interior, g->dim, a, r[a], tmp);

	/* reach: 1 = kept edema (interior edema to start with), 2 = rim edema
	 * not reached yet. Grow through 26-neighbours, one step per pass. */
	for (size_t i = 0; i < n; i++)
		reach[i] = edema[i] ? (interior[i] ? 1 : 2) : 0;
	const size_t nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];
	for (size_t s = 0; s < steps; s++) {
		int changed = 0;
		for (size_t z = 0; z < nz; z++)
			for (size_t y = 0; y < ny; y++)
				for (size_t x = 0; x < nx; x++) {
					size_t i = (z * ny + y) * nx + x;
					if (reach[i] != 2)
						continue;
					size_t nb[26], nn = bmeq_neighbours26(g->dim, x, y, z, nb);
					int hit = 0;
					for (size_t k = 0; k < nn && !hit; k++)
						hit = reach[nb[k]] == 1;
					/* 3 marks "reached in this pass" so one pass is one step. */
					if (hit) {
						reach[i] = 3;
						changed = 1;
					}
				}
		for (size_t i = 0; i < n; i++)
			if (reach[i] == 3)
				reach[i] = 1;
		if (!changed)
			break;
	}
	for (size_t i = 0; i < n; i++)
		edema[i] = reach[i] == 1;
	free(interior);
	free(reach);
	free(tmp);
	return BMEQ_OK;
}
