/* measure_internal.h - private to src/measure. */
#ifndef BMEQ_MEASURE_INTERNAL_H
#define BMEQ_MEASURE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/volume.h"

/* The voxel lines of a grid along one axis (x fastest in memory): count
 * lines of len voxels each, consecutive voxels stride apart. Line l (0 <=
 * l < count) starts at bmeq_axis_line_start(dim, axis, l); lines run in
 * raster order of the other two axes. */
typedef struct bmeq_axis_lines {
	size_t stride, len, count;
} bmeq_axis_lines;

static inline bmeq_axis_lines bmeq_axis_lines_of(const size_t dim[3], int axis)
{
	bmeq_axis_lines L;

	L.stride = axis == 0 ? 1 : axis == 1 ? dim[0] : dim[0] * dim[1];
	L.len = dim[axis];
	L.count = dim[0] * dim[1] * dim[2] / (L.len ? L.len : 1);
	return L;
}

static inline size_t bmeq_axis_line_start(const size_t dim[3], int axis, size_t l)
{
	size_t o1 = axis == 0 ? dim[1] : dim[0], a = l % o1, b = l / o1;

	if (axis == 0)
		return (a + b * dim[1]) * dim[0];
	if (axis == 1)
		return a + b * dim[0] * dim[1];
	return a + b * dim[0];
}

/* Writes into out the indices of the in-volume 26-neighbours of voxel
 * (x, y, z) on a grid of dim, and returns how many there are (7 to 26). */
size_t bmeq_neighbours26(const size_t dim[3], size_t x, size_t y, size_t z, size_t out[26]);

/* Keeps an edema voxel (edema[i] != 0) in the rim of the regions (within
 * rim_mm of their edge along a voxel axis) only when it is joined through
 * rim edema to edema in the interior; rewrites edema as 0/1. See rim.c. */
bmeq_status bmeq_rim_guard(const bmeq_grid *g, const uint16_t *roi, double rim_mm, uint8_t *edema);

/* Moves each lesion's edge (components of edema, 0/1) to a fraction (0.5:
 * half) of its own contrast over the reference: threshold = reference +
 * fraction * (75th percentile - reference), never below floor (an
 * intensity); lesions shrink to it or grow to it through region voxels
 * (roi != 0) for up to 5 mm. Rewrites edema as 0/1. See halfmax.c. */
bmeq_status bmeq_halfmax_refine(const bmeq_volume *scan, const uint16_t *roi, double reference,
				double fraction, double floor, uint8_t *edema);

/* The normal-marrow window [*lo, *hi] of the region intensities v (n of
 * them; non-finite ones are skipped): the lowest clear mode of their
 * histogram, or with a finite anchor (a reader's reference mask's median)
 * the clear mode nearest to it, +-3 widths read off its lower flank. A mode
 * is clear when it is at least 25% of the highest and stands out (dips 10%
 * before any higher mode). See edema.c. */
bmeq_status bmeq_reference_window(const float *v, size_t n, double anchor, double *lo, double *hi);

/* out = scan smoothed by a Gaussian of sigma_mm along each voxel axis whose
 * spacing is at most 2 sigma (thick slices are not mixed); sigma_mm <= 0
 * copies. With a mask (non-zero = inside; NULL: everywhere) only voxels
 * inside it contribute and only they are smoothed (normalised convolution),
 * so the result inside depends on nothing outside. out holds nvox floats.
 * See smooth.c. */
bmeq_status bmeq_smooth_gaussian(const bmeq_volume *scan, const uint8_t *mask, double sigma_mm,
				 float *out);

/* How many voxels bmeq_smooth_gaussian's kernel reaches along an axis of
 * that spacing (mm) and length (voxels): ceil(3 sigma) in voxels, 0 when the
 * axis is not smoothed (sigma_mm <= 0, under half a voxel, or one voxel).
 * A voxel's smoothed value depends only on voxels this close along each
 * axis, which is what lets the T1 gate smooth a box of the scan. */
int bmeq_smooth_radius(double spacing, size_t dim, double sigma_mm);

#endif
