/* bmeq/batch.h - a whole study: measure every scan in parallel, resumably,
 * then compare visits, and write the trial tables.
 *
 * Layout of OUT:
 *   scans.csv, lesions.csv, response.csv, response_interval.csv, provenance.json
 *   <subject>/<session>/   per-scan maps (<stem>_roi, _edema, _change .nii.gz),
 *                          scan_record.csv (the scan's completion record) and the
 *                          scan's rows (scans.part.csv, lesions.part.csv)
 * Every file is written under a temporary name and renamed, and a scan's
 * record is written last, so a killed batch never leaves a scan that looks
 * complete but is not. The study tables are always assembled from the
 * per-scan rows, in a fixed order, so they are byte-identical for any number
 * of workers and after any interruption and --resume.
 */
#ifndef BMEQ_BATCH_H
#define BMEQ_BATCH_H

#include <signal.h>
#include <stddef.h>

#include "bmeq/longitudinal.h"
#include "bmeq/measure.h"
#include "bmeq/review.h"
#include "bmeq/study.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called (serialised, from worker threads) after every scan. */
typedef void (*bmeq_progress_fn)(void *ctx, size_t done, size_t total, size_t failed,
				 size_t skipped, double elapsed_s);

typedef struct bmeq_batch_opts {
	int jobs;                    /* parallel workers (>= 1) */
	int resume;                  /* skip scans whose record is complete and whose
					inputs' SHA-256 and parameters are unchanged */
	bmeq_measure_opts measure;
	bmeq_response_rule response_rule; /* how follow-ups are classified */
	const char *config_text;     /* canonical text of the configuration (provenance) */
	bmeq_progress_fn progress;   /* may be NULL */
	void *progress_ctx;
	volatile sig_atomic_t *cancel; /* when it becomes non-zero, no new scan starts */
	const bmeq_review *review;   /* a reader's sign-off (--review) or NULL: a
					`review` column in scans.csv and the response
					tables; excluded sides not_evaluable */
} bmeq_batch_opts;

void bmeq_batch_opts_init(bmeq_batch_opts *o);

typedef struct bmeq_batch_summary {
	size_t scans, failed, skipped, measured;
	size_t comparisons, comparisons_failed;
	size_t comparisons_reused;      /* taken from their records by --resume */
	int cancelled;
	double seconds;
} bmeq_batch_summary;

/* Runs the study into outdir (created). BMEQ_E_WRITE when outdir cannot be
 * created or written or is locked by another batch (the message says which);
 * failed scans are not an error of the batch (they are counted in summary
 * and reported as status=error rows). */
bmeq_status bmeq_batch_run(const bmeq_study *study, const char *outdir,
			   const bmeq_batch_opts *opts, bmeq_batch_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
