/* report.c - the report of a batch folder: gather what OUT holds about each
 * scan, draw the QC pictures (in parallel) and write the page. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/csv.h"
#include "bmeq/outdir.h"
#include "bmeq/workers.h"
#include "report_internal.h"

void bmeq_report_opts_init(bmeq_report_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	o->pictures = 1;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void free_scans(bmeq_rp_scan *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].subject);
		free(v[i].session);
		free(v[i].path);
		free(v[i].t1);
	}
	free(v);
}

static double num(const char *s)
{
	char *end;
	double v;

	if (!s[0])
		return NAN;
	v = strtod(s, &end);
	return *end ? NAN : v;
}

/* The per-side index of a side column ("right" 0, "left" 1), else -1. */
static int side_index(const char *side)
{
	return (int)bmeq_side_parse(side);
}

static long find_scan(const bmeq_rp_scan *v, size_t n, const char *subject, const char *session)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].subject, subject) == 0 && strcmp(v[i].session, session) == 0)
			return (long)i;
	return -1;
}

/* The columns subject, session and side of a per-side table. */
static void key_columns(const bmeq_csv_table *t, long key[3])
{
	key[0] = bmeq_csv_column(t, "subject");
	key[1] = bmeq_csv_column(t, "session");
	key[2] = bmeq_csv_column(t, "side");
}

/* The scan and side that row r of a per-side table is about (key from
 * key_columns); NULL when it names no scan of v or no side. */
static bmeq_rp_scan *row_scan(bmeq_rp_scan *v, size_t n, const bmeq_csv_table *t,
			      const long key[3], size_t r, int *side)
{
	long i = find_scan(v, n, bmeq_csv_cell(t, r, key[0]), bmeq_csv_cell(t, r, key[1]));

	*side = side_index(bmeq_csv_cell(t, r, key[2]));
	return i < 0 || *side < 0 ? NULL : &v[i];
}

/* The completion record, read through the output folder's module
 * (bmeq/outdir.h): the report depends on the files the batch documents, not
 * on the batch's code. */
static void read_record(bmeq_rp_scan *s)
{
	bmeq_scan_record rec;
	char volume[32];

	if (bmeq_record_read(s->dir, &rec) != BMEQ_OK)
		return;
	s->has_record = 1;
	snprintf(s->status, sizeof(s->status), "%s", rec.status);
	snprintf(s->message, sizeof(s->message), "%s", rec.message);
	snprintf(s->stem, sizeof(s->stem), "%s", rec.stem);
	if (bmeq_record_param(&rec, "volume", volume, sizeof(volume)) == BMEQ_OK)
		s->volume = strtol(volume, NULL, 10);
	if (rec.t1_placed && rec.t1[0]) {
		s->t1 = dup_str(rec.t1); /* NULL when out of memory: shown without it */
		memcpy(s->t1_transform, rec.t1_transform, sizeof(s->t1_transform));
	}
	for (int side = 0; side < 2; side++) {
		s->found[side] = rec.side[side].found == 1;
		memcpy(s->centre[side], rec.side[side].centre, sizeof(s->centre[side]));
		s->radius[side] = rec.side[side].radius;
	}
}

/* The scans: the study's order when given, else the order of scans.csv
 * (the batch writes it in study order). */
static bmeq_status collect(const bmeq_study *study, const char *outdir,
			   const bmeq_csv_table *scans, bmeq_rp_scan **out, size_t *nout)
{
	size_t cap = study ? study->n : scans->nrows, n = 0;
	bmeq_rp_scan *v = calloc(cap ? cap : 1, sizeof(*v));
	long cs = bmeq_csv_column(scans, "subject"), ce = bmeq_csv_column(scans, "session"),
	     cp = bmeq_csv_column(scans, "scan");

	if (!v)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (size_t i = 0; i < cap; i++) {
		const char *subject = study ? study->items[i].subject : bmeq_csv_cell(scans, i, cs);
		const char *session = study ? study->items[i].session : bmeq_csv_cell(scans, i, ce);
		const char *path = study ? study->items[i].path : bmeq_csv_cell(scans, i, cp);
		if (find_scan(v, n, subject, session) >= 0)
			continue;
		bmeq_rp_scan *s = &v[n];
		s->subject = dup_str(subject);
		s->session = dup_str(session);
		s->path = dup_str(path);
		n++;
		if (!s->subject || !s->session || !s->path) {
			free_scans(v, n);
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		}
		if (bmeq_out_scan_dir(outdir, subject, session, s->dir, sizeof(s->dir)) != BMEQ_OK) {
			free_scans(v, n);
			return BMEQ_E_WRITE;
		}
		s->volume = -1;
		for (int side = 0; side < 2; side++) {
			s->edema_ml[side] = s->fraction[side] = NAN;
			s->edema_ml_low[side] = s->edema_ml_high[side] = NAN;
			s->change_ml[side] = s->change_pct[side] = NAN;
			s->resolved_ml[side] = s->persistent_ml[side] = s->new_ml[side] = NAN;
			s->t1_removed_ml[side] = NAN;
		}
		s->threshold = NAN;
		s->t1_shift_mm = s->t1_angle_deg = NAN;
		read_record(s);
		/* The baseline is the subject's first scan in study order. */
		s->baseline = n - 1;
		s->is_baseline = 1;
		for (size_t j = 0; j + 1 < n; j++)
			if (strcmp(v[j].subject, subject) == 0) {
				s->baseline = j;
				s->is_baseline = 0;
				break;
			}
	}
	*out = v;
	*nout = n;
	return BMEQ_OK;
}

