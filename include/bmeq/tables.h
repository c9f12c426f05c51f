/* bmeq/tables.h - the trial tables: scans.csv and lesions.csv rows.
 *
 * Column names and order are part of bmeq's interface (trial databases
 * import them): scans.csv begins with BMEQ_SCANS_COLUMNS, lesions.csv with
 * BMEQ_LESIONS_COLUMNS; the manifest's own clinical columns follow, unchanged.
 * edema_ml_low and edema_ml_high follow edema_ml: the volume with the rule's
 * factor moved up and down by the band (bmeq_edema_params.band; the higher
 * threshold gives the lower volume), so a reader sees how far the number
 * swings on this scan; threshold_source follows threshold_rule. After the
 * T1's placement, fat_suppression (with a T1: "ok", "failed" or "unseen" when
 * the T1 does not show the skin beside that hip; empty without a T1) and
 * fat_to_muscle, the ratio it was judged on (bmeq/fatsat.h). Before scan
 * and message come the scan's sequence facts (bmeq_protocol: from the DICOM
 * headers or a dcm2niix sidecar; empty when unknown), never a patient-
 * identifying header value.
 * Volumes are written with 3 decimals (mL, i.e. 1 uL), fractions and ratios
 * with 4, intensities with 3, coordinates and depths with 2.
 */
#ifndef BMEQ_TABLES_H
#define BMEQ_TABLES_H

#include <stddef.h>

#include "bmeq/csv.h"
#include "bmeq/edema.h"
#include "bmeq/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BMEQ_SCANS_NCOLUMNS 42
extern const char *const bmeq_scans_columns[BMEQ_SCANS_NCOLUMNS];
#define BMEQ_LESIONS_NCOLUMNS 12
extern const char *const bmeq_lesions_columns[BMEQ_LESIONS_NCOLUMNS];

/* The threshold_source column: "reader" when a reader set the rule's factor
 * for the scan (manifest threshold_factor, measure --threshold-factor), else
 * "auto". Never NULL. */
const char *bmeq_threshold_source_name(int factor_from_reader);

/* The side column of region g: "right", "left", or "label-N" for a user
 * region. Truncated to cap. */
void bmeq_region_side_text(const bmeq_edema_region *g, char *buf, size_t cap);

/* Extra columns carried through from a manifest (names and this row's values). */
typedef struct bmeq_extra_cols {
	size_t n;
	const char *const *names;
	const char *const *values;
} bmeq_extra_cols;

/* Writes the header row of scans.csv / lesions.csv (extras may be NULL). */
bmeq_status bmeq_scans_header(bmeq_csv *w, const bmeq_extra_cols *extras);
bmeq_status bmeq_lesions_header(bmeq_csv *w, const bmeq_extra_cols *extras);

/* What a scan's rows say about where its regions came from, how its T1 was
 * placed (scans.csv columns regions_from, t1_shift_mm, t1_angle_deg) and how
 * it was acquired (protocol_source ... model). */
typedef struct bmeq_scan_facts {
	const char *regions_from;   /* "stir", "t1", "user", "correction" (NULL: empty) */
	double t1_shift_mm;         /* NaN: no T1, or not registered */
	double t1_angle_deg;
	const bmeq_protocol *protocol; /* the sequence facts (NULL: columns empty) */
	const char *fat_suppression[2]; /* right, left: "ok", "failed", "unseen" (NULL:
				       not checked, the column empty) */
	double fat_to_muscle[2];    /* NaN: not seen */
	const char *side_regions_from[2]; /* the right and left rows' regions_from when
				       their regions came from different images (regions
				       from the T1 with the STIR's for a side the T1 did
				       not find); NULL: regions_from */
} bmeq_scan_facts;

/* regions_from of a scan measured in regions a reader corrected and saved
 * under OUT/corrections/<subject>/<session>/ (bmeq batch); "user" is the
 * manifest's roi or --roi. */
#define BMEQ_REGIONS_FROM_CORRECTION "correction"

/* The facts of a measured scan. */
struct bmeq_scan_result;
void bmeq_scan_facts_of(const struct bmeq_scan_result *r, bmeq_scan_facts *facts);

/* Writes one scans.csv row per region of r (right, left, user labels);
 * facts NULL leaves its columns empty. */
bmeq_status bmeq_scans_rows(bmeq_csv *w, const char *subject, const char *session,
			    const char *scan, const bmeq_edema_result *r,
			    const bmeq_scan_facts *facts, const bmeq_extra_cols *extras);

/* Writes the two rows (right, left) of a scan that failed as a whole:
 * status "error" and the message, numbers empty; the sequence facts from
 * protocol when its headers could be read (NULL: empty), so that a scan
 * refused as the wrong series says what it was. */
bmeq_status bmeq_scans_error_rows(bmeq_csv *w, const char *subject, const char *session,
				  const char *scan, const char *message,
				  const bmeq_protocol *protocol, const bmeq_extra_cols *extras);

/* Writes one lesions.csv row per lesion of r. */
bmeq_status bmeq_lesions_rows(bmeq_csv *w, const char *subject, const char *session,
			      const bmeq_edema_result *r, const bmeq_extra_cols *extras);

/* Derives subject and session from a BIDS-style file name ("sub-01_ses-02_...":
 * "sub-01", "ses-02", the labels as the name writes them); without them the subject is the file name without extension
 * and the session is "". Writes at most cap bytes each. */
void bmeq_ids_from_path(const char *path, char *subject, char *session, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
