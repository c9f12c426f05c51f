/* bmeq/outdir.h - the output folder of a run: every file's name and path, and
 * the per-scan record.
 *
 * Layout of OUT (bmeq batch, bmeq merge; bmeq measure and compare write the
 * tables and maps of one scan into their -o DIR by the same names):
 *   scans.csv, lesions.csv, response.csv, response_interval.csv,
 *   provenance.json, report.html, .bmeq-batch.lock,
 *   shard.csv, shard_study.csv              (a shard of bmeq batch --shard)
 *   study_summary.csv, figures/<figure>.svg|png  (the report's study figures)
 *   corrections/<subject>/<session>/<any>.nii[.gz]  a reader's corrected regions
 *                                            (read, never written, by bmeq)
 *   <subject>/<session>/                     (or <subject>/ without sessions)
 *     scan_record.csv                        the scan's record, written last
 *     scans.part.csv, lesions.part.csv       the scan's rows
 *     <stem>_roi.nii.gz, <stem>_edema.nii.gz the scan's maps
 *     <stem>_change.nii.gz                   against the baseline (follow-ups)
 *     <stem>_change_previous.nii.gz          against the previous visit
 *     change_record.csv, change_previous_record.csv  those comparisons' results
 *                                            and key, so --resume redoes only
 *                                            comparisons whose visits changed
 *     <stem>_qc.png, <stem>_change_qc.png    QC pictures
 *     <stem>_slices*.png, <stem>_slices.csv  every slice for the report's viewer
 *                                            (_slices_t1.png: the visit's T1)
 *     <stem>_change_slices*.png              the follow-up and change on the
 *                                            baseline's slices
 *     (bmeq segment: <stem>_roi.nii.gz, <stem>_segment.csv, <stem>_candidates.csv)
 * Every name is spelled here only; batch, merge, resume, report and the
 * commands build their paths through this module. A path that does not fit
 * BMEQ_PATH_MAX is refused with BMEQ_E_WRITE (bmeq/path.h), never cut.
 * Thread-safe: no state.
 */
#ifndef BMEQ_OUTDIR_H
#define BMEQ_OUTDIR_H

#include <stddef.h>

#include "bmeq/hip.h"
#include "bmeq/path.h"
#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Files of the run, in OUT. Values are stable. */
typedef enum bmeq_out_file {
	BMEQ_OUT_SCANS = 0,             /* scans.csv */
	BMEQ_OUT_LESIONS = 1,           /* lesions.csv */
	BMEQ_OUT_RESPONSE = 2,          /* response.csv */
	BMEQ_OUT_RESPONSE_INTERVAL = 3, /* response_interval.csv */
	BMEQ_OUT_PROVENANCE = 4,        /* provenance.json */
	BMEQ_OUT_REPORT = 5,            /* report.html */
	BMEQ_OUT_LOCK = 6,              /* .bmeq-batch.lock */
	BMEQ_OUT_SHARD = 7,             /* shard.csv: written last, the shard is complete */
	BMEQ_OUT_SHARD_STUDY = 8,       /* shard_study.csv: the whole study, in study order */
	BMEQ_OUT_STUDY_SUMMARY = 9,     /* study_summary.csv: per visit (report) */
	BMEQ_OUT_FIGURES = 10,          /* figures/: the study figures (report) */
	BMEQ_OUT_CORRECTIONS = 11       /* corrections/<subject>/<session>/: a reader's regions */
} bmeq_out_file;

/* The study figures, in OUT/figures/, each as .svg and .png. Values are
 * stable. */
typedef enum bmeq_out_figure {
	BMEQ_FIG_WATERFALL = 0,         /* waterfall_visit<K>: % change per hip, follow-up K */
	BMEQ_FIG_EDEMA_COURSE = 1,      /* edema_course: edema over visits per subject */
	BMEQ_FIG_RESPONSE_COUNTS = 2    /* response_counts: response classes per visit */
} bmeq_out_figure;

/* OUT/figures/<name>.<ext> (ext "svg" or "png"; visit: the follow-up number
 * of a waterfall, else ignored) into buf; the name alone (no folder) into
 * name when name is not NULL (namecap bytes). BMEQ_E_WRITE when it does not
 * fit. */
bmeq_status bmeq_out_figure_path(const char *outdir, bmeq_out_figure f, int visit, const char *ext,
				 char *buf, size_t cap, char *name, size_t namecap);