static void fill_scan_rows(bmeq_rp_scan *v, size_t n, const bmeq_csv_table *t)
{
	long key[3], cst = bmeq_csv_column(t, "status"),
	     cml = bmeq_csv_column(t, "edema_ml"), cf = bmeq_csv_column(t, "edema_fraction"),
	     cth = bmeq_csv_column(t, "threshold"), cr = bmeq_csv_column(t, "threshold_rule"),
	     cm = bmeq_csv_column(t, "message"), clo = bmeq_csv_column(t, "edema_ml_low"),
	     chi = bmeq_csv_column(t, "edema_ml_high"), csrc = bmeq_csv_column(t, "threshold_source"),
	     crv = bmeq_csv_column(t, "review"), crf = bmeq_csv_column(t, "regions_from"),
	     ct1r = bmeq_csv_column(t, "edema_removed_by_t1_ml"),
	     ct1s = bmeq_csv_column(t, "t1_shift_mm"), ct1a = bmeq_csv_column(t, "t1_angle_deg");

	key_columns(t, key);
	for (size_t r = 0; r < t->nrows; r++) {
		int side;
		bmeq_rp_scan *s = row_scan(v, n, t, key, r, &side);
		if (!s)
			continue;
		snprintf(s->side_status[side], sizeof(s->side_status[side]), "%s",
			 bmeq_csv_cell(t, r, cst));
		s->edema_ml[side] = num(bmeq_csv_cell(t, r, cml));
		s->fraction[side] = num(bmeq_csv_cell(t, r, cf));
		s->edema_ml_low[side] = num(bmeq_csv_cell(t, r, clo));
		s->edema_ml_high[side] = num(bmeq_csv_cell(t, r, chi));
		snprintf(s->threshold_source, sizeof(s->threshold_source), "%s",
			 bmeq_csv_cell(t, r, csrc));
		if (isfinite(num(bmeq_csv_cell(t, r, cth))))
			s->threshold = num(bmeq_csv_cell(t, r, cth));
		snprintf(s->rule, sizeof(s->rule), "%s", bmeq_csv_cell(t, r, cr));
		snprintf(s->side_message[side], sizeof(s->side_message[side]), "%s",
			 bmeq_csv_cell(t, r, cm));
		snprintf(s->review[side], sizeof(s->review[side]), "%s", bmeq_csv_cell(t, r, crv));
		snprintf(s->regions_from[side], sizeof(s->regions_from[side]), "%s",
			 bmeq_csv_cell(t, r, crf));
		s->t1_removed_ml[side] = num(bmeq_csv_cell(t, r, ct1r));
		if (isfinite(num(bmeq_csv_cell(t, r, ct1s))))
			s->t1_shift_mm = num(bmeq_csv_cell(t, r, ct1s));
		if (isfinite(num(bmeq_csv_cell(t, r, ct1a))))
			s->t1_angle_deg = num(bmeq_csv_cell(t, r, ct1a));
		/* Without a record (a folder copied without it), the table still
		 * says whether the scan failed. */
		if (!s->has_record && strcmp(bmeq_csv_cell(t, r, cst), "error") == 0) {
			snprintf(s->status, sizeof(s->status), "error");
			snprintf(s->message, sizeof(s->message), "%s", bmeq_csv_cell(t, r, cm));
		}
	}
}

