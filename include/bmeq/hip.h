/* bmeq/hip.h - the patient's sides, the region labels of the ROI and edema
 * maps, the parts of a femur a lesion lies in, and what became of a side:
 * what segmentation, measurement, comparison and the tables reason about, as
 * enums. Their names ("right", "head", "not_in_view", ...) are spelled only
 * where bmeq reads or writes text (CSV, JSON, the command line), through the
 * functions below.
 * Header only; thread-safe.
 */
#ifndef BMEQ_HIP_H
#define BMEQ_HIP_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The patient's side (from the affine, never from storage order). The values
 * index every per-side array (geom[2], side[2], ...): right first. */
typedef enum bmeq_side {
	BMEQ_SIDE_NONE = -1,   /* not a side: a user region with a label of its own */
	BMEQ_SIDE_RIGHT = 0,
	BMEQ_SIDE_LEFT = 1
} bmeq_side;

/* Sides in table order: right, left. */
#define BMEQ_NSIDES 2

/* "right" or "left"; "" for BMEQ_SIDE_NONE or a value outside the enum. */
static inline const char *bmeq_side_name(bmeq_side s)
{
	return s == BMEQ_SIDE_RIGHT ? "right" : s == BMEQ_SIDE_LEFT ? "left" : "";
}

/* The side a name spells ("right", "left"), else BMEQ_SIDE_NONE. */
static inline bmeq_side bmeq_side_parse(const char *name)
{
	return strcmp(name, "right") == 0 ? BMEQ_SIDE_RIGHT
	       : strcmp(name, "left") == 0 ? BMEQ_SIDE_LEFT
					   : BMEQ_SIDE_NONE;
}

/* Region labels of the ROI and edema maps (stable: they are in the files).
 * Any other non-zero label is a user region of its own. */
typedef enum bmeq_label {
	BMEQ_LABEL_NONE = 0,
	BMEQ_LABEL_RIGHT_HEAD = 1,
	BMEQ_LABEL_LEFT_HEAD = 2,
	BMEQ_LABEL_RIGHT_NECK = 3,
	BMEQ_LABEL_LEFT_NECK = 4
} bmeq_label;

/* Where in the femur a region or lesion lies. */
typedef enum bmeq_part {
	BMEQ_PART_HEAD = 0,
	BMEQ_PART_NECK = 1,
	BMEQ_PART_ROI = 2      /* a user region (label other than 1-4) */
} bmeq_part;

/* "head", "neck" or "roi". */
static inline const char *bmeq_part_name(bmeq_part p)
{
	return p == BMEQ_PART_HEAD ? "head" : p == BMEQ_PART_NECK ? "neck" : "roi";
}

/* The side of a femoral label (1-4), else BMEQ_SIDE_NONE. */
static inline bmeq_side bmeq_label_side(unsigned label)
{
	return label < 1 || label > 4 ? BMEQ_SIDE_NONE
	       : label % 2 ? BMEQ_SIDE_RIGHT
			   : BMEQ_SIDE_LEFT;
}

/* The part of a label: head (1, 2), neck (3, 4), else a user region. */
static inline bmeq_part bmeq_label_part(unsigned label)
{
	return label == 1 || label == 2 ? BMEQ_PART_HEAD
	       : label == 3 || label == 4 ? BMEQ_PART_NECK
					  : BMEQ_PART_ROI;
}

/* The femoral label of a side's head or neck. */
static inline bmeq_label bmeq_label_of(bmeq_side s, bmeq_part p)
{
	return (bmeq_label)((p == BMEQ_PART_NECK ? 3 : 1) + (s == BMEQ_SIDE_LEFT));
}

/* What became of a side (or a user region) of a scan: the status column of
 * scans.csv and the per-side status of the scan record. */
typedef enum bmeq_hip_status {
	BMEQ_HIP_NONE = 0,        /* nothing recorded (a failed scan's record; "") */
	BMEQ_HIP_OK = 1,          /* measured */
	BMEQ_HIP_NOT_FOUND = 2,   /* a user region without voxels, or a head not found
				   * for no stated reason */
	BMEQ_HIP_NOT_IN_VIEW = 3, /* no femoral head in view on this side */
	BMEQ_HIP_PARTIAL = 4,     /* a head cut by the field of view, not measured */
	BMEQ_HIP_UNCERTAIN = 5,   /* a head with weak edge support, not measured */
	BMEQ_HIP_ERROR = 6,       /* the scan failed */
	BMEQ_HIP_FATSAT_FAILED = 7 /* the STIR's fat suppression failed over this hip
				   * (bmeq/fatsat.h): the STIR cannot show its edema,
				   * not measured */
} bmeq_hip_status;
#define BMEQ_HIP_STATUS_LAST BMEQ_HIP_FATSAT_FAILED

/* "ok", "not_found", "not_in_view", "partial", "uncertain", "error",
 * "fat_suppression_failed"; "" for
 * BMEQ_HIP_NONE or a value outside the enum. */
static inline const char *bmeq_hip_status_name(bmeq_hip_status s)
{
	switch (s) {
	case BMEQ_HIP_OK: return "ok";
	case BMEQ_HIP_NOT_FOUND: return "not_found";
	case BMEQ_HIP_NOT_IN_VIEW: return "not_in_view";
	case BMEQ_HIP_PARTIAL: return "partial";
	case BMEQ_HIP_UNCERTAIN: return "uncertain";
	case BMEQ_HIP_ERROR: return "error";
	case BMEQ_HIP_FATSAT_FAILED: return "fat_suppression_failed";
	case BMEQ_HIP_NONE: break;
	}
	return "";
}

/* The status a word spells; "" is BMEQ_HIP_NONE and any other word (a
 * damaged or foreign record) BMEQ_HIP_ERROR, so it is never taken as
 * measured. */
static inline bmeq_hip_status bmeq_hip_status_parse(const char *name)
{
	if (!name[0])
		return BMEQ_HIP_NONE;
	for (int s = BMEQ_HIP_OK; s <= BMEQ_HIP_STATUS_LAST; s++)
		if (strcmp(name, bmeq_hip_status_name((bmeq_hip_status)s)) == 0)
			return (bmeq_hip_status)s;
	return BMEQ_HIP_ERROR;
}

#ifdef __cplusplus
}
#endif
#endif
