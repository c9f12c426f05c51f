/* bmeq/components.h - 3D connected components of a mask (lesion labelling).
 *
 * Foreground is every non-zero mask voxel. Two foreground voxels touch when
 * their offsets differ by at most 1 on each axis and, for connectivity 6, in
 * one axis only (faces), for 18 in at most two (faces and edges), for 26 in
 * up to three (faces, edges and corners; scipy's ones((3,3,3)) structure).
 * Components are numbered 1..n in raster order (x fastest, then y, then z)
 * of their first voxel, so the numbering depends only on the mask.
 *
 * The labeller is run-based: it collects the runs of foreground along x in
 * each row, joins runs that touch runs of the (up to four) earlier
 * neighbouring rows with a union-find over runs, and writes the labels row
 * by row. A workspace keeps the run buffers between calls so that labelling
 * many masks does not fault in fresh memory each time; after a call it also
 * holds what bmeq_components_stats needs. The bit counting that maps voxels
 * to runs uses POPCNT/BMI2 when the CPU has them (chosen at run time; the
 * generic variant is always built and gives identical labels; setting
 * BMEQ_CPU_FEATURES=scalar selects it).
 */
#ifndef BMEQ_COMPONENTS_H
#define BMEQ_COMPONENTS_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/cpu.h"
#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_cc_workspace bmeq_cc_workspace;

/* Creates an empty workspace (buffers grow on first use and are kept).
 * *out is owned by the caller (bmeq_cc_workspace_destroy). BMEQ_E_NOMEM.
 * A workspace must not be used by two threads at once; separate workspaces
 * are independent. */
bmeq_status bmeq_cc_workspace_create(bmeq_cc_workspace **out);

/* Frees ws and its buffers. Accepts NULL. */
void bmeq_cc_workspace_destroy(bmeq_cc_workspace *ws);

/* Options of bmeq_components_label. Zero-initialised options mean
 * 26-connectivity and no size filter. */
typedef struct bmeq_cc_options {
	int connectivity;   /* 6, 18 or 26; 0 means 26 */
	size_t min_voxels;  /* components with fewer voxels are removed (0 or 1: none) */
	double min_ml;      /* components with volume < min_ml are removed (0: none) */
	double voxel_ml;    /* volume of one voxel in mL; must be > 0 when min_ml > 0 */
} bmeq_cc_options;

/* Labels the 26/18/6-connected components of mask (dim[0] * dim[1] * dim[2]
 * bytes, x fastest). labels (same number of uint32 elements, caller-owned)
 * receives 0 for background and removed components and 1..*count for the
 * kept ones, numbered consecutively in raster order of their first voxel.
 * ws may be NULL (a temporary workspace is used); with a workspace the run
 * data stay available to bmeq_components_stats until its next use.
 * opts may be NULL (26-connectivity, no filter).
 * BMEQ_E_ARG for a zero or absurd dimension (more than BMEQ_MAX_VOXELS in
 * total), a bad connectivity or filter; BMEQ_E_NOMEM. On failure labels is
 * unspecified. Thread-safe with distinct workspaces. */
bmeq_status bmeq_components_label(bmeq_cc_workspace *ws, const uint8_t *mask, const size_t dim[3],
				  const bmeq_cc_options *opts, uint32_t *labels, uint32_t *count);

/* Statistics of one component. Coordinates are voxel indices (i, j, k). */
typedef struct bmeq_component {
	uint32_t label;          /* 1..count */
	uint64_t voxels;         /* number of voxels */
	uint32_t bbox_min[3];    /* inclusive bounding box */
	uint32_t bbox_max[3];
	double centroid[3];      /* mean voxel index */
	double intensity_sum;    /* sum of the intensity volume over the voxels (0 without one) */
} bmeq_component;

/* Fills out[0..count-1] (count as returned by the last bmeq_components_label
 * call on ws; out[i] describes label i + 1) from the runs kept in ws, without
 * reading the label volume. intensity may be NULL, else it holds one float
 * per voxel of the same grid; non-finite values are summed as they are.
 * BMEQ_E_ARG when ws holds no labelling result. Not thread-safe on one ws. */
bmeq_status bmeq_components_stats(const bmeq_cc_workspace *ws, const float *intensity,
				  bmeq_component *out);

/* Number of components of the last labelling held by ws (0 when none). */
uint32_t bmeq_components_count(const bmeq_cc_workspace *ws);

/* The scan bmeq_components_label uses: BMEQ_CPU_AVX2 for the POPCNT/BMI2
 * variant, BMEQ_CPU_SCALAR for the generic one (same labels). Chosen by the
 * one CPU probe (bmeq/cpu.h), so BMEQ_CPU_FEATURES=sse2 or scalar selects the
 * generic scan. Thread-safe. */
bmeq_cpu_path bmeq_components_path(void);

#ifdef __cplusplus
}
#endif
#endif
