/* bmeq/edema.h - edema quantification of one scan inside a region map.
 *
 * Given a (bias-corrected) scan, a region map on its grid (1 right femoral
 * head, 2 left head, 3 right neck, 4 left neck; any other non-zero label is a
 * user region of its own) and optionally a reference mask of normal marrow,
 * bmeq_edema_measure estimates the normal-marrow intensity, thresholds edema
 * with the configured rule, labels 3D lesions, drops lesions below the
 * minimum size and measures each side (or user region).
 *
 * Thread-safety: bmeq_edema_measure may run on several scans at once; it
 * allocates its own scratch.
 */
#ifndef BMEQ_EDEMA_H
#define BMEQ_EDEMA_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/hip.h"
#include "bmeq/status.h"
#include "bmeq/threshold.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_edema_params {
	bmeq_rule rule;             /* threshold rule over the reference statistics */
	int connectivity;           /* 6, 18 or 26 (default 26) */
	size_t min_lesion_voxels;   /* lesions with fewer voxels are dropped (default 10) */
	double min_lesion_ml;       /* and lesions smaller than this (default 0.02 mL) */
	double reference_reject_k;  /* bright-tail rejection for the reference (default 3) */
	size_t min_reference_voxels;/* fewer reference voxels: status error (default 200) */
	double rim_mm;              /* rim guard depth: edema within this distance of a
				     * region's edge counts only when joined to edema
				     * deeper inside (partial volume with cartilage and
				     * joint fluid); 0 disables (default 2.5) */
	int halfmax;                /* 1 (default): each lesion's edge at half its own
				     * contrast over the reference (see halfmax.c) */
	double halfmax_floor;       /* lesion thresholds never below this x the
				     * reference; 0 (default): never below halfway
				     * between the reference and the rule's threshold */
	int reference_from_region;  /* 1 (default): with a reference mask, the level is
				     * the regions' normal-marrow mode nearest the
				     * mask's median; 0: the mask's own statistics */
	double smooth_mm;           /* Gaussian sigma (mm) of the image the reference
				     * and threshold see: zones, not voxel noise
				     * (default 1.5; 0 = voxelwise; see smooth.c) */
	double edge_band;           /* the range also moves each lesion's edge from
				     * half its contrast to 0.5 +- edge_band (default
				     * 0.15): where readers put a graded edge */
	double band;                /* the range: edema_ml_low and edema_ml_high are
				     * the volumes with the rule's factor k times
				     * (1 + band) and (1 - band) (default 0.15) */
	int factor_from_reader;     /* 1: rule.k was set by a reader for this scan
				     * (manifest threshold_factor, --threshold-factor);
				     * recorded as threshold_source "reader" */
	int t1_gate;                /* 1 (default): with a T1, edema only where the T1 is
				     * not brighter than normal marrow's t1_gate_quantile */
	double t1_gate_quantile;    /* 0.5..1 (default 0.975: the upper end of normal
				     * marrow's 95% reference interval on T1) */
	double t1_weight;           /* 0..2: with a T1, the rule reads the smoothed STIR
				     * divided by (T1 / normal marrow's T1)^t1_weight
				     * (default 0: the STIR alone) */
} bmeq_edema_params;

/* Fills the documented defaults (rule "median*1.46", smoothing 1.5 mm... see README). */
void bmeq_edema_params_init(bmeq_edema_params *p);

/* What is known of a side from segmentation (optional). */
typedef struct bmeq_edema_side_geom {
	int found;                  /* 1: the head was found on this side */
	double centre[3];           /* head centre, RAS mm */
	double radius;              /* fitted head radius, mm (0: unknown) */
	char reason[160];           /* why not found; when found "" or a remark for
				       the message column (e.g. a partial head measured
				       on request) */
	bmeq_hip_status status;     /* when not found, the region's status:
				       BMEQ_HIP_NOT_IN_VIEW, _PARTIAL or _UNCERTAIN
				       (BMEQ_HIP_NONE: not_found) */
	int fatsat_failed;          /* 1: the STIR's fat suppression failed over this
				       hip (bmeq/fatsat.h): it is not measured (status
				       BMEQ_HIP_FATSAT_FAILED, reason as its message)
				       and its marrow takes no part in the reference */
} bmeq_edema_side_geom;

/* Per side (or user region) result. Volumes in mL. */
typedef struct bmeq_edema_region {
	bmeq_side side;             /* right, left, or BMEQ_SIDE_NONE for a user
				       region of its own label (see label) */
	uint16_t label;             /* that user region's ROI label; 0 for a side */
	bmeq_hip_status status;     /* OK, NOT_FOUND (a user region without voxels),
				       NOT_IN_VIEW, PARTIAL, UNCERTAIN (the femoral
				       head's status, bmeq_head_status) or ERROR */
	char message[256];
	double region_ml, edema_ml, edema_fraction;
	double edema_ml_low, edema_ml_high; /* edema_ml over the rule's band (params.band) */
	double head_ml, head_edema_ml, neck_ml, neck_edema_ml;
	size_t lesions;
	double largest_lesion_ml;
	double edema_to_reference_ratio; /* mean edema intensity / reference median (NaN: none) */
	double edema_removed_by_t1_ml; /* edema by the STIR rule that the T1 gate removed
				       (before the lesion size filter); NaN without a T1 gate */
} bmeq_edema_region;

