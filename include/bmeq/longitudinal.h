/* bmeq/longitudinal.h - comparing visits: response classes, registered
 * change maps and the response tables.
 *
 * A follow-up scan is compared with an earlier scan of the same subject (the
 * baseline, or the previous visit) hip by hip:
 *   - the edema volumes of both visits give the change (mL and %) and the
 *     response class under a configurable rule (bmeq_response_rule);
 *   - the follow-up is registered rigidly onto the earlier scan around each
 *     proximal femur, its edema map is carried onto the earlier grid, and the
 *     edema is split into resolved (earlier only), persistent (both) and new
 *     (follow-up only) volumes, also written as a change map.
 *
 * Response rule (defaults; every value configurable, the rule's canonical
 * text goes into the response_rule column and the provenance):
 *   measurable    edema_ml >= measurable_ml (0.5 mL)
 *   complete      baseline measurable, follow-up not
 *   partial       both measurable, change <= -partial_pct (30 %)
 *   progression   both measurable, change >= +progression_pct (20 %) and
 *                 >= +progression_ml (1 mL)
 *   stable        both measurable, otherwise
 *   new           baseline not measurable, follow-up measurable
 *   none          neither measurable
 *   not_evaluable a scan failed or a femoral head was not found on a side
 * Comparisons at a cut-off are made on the unrounded volumes with a margin of
 * 1e-9 (mL or percentage points), so that 10 -> 7 mL is a partial response
 * although 0.3 is not exact in binary.
 *
 * Uncertain response: each visit's volume comes with a range (edema_ml_low,
 * edema_ml_high: the threshold rule's factor moved by its band). A response
 * is uncertain when the class could differ for volumes anywhere within both
 * visits' ranges (bmeq_response_uncertain); response.csv says so in its
 * uncertain column and the message names the classes and the ranges.
 */
#ifndef BMEQ_LONGITUDINAL_H
#define BMEQ_LONGITUDINAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/csv.h"
#include "bmeq/edema.h"
#include "bmeq/itk.h"
#include "bmeq/measure.h"
#include "bmeq/status.h"
#include "bmeq/tables.h"
#include "bmeq/scan.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- response rule ------------------------------------------------------- */

/* Response classes; the values are stable. */
typedef enum bmeq_response {
	BMEQ_RESPONSE_COMPLETE = 0,
	BMEQ_RESPONSE_PARTIAL = 1,
	BMEQ_RESPONSE_STABLE = 2,
	BMEQ_RESPONSE_PROGRESSION = 3,
	BMEQ_RESPONSE_NEW = 4,
	BMEQ_RESPONSE_NONE = 5,
	BMEQ_RESPONSE_NOT_EVALUABLE = 6
} bmeq_response;

/* The class's name as written in response.csv ("complete", "partial",
 * "stable", "progression", "new", "none", "not_evaluable"); "unknown" for a
 * value outside the enum. Never NULL. */
const char *bmeq_response_name(bmeq_response r);

typedef struct bmeq_response_rule {
	double measurable_ml;    /* edema below this is "not measurable" (0.5) */
	double partial_pct;      /* decrease of at least this much: partial (30) */
	double progression_pct;  /* increase of at least this much ... (20) */
	double progression_ml;   /* ... and at least this many mL: progression (1.0) */
} bmeq_response_rule;

/* Longest canonical rule text, terminator included. */
#define BMEQ_RESPONSE_RULE_TEXT_MAX 160

/* Fills the defaults above. */
void bmeq_response_rule_init(bmeq_response_rule *r);

/* BMEQ_OK when every value is finite and in range (measurable_ml >= 0,
 * 0 < partial_pct <= 100, progression_pct > 0, progression_ml >= 0), else
 * BMEQ_E_ARG naming the value. */
bmeq_status bmeq_response_rule_check(const bmeq_response_rule *r);

/* Writes the canonical text of r into out (cap bytes, at most
 * BMEQ_RESPONSE_RULE_TEXT_MAX needed), for the defaults
 * "measurable>=0.5ml;partial<=-30%;progression>=+20%&>=+1ml". Numbers use
 * the shortest form that reads back to the same double (C locale). */
void bmeq_response_rule_text(const bmeq_response_rule *r, char *out, size_t cap);

/* The rule's settings (response.measurable_ml ...) are set through the
 * settings table (bmeq/settings.h), as every setting of bmeq. */

/* Classifies one side. *_ok: the scan was measured and the head was found on
 * this side (status "ok"); volumes in mL (a non-finite volume makes the side
 * not evaluable). */
bmeq_response bmeq_response_classify(const bmeq_response_rule *r, int baseline_ok,
				     double baseline_ml, int followup_ok, double followup_ml);

