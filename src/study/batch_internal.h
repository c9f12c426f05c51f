/* batch_internal.h - private to src/study: what the batch's parts share. */
#ifndef BMEQ_BATCH_INTERNAL_H
#define BMEQ_BATCH_INTERNAL_H

#include <stddef.h>

#include "bmeq/batch.h"
#include "bmeq/edema.h"
#include "bmeq/outdir.h"
#include "bmeq/settings.h"

/* OUT/<subject>/<session> (or OUT/<subject> without a session), through
 * bmeq/outdir.h. BMEQ_E_WRITE when the path does not fit. */
bmeq_status bmeq_batch_scan_dir(const char *outdir, const bmeq_scan_item *it, char *buf, size_t cap);

/* The tables' columns after bmeq's own: "review" when the batch has a
 * reader's sign-off, then the manifest's. *names (malloc'ed, freed by the
 * caller) backs ex->names. BMEQ_E_NOMEM. */
bmeq_status bmeq_batch_extra_header(const bmeq_study *s, const bmeq_review *review,
				    bmeq_extra_cols *ex, const char ***names);

/* The review column's value for a scan and side ("right"/"left"): the
 * reader's decision, "" when not reviewed. */
const char *bmeq_batch_review_word(const bmeq_review *review, const bmeq_scan_item *it,
				   const char *side);

/* A reader's corrected regions for scan it: the one NIfTI file (.nii,
 * .nii.gz) in OUT/corrections/<subject>/<session>/ (folders named as the
 * scan's own), its path into path. Returns 1 when there is one, 0 when there
 * is none, -1 (message set) when the folder holds two or cannot be read. */
int bmeq_batch_correction(const char *outdir, const bmeq_scan_item *it, char *path, size_t cap);

/* Compares every follow-up with its subject's baseline and previous visit and
 * writes response.csv and response_interval.csv (batch_compare.c). */
bmeq_status bmeq_batch_compare(const bmeq_study *s, const char *outdir,
			       const bmeq_batch_opts *opts, bmeq_batch_summary *summary);

/* Writes OUT/provenance.json (provenance.c). */
bmeq_status bmeq_batch_provenance(const bmeq_study *s, const char *outdir,
				  const bmeq_batch_opts *opts, const char *params,
				  const bmeq_batch_summary *summary);


/* As bmeq_batch_provenance, with the host named by the caller (a merge names
 * the shards' hosts); host NULL: this machine's name. */
bmeq_status bmeq_batch_provenance_host(const bmeq_study *s, const char *outdir,
				       const bmeq_batch_opts *opts, const char *params,
				       const bmeq_batch_summary *summary, const char *host);

/* Shard folders (shard.c, merge.c; see bmeq/shard.h). */
#define BMEQ_SHARD_FORMAT "bmeq-shard-2" /* 2: shard_study.csv has threshold_factor */

#endif
