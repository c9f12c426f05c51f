/* measure_internal.h - private to src/measure. */
#ifndef BMEQ_MEASURE_INTERNAL_H
#define BMEQ_MEASURE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/volume.h"

/* Keeps an edema voxel (edema[i] != 0) in the rim of the regions (within
 * rim_mm of their edge along a voxel axis) only when it is joined through
 * rim edema to edema in the interior; rewrites edema as 0/1. See rim.c. */
bmeq_status bmeq_rim_guard(const bmeq_grid *g, const uint16_t *roi, double rim_mm, uint8_t *edema);

#endif
