/* shard.c - cut a study into shards of whole subjects and run one shard. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_internal.h"
#include "bmeq/csv.h"
#include "bmeq/hash.h"
#include "bmeq/shard.h"

typedef struct subject_span {
	size_t first, n; /* items [first, first + n) */
} subject_span;

/* Largest subject first; equal sizes keep study order, so the order (and the
 * cut) is the same whatever qsort does with ties. */
static int span_cmp(const void *a, const void *b)
{
	const subject_span *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

bmeq_status bmeq_shard_assign(const bmeq_study *s, int nshards, int *shard_of)
{
	subject_span *spans;
	size_t *load, nspans = 0;

	if (nshards < 1 || nshards > BMEQ_SHARDS_MAX)
		return bmeq_fail(BMEQ_E_ARG, "shards must be 1..%d", BMEQ_SHARDS_MAX);
	spans = malloc((s->n ? s->n : 1) * sizeof(*spans));
	load = calloc((size_t)nshards, sizeof(*load));
	if (!spans || !load) {
		free(spans);
		free(load);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	/* The study is sorted by subject, so a subject's scans are one run. */
	for (size_t i = 0; i < s->n;) {
		size_t j = i + 1;
		while (j < s->n && strcmp(s->items[j].subject, s->items[i].subject) == 0)
			j++;
		spans[nspans].first = i;
		spans[nspans].n = j - i;
		nspans++;
		i = j;
	}
	qsort(spans, nspans, sizeof(*spans), span_cmp);
	/* Longest-processing-time-first: each subject to the lightest shard. The
	 * scan count stands for the work (a scan's measurement dominates). */
	for (size_t k = 0; k < nspans; k++) {
		int best = 0;
		for (int q = 1; q < nshards; q++)
			if (load[q] < load[best])
				best = q;
		load[best] += spans[k].n;
		for (size_t i = 0; i < spans[k].n; i++)
			shard_of[spans[k].first + i] = best + 1;
	}
	free(spans);
	free(load);
	return BMEQ_OK;
}

/* The whole study as CSV: what a merge needs to rebuild it and to tell
 * whether two shards belong to the same study. */
static bmeq_status study_text(const bmeq_study *s, bmeq_csv *w)
{
	static const char *const cols[] = {"subject", "session", "path",
					   "date",    "roi",     "reference", "threshold_factor"};
	bmeq_status st = BMEQ_OK;

	for (size_t c = 0; c < 7; c++)
		bmeq_csv_field(w, cols[c]);
	for (size_t e = 0; e < s->nextra; e++)
		bmeq_csv_field(w, s->extra_names[e]);
	st = bmeq_csv_end_row(w);
	for (size_t i = 0; i < s->n && st == BMEQ_OK; i++) {
		const bmeq_scan_item *it = &s->items[i];
		bmeq_csv_field(w, it->subject);
		bmeq_csv_field(w, it->session);
		bmeq_csv_field(w, it->path);
		bmeq_csv_field(w, it->date);
		bmeq_csv_field(w, it->roi);
		bmeq_csv_field(w, it->reference);
		char factor[32] = "";
		/* %.17g reads back to the same double: the merged study is this one. */
		if (it->threshold_factor > 0.0)
			snprintf(factor, sizeof(factor), "%.17g", it->threshold_factor);
		bmeq_csv_field(w, factor);
		for (size_t e = 0; e < s->nextra; e++)
			bmeq_csv_field(w, it->extra[e]);
		st = bmeq_csv_end_row(w);
	}
	return st;
}

/* One key,value row; the first failure sticks in *st. */
static void kv(bmeq_status *st, bmeq_csv *w, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static void kv(bmeq_status *st, bmeq_csv *w, const char *key, const char *fmt, ...)
{
	char val[8192];
	va_list ap;

	if (*st != BMEQ_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if ((*st = bmeq_csv_field(w, key)) == BMEQ_OK && (*st = bmeq_csv_field(w, val)) == BMEQ_OK)
		*st = bmeq_csv_end_row(w);
}

static bmeq_status write_marker(const char *outdir, int k, int nshards, const char *study_sha,
				const bmeq_batch_opts *opts, const bmeq_batch_summary *sum)
{
	char params[1024], rtext[BMEQ_RESPONSE_RULE_TEXT_MAX], host[256] = "", path[BMEQ_PATH_MAX];
	bmeq_csv *w = NULL;
	bmeq_status st;

	if ((st = bmeq_csv_create(&w)) != BMEQ_OK)
		return st;
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	bmeq_settings_resume_key(&opts->measure, params, sizeof(params));
	bmeq_response_rule_text(&opts->response_rule, rtext, sizeof(rtext));
	kv(&st, w, "key", "value");
	kv(&st, w, "format", "%s", BMEQ_SHARD_FORMAT);
	kv(&st, w, "shard", "%d", k);
	kv(&st, w, "shards", "%d", nshards);
	kv(&st, w, "study_sha256", "%s", study_sha);
	kv(&st, w, "params", "%s", params);
	kv(&st, w, "response_rule", "%s", rtext);
	/* The configuration may be long: written as is, not through kv's buffer. */
	if (st == BMEQ_OK && (st = bmeq_csv_field(w, "configuration")) == BMEQ_OK &&
	    (st = bmeq_csv_field(w, opts->config_text ? opts->config_text : "")) == BMEQ_OK)
		st = bmeq_csv_end_row(w);
	kv(&st, w, "host", "%s", host);
	kv(&st, w, "jobs", "%d", opts->jobs);
	kv(&st, w, "scans", "%zu", sum->scans);
	kv(&st, w, "failed", "%zu", sum->failed);
	kv(&st, w, "reused", "%zu", sum->skipped);
	kv(&st, w, "comparisons", "%zu", sum->comparisons);
	kv(&st, w, "comparisons_failed", "%zu", sum->comparisons_failed);
	kv(&st, w, "comparisons_reused", "%zu", sum->comparisons_reused);
	kv(&st, w, "seconds", "%.3f", sum->seconds);
	if (st == BMEQ_OK) {
		if ((st = bmeq_out_path(outdir, BMEQ_OUT_SHARD, path, sizeof(path))) == BMEQ_OK)
			st = bmeq_csv_write_file(w, path);
	}
	bmeq_csv_destroy(w);
	return st;
}

bmeq_status bmeq_batch_run_shard(const bmeq_study *study, int k, int nshards, const char *outdir,
				 const bmeq_batch_opts *opts, bmeq_batch_summary *summary)
{
	bmeq_study sub;
	bmeq_csv *w = NULL;
	int *of = NULL;
	char sha[65], path[BMEQ_PATH_MAX];
	bmeq_status st;

	memset(summary, 0, sizeof(*summary));
	if (nshards < 1 || nshards > BMEQ_SHARDS_MAX || k < 1 || k > nshards)
		return bmeq_fail(BMEQ_E_ARG, "shard %d/%d: need 1 <= K <= N <= %d", k, nshards,
				 BMEQ_SHARDS_MAX);
	memset(&sub, 0, sizeof(sub));
	of = malloc((study->n ? study->n : 1) * sizeof(*of));
	sub.items = malloc((study->n ? study->n : 1) * sizeof(*sub.items));
	if (!of || !sub.items) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	if ((st = bmeq_shard_assign(study, nshards, of)) != BMEQ_OK)
		goto done;
	/* A view of the study: the items are shared, not copied (and so never
	 * freed through sub). Study order is kept, so the shard's tables are
	 * the single run's rows of these subjects, in the same order. */
	sub.nextra = study->nextra;
	sub.extra_names = study->extra_names;
	for (size_t i = 0; i < study->n; i++)
		if (of[i] == k)
			sub.items[sub.n++] = study->items[i];

	if ((st = bmeq_csv_create(&w)) != BMEQ_OK || (st = study_text(study, w)) != BMEQ_OK)
		goto done;
	size_t len;
	const char *text = bmeq_csv_text(w, &len);
	bmeq_sha256_buffer(text, len, sha);

	/* A marker left by an earlier run would claim this run complete. */
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_SHARD, path, sizeof(path))) != BMEQ_OK)
		goto done;
	if (unlink(path) != 0 && errno != ENOENT) {
		st = bmeq_fail(BMEQ_E_WRITE, "%s: cannot remove: %s", path, strerror(errno));
		goto done;
	}
	if ((st = bmeq_batch_run(&sub, outdir, opts, summary)) != BMEQ_OK || summary->cancelled)
		goto done;
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_SHARD_STUDY, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_csv_write_file(w, path)) != BMEQ_OK)
		goto done;
	st = write_marker(outdir, k, nshards, sha, opts, summary);
done:
	bmeq_csv_destroy(w);
	free(sub.items);
	free(of);
	return st;
}