static void fill_responses(bmeq_rp_scan *v, size_t n, const bmeq_csv_table *t)
{
	long key[3], cr = bmeq_csv_column(t, "response"),
	     cer = bmeq_csv_column(t, "early_retreatment"), cc = bmeq_csv_column(t, "change_ml"),
	     cp = bmeq_csv_column(t, "change_pct"), crs = bmeq_csv_column(t, "resolved_ml"),
	     cpe = bmeq_csv_column(t, "persistent_ml"), cn = bmeq_csv_column(t, "new_ml"),
	     cm = bmeq_csv_column(t, "message"), cu = bmeq_csv_column(t, "uncertain");

	key_columns(t, key);
	for (size_t r = 0; r < t->nrows; r++) {
		int side;
		bmeq_rp_scan *s = row_scan(v, n, t, key, r, &side);
		if (!s)
			continue;
		s->has_response[side] = 1;
		s->uncertain[side] = strcmp(bmeq_csv_cell(t, r, cu), "yes") == 0;
		snprintf(s->response[side], sizeof(s->response[side]), "%s", bmeq_csv_cell(t, r, cr));
		snprintf(s->early[side], sizeof(s->early[side]), "%s", bmeq_csv_cell(t, r, cer));
		snprintf(s->response_message[side], sizeof(s->response_message[side]), "%s",
			 bmeq_csv_cell(t, r, cm));
		s->change_ml[side] = num(bmeq_csv_cell(t, r, cc));
		s->change_pct[side] = num(bmeq_csv_cell(t, r, cp));
		s->resolved_ml[side] = num(bmeq_csv_cell(t, r, crs));
		s->persistent_ml[side] = num(bmeq_csv_cell(t, r, cpe));
		s->new_ml[side] = num(bmeq_csv_cell(t, r, cn));
	}
}

/* ---- pictures in parallel ------------------------------------------------- */

typedef struct pic_ctx {
	bmeq_rp_scan *scans;
	size_t n, next;
	pthread_mutex_t lock;
	bmeq_status fatal;
	char fatal_msg[1024];
} pic_ctx;

static void note(char *buf, size_t cap, const char *why)
{
	snprintf(buf, cap, "%s", why);
}

/* Removes a scan's change pictures, which an earlier run may have drawn for
 * a comparison that has since gone (or failed this time): a picture left on
 * disk beside the page could be taken for the scan's current change. */
static bmeq_status drop_change_pictures(const bmeq_rp_scan *s)
{
	static const bmeq_scan_file pics[] = {BMEQ_SCAN_CHANGE_QC, BMEQ_SCAN_CHANGE_SLICES,
					      BMEQ_SCAN_CHANGE_SLICES_BASE,
					      BMEQ_SCAN_CHANGE_SLICES_FU};
	char path[4096];

	if (!s->stem[0])
		return BMEQ_OK; /* no record: nothing was drawn under a name */
	for (size_t i = 0; i < sizeof(pics) / sizeof(pics[0]); i++) {
		if (bmeq_scan_path(s->dir, s->stem, pics[i], path, sizeof(path)) != BMEQ_OK)
			continue; /* a path too long for the buffer was never written either */
		if (remove(path) != 0 && errno != ENOENT)
			return bmeq_fail(BMEQ_E_WRITE, "%s: cannot remove: %s", path, strerror(errno));
	}
	return BMEQ_OK;
}

static bmeq_status draw_one(pic_ctx *c, bmeq_rp_scan *s)
{
	bmeq_status st;

	if (strcmp(s->status, "ok") != 0) {
		note(s->qc_note, sizeof(s->qc_note), "the scan failed");
		return drop_change_pictures(s);
	}
	st = bmeq_rp_scan_qc(s);
	if (st == BMEQ_E_WRITE || st == BMEQ_E_NOMEM)
		return st;
	s->qc = st == BMEQ_OK;
	if (st != BMEQ_OK)
		note(s->qc_note, sizeof(s->qc_note), bmeq_last_error());
	if (s->is_baseline)
		return drop_change_pictures(s);
	if (!bmeq_scan_file_exists(s->dir, s->stem, BMEQ_SCAN_CHANGE)) {
		note(s->change_note, sizeof(s->change_note), "no change map (not registered)");
		return drop_change_pictures(s);
	}
	st = bmeq_rp_change_qc(&c->scans[s->baseline], s);
	if (st == BMEQ_E_WRITE || st == BMEQ_E_NOMEM)
		return st;
	s->change_qc = st == BMEQ_OK;
	if (st != BMEQ_OK) {
		note(s->change_note, sizeof(s->change_note), bmeq_last_error());
		return drop_change_pictures(s);
	}
	return BMEQ_OK;
}

static void *pic_worker(void *arg)
{
	pic_ctx *c = arg;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		size_t k = c->fatal == BMEQ_OK && c->next < c->n ? c->next++ : c->n;
		pthread_mutex_unlock(&c->lock);
		if (k >= c->n)
			break;
		bmeq_status st = draw_one(c, &c->scans[k]);
		if (st != BMEQ_OK) {
			pthread_mutex_lock(&c->lock);
			if (c->fatal == BMEQ_OK) {
				c->fatal = st;
				snprintf(c->fatal_msg, sizeof(c->fatal_msg), "%s", bmeq_last_error());
			}
			pthread_mutex_unlock(&c->lock);
		}
	}
	return NULL;
}

