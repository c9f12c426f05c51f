/* bmeq/femhead.h - automatic segmentation of both femoral heads and necks.
 *
 * The segmentation finds each proximal femur on a scan of any orientation
 * (coronal, axial, oblique, flipped storage, thick slices) and contrast (STIR:
 * dark marrow in bright fluid and cartilage; T1: bright marrow in dark
 * cortex), with classical methods only:
 *   1. resample onto an axis-aligned RAS working grid (2 mm), normalise by
 *      percentiles and smooth;
 *   2. vote for sphere centres along both directions of the intensity
 *      gradient (a 3D Hough transform that ignores edge polarity);
 *   3. pair the two heads (symmetric about the midline, similar height,
 *      depth and size); a side without a credible head is reported missing;
 *   4. refine each centre and radius at sub-voxel precision on the scan's own
 *      voxels (edge search along rays, robust least-squares sphere fit);
 *   5. find the neck axis (the direction in which the bone continues out of
 *      the sphere, inferolaterally) and label head and neck on the scan grid.
 * A sphere counts as a femoral head only when it is placed like one: it sits
 * in an acetabulum (a cup concentric with it), its measured neck leaves it
 * inferiorly and laterally, a pair of heads straddles the body's midline
 * (the plane of best left-right symmetry of the scan) symmetrically, and a
 * lone head (no partner) has no mirror twin across that midline closer than
 * sep_min_mm. So a scan without a hip (a brain, an abdomen, a field of view
 * above the hips) reports no head on either side. Each side then gets a
 * status (bmeq_head_status): a head wholly in view with good edge support
 * is found; one cut by the edge of the field of view is partial; one with
 * weak edge support is uncertain. Only found heads are labelled, unless
 * params.accept_doubtful asks for the others too.
 *
 * Labels: 1 right head, 2 left head, 3 right neck, 4 left neck (the
 * patient's sides from the affine: in RAS+ the patient's right is +x).
 * The head is the whole fitted sphere (outer bone surface, cortex included):
 * the head-neck junction is where the neck leaves that sphere. The neck is an
 * elliptic cylinder along the neck axis outside the sphere, ending at the base
 * of the neck (intertrochanteric line). These are the definitions of the
 * phantom's truth maps (bmeq/phantom.h), so its Dice scores measure exactly
 * this segmentation.
 */
#ifndef BMEQ_FEMHEAD_H
#define BMEQ_FEMHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/hip.h"
#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the segmentation says of one side (bmeq_femhead_side.status). */
typedef enum bmeq_head_status {
	BMEQ_HEAD_NOT_IN_VIEW = 0, /* no femoral head in view on this side */
	BMEQ_HEAD_FOUND,           /* a femoral head, wholly in view, every test passed */
	BMEQ_HEAD_PARTIAL,         /* a head cut by the edge of the field of view or slab,
				    * or whose acetabulum is out of view */
	BMEQ_HEAD_UNCERTAIN        /* placed like a hip, but with weak edge support */
} bmeq_head_status;

/* "not_in_view", "found", "partial", "uncertain". */
const char *bmeq_head_status_name(bmeq_head_status s);

/* The side's status in the tables that a head status gives when the side is
 * not measured for it (found: BMEQ_HIP_OK). */
bmeq_hip_status bmeq_head_status_hip(bmeq_head_status s);

/* Side indices of bmeq_femhead_result.side and the labels written by
 * bmeq_femhead_segment: the sides and labels of bmeq/hip.h, under the names
 * the segmentation's code uses. */
enum { BMEQ_FEMHEAD_RIGHT = BMEQ_SIDE_RIGHT, BMEQ_FEMHEAD_LEFT = BMEQ_SIDE_LEFT };
enum {
	BMEQ_FEMHEAD_LABEL_RIGHT_HEAD = BMEQ_LABEL_RIGHT_HEAD,
	BMEQ_FEMHEAD_LABEL_LEFT_HEAD = BMEQ_LABEL_LEFT_HEAD,
	BMEQ_FEMHEAD_LABEL_RIGHT_NECK = BMEQ_LABEL_RIGHT_NECK,
	BMEQ_FEMHEAD_LABEL_LEFT_NECK = BMEQ_LABEL_LEFT_NECK
};