/* Bit (1u << class) for each class reachable by some pair of volumes within
 * [baseline_lo, baseline_hi] x [followup_lo, followup_hi] (each range is
 * widened to hold its point value baseline_ml / followup_ml). Both sides must
 * be measured ("ok"); a non-finite bound counts as no range (the point value).
 * The class is evaluated at the ranges' ends, the point values and the
 * measurable cut-off where it lies inside a range; those points reach every
 * class the rectangle holds except stable strictly between a partial and a
 * progression corner, which is added then (the ratio follow-up / baseline
 * passes through the stable band on the way). */
unsigned bmeq_response_classes_within(const bmeq_response_rule *r, double baseline_ml,
				      double baseline_lo, double baseline_hi, double followup_ml,
				      double followup_lo, double followup_hi);

/* 1 when bmeq_response_classes_within holds more than one class: the response
 * class could change within the visits' ranges. */
int bmeq_response_uncertain(const bmeq_response_rule *r, double baseline_ml, double baseline_lo,
			    double baseline_hi, double followup_ml, double followup_lo,
			    double followup_hi);

/* ---- one visit ----------------------------------------------------------- */

/* Status of one side of a visit. */
enum {
	BMEQ_SIDE_OK = 0,
	BMEQ_SIDE_NOT_FOUND = 1,   /* not measured: the femoral head not found (not in
				      view, doubtful) or its fat suppression failed */
	BMEQ_SIDE_ERROR = 2        /* the scan failed as a whole */
};

/* Side indices: bmeq_side (bmeq/hip.h), the order of every per-side array. */

/* What the comparison needs of one visit. The batch can build it from saved
 * outputs (corrected image or the original scan, the _edema map, scans.csv
 * rows), so a baseline need not be measured again on --resume. Nothing is
 * owned: the pointers must stay valid during bmeq_compare_timepoints. */
typedef struct bmeq_timepoint {
	const bmeq_volume *image;      /* NULL: volumes only, no registration */
	const uint16_t *edema_map;     /* on image's grid: region label (1-4) on edema
					  voxels, else 0; NULL: no registration */
	bmeq_edema_side_geom geom[2];  /* right, left: head centre and radius */
	int side_status[2];            /* BMEQ_SIDE_* */
	double edema_ml[2];            /* right, left */
	int has_range;                 /* 1: edema_ml_low/high below hold each ok side's
					  range (0, e.g. a zeroed timepoint: the point
					  values alone, never uncertain) */
	double edema_ml_low[2], edema_ml_high[2]; /* right, left */
	const char *message[2];        /* NULL or why a side is not ok */
} bmeq_timepoint;

/* Fills tp from a measured scan (tp points into r; r must outlive tp). With
 * a user ROI (no segmentation ran) each head's centre is its label's centroid
 * and its radius that of a ball of the label's volume. */
void bmeq_timepoint_from_scan(bmeq_timepoint *tp, const bmeq_scan_result *r);

/* BMEQ_SIDE_* of a side's status (scans.csv, the scan record): OK;
 * NOT_FOUND, NOT_IN_VIEW, PARTIAL, UNCERTAIN (no head measured); NONE and
 * ERROR an error. */
int bmeq_side_status_of(bmeq_hip_status status);

/* Fills tp for a scan that failed as a whole (both sides BMEQ_SIDE_ERROR,
 * message on both; message must outlive tp). */
void bmeq_timepoint_failed(bmeq_timepoint *tp, const char *message);

/* ---- comparing two visits ------------------------------------------------ */

typedef struct bmeq_compare_opts {
	bmeq_response_rule rule;
	int spatial;               /* 1 (default): register and split the edema
				      into resolved / persistent / new */
	bmeq_reg_params reg;       /* registration settings; region, centre and
				      radius are set per side */
	double region_factor;      /* registration sphere radius = factor x head
				      radius (1.8: head, acetabulum and the upper
				      neck; 2.2 was no more accurate on the phantom
				      and 1.8x slower) */
	double region_min_mm;      /* ... but at least this (45 mm) */
	double region_default_mm;  /* radius when the head radius is unknown (60 mm) */
	int refine;                /* 1 (default): a second, single-level pass with
				      small steps in a sphere of refine_factor x
				      head radius, started from the first */
	double refine_factor;      /* 1.8: the same sphere as the first pass */
	double refine_mm;          /* voxel size aimed at by the second pass (1.5 mm;
				      0 = full resolution) */
	double max_centre_error_mm;/* quality: the baseline head centre mapped through
				      the transform lies within this of the follow-up's
				      detected centre (5 mm) */
} bmeq_compare_opts;

/* Fills the defaults above (registration: bmeq_reg_params_default). */
void bmeq_compare_opts_init(bmeq_compare_opts *o);

/* One side of a comparison. Volumes in mL; NaN means "no value" and is
 * written as an empty CSV field. */
