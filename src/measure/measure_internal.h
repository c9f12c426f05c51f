/* measure_internal.h - private to src/measure. */
#ifndef BMEQ_MEASURE_INTERNAL_H
#define BMEQ_MEASURE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/volume.h"

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

/* out = scan smoothed by a Gaussian of sigma_mm along each voxel axis whose
 * spacing is at most 2 sigma (thick slices are not mixed); sigma_mm <= 0
 * copies. With a mask (non-zero = inside; NULL: everywhere) only voxels
 * inside it contribute and only they are smoothed (normalised convolution),
 * so the result inside depends on nothing outside. out holds nvox floats.
 * See smooth.c. */
bmeq_status bmeq_smooth_gaussian(const bmeq_volume *scan, const uint8_t *mask, double sigma_mm,
				 float *out);

#endif
