/* bmeq/measure.h - one scan through the whole pipeline:
 * load -> bias correction -> femoral head/neck regions -> threshold -> lesions -> volumes.
 *
 * `bmeq measure` and `bmeq batch` both call bmeq_measure_scan, so a scan gives
 * the same numbers whichever command measured it.
 * Thread-safety: bmeq_measure_scan may run on several scans at once (the batch
 * sets ITK's thread count so workers do not oversubscribe the cores).
 */
#ifndef BMEQ_MEASURE_H
#define BMEQ_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/edema.h"
#include "bmeq/fatsat.h"
#include "bmeq/itk.h"
#include "bmeq/scan.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_measure_opts {
	bmeq_edema_params edema;
	int bias_correct;           /* 1 (default): N4 before segmentation and threshold */
	bmeq_n4_params n4;
	long volume;                /* volume of a 4D file, -1 (default): must be 3D */
	double max_scan_mb;         /* refuse scans whose float32 volume is larger (default
				       1024 MB; the pipeline holds a few copies of it) */
	int measure_doubtful;       /* 1: measure partial and uncertain femoral heads too
				       (bmeq_femhead_params.accept_doubtful); 0 (default) */
	int t1_segment;             /* 1: with a T1 and no --roi, the femoral regions are
				       found on the T1 and carried onto the STIR; 0
				       (default): found on the STIR */
	int t1_register;            /* 1 (default): register the T1 to the STIR (rigid,
				       mutual information); 0: trust the scanner's
				       coordinates (the two affines) */
	double fatsat_factor;       /* with a T1: a hip whose subcutaneous fat, against
				       the muscle beneath it on the STIR, is brighter than
				       this factor x the other hip's has a failed fat
				       suppression and is not measured (bmeq/fatsat.h;
				       default BMEQ_FATSAT_FACTOR_DEFAULT); 0: not checked */
	int protocol_check;         /* what a scan whose protocol is not a fluid-sensitive
				       fat-suppressed image gets: BMEQ_PROTOCOL_CHECK_WARN
				       (default: a message), _REFUSE (an error) or _OFF */
	double dicom_timeout_s;     /* the DICOM reader's time limit per folder listed or
				       series read (default BMEQ_DICOM_TIME_LIMIT_DEFAULT);
				       the program hands it to bmeq_dicom_set_time_limit */
} bmeq_measure_opts;

enum { BMEQ_PROTOCOL_CHECK_OFF = 0, BMEQ_PROTOCOL_CHECK_WARN = 1, BMEQ_PROTOCOL_CHECK_REFUSE = 2 };

/* Defaults: see bmeq_edema_params_init and bmeq_n4_params_default;
 * max_scan_mb BMEQ_MAX_SCAN_MB_DEFAULT. */
#define BMEQ_MAX_SCAN_MB_DEFAULT 1024.0

/* bmeq_read_opts.max_bytes for a limit in MB (1 MB = 2^20 bytes). */
uint64_t bmeq_max_scan_bytes(double max_scan_mb);

/* 1 when mb is an accepted max_scan_mb (1 MB to 1 TiB), else 0; the message
 * for a refused value (config key or command-line option). Inline: the
 * configuration parser is also built alone, for fuzzing. */
static inline int bmeq_max_scan_mb_ok(double mb)
{
	return mb >= 1.0 && mb <= 1048576.0;
}
#define BMEQ_MAX_SCAN_MB_RANGE "needs a size in MB, 1 to 1048576"
void bmeq_measure_opts_init(bmeq_measure_opts *o);

/* Which image the regions came from. */
typedef enum bmeq_regions_source {
	BMEQ_REGIONS_STIR = 0, /* automatic segmentation of the scan */
	BMEQ_REGIONS_T1 = 1,   /* automatic segmentation of the visit's T1 */
	BMEQ_REGIONS_USER = 2  /* --roi */
} bmeq_regions_source;

/* "stir", "t1" or "user". */
const char *bmeq_regions_source_name(bmeq_regions_source s);

