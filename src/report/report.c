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
#include "bmeq/files.h"
#include "bmeq/hash.h"
#include "bmeq/outdir.h"
#include "bmeq/strbuf.h"
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

/* Removes one file of a scan's folder when it is there. */
static bmeq_status remove_scan_file(const bmeq_rp_scan *s, bmeq_scan_file f)
{
	char path[BMEQ_PATH_MAX];

	if (bmeq_scan_path(s->dir, s->stem, f, path, sizeof(path)) != BMEQ_OK) {
		bmeq_clear_error(); /* a path too long for the buffer was never written */
		return BMEQ_OK;
	}
	if (remove(path) != 0 && errno != ENOENT)
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot remove: %s", path, strerror(errno));
	return BMEQ_OK;
}

/* Removes a scan's change pictures, which an earlier run may have drawn for
 * a comparison that has since gone (or failed this time): a picture left on
 * disk beside the page could be taken for the scan's current change. */
static bmeq_status drop_change_pictures(const bmeq_rp_scan *s)
{
	static const bmeq_scan_file pics[] = {BMEQ_SCAN_CHANGE_QC, BMEQ_SCAN_CHANGE_SLICES,
					      BMEQ_SCAN_CHANGE_SLICES_BASE,
					      BMEQ_SCAN_CHANGE_SLICES_FU};
	bmeq_status st = BMEQ_OK;

	if (!s->stem[0])
		return BMEQ_OK; /* no record: nothing was drawn under a name */
	for (size_t i = 0; st == BMEQ_OK && i < sizeof(pics) / sizeof(pics[0]); i++)
		st = remove_scan_file(s, pics[i]);
	return st;
}

/* ---- pictures whose inputs have not changed ------------------------------- */

/* Every picture file of a scan: the pictures record lists those a drawing
 * left, and they must all still be there for the record to stand. */
static const bmeq_scan_file picture_files[] = {
	BMEQ_SCAN_QC,		   BMEQ_SCAN_SLICES,	     BMEQ_SCAN_SLICES_ROI,
	BMEQ_SCAN_SLICES_EDEMA,	   BMEQ_SCAN_SLICES_T1,	     BMEQ_SCAN_SLICES_INFO,
	BMEQ_SCAN_CHANGE_QC,	   BMEQ_SCAN_CHANGE_SLICES, BMEQ_SCAN_CHANGE_SLICES_BASE,
	BMEQ_SCAN_CHANGE_SLICES_FU};
#define NPICTURE_FILES (sizeof(picture_files) / sizeof(picture_files[0]))

static unsigned pictures_present(const bmeq_rp_scan *s)
{
	unsigned m = 0;

	for (size_t i = 0; i < NPICTURE_FILES; i++)
		if (bmeq_scan_file_exists(s->dir, s->stem, picture_files[i]))
			m |= 1u << i;
	return m;
}

static void text_num(bmeq_strbuf *b, const char *name, const double *v, size_t n)
{
	bmeq_strbuf_printf(b, "%s", name);
	for (size_t i = 0; i < n; i++)
		bmeq_strbuf_printf(b, " %.17g", v[i]);
	bmeq_strbuf_puts(b, "\n");
}

/* What the report read about a scan, as text: every field of bmeq_rp_scan
 * that comes from OUT's tables and the scan's record (the pictures draw from
 * these and from the files the record pins), the pictures' own outcome
 * excluded. A field added to bmeq_rp_scan belongs here. */
