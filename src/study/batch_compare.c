/* batch_compare.c - every subject's visits compared: response.csv and
 * response_interval.csv, and the change maps.
 *
 * Each follow-up is compared with the subject's baseline (its first visit in
 * time) and with the visit before it. The inputs come from the scans' saved
 * outputs (record, edema map) and the scan itself, so a resumed batch compares
 * exactly as an uninterrupted one. Subjects run in parallel; their rows are
 * joined in subject order so the files do not depend on the worker count.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "bmeq/csv.h"
#include "bmeq/workers.h"
#include "bmeq/longitudinal.h"
#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"

/* One visit as loaded for comparison. */
typedef struct visit {
	bmeq_scan_record rec;
	bmeq_volume *image;
	uint16_t *edema;
	bmeq_timepoint tp;
	bmeq_protocol protocol; /* from the scan's headers or sidecar ("" source: unknown) */
	char dir[BMEQ_PATH_MAX];
} visit;

typedef struct subject_job {
	size_t first, n;               /* items [first, first + n) of the study */
	bmeq_csv *response, *interval; /* this subject's rows */
	size_t comparisons, failed;
	bmeq_status st;
	char msg[512];
} subject_job;

typedef struct compare_ctx {
	const bmeq_study *study;
	const char *outdir;
	const bmeq_batch_opts *opts;
	bmeq_compare_opts copts;
	subject_job *jobs;
	size_t njobs, next;
	pthread_mutex_t lock;
} compare_ctx;

/* Loads what the comparison needs of one visit. A visit whose scan failed, or
 * whose saved outputs cannot be read back, becomes a failed timepoint (its
 * rows say not_evaluable), never an error of the batch. */
static void load_visit(const compare_ctx *c, const bmeq_scan_item *it, visit *v)
{
	bmeq_read_opts ro;
	char path[BMEQ_PATH_MAX];

	memset(v, 0, sizeof(*v));
	if (bmeq_scan_protocol(it->path, &v->protocol) != BMEQ_OK)
		memset(&v->protocol, 0, sizeof(v->protocol));
	if (bmeq_batch_scan_dir(c->outdir, it, v->dir, sizeof(v->dir)) != BMEQ_OK ||
	    bmeq_record_read(v->dir, &v->rec) != BMEQ_OK) {
		bmeq_timepoint_failed(&v->tp, "scan record missing");
		return;
	}
	if (strcmp(v->rec.status, "ok") != 0) {
		bmeq_timepoint_failed(&v->tp, v->rec.message[0] ? v->rec.message : "scan failed");
		return;
	}
	bmeq_read_opts_init(&ro);
	ro.volume = c->opts->measure.volume;
	ro.max_bytes = bmeq_max_scan_bytes(c->opts->measure.max_scan_mb);
	if (c->copts.spatial &&
	    (bmeq_scan_path(v->dir, v->rec.stem, BMEQ_SCAN_EDEMA, path, sizeof(path)) != BMEQ_OK ||
	     bmeq_scan_read(it->path, &ro, &v->image, NULL) != BMEQ_OK ||
	     bmeq_nifti_read_labels(path, &v->image->grid, &v->edema) != BMEQ_OK)) {
		/* Volumes alone still give the response class. */
		bmeq_volume_destroy(v->image);
		free(v->edema);
		v->image = NULL;
		v->edema = NULL;
	}
	memset(&v->tp, 0, sizeof(v->tp));
	v->tp.has_range = 1; /* a side without a recorded range has NaN bounds: no range */
	v->tp.image = v->image;
	v->tp.edema_map = v->edema;
	for (int s = 0; s < 2; s++) {
		const bmeq_record_side *d = &v->rec.side[s];
		bmeq_edema_side_geom *g = &v->tp.geom[s];
		g->found = d->found;
		memcpy(g->centre, d->centre, sizeof(g->centre));
		g->radius = d->radius;
		snprintf(g->reason, sizeof(g->reason), "%s", d->reason);
		v->tp.side_status[s] = bmeq_side_status_of(d->status);
		v->tp.edema_ml[s] = d->edema_ml;
		v->tp.edema_ml_low[s] = d->edema_ml_low;
		v->tp.edema_ml_high[s] = d->edema_ml_high;
		v->tp.message[s] = d->reason[0] ? d->reason : NULL;
	}
}

