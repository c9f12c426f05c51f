/* bmeq/shard.h - one study on many machines: shards and their merge.
 *
 * A study is cut into N shards of whole subjects (a subject's comparisons need
 * all its visits, so no comparison ever needs another shard's data). The cut
 * depends only on the study (its subjects, in order, and their scan counts),
 * so every machine computes the same one. Each shard runs as an ordinary
 * batch into its own folder, which also gets
 *   shard_study.csv   the whole study (subject, session, path, date, roi,
 *                     reference, manifest columns), in study order
 *   shard.csv         key,value: shard K of N, the SHA-256 of shard_study.csv,
 *                     the parameters and configuration, counts, host;
 *                     written last, so it marks the shard complete.
 * A merge checks that the shard folders are the N shards of one study made
 * with one set of parameters, links (or copies) every scan's outputs into
 * OUT and writes the tables and provenance.json byte-identical to a batch
 * run on one machine (provenance differs in host, timings and jobs only),
 * then the QC pictures and report.html as the batch does (bmeq/report.h).
 */
#ifndef BMEQ_SHARD_H
#define BMEQ_SHARD_H

#include <stddef.h>

#include "bmeq/batch.h"
#include "bmeq/study.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most shards a study may be cut into. */
#define BMEQ_SHARDS_MAX 10000

/* Assigns every scan of s to a shard 1..nshards: shard_of[i] for s->items[i]
 * (an array of s->n ints owned by the caller). Whole subjects go to one
 * shard; subjects are dealt largest first (most scans; ties in study order)
 * to the shard with the fewest scans so far (ties: the lowest shard), so
 * shards differ by at most one subject's scans. Deterministic and integer
 * only: identical on every machine. Shards may be empty when nshards exceeds
 * the subjects. BMEQ_E_ARG for nshards outside 1..BMEQ_SHARDS_MAX,
 * BMEQ_E_NOMEM. Thread-safe. */
bmeq_status bmeq_shard_assign(const bmeq_study *s, int nshards, int *shard_of);

/* Runs shard k (1-based) of nshards of study into outdir as bmeq_batch_run
 * does, then writes shard_study.csv and shard.csv (last). An interrupted run
 * (summary->cancelled) writes no shard.csv. Statuses as bmeq_batch_run, and
 * BMEQ_E_ARG for k outside 1..nshards. Not thread-safe for one outdir. */
bmeq_status bmeq_batch_run_shard(const bmeq_study *study, int k, int nshards, const char *outdir,
				 const bmeq_batch_opts *opts, bmeq_batch_summary *summary);

typedef struct bmeq_merge_opts {
	int jobs;     /* QC pictures drawn in parallel (>= 1; default 1) */
	int pictures; /* 1 (default): redraw the QC pictures, so report.html is
			 the single run's in every case; 0: keep the shards'
			 pictures (linked) and only write the page, which then
			 says "not drawn" without the reason for a picture a
			 shard could not draw */
} bmeq_merge_opts;

/* Defaults: jobs 1, pictures 1. */
void bmeq_merge_opts_init(bmeq_merge_opts *o);

/* Merges the finished shard folders dirs[0..ndirs) (any order) into outdir
 * (created): every scan's folder, scans.csv, lesions.csv, response.csv,
 * response_interval.csv, provenance.json, then the QC pictures and
 * report.html. opts may be NULL (defaults). The summary counts come from
 * the shards (failed, reused, comparisons; seconds is their sum).
 * BMEQ_E_IO when a folder is no finished shard (no shard.csv, or a scan's
 * record is missing); BMEQ_E_FORMAT when the folders are not exactly the
 * shards 1..N of one study with one configuration and bmeq version (the
 * message names the folders that disagree), or a file is damaged;
 * BMEQ_E_ARG when outdir is one of the shard folders; BMEQ_E_WRITE when
 * outdir cannot be written. Not thread-safe for one outdir. */
bmeq_status bmeq_merge_run(const char *const *dirs, size_t ndirs, const char *outdir,
			   const bmeq_merge_opts *opts, bmeq_batch_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