static void scan_text(bmeq_strbuf *b, const bmeq_rp_scan *s)
{
	/* Not the folder: an OUT moved elsewhere keeps its pictures. */
	bmeq_strbuf_printf(b, "scan %s|%s|%s|%s|%s|%s|%ld|%d|%d\n", s->subject, s->session,
			   s->path, s->status, s->message, s->stem, s->volume, s->has_record,
			   s->is_baseline);
	for (int k = 0; k < 2; k++) {
		bmeq_strbuf_printf(b, "side %d|%d|%s|%s|%s|%s|%d|%s|%s|%s|%d\n", k, s->found[k],
				   s->side_status[k], s->side_message[k], s->review[k],
				   s->response[k], s->has_response[k], s->early[k],
				   s->response_message[k], s->regions_from[k], s->uncertain[k]);
		text_num(b, "centre", s->centre[k], 3);
		double v[] = {s->radius[k],	   s->edema_ml[k],	s->fraction[k],
			      s->edema_ml_low[k],  s->edema_ml_high[k], s->change_ml[k],
			      s->change_pct[k],	   s->resolved_ml[k],	s->persistent_ml[k],
			      s->new_ml[k],	   s->t1_removed_ml[k]};
		text_num(b, "numbers", v, sizeof(v) / sizeof(v[0]));
	}
	bmeq_strbuf_printf(b, "rule %s|%s|t1 %s\n", s->rule, s->threshold_source,
			   s->t1 ? s->t1 : "(none)");
	double w[] = {s->threshold, s->t1_shift_mm, s->t1_angle_deg};
	text_num(b, "scan numbers", w, 3);
	text_num(b, "t1 transform", &s->t1_transform[0][0], 12);
}

/* The SHA-256 of a file of the scan's folder, or "absent". */
static void file_text(bmeq_strbuf *b, const bmeq_rp_scan *s, bmeq_scan_file f)
{
	char path[BMEQ_PATH_MAX], hex[65];

	if (bmeq_scan_path(s->dir, s->stem, f, path, sizeof(path)) != BMEQ_OK ||
	    bmeq_sha256_file(path, hex) != BMEQ_OK) {
		bmeq_clear_error();
		snprintf(hex, sizeof(hex), "absent");
	}
	bmeq_strbuf_printf(b, "%s %s\n", bmeq_scan_file_name(f), hex);
}

/* The key of a scan's pictures: bmeq's version (the drawing), what the
 * report read about the scan and, for a follow-up, about its baseline, the
 * SHA-256 of the records and whether the change map is there. The records
 * pin the rest: a scan's record holds its inputs' SHA-256 and is written
 * again, after its maps, whenever the scan is measured again; a comparison's
 * record likewise after its change map, so the map is not read here. */
static bmeq_status picture_key(const pic_ctx *c, const bmeq_rp_scan *s, char hex[65])
{
	bmeq_strbuf b = BMEQ_STRBUF_INIT;

	bmeq_strbuf_printf(&b, "bmeq %s pictures\n", bmeq_version());
	scan_text(&b, s);
	file_text(&b, s, BMEQ_SCAN_RECORD);
	file_text(&b, s, BMEQ_SCAN_CHANGE_RECORD);
	bmeq_strbuf_printf(&b, "change map %d\n",
			   bmeq_scan_file_exists(s->dir, s->stem, BMEQ_SCAN_CHANGE));
	if (!s->is_baseline && s->baseline < c->n) {
		scan_text(&b, &c->scans[s->baseline]);
		file_text(&b, &c->scans[s->baseline], BMEQ_SCAN_RECORD);
	}
	if (b.oom) {
		bmeq_strbuf_free(&b);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	bmeq_sha256_buffer(b.s, b.len, hex);
	bmeq_strbuf_free(&b);
	return BMEQ_OK;
}

/* 1 when the scan's pictures record has this key and every picture it lists
 * is still there: the outcome (drawn or not, and why not) is then the
 * record's, and nothing is drawn. */
static int pictures_unchanged(bmeq_rp_scan *s, const char key[65])
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv_table *t = NULL;
	int same = 0;

	if (bmeq_scan_path(s->dir, s->stem, BMEQ_SCAN_PICTURES_RECORD, path, sizeof(path)) !=
		    BMEQ_OK ||
	    bmeq_csv_read_file(path, &t) != BMEQ_OK) {
		bmeq_clear_error();
		return 0;
	}
	const char *k = NULL, *present = NULL, *qc = NULL, *qn = "", *cq = NULL, *cn = "";
	long kc = bmeq_csv_column(t, "key"), vc = bmeq_csv_column(t, "value");
	for (size_t r = 0; kc >= 0 && vc >= 0 && r < t->nrows; r++) {
		const char *name = bmeq_csv_cell(t, r, kc), *v = bmeq_csv_cell(t, r, vc);
		if (strcmp(name, "key") == 0)
			k = v;
		else if (strcmp(name, "present") == 0)
			present = v;
		else if (strcmp(name, "qc") == 0)
			qc = v;
		else if (strcmp(name, "qc_note") == 0)
			qn = v;
		else if (strcmp(name, "change_qc") == 0)
			cq = v;
		else if (strcmp(name, "change_note") == 0)
			cn = v;
	}
	if (k && present && qc && cq && strcmp(k, key) == 0) {
		unsigned want = (unsigned)strtoul(present, NULL, 10);
		if ((pictures_present(s) & want) == want) {
			s->qc = strcmp(qc, "1") == 0;
			s->change_qc = strcmp(cq, "1") == 0;
			note(s->qc_note, sizeof(s->qc_note), qn);
			note(s->change_note, sizeof(s->change_note), cn);
			same = 1;
		}
	}
	bmeq_csv_table_destroy(t);
	return same;
}