/* How the T1 was put onto the scan's grid. */
typedef struct bmeq_t1_info {
	int used;                    /* 1: a T1 was given */
	int registered;              /* 1: rigidly registered; 0: the affines alone */
	double shift_mm;             /* registration's move at the hips' centre */
	double angle_deg;            /* registration's rotation */
	double metric;               /* final Mattes MI (negative; NaN: not registered) */
	int placed;                  /* 1: the T1 was put on the scan's grid by transform */
	double transform[3][4];      /* scan world (RAS mm) -> T1 world: rows of [R | d] */
} bmeq_t1_info;

typedef struct bmeq_scan_result {
	bmeq_volume *image;          /* the scan after bias correction, on its own grid */
	uint16_t *roi;               /* region labels on the scan grid */
	int roi_from_user;           /* 1 when --roi gave the regions */
	bmeq_edema_side_geom geom[2];/* right, left (from segmentation) */
	bmeq_edema_result *edema;
	char note[200];              /* "" or a remark for the message column */
	bmeq_protocol protocol;      /* the sequence facts of the scan (bmeq/scan.h) */
	int protocol_verdict;        /* bmeq_protocol_verdict */
	char protocol_why[200];      /* its one-line account */
	double seconds[4];           /* load, bias correction, segmentation, measurement */
	bmeq_regions_source regions_from;   /* the regions' method: found on the STIR,
					       found on the T1, or the user's */
	bmeq_regions_source regions_from_side[2]; /* per side (right, left): where its
					       regions came from. Regions from the T1
					       take a side the T1 did not find
					       (uncertain, partial, not in view) from
					       the STIR when the STIR finds it there */
	bmeq_t1_info t1;
	bmeq_volume *t1_image;       /* the T1 over the box of the scan's grid that the T1
					gate reads (bmeq_edema_t1_box; its grid is the box's,
					NaN where the T1 does not reach), or NULL: no T1 or
					no gate */
	size_t t1_lo[3];             /* the scan voxel of t1_image's voxel (0,0,0) */
	int fatsat_checked;          /* 1: the fat suppression was judged (a T1, the check on) */
	bmeq_fatsat_side fatsat[2];  /* right, left: what its witnesses showed */
} bmeq_scan_result;

/* Runs the pipeline on the scan at path. roi_path (NULL: automatic
 * segmentation) is a label map on the scan's grid (1 right head, 2 left head,
 * 3 right neck, 4 left neck, other labels their own regions); reference_path
 * (NULL: automatic) a mask of normal marrow on the same grid. With both given
 * neither segmentation nor bias correction runs, so the result depends only on
 * the image inside them. Statuses: those of bmeq_nifti_read for the inputs,
 * BMEQ_E_GRID for masks on another grid, BMEQ_E_FORMAT for unusable images
 * (2D, non-finite voxels, no signal, no qform/sform so no left and right), BMEQ_E_PROCESS when no reference can be
 * estimated. t1_path (NULL: none) is the visit's T1 on any grid: it is
 * registered to the scan (rigid, started from the two affines), the regions
 * are found on it when no roi_path is given (opts->t1_segment) and it gates
 * the edema (opts->edema.t1_gate). A T1 that is 4D, has no overlap with the
 * scan or registers implausibly far (another visit or subject) fails the
 * scan with BMEQ_E_PROCESS or BMEQ_E_FORMAT and a message naming the T1.
 * *out owned by the caller. */
bmeq_status bmeq_measure_scan(const char *path, const char *roi_path, const char *reference_path,
			      const char *t1_path, const bmeq_measure_opts *opts,
			      bmeq_scan_result **out);

/* Frees r. Accepts NULL. */
void bmeq_scan_result_destroy(bmeq_scan_result *r);

/* The file name of path without folder and NIfTI extension ("sub-01_ses-1_T2w"). */
void bmeq_scan_stem(const char *path, char *stem, size_t cap);

/* Writes dir/<stem>_roi.nii.gz (uint8 regions, or uint16 when a label > 255)
 * and dir/<stem>_edema.nii.gz (the regions' labels on edema voxels) on the
 * scan's grid. BMEQ_E_WRITE on failure. */
bmeq_status bmeq_scan_write_maps(const bmeq_scan_result *r, const char *dir, const char *stem);

#ifdef __cplusplus
}
#endif
#endif
