/* batch_compare.c - every subject's visits compared: response.csv and
 * response_interval.csv, and the change maps.
 *
 * Each follow-up is compared with the subject's baseline (its first visit in
 * time) and with the visit before it. The inputs come from the scans' saved
 * outputs (record, edema map) and the scan itself, so a resumed batch compares
 * exactly as an uninterrupted one. Each comparison's result is kept in the
 * follow-up's folder (change_record.csv, change_previous_record.csv) with a
 * key of everything it came from; --resume takes it from there when the key
 * matches, so only comparisons whose visits were measured again (a reader's
 * correction, another input or setting) are registered again. Subjects run
 * in parallel; their rows are joined in subject order so the files do not
 * depend on the worker count.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_internal.h"
#include "bmeq/csv.h"
#include "bmeq/files.h"
#include "bmeq/hash.h"
#include "bmeq/workers.h"
#include "bmeq/longitudinal.h"
#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"

/* One visit as loaded for comparison. */
typedef struct visit {
	const bmeq_scan_item *item;
	bmeq_scan_record rec;
	char rec_sha256[65];           /* of its scan_record.csv ("": none) */
	int images_tried;              /* load_images ran */
	bmeq_volume *image;
	uint16_t *edema;
	bmeq_timepoint tp;
	bmeq_protocol protocol; /* from the scan's headers or sidecar ("" source: unknown) */
	char dir[BMEQ_PATH_MAX];
	char excluded[2][512];         /* a reader's reason for excluding a side */
} visit;

typedef struct subject_job {
	size_t first, n;               /* items [first, first + n) of the study */
	bmeq_csv *response, *interval; /* this subject's rows */
	size_t comparisons, failed, reused;
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

/* Loads what the comparison needs of one visit, but its images (load_images,
 * when a comparison is computed rather than taken from its record). A visit
 * whose scan failed, or whose saved outputs cannot be read back, becomes a
 * failed timepoint (its rows say not_evaluable), never an error of the
 * batch. */
static void load_visit(const compare_ctx *c, const bmeq_scan_item *it, visit *v)
{
	char path[BMEQ_PATH_MAX];

	memset(v, 0, sizeof(*v));
	v->item = it;
	if (bmeq_scan_protocol(it->path, &v->protocol) != BMEQ_OK)
		memset(&v->protocol, 0, sizeof(v->protocol));
	if (bmeq_batch_scan_dir(c->outdir, it, v->dir, sizeof(v->dir)) != BMEQ_OK ||
	    bmeq_record_read(v->dir, &v->rec) != BMEQ_OK) {
		bmeq_timepoint_failed(&v->tp, "scan record missing");
		return;
	}
	if (bmeq_scan_path(v->dir, "", BMEQ_SCAN_RECORD, path, sizeof(path)) != BMEQ_OK ||
	    bmeq_sha256_file(path, v->rec_sha256) != BMEQ_OK)
		v->rec_sha256[0] = '\0';
	if (strcmp(v->rec.status, "ok") != 0) {
		bmeq_timepoint_failed(&v->tp, v->rec.message[0] ? v->rec.message : "scan failed");
		return;
	}
	memset(&v->tp, 0, sizeof(v->tp));
	v->tp.has_range = 1; /* a side without a recorded range has NaN bounds: no range */
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
		/* A side the reader excluded is not evaluable, whatever bmeq
		 * measured on it, and the rows say who excluded it and why. */
		const bmeq_review_entry *e =
			bmeq_review_find(c->opts->review, it->subject, it->session, s);
		if (e && e->decision == BMEQ_REVIEW_EXCLUDED) {
			bmeq_review_reason(e, v->excluded[s], sizeof(v->excluded[s]));
			v->tp.side_status[s] = BMEQ_SIDE_ERROR;
			v->tp.message[s] = v->excluded[s];
		}
	}
}