/* Files of one scan, in its folder, named after the scan's stem. */
typedef enum bmeq_scan_file {
	BMEQ_SCAN_RECORD = 0,           /* scan_record.csv */
	BMEQ_SCAN_SCANS_PART = 1,       /* scans.part.csv */
	BMEQ_SCAN_LESIONS_PART = 2,     /* lesions.part.csv */
	BMEQ_SCAN_ROI = 3,              /* <stem>_roi.nii.gz */
	BMEQ_SCAN_EDEMA = 4,            /* <stem>_edema.nii.gz */
	BMEQ_SCAN_CHANGE = 5,           /* <stem>_change.nii.gz */
	BMEQ_SCAN_CHANGE_PREVIOUS = 6,  /* <stem>_change_previous.nii.gz */
	BMEQ_SCAN_QC = 7,               /* <stem>_qc.png */
	BMEQ_SCAN_CHANGE_QC = 8,        /* <stem>_change_qc.png */
	BMEQ_SCAN_SEGMENT = 9,          /* <stem>_segment.csv */
	BMEQ_SCAN_CANDIDATES = 10,      /* <stem>_candidates.csv (bmeq segment) */
	BMEQ_SCAN_SLICES = 11,          /* <stem>_slices.png: every slice, grey (report viewer) */
	BMEQ_SCAN_SLICES_ROI = 12,      /* <stem>_slices_roi.png: the regions, RGBA */
	BMEQ_SCAN_SLICES_EDEMA = 13,    /* <stem>_slices_edema.png: edema, RGBA */
	BMEQ_SCAN_SLICES_INFO = 14,     /* <stem>_slices.csv: the mosaic's geometry, written last */
	BMEQ_SCAN_CHANGE_SLICES = 15,   /* <stem>_change_slices.png: follow-up on the baseline's tiles */
	BMEQ_SCAN_CHANGE_SLICES_BASE = 16, /* <stem>_change_slices_base.png: resolved, persistent */
	BMEQ_SCAN_CHANGE_SLICES_FU = 17, /* <stem>_change_slices_fu.png: persistent, new */
	BMEQ_SCAN_SLICES_T1 = 18,       /* <stem>_slices_t1.png: the visit's T1 on the same tiles */
	BMEQ_SCAN_CHANGE_RECORD = 19,   /* change_record.csv: the comparison with the baseline,
					   kept for --resume, written after its map */
	BMEQ_SCAN_CHANGE_PREVIOUS_RECORD = 20, /* change_previous_record.csv: with the previous visit */
	BMEQ_SCAN_PICTURES_RECORD = 21  /* pictures_record.csv: what bmeq report drew the
					   scan's pictures from, written after them */
} bmeq_scan_file;

/* The file's name ("scans.csv"); for a scan file without its stem
 * ("_roi.nii.gz" for BMEQ_SCAN_ROI, "scan_record.csv" for the record). */
const char *bmeq_out_name(bmeq_out_file f);
const char *bmeq_scan_file_name(bmeq_scan_file f);

/* outdir/<name> into buf (cap bytes; BMEQ_PATH_MAX suffices). BMEQ_E_WRITE
 * when it does not fit. */
bmeq_status bmeq_out_path(const char *outdir, bmeq_out_file f, char *buf, size_t cap);

/* The folder name of a subject or session label: the label itself when it
 * holds only letters, digits, '-', '_' and '.' and does not start with '.';
 * else each other byte (and a leading '.') becomes '_' ("HIP 7" -> "HIP_7").
 * Tables keep the label as given; only folders are sanitised. "" stays "".
 * BMEQ_E_WRITE when it does not fit cap bytes. */
bmeq_status bmeq_out_label_folder(const char *label, char *buf, size_t cap);

/* A scan's folder: outdir/<subject>/<session>, or outdir/<subject> when
 * session is "", each label through bmeq_out_label_folder. BMEQ_E_WRITE when
 * it does not fit. */
bmeq_status bmeq_out_scan_dir(const char *outdir, const char *subject, const char *session,
			      char *buf, size_t cap);

/* dir/<stem><suffix> or dir/<name> for the files without a stem.
 * BMEQ_E_WRITE when it does not fit. */
bmeq_status bmeq_scan_path(const char *dir, const char *stem, bmeq_scan_file f, char *buf,
			   size_t cap);

/* 1 when dir/<stem><suffix> is a regular file. */
int bmeq_scan_file_exists(const char *dir, const char *stem, bmeq_scan_file f);

/* ---- the per-scan record (scan_record.csv, key,value rows) ---------------- */

/* What the record keeps of a side (right, left). */
typedef struct bmeq_record_side {
	int found;                  /* the femoral head was found */
	double centre[3];           /* its centre, RAS mm */
	double radius;              /* its fitted radius, mm */
	char reason[128];           /* why not found, or a remark */
	bmeq_hip_status status;     /* the side's status in scans.csv (BMEQ_HIP_NONE
				     * when the scan failed) */
	double edema_ml;            /* NaN: not recorded */
	double edema_ml_low, edema_ml_high;
} bmeq_record_side;

/* A scan's completion record: written last, so a scan with one is complete. */
typedef struct bmeq_scan_record {
	char status[16];            /* "ok" or "error" */
	char message[1024];
	char sha256[65], roi_sha256[65], reference_sha256[65], t1_sha256[65];
	char params[1024];          /* the settings' --resume key (bmeq/settings.h) */
	char stem[256];             /* the scan's file name without folder and extension */
	bmeq_record_side side[2];   /* indexed by bmeq_side: right, left */
	double seconds;
	/* The visit's T1, when the scan was measured with one (keys t1 and
	 * t1_transform, written only then): its path as given, and how it was
	 * placed on the scan, so that the report shows it beside the scan. */
	char t1[BMEQ_PATH_MAX];     /* "" without a T1 */
	int t1_placed;              /* 1: t1_transform holds the placement */
	double t1_transform[3][4];  /* scan world (RAS mm) -> T1 world: rows of [R | d] */
} bmeq_scan_record;

/* An empty record: sides' volumes NaN. */
void bmeq_record_init(bmeq_scan_record *rec);

/* Reads dir/scan_record.csv into rec. BMEQ_E_IO when absent or unreadable,
 * BMEQ_E_FORMAT when it is not a complete record (no status or sha256). */
bmeq_status bmeq_record_read(const char *dir, bmeq_scan_record *rec);

/* Writes dir/scan_record.csv atomically. BMEQ_E_WRITE, BMEQ_E_NOMEM. */
bmeq_status bmeq_record_write(const char *dir, const bmeq_scan_record *rec);

/* The value of name in the record's parameter line ("volume" in
 * "...;volume=-1;..."), into buf (cap bytes). BMEQ_OK, or BMEQ_E_FORMAT when
 * the line has no such entry (buf then ""). */
bmeq_status bmeq_record_param(const bmeq_scan_record *rec, const char *name, char *buf,
			      size_t cap);

#ifdef __cplusplus
}
#endif
#endif
