/* batch_internal.h - private to src/study: what the batch's parts share. */
#ifndef BMEQ_BATCH_INTERNAL_H
#define BMEQ_BATCH_INTERNAL_H

#include <stddef.h>

#include "bmeq/batch.h"
#include "bmeq/edema.h"
#include "bmeq/settings.h"

/* A scan's completion record (OUT/<subject>/<session>/scan_record.csv). */
typedef struct bmeq_scan_record {
	char status[16];              /* "ok" or "error" */
	char message[1024];
	char sha256[65], roi_sha256[65], reference_sha256[65];
	char params[1024];
	char stem[256];
	bmeq_edema_side_geom geom[2]; /* right, left */
	char side_status[2][16];      /* ok / not_found / error per side */
	double edema_ml[2];
	double edema_ml_low[2], edema_ml_high[2]; /* the band's range (NaN: not recorded) */
	double seconds;
} bmeq_scan_record;

/* Reads dir/scan_record.csv. BMEQ_E_IO when absent, BMEQ_E_FORMAT when broken. */
bmeq_status bmeq_record_read(const char *dir, bmeq_scan_record *rec);

/* OUT/<subject>/<session> (or OUT/<subject> without a session). */
void bmeq_batch_scan_dir(const char *outdir, const bmeq_scan_item *it, char *buf, size_t cap);


/* Monotonic seconds. */
double bmeq_batch_now(void);

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
#define BMEQ_SHARD_MARKER "shard.csv"       /* written last: the shard is complete */
#define BMEQ_SHARD_STUDY "shard_study.csv"  /* the whole study, in study order */
#define BMEQ_SHARD_FORMAT "bmeq-shard-2" /* 2: shard_study.csv has threshold_factor */

#endif