static bmeq_status pictures_record_write(const bmeq_rp_scan *s, const char key[65])
{
	char path[BMEQ_PATH_MAX], mask[16];
	bmeq_csv *w = NULL;
	bmeq_status st;

	if ((st = bmeq_scan_path(s->dir, s->stem, BMEQ_SCAN_PICTURES_RECORD, path,
				 sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_csv_create(&w)) != BMEQ_OK)
		return st;
	snprintf(mask, sizeof(mask), "%u", pictures_present(s));
	const char *rows[][2] = {{"key", "value"},
				 {"key", key},
				 {"present", mask},
				 {"qc", s->qc ? "1" : "0"},
				 {"qc_note", s->qc_note},
				 {"change_qc", s->change_qc ? "1" : "0"},
				 {"change_note", s->change_note}};
	for (size_t i = 0; st == BMEQ_OK && i < sizeof(rows) / sizeof(rows[0]); i++)
		st = bmeq_csv_row(w, rows[i], 2);
	if (st == BMEQ_OK)
		st = bmeq_csv_write_file(w, path);
	bmeq_csv_destroy(w);
	return st;
}

static bmeq_status draw_pictures(pic_ctx *c, bmeq_rp_scan *s)
{
	bmeq_status st;

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

/* A scan's pictures, drawn again only when what they are drawn from has
 * changed (picture_key): `bmeq batch --resume` and `bmeq report` after a
 * review redraw only the scans that were measured or compared again. */
static bmeq_status draw_one(pic_ctx *c, bmeq_rp_scan *s)
{
	char key[65];
	bmeq_status st;

	if (strcmp(s->status, "ok") != 0) {
		note(s->qc_note, sizeof(s->qc_note), "the scan failed");
		return drop_change_pictures(s);
	}
	if ((st = picture_key(c, s, key)) != BMEQ_OK)
		return st;
	if (pictures_unchanged(s, key)) {
		s->pictures_kept = 1;
		return BMEQ_OK;
	}
	/* No record while the pictures are being drawn: one left by a run
	 * that stops midway would vouch for pictures half replaced. */
	if ((st = remove_scan_file(s, BMEQ_SCAN_PICTURES_RECORD)) != BMEQ_OK ||
	    (st = draw_pictures(c, s)) != BMEQ_OK)
		return st;
	return pictures_record_write(s, key);
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
		sum->scans_pictures_kept += (size_t)v[i].pictures_kept;
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