/* The scan and its edema map, for registering a measured visit (once). */
static void load_images(const compare_ctx *c, visit *v)
{
	bmeq_read_opts ro;
	char path[BMEQ_PATH_MAX];

	if (v->images_tried || !c->copts.spatial || strcmp(v->rec.status, "ok") != 0)
		return;
	v->images_tried = 1;
	bmeq_read_opts_init(&ro);
	ro.volume = c->opts->measure.volume;
	ro.max_bytes = bmeq_max_scan_bytes(c->opts->measure.max_scan_mb);
	if (bmeq_scan_path(v->dir, v->rec.stem, BMEQ_SCAN_EDEMA, path, sizeof(path)) != BMEQ_OK ||
	    bmeq_scan_read(v->item->path, &ro, &v->image, NULL) != BMEQ_OK ||
	    bmeq_nifti_read_labels(path, &v->image->grid, &v->edema) != BMEQ_OK) {
		/* Volumes alone still give the response class. */
		bmeq_volume_destroy(v->image);
		free(v->edema);
		v->image = NULL;
		v->edema = NULL;
	}
	v->tp.image = v->image;
	v->tp.edema_map = v->edema;
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

/* ---- a comparison's record (--resume) ------------------------------------ */

/* The key of a comparison: everything its result comes from. A visit's
 * record holds its inputs' hashes, the settings and what was measured, and is
 * written anew whenever the scan is measured again; with the rule, whether
 * the edema is registered, the reader's exclusions and the version. */
static void compare_key(const compare_ctx *c, const visit *base, const visit *fu,
			bmeq_scan_file file, char key[65])
{
	char text[4096], rule[BMEQ_RESPONSE_RULE_TEXT_MAX];

	bmeq_response_rule_text(&c->copts.rule, rule, sizeof(rule));
	snprintf(text, sizeof(text),
		 "bmeq=%s;%s;rule=%s;spatial=%d;baseline=%s;followup=%s;excluded=%s|%s|%s|%s",
		 bmeq_version(), bmeq_scan_file_name(file), rule, c->copts.spatial,
		 base->rec_sha256, fu->rec_sha256, base->excluded[0], base->excluded[1],
		 fu->excluded[0], fu->excluded[1]);
	bmeq_sha256_buffer(text, strlen(text), key);
}

/* A side's numbers in the record, by name. */
#define SIDE_REALS 17
static void side_reals(bmeq_side_change *d, double *p[SIDE_REALS])
{
	double *a[SIDE_REALS] = {
		&d->baseline_ml, &d->followup_ml, &d->change_ml, &d->change_pct, &d->resolved_ml,
		&d->persistent_ml, &d->new_ml, &d->baseline_ml_low, &d->baseline_ml_high,
		&d->followup_ml_low, &d->followup_ml_high, &d->centre_error_mm,
		&d->transform.translation[0], &d->transform.translation[1],
		&d->transform.translation[2], &d->transform.metric, &d->transform.metric_initial,
	};
	memcpy(p, a, sizeof(a));
}
static const char *const side_real_names[SIDE_REALS] = {
	"baseline_ml", "followup_ml", "change_ml", "change_pct", "resolved_ml", "persistent_ml",
	"new_ml", "baseline_ml_low", "baseline_ml_high", "followup_ml_low", "followup_ml_high",
	"centre_error_mm", "translation_x", "translation_y", "translation_z", "metric",
	"metric_initial",
};

static void real_text(double v, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.17g", v);
}

/* One row of a comparison's record: the field, then right and left. */
static void record_row(bmeq_csv *w, bmeq_status *st, const char *name, const char *right,
		       const char *left)
{
	const char *row[3] = {name, right, left};

	if (*st == BMEQ_OK)
		*st = bmeq_csv_row(w, row, 3);
}

/* Writes the comparison and its key; after its change map, so a record
 * means the map (when registered) is complete. */
static bmeq_status write_compare_record(const visit *fu, bmeq_scan_file file, const char *key,
					const bmeq_comparison *cmp)
{
	static const char *const int_names[5] = {"response", "uncertain", "registered",
						 "iterations", "flags"};
	bmeq_csv *w = NULL;
	char path[BMEQ_PATH_MAX], a[64], b[64], name[32];
	bmeq_comparison copy = *cmp;
	double *p[2][SIDE_REALS];
	bmeq_status st;

	if ((st = bmeq_scan_path(fu->dir, "", file, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_csv_create(&w)) != BMEQ_OK)
		return st;
	record_row(w, &st, "field", "right", "left");
	record_row(w, &st, "key", key, key);
	record_row(w, &st, "rule_text", cmp->rule_text, cmp->rule_text);
	side_reals(&copy.side[0], p[0]);
	side_reals(&copy.side[1], p[1]);
	for (int i = 0; i < SIDE_REALS; i++) {
		real_text(*p[0][i], a, sizeof(a));
		real_text(*p[1][i], b, sizeof(b));
		record_row(w, &st, side_real_names[i], a, b);
	}
	for (int r = 0; r < 3; r++)
		for (int q = 0; q < 3; q++) {
			snprintf(name, sizeof(name), "rotation_%d%d", r, q);
			real_text(cmp->side[0].transform.rotation[r][q], a, sizeof(a));
			real_text(cmp->side[1].transform.rotation[r][q], b, sizeof(b));
			record_row(w, &st, name, a, b);
		}
	for (int i = 0; i < 5; i++) {
		long long x[2];
		for (int s = 0; s < 2; s++) {
			const bmeq_side_change *d = &cmp->side[s];
			x[s] = i == 0 ? (long long)d->response
			     : i == 1 ? d->uncertain
			     : i == 2 ? d->registered
			     : i == 3 ? d->transform.iterations
				      : (long long)d->transform.flags;
		}
		snprintf(a, sizeof(a), "%lld", x[0]);
		snprintf(b, sizeof(b), "%lld", x[1]);
		record_row(w, &st, int_names[i], a, b);
	}
	record_row(w, &st, "message", cmp->side[0].message, cmp->side[1].message);
	if (st == BMEQ_OK)
		st = bmeq_csv_write_file(w, path);
	bmeq_csv_destroy(w);
	return st;
}

/* Reads fu's record of a comparison into *cmp: 1 when it is there, complete,
 * made under key, and its change map (when registered) is there too; else 0
 * (the comparison is computed). */
static int read_compare_record(const visit *fu, bmeq_scan_file file, bmeq_scan_file map,
			       const char *key, bmeq_comparison *cmp)
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv_table *t = NULL;
	int ok = 0;

	if (bmeq_scan_path(fu->dir, "", file, path, sizeof(path)) != BMEQ_OK ||
	    bmeq_csv_read_file(path, &t) != BMEQ_OK)
		return 0;
	memset(cmp, 0, sizeof(*cmp));
	double *p[2][SIDE_REALS];
	side_reals(&cmp->side[0], p[0]);
	side_reals(&cmp->side[1], p[1]);
	size_t row = 0, nreal = SIDE_REALS;
	/* Rows in the order written: key, rule_text, the reals, the rotation,
	 * the integers, message. */
	if (t->ncols != 3 || t->nrows != 2 + nreal + 9 + 5 + 1)
		goto done;
#define CELL(r, c) bmeq_csv_cell(t, (r), (c))
	if (strcmp(CELL(0, 0), "key") || strcmp(CELL(0, 1), key) || strcmp(CELL(1, 0), "rule_text"))
		goto done;
	snprintf(cmp->rule_text, sizeof(cmp->rule_text), "%s", CELL(1, 1));
	row = 2;
	for (size_t i = 0; i < nreal; i++, row++) {
		if (strcmp(CELL(row, 0), side_real_names[i]))
			goto done;
		for (int s = 0; s < 2; s++)
			*p[s][i] = strtod(CELL(row, 1 + s), NULL);
	}
	for (int r = 0; r < 3; r++)
		for (int q = 0; q < 3; q++, row++)
			for (int s = 0; s < 2; s++)
				cmp->side[s].transform.rotation[r][q] = strtod(CELL(row, 1 + s), NULL);
	for (int i = 0; i < 5; i++, row++)
		for (int s = 0; s < 2; s++) {
			long long x = strtoll(CELL(row, 1 + s), NULL, 10);
			bmeq_side_change *d = &cmp->side[s];
			switch (i) {
			case 0: d->response = (bmeq_response)x; break;
			case 1: d->uncertain = (int)x; break;
			case 2: d->registered = (int)x; break;
			case 3: d->transform.iterations = (int)x; break;
			default: d->transform.flags = (unsigned)x; break;
			}
		}
	if (strcmp(CELL(row, 0), "message"))
		goto done;
	for (int s = 0; s < 2; s++)
		snprintf(cmp->side[s].message, sizeof(cmp->side[s].message), "%s", CELL(row, 1 + s));
#undef CELL
	ok = !(cmp->side[0].registered || cmp->side[1].registered) ||
	     bmeq_scan_file_exists(fu->dir, fu->rec.stem, map);
done:
	bmeq_csv_table_destroy(t);
	return ok;
}

/* Compares follow-up fu with base and writes the change map when registered,
 * then the comparison's record; with --resume, a record made from the same
 * visits is taken instead. */
static bmeq_status compare_pair(const compare_ctx *c, visit *base, visit *fu,
				bmeq_scan_file file, bmeq_comparison *out, subject_job *job)
{
	bmeq_scan_file rfile = file == BMEQ_SCAN_CHANGE ? BMEQ_SCAN_CHANGE_RECORD
							: BMEQ_SCAN_CHANGE_PREVIOUS_RECORD;
	uint8_t *map = NULL;
	char key[65];
	bmeq_status st;

	compare_key(c, base, fu, file, key);
	job->comparisons++;
	/* A visit without a record has no folder of its own to keep one in. */
	int keep = base->rec_sha256[0] && fu->rec_sha256[0];
	if (keep && c->opts->resume && read_compare_record(fu, rfile, file, key, out)) {
		job->reused++;
		st = BMEQ_OK;
	} else {
		load_images(c, base);
		load_images(c, fu);
		if (base->image)
			map = calloc(bmeq_grid_nvox(&base->image->grid), 1);
		st = bmeq_compare_timepoints(&base->tp, &fu->tp, &c->copts, out, map);
		int registered = out->side[0].registered || out->side[1].registered;
		if (st == BMEQ_OK && map && registered)
			st = write_change_map(base, fu, map, file);
		/* A map left by an earlier run (before a correction, say)
		 * must not stand for this comparison. */
		char path[BMEQ_PATH_MAX];
		if (st == BMEQ_OK && !registered && fu->rec.stem[0] &&
		    bmeq_scan_path(fu->dir, fu->rec.stem, file, path, sizeof(path)) == BMEQ_OK)
			unlink(path);
		if (st == BMEQ_OK && keep)
			st = write_compare_record(fu, rfile, key, out);
	}
	if (st == BMEQ_OK) {
		bmeq_comparison_flag_protocol(out, &base->protocol, &fu->protocol);
		job->failed += out->side[0].response == BMEQ_RESPONSE_NOT_EVALUABLE ||
			       out->side[1].response == BMEQ_RESPONSE_NOT_EVALUABLE;
	}
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
 * header row, so it parses on its own), with the reader's decision on the
 * row's follow-up and side after bmeq's columns when review is given. */
static bmeq_status append_rows(bmeq_csv *dst, const bmeq_csv *src, const bmeq_review *review)
{
	size_t len;
	const char *t = bmeq_csv_text(src, &len);
	bmeq_csv_table *tab = NULL;
	bmeq_status st = bmeq_csv_parse(t, len, &tab);
	if (st != BMEQ_OK)
		return st;
	for (size_t r = 0; r < tab->nrows && st == BMEQ_OK; r++) {
		for (size_t col = 0; col < tab->ncols; col++) {
			if (review && col == BMEQ_RESPONSE_NCOLUMNS) {
				const bmeq_review_entry *e = bmeq_review_find(
					review, bmeq_csv_cell(tab, r, 0), bmeq_csv_cell(tab, r, 3),
					bmeq_side_parse(bmeq_csv_cell(tab, r, 1)));
				bmeq_csv_field(dst, e ? bmeq_review_decision_name(e->decision) : "");
			}
			bmeq_csv_field(dst, bmeq_csv_cell(tab, r, (long)col));
		}
		if (review && tab->ncols == BMEQ_RESPONSE_NCOLUMNS) {
			const bmeq_review_entry *e = bmeq_review_find(
				review, bmeq_csv_cell(tab, r, 0), bmeq_csv_cell(tab, r, 3),
				bmeq_side_parse(bmeq_csv_cell(tab, r, 1)));
			bmeq_csv_field(dst, e ? bmeq_review_decision_name(e->decision) : "");
		}
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
	bmeq_extra_cols ex = {s->nextra, (const char *const *)s->extra_names, NULL}, rex;
	const char **names = NULL;
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

	if ((st = bmeq_batch_extra_header(s, opts->review, &rex, &names)) != BMEQ_OK ||
	    (st = bmeq_csv_create(&response)) != BMEQ_OK || (st = bmeq_csv_create(&interval)) != BMEQ_OK)
		goto done;
	bmeq_response_header(response, &rex);
	bmeq_response_header(interval, &rex);
	for (size_t k = 0; k < c.njobs && st == BMEQ_OK; k++) {
		subject_job *job = &c.jobs[k];
		if (job->st != BMEQ_OK) {
			st = bmeq_fail(job->st, "%s", job->msg);
			break;
		}
		summary->comparisons += job->comparisons;
		summary->comparisons_failed += job->failed;
		summary->comparisons_reused += job->reused;
		if ((st = append_rows(response, job->response, opts->review)) == BMEQ_OK)
			st = append_rows(interval, job->interval, opts->review);
	}
	if (st != BMEQ_OK)
		goto done;
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_RESPONSE_INTERVAL, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_csv_write_file(interval, path)) != BMEQ_OK)
		goto done;
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_RESPONSE, path, sizeof(path))) == BMEQ_OK)
		st = bmeq_csv_write_file(response, path);
done:
	if (c.jobs)
		for (size_t k = 0; k < c.njobs; k++) {
			bmeq_csv_destroy(c.jobs[k].response);
			bmeq_csv_destroy(c.jobs[k].interval);
		}
	free(c.jobs);
	free(names);
	bmeq_csv_destroy(response);
	bmeq_csv_destroy(interval);
	pthread_mutex_destroy(&c.lock);
	return st;
}