typedef struct bmeq_femhead_params {
	double work_spacing_mm;  /* working grid voxel size (default 2) */
	double radius_min_mm;    /* head radii searched (default 17 .. 32) */
	double radius_max_mm;
	double sep_min_mm;       /* centre-to-centre distance of the two heads */
	double sep_max_mm;       /* (default 120 .. 260) */
	double min_confidence;   /* heads of a pair below this are not reported, a
				  * lone head below this + 0.1 (default 0.45) */
	double qc_confidence;    /* heads below this are uncertain (0.6) */
	double min_cup;          /* acetabular congruence below this: not a head (0.45) */
	double min_in_view;      /* fraction of the head in view below this: partial (0.95) */
	int label_necks;         /* 1 (default): label the necks too */
	int accept_doubtful;     /* 1: partial and uncertain heads are labelled and
				  * reported found too (status kept); 0 (default) */
	int search_box;          /* 1: heads are searched for (the working grid of
				  * step 1) only inside the world box search_lo ..
				  * search_hi (RAS mm), e.g. the part of a T1's field
				  * of view that another scan covers; the fit and
				  * the checks still read the whole scan. 0
				  * (default): the whole field of view */
	double search_lo[3], search_hi[3];
} bmeq_femhead_params;

/* Fills the defaults above. */
void bmeq_femhead_params_init(bmeq_femhead_params *p);

/* Angles at which a neck's outer surface radius is measured (neck_rho_mm). */
#define BMEQ_FEMHEAD_NECK_ANGLES 32

typedef struct bmeq_femhead_side {
	int found;               /* 1 when the side's head is labelled and to be
				  * measured: status found (or partial/uncertain
				  * with params.accept_doubtful) */
	bmeq_head_status status;
	char reason[160];        /* "" when found, else why not (one line) */
	double centre[3];        /* head centre, RAS mm */
	double radius_mm;        /* fitted sphere radius */
	double head_ml;          /* labelled volumes on the scan grid, mL */
	double neck_ml;
	double neck_axis[3];     /* unit vector from the head centre along the neck */
	double junction_mm;      /* centre -> plane where the neck leaves the sphere */
	double neck_length_mm;   /* centre -> base of the neck (intertrochanteric
				  * line) along the axis */
	double neck_radius_mm[2];/* neck semi-axes: in the neck-shaft (vertical)
				  * plane, and across it */
	double neck_e0[3];       /* the neck's cross-section frame: e0 in the
				  * neck-shaft plane, e1 across it (unit vectors
				  * normal to neck_axis) */
	double neck_e1[3];
	double neck_rho_mm[BMEQ_FEMHEAD_NECK_ANGLES]; /* the neck's outer surface radius
				  * from its axis at angle 2 pi a / N from e0 towards
				  * e1 (what the neck label is drawn from) */
	double confidence;       /* 0..1: edge support of the fitted sphere */
	double fit_rms_mm;       /* RMS distance of the inlier edges to the sphere */
	double in_view;          /* fraction of the head's volume in the field of view */
	double cup;              /* acetabular congruence (bmeq_fh_cup_score; NAN: the
				  * roof is out of view) */
	int qc;                  /* 1: status found; 0: review */
} bmeq_femhead_side;

/* A candidate head that the segmentation tried against the anatomical tests
 * (for review: why a side has no head, or which round structures were seen). */
typedef struct bmeq_femhead_try {
	int side;                /* tried as BMEQ_FEMHEAD_RIGHT or _LEFT */
	double centre[3];        /* RAS mm */
	double radius_mm;
	double confidence;       /* edge support */
	double in_view;          /* fraction of it in the field of view */
	double acetabulum;       /* congruence of a cup around it (NAN: roof out of view) */
	double neck_opening;     /* fraction of open rays around its neck axis */
	double neck_axis[3];
	char verdict[64];        /* "head" or the test it failed */
} bmeq_femhead_try;