typedef struct bmeq_side_change {
	double baseline_ml, followup_ml;
	double change_ml;          /* follow-up - baseline */
	double change_pct;         /* 100 x change / baseline; NaN when baseline is 0 */
	double resolved_ml;        /* baseline edema without follow-up edema */
	double persistent_ml;      /* edema in both */
	double new_ml;             /* follow-up edema without baseline edema */
	double baseline_ml_low, baseline_ml_high; /* each visit's range (NaN: none) */
	double followup_ml_low, followup_ml_high;
	bmeq_response response;
	int uncertain;             /* 1: the class could differ within the ranges; the
				      message starts with "uncertain: ..." */
	int registered;            /* 1: the spatial columns hold values */
	bmeq_rigid transform;      /* baseline world -> follow-up world (RAS mm) */
	double centre_error_mm;    /* quality measure above (NaN: not registered) */
	char message[256];         /* "" or why something is missing */
} bmeq_side_change;

typedef struct bmeq_comparison {
	bmeq_side_change side[2];  /* right, left */
	char rule_text[BMEQ_RESPONSE_RULE_TEXT_MAX];
} bmeq_comparison;

/* Compares follow-up with baseline side by side (see the file comment).
 * Per side with both heads found and both images and maps given, the
 * follow-up is registered onto the baseline (rigid, Mattes MI, in a sphere
 * around the baseline head centre, initialised with the translation between
 * the detected centres); a registration that fails, raises quality flags or
 * misses the follow-up's detected centre by more than max_centre_error_mm is
 * not used: the volumes and the class are still reported, the spatial values
 * are NaN and the message says why. That is not an error of the call.
 * change_map (optional, nvox of the baseline grid, caller-owned) receives 0,
 * or 1 resolved, 2 persistent, 3 new on the sides that were registered.
 * opts NULL means the defaults. Statuses: BMEQ_E_ARG for NULL arguments or a
 * bad rule, BMEQ_E_NOMEM. Thread-safe (ITK's thread count: see itk.h). */
bmeq_status bmeq_compare_timepoints(const bmeq_timepoint *baseline, const bmeq_timepoint *followup,
				    const bmeq_compare_opts *opts, bmeq_comparison *out,
				    uint8_t *change_map);

/* Flags a comparison whose two scans were acquired differently (field
 * strength, slice thickness or sequence; bmeq_protocol_differs): both sides'
 * messages get "protocol differs: ..." because the change the row reports may
 * be the scanner's. Nothing happens when either protocol is unknown. */
void bmeq_comparison_flag_protocol(bmeq_comparison *c, const bmeq_protocol *baseline,
				   const bmeq_protocol *followup);

/* ---- response.csv and response_interval.csv ------------------------------ */

#define BMEQ_RESPONSE_NCOLUMNS 16
/* subject, side, baseline_session, session, baseline_edema_ml, edema_ml,
 * change_ml, change_pct, resolved_ml, persistent_ml, new_ml, response,
 * uncertain (yes/no), response_rule, early_retreatment, message */
extern const char *const bmeq_response_columns[BMEQ_RESPONSE_NCOLUMNS];

/* Writes the header row of response.csv / response_interval.csv (the same
 * columns; extras may be NULL). */
bmeq_status bmeq_response_header(bmeq_csv *w, const bmeq_extra_cols *extras);

/* Writes the two rows (right, left) of one comparison. early[s] is written
 * in the early_retreatment column ("yes" when non-zero, else "no"). Volumes
 * with 3 decimals, change_pct with 1. */
bmeq_status bmeq_response_rows(bmeq_csv *w, const char *subject, const char *baseline_session,
			       const char *session, const bmeq_comparison *c, const int early[2],
			       const bmeq_extra_cols *extras);

/* One subject's visits in time order, for bmeq_response_subject_rows. */
typedef struct bmeq_subject_visits {
	const char *subject;
	size_t n;                            /* sessions, baseline first */
	const char *const *sessions;         /* n labels */
	const bmeq_comparison *const *vs_baseline; /* n entries; [0] unused; [i]: session i
						      against session 0 (NULL: not compared,
						      no rows) */
	const bmeq_comparison *const *vs_previous; /* n entries; [0] unused; [i]: session i
						      against session i-1 (may be the same
						      object as vs_baseline[1] for i = 1);
						      NULL array: no interval rows */
	const bmeq_extra_cols *extras;       /* n entries (manifest columns of each
						session's row) or NULL */
} bmeq_subject_visits;

/* Writes one subject's rows: into response (may be NULL) every follow-up
 * against the baseline, into interval (may be NULL) every follow-up against
 * the previous visit; both session-major, right then left.
 * early_retreatment is a property of the subject and side: "yes" on every
 * row of that subject and side (in both files) when the first follow-up
 * (session 1) was a partial response against the baseline, else "no", so
 * that a statistician can filter subjects on it from any row. */
bmeq_status bmeq_response_subject_rows(bmeq_csv *response, bmeq_csv *interval,
				       const bmeq_subject_visits *v);

#ifdef __cplusplus
}
#endif
#endif
