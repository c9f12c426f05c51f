/* compare_internal.h - private to src/pipeline: the visit comparison (compare.c) and its split (split.c). */
#ifndef BMEQ_COMPARE_INTERNAL_H
#define BMEQ_COMPARE_INTERNAL_H

#include <stdint.h>

#include "bmeq/itk.h"
#include "bmeq/volume.h"

/* 0 right (labels 1, 3), 1 left (2, 4), -1 any other label. */
int bmeq_compare_label_side(uint16_t l);

/* Splits the edema of side s between the baseline map bm (grid bg) and the
 * follow-up map fm (grid fg) seen through t (baseline world -> follow-up
 * world): ml[0] resolved, ml[1] persistent, ml[2] new, in mL of the baseline
 * grid. Each baseline voxel is sampled at sub-voxel points (about 1 mm apart
 * along each axis) and each point takes the follow-up label it falls in
 * (nearest neighbour), so a voxel contributes the fraction of it that the
 * follow-up edema covers: the volumes do not depend on how the slices of the
 * two visits happen to interleave. change_map (optional, on bg) receives 1, 2
 * or 3 on the side's voxels by majority of the samples. Only the box holding
 * both visits' edema of the side is visited. BMEQ_E_ARG for a singular grid. */
bmeq_status bmeq_compare_split(const bmeq_grid *bg, const uint16_t *bm, const bmeq_grid *fg,
			       const uint16_t *fm, const bmeq_rigid *t, int s, double ml[3],
			       uint8_t *change_map);

#endif