#define BMEQ_FEMHEAD_MAX_TRIES 24

typedef struct bmeq_femhead_result {
	bmeq_femhead_side side[2];  /* [BMEQ_FEMHEAD_RIGHT], [BMEQ_FEMHEAD_LEFT] */
	bmeq_femhead_try tries[BMEQ_FEMHEAD_MAX_TRIES]; /* in the order tried */
	size_t ntries;
	double seconds;             /* wall time of the segmentation */
} bmeq_femhead_result;

/* Segments both femoral heads and necks of scan. params NULL means the
 * defaults. labels_out (nvox uint8 on scan's grid, caller-owned) receives
 * 0 background and the four labels above (NULL: nothing is drawn, and
 * head_ml and neck_ml stay 0, for a caller that draws the sides on another
 * grid with bmeq_femhead_label_side); res receives per-side results
 * (a side that is not found has found = 0 and a reason; that is not an
 * error). Statuses: BMEQ_E_ARG (NULL pointers, bad params), BMEQ_E_FORMAT
 * (image too small to hold a hip, no finite signal), BMEQ_E_NOMEM.
 * Thread-safety: reentrant; may run on several scans at once. */
bmeq_status bmeq_femhead_segment(const bmeq_volume *scan, const bmeq_femhead_params *params,
				 uint8_t *labels_out, bmeq_femhead_result *res);

/* Moves a side's geometry (centre, neck axis and frame) by the rigid map
 * y = m[.][0..2] x + m[.][3] (m's 3x3 part a rotation), e.g. from the world
 * of the image it was found on into the world of another image of the same
 * visit. Sizes are kept. Thread-safe. */
void bmeq_femhead_side_move(bmeq_femhead_side *side, const double m[3][4]);

/* Labels one side's head (head_label) and, when label_neck, neck (neck_label)
 * on grid g from its geometry alone, as bmeq_femhead_segment labels the grid
 * it segmented: the head is the fitted sphere, the neck the measured section
 * along the neck axis out to neck_length_mm, each voxel by its centre. A side
 * found on another image (a T1 of the visit) and moved into g's world
 * (bmeq_femhead_side_move) is thus drawn on g at g's own resolution, with no
 * resampling of a coarser label map. Voxels already labelled keep their
 * label; labels (nvox of g) is the caller's. Sets side->head_ml and neck_ml
 * (the voxels labelled here). BMEQ_E_ARG for NULL arguments or a side with
 * no radius. Thread-safe. */
bmeq_status bmeq_femhead_label_side(const bmeq_grid *g, bmeq_femhead_side *side,
				    uint8_t head_label, uint8_t neck_label, int label_neck,
				    uint8_t *labels);

/* One region of a user label map (--roi). */
typedef struct bmeq_roi_region {
	unsigned label;          /* label value (> 0) */
	bmeq_side side;          /* labels 1-4: their side; else BMEQ_SIDE_NONE
				    (written "label-N") */
	bmeq_part part;          /* head, neck, or BMEQ_PART_ROI */
	size_t voxels;
	double ml;
	double centroid[3];      /* RAS mm */
} bmeq_roi_region;

/* Summarises a user label map (nvox uint16 labels on grid g, e.g. from
 * bmeq_nifti_read_labels, which also rejects a mask on another grid with
 * BMEQ_E_GRID) into regions sorted by label: labels 1-4 are the right/left
 * heads and necks, any other non-zero label is its own region (side
 * BMEQ_SIDE_NONE, part BMEQ_PART_ROI). *regions is malloc'ed (caller frees; NULL when *n is 0).
 * Also fills res (when not NULL) from labels 1 and 2: found when the head
 * label is present, centre the centroid, radius from the volume of a sphere.
 * Statuses: BMEQ_E_ARG, BMEQ_E_NOMEM. Thread-safe. */
bmeq_status bmeq_femhead_roi_from_labels(const bmeq_grid *g, const uint16_t *labels,
					 bmeq_roi_region **regions, size_t *n,
					 bmeq_femhead_result *res);

#ifdef __cplusplus
}
#endif
#endif