static void free_visit(visit *v)
{
	bmeq_volume_destroy(v->image);
	free(v->edema);
}

static bmeq_status write_change_map(const visit *base, const visit *fu, const uint8_t *map,
				    bmeq_scan_file file)
{
	char path[BMEQ_PATH_MAX];
	bmeq_status st = bmeq_scan_path(fu->dir, fu->rec.stem, file, path, sizeof(path));

	if (st != BMEQ_OK)
		return st;
	return bmeq_nifti_write_labels(path, &base->image->grid, map, BMEQ_DT_UINT8);
}

/* Compares follow-up fu with base and writes the change map when registered. */
static bmeq_status compare_pair(const compare_ctx *c, const visit *base, const visit *fu,
				bmeq_scan_file file, bmeq_comparison *out, subject_job *job)
{
	uint8_t *map = NULL;
	bmeq_status st;

	if (base->image)
		map = calloc(bmeq_grid_nvox(&base->image->grid), 1);
	st = bmeq_compare_timepoints(&base->tp, &fu->tp, &c->copts, out, map);
	if (st == BMEQ_OK)
		bmeq_comparison_flag_protocol(out, &base->protocol, &fu->protocol);
	job->comparisons++;
	if (st == BMEQ_OK && map && (out->side[0].registered || out->side[1].registered))
		st = write_change_map(base, fu, map, file);
	if (st == BMEQ_OK)
		job->failed += out->side[0].response == BMEQ_RESPONSE_NOT_EVALUABLE ||
			       out->side[1].response == BMEQ_RESPONSE_NOT_EVALUABLE;
	free(map);
	return st;
}

static bmeq_status run_subject(const compare_ctx *c, subject_job *job)
{
	const bmeq_study *s = c->study;
	size_t n = job->n;
	visit *v = calloc(n, sizeof(*v));
	bmeq_comparison *vs_base = calloc(n, sizeof(*vs_base)), *vs_prev = calloc(n, sizeof(*vs_prev));
	const bmeq_comparison **pb = calloc(n, sizeof(*pb)), **pp = calloc(n, sizeof(*pp));
	const char **sessions = calloc(n, sizeof(*sessions));
	bmeq_extra_cols *extras = calloc(n, sizeof(*extras));
	bmeq_status st = BMEQ_OK;

	if (!v || !vs_base || !vs_prev || !pb || !pp || !sessions || !extras) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const bmeq_scan_item *it = &s->items[job->first + i];
		load_visit(c, it, &v[i]);
		sessions[i] = it->session;
		extras[i].n = s->nextra;
		extras[i].names = (const char *const *)s->extra_names;
		extras[i].values = (const char *const *)it->extra;
	}
	for (size_t i = 1; i < n && st == BMEQ_OK; i++) {
		st = compare_pair(c, &v[0], &v[i], BMEQ_SCAN_CHANGE, &vs_base[i], job);
		pb[i] = &vs_base[i];
		if (st != BMEQ_OK)
			break;
		if (i == 1) {
			pp[i] = &vs_base[i];
		} else {
			st = compare_pair(c, &v[i - 1], &v[i], BMEQ_SCAN_CHANGE_PREVIOUS, &vs_prev[i],
					  job);
			pp[i] = &vs_prev[i];
		}
	}
	if (st == BMEQ_OK) {
		bmeq_subject_visits sv = {s->items[job->first].subject, n, sessions, pb, pp, extras};
		st = bmeq_response_subject_rows(job->response, job->interval, &sv);
	}
done:
	if (v)
		for (size_t i = 0; i < n; i++)
			free_visit(&v[i]);
	free(v);
	free(vs_base);
	free(vs_prev);
	free(pb);
	free(pp);
	free(sessions);
	free(extras);
	return st;
}

static void *compare_worker(void *arg)
{
	compare_ctx *c = arg;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		size_t k = c->next < c->njobs ? c->next++ : c->njobs;
		pthread_mutex_unlock(&c->lock);
		if (k >= c->njobs)
			break;
		subject_job *job = &c->jobs[k];
		job->st = run_subject(c, job);
		if (job->st != BMEQ_OK)
			snprintf(job->msg, sizeof(job->msg), "%s", bmeq_last_error());
	}
	return NULL;
}