static bmeq_status draw_all(bmeq_rp_scan *v, size_t n, int jobs)
{
	pic_ctx c;
	int nt = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs;

	memset(&c, 0, sizeof(c));
	c.scans = v;
	c.n = n;
	pthread_mutex_init(&c.lock, NULL);
	if ((size_t)nt > n)
		nt = (int)(n ? n : 1);
	bmeq_run_workers(nt, pic_worker, &c);
	pthread_mutex_destroy(&c.lock);
	if (c.fatal != BMEQ_OK)
		return bmeq_fail(c.fatal, "%s", c.fatal_msg);
	return BMEQ_OK;
}

bmeq_status bmeq_rp_scans_read(const bmeq_study *study, const char *outdir, bmeq_rp_scan **out,
			       size_t *nout)
{
	bmeq_csv_table *scans = NULL, *resp = NULL;
	bmeq_rp_scan *v = NULL;
	size_t n = 0;
	char path[BMEQ_PATH_MAX];
	bmeq_status st;

	*out = NULL;
	*nout = 0;
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_SCANS, path, sizeof(path))) != BMEQ_OK)
		return st;
	if ((st = bmeq_csv_read_file(path, &scans)) != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", path, bmeq_last_error());
	if (bmeq_csv_column(scans, "subject") < 0 || bmeq_csv_column(scans, "session") < 0 ||
	    bmeq_csv_column(scans, "scan") < 0 || bmeq_csv_column(scans, "side") < 0) {
		bmeq_csv_table_destroy(scans);
		return bmeq_fail(BMEQ_E_FORMAT, "%s: not a bmeq scans table", path);
	}
	if ((st = collect(study, outdir, scans, &v, &n)) == BMEQ_OK) {
		fill_scan_rows(v, n, scans);
		/* response.csv is absent when no subject has two visits' comparison
		 * yet; the page then shows no responses. */
		if (bmeq_out_path(outdir, BMEQ_OUT_RESPONSE, path, sizeof(path)) == BMEQ_OK &&
		    bmeq_csv_read_file(path, &resp) == BMEQ_OK)
			fill_responses(v, n, resp);
		*out = v;
		*nout = n;
	}
	bmeq_csv_table_destroy(scans);
	bmeq_csv_table_destroy(resp);
	return st;
}

void bmeq_rp_scans_free(bmeq_rp_scan *v, size_t n)
{
	free_scans(v, n);
}

bmeq_status bmeq_report_write(const bmeq_study *study, const char *outdir,
			      const bmeq_report_opts *opts, bmeq_report_summary *sum)
{
	bmeq_report_opts defaults;
	bmeq_report_summary local;
	bmeq_rp_scan *v = NULL;
	size_t n = 0;
	bmeq_status st;

	if (!opts) {
		bmeq_report_opts_init(&defaults);
		opts = &defaults;
	}
	if (!sum)
		sum = &local;
	memset(sum, 0, sizeof(*sum));
	if ((st = bmeq_rp_scans_read(study, outdir, &v, &n)) != BMEQ_OK)
		return st;
	if (opts->pictures) {
		if ((st = draw_all(v, n, opts->jobs)) != BMEQ_OK)
			goto done;
	} else {
		for (size_t i = 0; i < n; i++) {
			v[i].qc = v[i].stem[0] && bmeq_scan_file_exists(v[i].dir, v[i].stem, BMEQ_SCAN_QC);
			v[i].change_qc = v[i].stem[0] &&
					 bmeq_scan_file_exists(v[i].dir, v[i].stem, BMEQ_SCAN_CHANGE_QC);
		}
	}
	for (size_t i = 0; i < n; i++) {
		int expect_change = !v[i].is_baseline && strcmp(v[i].status, "ok") == 0;
		sum->pictures += (size_t)v[i].qc + (size_t)v[i].change_qc;
		sum->pictures_skipped += (size_t)(strcmp(v[i].status, "ok") == 0 && !v[i].qc) +
					 (size_t)(expect_change && !v[i].change_qc &&
						  bmeq_scan_file_exists(v[i].dir, v[i].stem, BMEQ_SCAN_CHANGE));
	}
	/* The viewer's mosaics (drawn with the pictures, or left from a
	 * previous run with --no-pictures). */
	for (size_t i = 0; i < n; i++) {
		if (bmeq_rp_slices_info(&v[i], &v[i].slices) != BMEQ_OK)
			memset(&v[i].slices, 0, sizeof(v[i].slices));
		v[i].change_slices = !v[i].is_baseline && v[i].stem[0] &&
				     bmeq_scan_file_exists(v[i].dir, v[i].stem,
							   BMEQ_SCAN_CHANGE_SLICES_FU);
	}
	bmeq_rp_figures_made figs;
	if ((st = bmeq_rp_figures(outdir, v, n, &figs)) != BMEQ_OK)
		goto done;
	st = bmeq_rp_html(outdir, v, n, &figs, sum);
done:
	free_scans(v, n);
	return st;
}
