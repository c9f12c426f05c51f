/* bmeq/report.h - QC pictures and the HTML study report of a batch's OUT.
 *
 * A radiologist must see what was measured before trusting a number. From a
 * finished batch folder (OUT/scans.csv, response.csv and every scan's
 * OUT/<subject>/<session>/ outputs) this writes:
 *   <stem>_qc.png         per measured scan: coronal views through each
 *                         femoral head centre and through the side's largest
 *                         edema cross-section, reformatted from any
 *                         acquisition orientation by world (RAS mm)
 *                         coordinates, radiological display (the patient's
 *                         right on the viewer's left), head and neck outlines,
 *                         edema in colour, the side's numbers in the picture;
 *   <stem>_change_qc.png  per follow-up with a change map: baseline and
 *                         follow-up side by side per hip with resolved (blue),
 *                         persistent (yellow) and new (red) edema;
 *   <stem>_slices*.png    every slice of the scan (and of each follow-up on
 *                         its baseline's slices) for the page's viewer,
 *                         loaded only when a scan's viewer is opened;
 *   OUT/figures/, OUT/study_summary.csv
 *                         the study figures (cairo, SVG and PNG) and the
 *                         per-visit summary;
 *   OUT/report.html       one self-contained offline page (no scripts or
 *                         styles from elsewhere, works from a file:// URL)
 *                         with the every-slice viewer and the sign-off.
 * Every PNG carries a tEXt chunk "bmeq-panels" listing its image panels as
 * "x,y,w,h,side,kind;" (side right/left, kind centre/edema/baseline/followup)
 * so that tests and tools can find them without knowing the layout.
 * Every file is written under a temporary name and renamed.
 *
 * Thread-safety: bmeq_report_write may run on different folders at once.
 */
#ifndef BMEQ_REPORT_H
#define BMEQ_REPORT_H

#include <stddef.h>

#include "bmeq/status.h"
#include "bmeq/study.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_report_opts {
	int jobs;       /* pictures drawn in parallel (>= 1; default 1) */
	int pictures;   /* 1 (default): draw the QC pictures; 0: the page only,
			   linking whatever pictures already exist */
} bmeq_report_opts;

/* Defaults: jobs 1, pictures 1. */
void bmeq_report_opts_init(bmeq_report_opts *o);

typedef struct bmeq_report_summary {
	size_t scans, failed;            /* scans listed, scans whose status is error */
	size_t pictures;                 /* QC pictures written (scan and change) */
	size_t pictures_skipped;         /* pictures that could not be drawn (scan or
					    map unreadable: the page says why) */
	size_t scans_pictures_kept;      /* scans whose pictures were kept as drawn
					    before: nothing they show had changed */
} bmeq_report_summary;

/* Writes the QC pictures and OUT/report.html for the batch folder outdir.
 * study: the study the batch ran (its scan order, paths and sessions), or
 * NULL to take the scans from outdir/scans.csv (the `scan` column: relative
 * paths are read from the current folder, as the batch wrote them).
 * opts may be NULL (defaults); sum may be NULL.
 * A scan or map that cannot be read is not an error: its picture is left
 * out and the page says why. BMEQ_E_IO / BMEQ_E_FORMAT when outdir/scans.csv
 * is missing or broken; BMEQ_E_WRITE when a file cannot be written;
 * BMEQ_E_NOMEM. */
bmeq_status bmeq_report_write(const bmeq_study *study, const char *outdir,
			      const bmeq_report_opts *opts, bmeq_report_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
