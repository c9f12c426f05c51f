/* bmeq/study.h - the scans of a study: from a BIDS-like folder or a manifest.
 *
 * A study is a list of scans, each with subject, session, path and optional
 * date, roi, reference and threshold_factor, plus the manifest's other columns carried through
 * unchanged into the tables. Subject and session labels go into every table
 * exactly as the manifest (or a BIDS-like study's folder names, "sub-01",
 * "ses-2") writes them; their output folders (OUT/<subject>/<session>/) are
 * named by bmeq_out_label_folder, which may sanitise a label.
 */
#ifndef BMEQ_STUDY_H
#define BMEQ_STUDY_H

#include <stddef.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_scan_item {
	char *subject;     /* as given: "sub-01", "01", "HIP 7" */
	char *session;     /* as given: "ses-2", "baseline"; "" when none */
	char *path;        /* absolute or relative to the current folder */
	char *date;        /* "" when unknown; ISO 8601 dates sort correctly */
	char *roi;         /* "" or a label map path */
	char *reference;   /* "" or a reference mask path */
	char *t1;          /* "" or the visit's T1 (manifest column t1, or found
			      beside the scan in a BIDS-like study) */
	double threshold_factor; /* 0: automatic; > 0: a reader's factor for the
				    threshold rule of this scan (replaces the rule's
				    k; threshold_source "reader") */
	char **extra;      /* nextra values, parallel to bmeq_study.extra_names */
	size_t line;       /* manifest line (0 for discovered scans) */
} bmeq_scan_item;

typedef struct bmeq_study {
	size_t n;
	bmeq_scan_item *items;   /* sorted: subject (natural order), visit order, path */
	size_t nextra;
	char **extra_names;      /* manifest columns other than the known ones */
	size_t nwarnings;
	char **warnings;         /* folders that could not be read, skipped files ... */
} bmeq_study;

/* Reads a manifest CSV with columns subject, session, path (required) and
 * date, roi, reference, threshold_factor, t1 (optional; they are not carried
 * through as extra columns); relative paths resolve against the manifest's
 * folder. BMEQ_E_FORMAT (with "line N" when it applies) for a missing column,
 * bad quoting, an empty subject, a subject or session longer than 64 bytes or
 * holding a control character, two labels that name the same output folder, a threshold_factor that
 * is neither empty nor accepted by bmeq_threshold_factor_parse, or a
 * duplicate subject/session pair; BMEQ_E_IO when unreadable. */
bmeq_status bmeq_study_from_manifest(const char *csv_path, bmeq_study **out);

/* Finds scans under dir laid out as sub-<id>/ses-<visit>/anat/<file>
 * (sessions optional: sub-<id>/anat/<file>). A file is taken when its name
 * matches the shell glob pattern (default "*acq-STIR*" when pattern is
 * NULL) and is a NIfTI name (.nii, .nii.gz, .hdr, .hdr.gz). Symbolic links to
 * folders are not followed (no loops); unreadable folders are skipped with a
 * warning. Two matching files for one subject/session: BMEQ_E_FORMAT naming
 * both (use --pattern to choose). No scan found: BMEQ_E_IO.
 * t1_pattern (NULL: no T1s): the visit's T1 is the one file of the same anat
 * folder matching it (BMEQ_T1_PATTERN_DEFAULT is "*_T1w.nii*"); files matching
 * it are never taken as scans; several matches are a warning and no T1. */
#define BMEQ_T1_PATTERN_DEFAULT "*_T1w.nii*"
bmeq_status bmeq_study_discover(const char *dir, const char *pattern, const char *t1_pattern,
				bmeq_study **out);

/* Largest accepted reader factor: a factor is a multiplier or a number of
 * spreads over the reference (median*K, mean+Ksd ...), never near this. */
#define BMEQ_THRESHOLD_FACTOR_MAX 100.0

/* Parses a reader's threshold factor (manifest threshold_factor,
 * `measure --threshold-factor`): a decimal number, 0 < K <= 100, surrounding
 * spaces allowed. BMEQ_E_ARG with the reason otherwise (*k unchanged). */
bmeq_status bmeq_threshold_factor_parse(const char *text, double *k);

/* Frees s. Accepts NULL. */
void bmeq_study_destroy(bmeq_study *s);

/* Natural order: digit runs compare by value ("ses-2" < "ses-10"), the rest
 * bytewise. Returns <0, 0, >0. */
int bmeq_natural_compare(const char *a, const char *b);

/* Orders two scans of one subject in time: by date when both have one,
 * else by session label in natural order. */
int bmeq_visit_compare(const bmeq_scan_item *a, const bmeq_scan_item *b);

#ifdef __cplusplus
}
#endif
#endif