/* Re-emits the data rows of one subject's table (its text starts with the
 * header row, so it parses on its own). */
static bmeq_status append_rows(bmeq_csv *dst, const bmeq_csv *src)
{
	size_t len;
	const char *t = bmeq_csv_text(src, &len);
	bmeq_csv_table *tab = NULL;
	bmeq_status st = bmeq_csv_parse(t, len, &tab);
	if (st != BMEQ_OK)
		return st;
	for (size_t r = 0; r < tab->nrows && st == BMEQ_OK; r++) {
		for (size_t col = 0; col < tab->ncols; col++)
			bmeq_csv_field(dst, bmeq_csv_cell(tab, r, (long)col));
		st = bmeq_csv_end_row(dst);
	}
	bmeq_csv_table_destroy(tab);
	return st;
}

bmeq_status bmeq_batch_compare(const bmeq_study *s, const char *outdir,
			       const bmeq_batch_opts *opts, bmeq_batch_summary *summary)
{
	compare_ctx c;
	bmeq_csv *response = NULL, *interval = NULL;
	bmeq_extra_cols ex = {s->nextra, (const char *const *)s->extra_names, NULL};
	bmeq_status st = BMEQ_OK;
	char path[BMEQ_PATH_MAX];

	memset(&c, 0, sizeof(c));
	c.study = s;
	c.outdir = outdir;
	c.opts = opts;
	bmeq_compare_opts_init(&c.copts);
	c.copts.rule = opts->response_rule;
	pthread_mutex_init(&c.lock, NULL);
	c.jobs = calloc(s->n ? s->n : 1, sizeof(*c.jobs));
	if (!c.jobs) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->n;) {
		size_t j = i;
		while (j < s->n && strcmp(s->items[j].subject, s->items[i].subject) == 0)
			j++;
		subject_job *job = &c.jobs[c.njobs++];
		job->first = i;
		job->n = j - i;
		/* Header rows are written here so that each subject's text parses
		 * on its own when joined below. */
		if (bmeq_csv_create(&job->response) != BMEQ_OK ||
		    bmeq_csv_create(&job->interval) != BMEQ_OK) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto done;
		}
		bmeq_response_header(job->response, &ex);
		bmeq_response_header(job->interval, &ex);
		i = j;
	}
	int nthreads = opts->jobs < (int)c.njobs ? opts->jobs : (int)c.njobs;
	if (nthreads < 1)
		nthreads = 1;
	bmeq_run_workers(nthreads, compare_worker, &c);

	if ((st = bmeq_csv_create(&response)) != BMEQ_OK || (st = bmeq_csv_create(&interval)) != BMEQ_OK)
		goto done;
	bmeq_response_header(response, &ex);
	bmeq_response_header(interval, &ex);
	for (size_t k = 0; k < c.njobs && st == BMEQ_OK; k++) {
		subject_job *job = &c.jobs[k];
		if (job->st != BMEQ_OK) {
			st = bmeq_fail(job->st, "%s", job->msg);
			break;
		}
		summary->comparisons += job->comparisons;
		summary->comparisons_failed += job->failed;
		if ((st = append_rows(response, job->response)) == BMEQ_OK)
			st = append_rows(interval, job->interval);
	}
	if (st != BMEQ_OK)
		goto done;
	size_t len;
	const char *t = bmeq_csv_text(interval, &len);
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_RESPONSE_INTERVAL, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_write_file_atomic(path, t, len)) != BMEQ_OK)
		goto done;
	t = bmeq_csv_text(response, &len);
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_RESPONSE, path, sizeof(path))) == BMEQ_OK)
		st = bmeq_write_file_atomic(path, t, len);
done:
	if (c.jobs)
		for (size_t k = 0; k < c.njobs; k++) {
			bmeq_csv_destroy(c.jobs[k].response);
			bmeq_csv_destroy(c.jobs[k].interval);
		}
	free(c.jobs);
	bmeq_csv_destroy(response);
	bmeq_csv_destroy(interval);
	pthread_mutex_destroy(&c.lock);
	return st;
}