typedef struct bmeq_lesion {
	int region_index;           /* index into bmeq_edema_result.regions */
	bmeq_part part;             /* head or neck (where most voxels lie), or
				       BMEQ_PART_ROI in a user region */
	double volume_ml;
	size_t voxels;
	double centroid[3];         /* RAS mm */
	double mean_ratio;          /* mean intensity / reference median */
	double depth_mm;            /* smallest depth of a lesion voxel below the head's
				     * articular surface (fitted sphere); NaN when unknown */
} bmeq_lesion;

typedef struct bmeq_edema_result {
	double reference_intensity; /* median of the reference voxels */
	double threshold;
	char rule_text[BMEQ_RULE_TEXT_MAX];
	double threshold_low, threshold_high; /* the band's thresholds (high gives edema_ml_low) */
	int factor_from_reader;     /* copied from the params: "reader" or "auto" source */
	bmeq_refstats reference;
	int t1_gated;               /* 1: a T1 was given and the gate applied */
	double t1_reference;        /* median T1 of the normal marrow (NaN: no gate) */
	double t1_limit;            /* the gate's T1 limit (NaN: no gate) */
	size_t nregions;
	bmeq_edema_region *regions; /* sorted: right, left, then label-N ascending */
	size_t nlesions;
	bmeq_lesion *lesions;       /* sorted by region, then by first voxel in raster order */
	uint16_t *edema_map;        /* nvox: ROI label on edema voxels, else 0 */
} bmeq_edema_result;

/* Measures edema in scan inside roi (nvox uint16 labels on scan's grid).
 * reference: NULL for the automatic reference (normal-appearing marrow
 * inside the femoral regions: the dark population of both hips, bright tail
 * rejected), else a mask (nvox, non-zero = reference voxel). geom: NULL or
 * two entries (right, left) from segmentation; a side whose head was not
 * found gets status "not_found" with the reason. *out owned by the caller.
 * BMEQ_E_PROCESS when no reference can be estimated (message says why);
 * BMEQ_E_ARG for bad parameters; BMEQ_E_NOMEM. */
bmeq_status bmeq_edema_measure(const bmeq_volume *scan, const uint16_t *roi,
			       const uint8_t *reference, const bmeq_edema_side_geom *geom,
			       const bmeq_edema_params *params, bmeq_edema_result **out);

/* The box of scan voxels, lo..hi inclusive per axis, whose T1 the T1 gate
 * reads: every voxel of roi (nvox labels on g) and of reference (NULL: none),
 * grown along each axis by the reach of the smoothing (params->smooth_mm; NULL
 * params: the defaults) and clamped to the grid. A T1 resampled onto this box
 * gates exactly as one resampled onto the whole grid. Returns 0 (lo, hi
 * untouched) when roi and reference hold no voxel. */
int bmeq_edema_t1_box(const bmeq_grid *g, const uint16_t *roi, const uint8_t *reference,
		      const bmeq_edema_params *params, size_t lo[3], size_t hi[3]);

/* As bmeq_edema_measure, with the visit's T1 resampled onto scan's grid
 * (NULL: none; NaN voxels where the T1 does not reach), or onto a box of it:
 * t1's voxel (0,0,0) is scan voxel t1_lo (NULL: t1 is on the whole grid) and
 * t1->grid.dim its size. With params->t1_gate, edema voxels brighter on T1
 * than normal marrow's t1_gate_quantile are removed (see edema.c) and each
 * region's edema_removed_by_t1_ml says how much. BMEQ_E_GRID when t1 does not
 * fit the scan's grid or does not hold bmeq_edema_t1_box's box;
 * BMEQ_E_PROCESS when too few normal-marrow voxels have a T1 value. */
bmeq_status bmeq_edema_measure_t1(const bmeq_volume *scan, const bmeq_volume *t1,
				  const size_t t1_lo[3], const uint16_t *roi,
				  const uint8_t *reference, const bmeq_edema_side_geom *geom,
				  const bmeq_edema_params *params, bmeq_edema_result **out);

/* The whole method in one line for provenance (rule, reference, smoothing,
 * rim, edges, lesion filter, range), e.g. "median*1.46 over the normal-marrow
 * level (...) on the image smoothed at 1.5 mm; ...". Truncated to cap. */
void bmeq_edema_method_text(const bmeq_edema_params *p, char *buf, size_t cap);

/* bmeq_edema_method_text followed by what a T1 adds (the gate, the
 * weighting) for the scans measured with one: what provenance.json's
 * threshold_method records. */
void bmeq_edema_method_text_t1(const bmeq_edema_params *p, char *buf, size_t cap);

/* Frees r. Accepts NULL. */
void bmeq_edema_result_destroy(bmeq_edema_result *r);

#ifdef __cplusplus
}
#endif
#endif
