/* figures.c - the study figures and study_summary.csv.
 *
 * For the statistician and for papers: a waterfall of the % change in edema
 * per hip at each follow-up against baseline, the edema of every hip over
 * the visits, and the response classes per visit, each written as SVG and
 * PNG by cairo (real fonts, vector output) under OUT/figures/; and one row
 * per visit of counts, medians and quartiles in OUT/study_summary.csv.
 *
 * A visit is a scan's place in its subject's time order: visit 0 is the
 * baseline, visit 1 the first follow-up, whatever the sessions are called
 * (their labels are listed in the summary). The PNGs are deterministic: the
 * same tables give the same bytes (cairo's rasteriser and libpng write no
 * time or host; font rendering is fixed below: grey antialiasing, no
 * hinting).
 */
#include <cairo.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/csv.h"
#include "bmeq/files.h"
#include "bmeq/strbuf.h"
#include "report_internal.h"

#define BMEQ_PI 3.14159265358979323846

/* ---- data ------------------------------------------------------------------ */

static const char *const classes[] = {"complete", "partial", "stable", "progression",
				      "new", "none", "not_evaluable"};
enum { NCLASSES = sizeof(classes) / sizeof(classes[0]) };

/* Colours of the classes (colour-blind-safe where it matters: improvement
 * greens/teal, worsening red/orange, neutral greys). */
static const double class_rgb[NCLASSES][3] = {
	{0.10, 0.47, 0.30}, {0.40, 0.74, 0.58}, {0.62, 0.62, 0.62}, {0.80, 0.16, 0.13},
	{0.93, 0.49, 0.10}, {0.85, 0.87, 0.89}, {0.35, 0.35, 0.35},
};

static int class_index(const char *name)
{
	for (int k = 0; k < NCLASSES; k++)
		if (strcmp(name, classes[k]) == 0)
			return k;
	return NCLASSES - 1;
}

/* Each scan's visit: its place in its subject's scans (v is in study order:
 * subjects together, visits in time order). Returns the number of visits. */
static int visit_numbers(const bmeq_rp_scan *v, size_t n, int *visit)
{
	int nv = 0;

	for (size_t i = 0; i < n; i++) {
		visit[i] = i > 0 && strcmp(v[i].subject, v[i - 1].subject) == 0 ? visit[i - 1] + 1 : 0;
		if (visit[i] + 1 > nv)
			nv = visit[i] + 1;
	}
	return nv;
}

static int ok_scan(const bmeq_rp_scan *s)
{
	return strcmp(s->status, "ok") == 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted x (n >= 1), linear between order statistics
 * (numpy's default, R's type 7). */
static double quantile(const double *x, size_t n, double q)
{
	double h = (double)(n - 1) * q;
	size_t lo = (size_t)floor(h);
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	return x[lo] + (h - (double)lo) * (x[hi] - x[lo]);
}

/* ---- drawing helpers --------------------------------------------------------- */

enum { ALIGN_LEFT, ALIGN_CENTRE, ALIGN_RIGHT };

static void text(cairo_t *cr, double x, double y, double size, int align, const char *s)
{
	cairo_text_extents_t e;

	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, s, &e);
	double dx = align == ALIGN_LEFT ? 0 : align == ALIGN_CENTRE ? -e.x_advance / 2 : -e.x_advance;
	cairo_move_to(cr, x + dx, y);
	cairo_show_text(cr, s);
}

static void rgb(cairo_t *cr, const double c[3])
{
	cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

static void grey(cairo_t *cr, double g)
{
	cairo_set_source_rgb(cr, g, g, g);
}

/* A step of 1, 2 or 5 x 10^k giving about 5 ticks over span. */
static double nice_step(double span)
{
	double raw = span / 5.0, p = pow(10.0, floor(log10(raw))), f = raw / p;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct plot {
	double x0, y0, w, h;   /* the plot area in pixels */
	double lo, hi;         /* the value axis */
} plot;

static double py(const plot *p, double v)
{
	return p->y0 + p->h - (v - p->lo) / (p->hi - p->lo) * p->h;
}

/* The value axis with grid lines and labels, and the plot's frame. */
static void value_axis(cairo_t *cr, const plot *p, const char *label, const char *unit)
{
	double step = nice_step(p->hi - p->lo);
	char buf[32];

	cairo_set_line_width(cr, 1);
	for (double v = ceil(p->lo / step) * step; v <= p->hi + 1e-9; v += step) {
		double y = floor(py(p, v)) + 0.5;
		grey(cr, fabs(v) < 1e-9 ? 0.2 : 0.88);
		cairo_move_to(cr, p->x0, y);
		cairo_line_to(cr, p->x0 + p->w, y);
		cairo_stroke(cr);
		grey(cr, 0.2);
		snprintf(buf, sizeof(buf), "%g%s", fabs(v) < 1e-9 ? 0.0 : v, unit);
		text(cr, p->x0 - 6, y + 4, 11, ALIGN_RIGHT, buf);
	}
	grey(cr, 0.2);
	cairo_save(cr);
	cairo_translate(cr, p->x0 - 48, p->y0 + p->h / 2);
	cairo_rotate(cr, -BMEQ_PI / 2);
	text(cr, 0, 0, 12, ALIGN_CENTRE, label);
	cairo_restore(cr);
	cairo_rectangle(cr, p->x0 + 0.5, p->y0 + 0.5, p->w - 1, p->h - 1);
	cairo_stroke(cr);
}

/* A legend row of the classes in use[] at (x, y); returns nothing. */
static void class_legend(cairo_t *cr, double x, double y, const int *use)
{
	for (int k = 0; k < NCLASSES; k++) {
		if (!use[k])
			continue;
		cairo_text_extents_t e;
		rgb(cr, class_rgb[k]);
		cairo_rectangle(cr, x, y - 9, 10, 10);
		cairo_fill(cr);
		grey(cr, 0.2);
		text(cr, x + 14, y, 11, ALIGN_LEFT, classes[k]);
		cairo_text_extents(cr, classes[k], &e);
		x += 14 + e.x_advance + 14;
	}
}

/* ---- the figures -------------------------------------------------------------- */

typedef struct fig_data {
	const bmeq_rp_scan *v;
	size_t n;
	const int *visit;
	int nvisits;
	int which;             /* the follow-up of a waterfall */
} fig_data;

enum { FIG_W = 760, FIG_H = 400 };

typedef struct bar {
	double pct;
	int cls;
	size_t order;          /* study order, for ties */
} bar;

static int cmp_bar(const void *a, const void *b)
{
	const bar *x = a, *y = b;
	if (x->pct != y->pct)
		return x->pct > y->pct ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Waterfall: one bar per hip with a % change at follow-up d->which, largest
 * increase on the left, coloured by its class; bars beyond the axis are cut
 * with a mark. */
static void draw_waterfall(cairo_t *cr, const fig_data *d)
{
	size_t nb = 0, without = 0;
	bar *b = malloc((2 * d->n + 1) * sizeof(*b));
	int use[NCLASSES] = {0};
	char buf[160];

	if (!b)
		return;
	for (size_t i = 0; i < d->n; i++) {
		if (d->visit[i] != d->which)
			continue;
		for (int s = 0; s < 2; s++) {
			if (!d->v[i].has_response[s])
				continue;
			if (!isfinite(d->v[i].change_pct[s])) {
				without++;
				continue;
			}
			b[nb].pct = d->v[i].change_pct[s];
			b[nb].cls = class_index(d->v[i].response[s]);
			b[nb].order = 2 * i + (size_t)s;
			use[b[nb].cls] = 1;
			nb++;
		}
	}
	qsort(b, nb, sizeof(*b), cmp_bar);
	plot p = {70, 50, FIG_W - 90, FIG_H - 110, -100, 100};
	for (size_t k = 0; k < nb; k++)
		if (b[k].pct > p.hi)
			p.hi = b[k].pct;
	if (p.hi > 300)
		p.hi = 300; /* a doubling and more is cut: the mark says so */
	p.hi = ceil(p.hi / 50) * 50;
	grey(cr, 0.1);
	snprintf(buf, sizeof(buf), "Follow-up %d vs baseline: change in edema per hip (%zu hips)",
		 d->which, nb);
	text(cr, p.x0, 24, 15, ALIGN_LEFT, buf);
	value_axis(cr, &p, "change in edema (%)", "");
	double bw = nb ? p.w / (double)nb : 0, y0 = py(&p, 0);
	for (size_t k = 0; k < nb; k++) {
		double v = b[k].pct > p.hi ? p.hi : b[k].pct < p.lo ? p.lo : b[k].pct;
		double x = p.x0 + bw * (double)k + (bw > 4 ? bw * 0.12 : 0), w = bw > 4 ? bw * 0.76 : bw;
		rgb(cr, class_rgb[b[k].cls]);
		cairo_rectangle(cr, x, v >= 0 ? py(&p, v) : y0, w, fabs(py(&p, v) - y0));
		cairo_fill(cr);
		if (b[k].pct > p.hi) { /* cut: a small triangle on top */
			grey(cr, 0.1);
			cairo_move_to(cr, x, p.y0 + 7);
			cairo_line_to(cr, x + w / 2, p.y0 + 1);
			cairo_line_to(cr, x + w, p.y0 + 7);
			cairo_close_path(cr);
			cairo_fill(cr);
		}
	}
	if (nb == 0) {
		grey(cr, 0.4);
		text(cr, p.x0 + p.w / 2, p.y0 + p.h / 2, 13, ALIGN_CENTRE,
		     "no hip with a % change at this follow-up");
	}
	class_legend(cr, p.x0, FIG_H - 32, use);
	grey(cr, 0.35);
	snprintf(buf, sizeof(buf),
		 "hips in order of change; %zu hip%s without a %% change (baseline not measurable "
		 "or not evaluable) left out",
		 without, without == 1 ? "" : "s");
	text(cr, p.x0, FIG_H - 12, 10.5, ALIGN_LEFT, buf);
	free(b);
}

static double visit_x(const plot *p, int k, int nvisits)
{
	return nvisits <= 1 ? p->x0 + p->w / 2 : p->x0 + 30 + (p->w - 60) * k / (double)(nvisits - 1);
}

static void visit_axis(cairo_t *cr, const plot *p, int nvisits)
{
	char buf[32];

	grey(cr, 0.2);
	for (int k = 0; k < nvisits; k++) {
		if (k == 0)
			snprintf(buf, sizeof(buf), "baseline");
		else
			snprintf(buf, sizeof(buf), "follow-up %d", k);
		text(cr, visit_x(p, k, nvisits), p->y0 + p->h + 16, 11, ALIGN_CENTRE, buf);
	}
}

/* Edema of every hip over the visits: one line per subject and side. */
static void draw_course(cairo_t *cr, const fig_data *d)
{
	static const double side_rgb[2][3] = {{0.75, 0.19, 0.13}, {0.12, 0.37, 0.82}};
	plot p = {70, 50, FIG_W - 90, FIG_H - 110, 0, 1};
	size_t nsub = 0;
	char buf[128];

	for (size_t i = 0; i < d->n; i++) {
		nsub += d->visit[i] == 0;
		for (int s = 0; s < 2; s++)
			if (isfinite(d->v[i].edema_ml[s]) && d->v[i].edema_ml[s] > p.hi)
				p.hi = d->v[i].edema_ml[s];
	}
	p.hi = nice_step(p.hi * 1.05) * ceil(p.hi * 1.05 / nice_step(p.hi * 1.05));
	grey(cr, 0.1);
	snprintf(buf, sizeof(buf), "Edema per hip over the visits (%zu subjects)", nsub);
	text(cr, p.x0, 24, 15, ALIGN_LEFT, buf);
	value_axis(cr, &p, "edema (mL)", "");
	visit_axis(cr, &p, d->nvisits);
	cairo_set_line_width(cr, 1.6);
	for (int s = 0; s < 2; s++) {
		cairo_set_source_rgba(cr, side_rgb[s][0], side_rgb[s][1], side_rgb[s][2], 0.7);
		for (size_t i = 0; i < d->n; i++) {
			const bmeq_rp_scan *a = &d->v[i];
			double x = visit_x(&p, d->visit[i], d->nvisits);
			if (!ok_scan(a) || !isfinite(a->edema_ml[s]))
				continue;
			double y = py(&p, a->edema_ml[s]);
			cairo_arc(cr, x, y, 2.8, 0, 2 * BMEQ_PI);
			cairo_fill(cr);
			/* A line from the previous visit of the same subject when
			 * that one was measured too. */
			if (d->visit[i] > 0 && ok_scan(&d->v[i - 1]) && isfinite(d->v[i - 1].edema_ml[s])) {
				cairo_move_to(cr, visit_x(&p, d->visit[i - 1], d->nvisits),
					      py(&p, d->v[i - 1].edema_ml[s]));
				cairo_line_to(cr, x, y);
				cairo_stroke(cr);
			}
		}
	}
	for (int s = 0; s < 2; s++) {
		rgb(cr, side_rgb[s]);
		cairo_rectangle(cr, p.x0 + 110 * s, FIG_H - 34, 10, 10);
		cairo_fill(cr);
		grey(cr, 0.2);
		text(cr, p.x0 + 110 * s + 14, FIG_H - 25, 11, ALIGN_LEFT, s ? "left hip" : "right hip");
	}
	grey(cr, 0.35);
	text(cr, p.x0, FIG_H - 8, 10.5, ALIGN_LEFT,
	     "points: measured hips; lines join a hip's consecutive measured visits");
}

/* Response classes per follow-up: stacked counts of hips. */
static void draw_counts(cairo_t *cr, const fig_data *d)
{
	int nf = d->nvisits > 1 ? d->nvisits - 1 : 1;
	size_t (*cnt)[NCLASSES] = calloc((size_t)nf, sizeof(*cnt));
	int use[NCLASSES] = {0};
	plot p = {70, 50, FIG_W - 90, FIG_H - 110, 0, 1};

	if (!cnt)
		return;
	for (size_t i = 0; i < d->n; i++)
		for (int s = 0; s < 2; s++)
			if (d->visit[i] > 0 && d->v[i].has_response[s]) {
				int k = class_index(d->v[i].response[s]);
				cnt[d->visit[i] - 1][k]++;
				use[k] = 1;
			}
	for (int f = 0; f < nf; f++) {
		size_t t = 0;
		for (int k = 0; k < NCLASSES; k++)
			t += cnt[f][k];
		if ((double)t > p.hi)
			p.hi = (double)t;
	}
	p.hi = nice_step(p.hi) * ceil(p.hi / nice_step(p.hi));
	grey(cr, 0.1);
	text(cr, p.x0, 24, 15, ALIGN_LEFT, "Response of each hip against baseline, per follow-up");
	value_axis(cr, &p, "hips", "");
	double slot = p.w / nf, bw = slot * 0.5 < 90 ? slot * 0.5 : 90;
	char buf[32];
	for (int f = 0; f < nf; f++) {
		double x = p.x0 + slot * f + (slot - bw) / 2, acc = 0;
		for (int k = 0; k < NCLASSES; k++) {
			if (!cnt[f][k])
				continue;
			double y1 = py(&p, acc), y2 = py(&p, acc + (double)cnt[f][k]);
			rgb(cr, class_rgb[k]);
			cairo_rectangle(cr, x, y2, bw, y1 - y2);
			cairo_fill(cr);
			grey(cr, k == 0 || k == 3 || k == 6 ? 1.0 : 0.1);
			if (y1 - y2 >= 13) {
				snprintf(buf, sizeof(buf), "%zu", cnt[f][k]);
				text(cr, x + bw / 2, (y1 + y2) / 2 + 4, 10.5, ALIGN_CENTRE, buf);
			}
			acc += (double)cnt[f][k];
		}
		grey(cr, 0.2);
		snprintf(buf, sizeof(buf), "follow-up %d", f + 1);
		text(cr, x + bw / 2, p.y0 + p.h + 16, 11, ALIGN_CENTRE, buf);
	}
	class_legend(cr, p.x0, FIG_H - 22, use);
	free(cnt);
}

/* ---- writing ------------------------------------------------------------------ */

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
	return bmeq_strbuf_add(closure, data, len) == BMEQ_OK ? CAIRO_STATUS_SUCCESS
							       : CAIRO_STATUS_WRITE_ERROR;
}

typedef void (*draw_fn)(cairo_t *cr, const fig_data *d);

/* Draws one figure on a white page of surface s and finishes it. */
static bmeq_status render(cairo_surface_t *s, draw_fn draw, const fig_data *d)
{
	cairo_t *cr = cairo_create(s);
	cairo_font_options_t *fo = cairo_font_options_create();

	/* Fixed text rendering: the same pixels whatever the desktop's
	 * settings say. */
	cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_set_font_options(cr, fo);
	cairo_font_options_destroy(fo);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	draw(cr, d);
	cairo_status_t cs = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	if (cs != CAIRO_STATUS_SUCCESS)
		return bmeq_fail(BMEQ_E_NOMEM, "figure: %s", cairo_status_to_string(cs));
	return BMEQ_OK;
}

static bmeq_status write_buf(const char *path, bmeq_strbuf *b)
{
	if (b->oom)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	return bmeq_write_file_atomic(path, b->s, b->len);
}

/* The figure as OUT/figures/<name>.svg and .png. */
static bmeq_status write_figure(const char *outdir, bmeq_out_figure f, draw_fn draw,
				const fig_data *d)
{
	char path[BMEQ_PATH_MAX];
	bmeq_strbuf b = BMEQ_STRBUF_INIT;
	bmeq_status st;

	if ((st = bmeq_out_figure_path(outdir, f, d->which, "svg", path, sizeof(path), NULL, 0)) !=
	    BMEQ_OK)
		return st;
	cairo_surface_t *s = cairo_svg_surface_create_for_stream(to_buf, &b, FIG_W, FIG_H);
	cairo_svg_surface_restrict_to_version(s, CAIRO_SVG_VERSION_1_1);
	st = render(s, draw, d);
	cairo_surface_finish(s);
	if (st == BMEQ_OK && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		st = bmeq_fail(BMEQ_E_NOMEM, "figure: %s",
			       cairo_status_to_string(cairo_surface_status(s)));
	cairo_surface_destroy(s);
	if (st == BMEQ_OK)
		st = write_buf(path, &b);
	bmeq_strbuf_free(&b);
	if (st != BMEQ_OK)
		return st;

	if ((st = bmeq_out_figure_path(outdir, f, d->which, "png", path, sizeof(path), NULL, 0)) !=
	    BMEQ_OK)
		return st;
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, FIG_W, FIG_H);
	st = render(s, draw, d);
	if (st == BMEQ_OK && cairo_surface_write_to_png_stream(s, to_buf, &b) != CAIRO_STATUS_SUCCESS)
		st = bmeq_fail(BMEQ_E_NOMEM, "figure: cannot encode the PNG");
	cairo_surface_destroy(s);
	if (st == BMEQ_OK)
		st = write_buf(path, &b);
	bmeq_strbuf_free(&b);
	return st;
}

/* ---- study_summary.csv ---------------------------------------------------------- */

static void quartiles(bmeq_csv *w, double *x, size_t n, int dec)
{
	qsort(x, n, sizeof(*x), cmp_double);
	for (int k = 0; k < 3; k++)
		bmeq_csv_number(w, n ? quantile(x, n, k == 0 ? 0.5 : k == 1 ? 0.25 : 0.75) : NAN, dec);
}

static bmeq_status write_summary(const char *outdir, const fig_data *d)
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv *w = NULL;
	double *ml = malloc((2 * d->n + 1) * sizeof(double)),
	       *pct = malloc((2 * d->n + 1) * sizeof(double));
	bmeq_status st = BMEQ_OK;

	if (!ml || !pct || bmeq_csv_create(&w) != BMEQ_OK) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	static const char *const head[] = {
		"visit", "sessions", "scans", "scans_failed", "hips",
		"edema_ml_median", "edema_ml_q1", "edema_ml_q3", "hips_with_change",
		"change_pct_median", "change_pct_q1", "change_pct_q3",
	};
	for (size_t k = 0; k < sizeof(head) / sizeof(head[0]); k++)
		bmeq_csv_field(w, head[k]);
	for (int k = 0; k < NCLASSES; k++)
		bmeq_csv_field(w, classes[k]);
	bmeq_csv_field(w, "uncertain");
	bmeq_csv_field(w, "early_retreatment");
	bmeq_csv_end_row(w);
	for (int vis = 0; vis < d->nvisits; vis++) {
		size_t scans = 0, failed = 0, nml = 0, npct = 0, cnt[NCLASSES] = {0}, unc = 0, early = 0;
		bmeq_strbuf sessions = BMEQ_STRBUF_INIT;
		for (size_t i = 0; i < d->n; i++) {
			const bmeq_rp_scan *s = &d->v[i];
			if (d->visit[i] != vis)
				continue;
			scans++;
			failed += !ok_scan(s);
			/* The visit's distinct session labels, in study order. */
			int seen = 0;
			for (size_t j = 0; j < i && !seen; j++)
				seen = d->visit[j] == vis && strcmp(d->v[j].session, s->session) == 0;
			if (!seen) {
				if (sessions.len)
					bmeq_strbuf_puts(&sessions, " ");
				bmeq_strbuf_puts(&sessions, s->session);
			}
			for (int side = 0; side < 2; side++) {
				if (ok_scan(s) && isfinite(s->edema_ml[side]))
					ml[nml++] = s->edema_ml[side];
				if (!s->has_response[side])
					continue;
				if (isfinite(s->change_pct[side]))
					pct[npct++] = s->change_pct[side];
				cnt[class_index(s->response[side])]++;
				unc += (size_t)s->uncertain[side];
				early += strcmp(s->early[side], "yes") == 0;
			}
		}
		bmeq_csv_int(w, vis);
		bmeq_csv_field(w, sessions.s ? sessions.s : "");
		bmeq_strbuf_free(&sessions);
		bmeq_csv_int(w, (long long)scans);
		bmeq_csv_int(w, (long long)failed);
		bmeq_csv_int(w, (long long)nml);
		quartiles(w, ml, nml, 3);
		bmeq_csv_int(w, (long long)npct);
		quartiles(w, pct, npct, 1);
		for (int k = 0; k < NCLASSES; k++)
			bmeq_csv_int(w, (long long)cnt[k]);
		bmeq_csv_int(w, (long long)unc);
		if ((st = bmeq_csv_int(w, (long long)early)) != BMEQ_OK ||
		    (st = bmeq_csv_end_row(w)) != BMEQ_OK)
			goto done;
	}
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_STUDY_SUMMARY, path, sizeof(path))) == BMEQ_OK)
		st = bmeq_csv_write_file(w, path);
done:
	bmeq_csv_destroy(w);
	free(ml);
	free(pct);
	return st;
}

/* One study's figures at a time: fontconfig's caches are freed after each
 * (below), which must not happen while another folder's figures draw text. */
static pthread_mutex_t figures_lock = PTHREAD_MUTEX_INITIALIZER;

static bmeq_status figures_locked(const char *outdir, const bmeq_rp_scan *v, size_t n,
				  bmeq_rp_figures_made *made);

bmeq_status bmeq_rp_figures(const char *outdir, const bmeq_rp_scan *v, size_t n,
			    bmeq_rp_figures_made *made)
{
	pthread_mutex_lock(&figures_lock);
	bmeq_status st = figures_locked(outdir, v, n, made);
	pthread_mutex_unlock(&figures_lock);
	return st;
}

static bmeq_status figures_locked(const char *outdir, const bmeq_rp_scan *v, size_t n,
				  bmeq_rp_figures_made *made)
{
	char dir[BMEQ_PATH_MAX];
	int *visit = malloc((n ? n : 1) * sizeof(int));
	bmeq_status st;

	memset(made, 0, sizeof(*made));
	if (!visit)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	fig_data d = {v, n, visit, visit_numbers(v, n, visit), 0};
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_FIGURES, dir, sizeof(dir))) != BMEQ_OK)
		goto done;
	if (bmeq_mkdirs(dir) != 0) {
		st = bmeq_fail(BMEQ_E_WRITE, "%s: cannot create the folder", dir);
		goto done;
	}
	if ((st = write_summary(outdir, &d)) != BMEQ_OK)
		goto done;
	made->followups = d.nvisits - 1;
	for (d.which = 1; d.which < d.nvisits && st == BMEQ_OK; d.which++)
		st = write_figure(outdir, BMEQ_FIG_WATERFALL, draw_waterfall, &d);
	d.which = 0;
	if (st == BMEQ_OK)
		st = write_figure(outdir, BMEQ_FIG_EDEMA_COURSE, draw_course, &d);
	if (st == BMEQ_OK && d.nvisits > 1)
		st = write_figure(outdir, BMEQ_FIG_RESPONSE_COUNTS, draw_counts, &d);
	made->ok = st == BMEQ_OK;
done:
	free(visit);
	/* cairo and fontconfig keep caches for the life of the process; the
	 * figures are drawn once, at the end, on one thread, so they are freed
	 * here (LeakSanitizer would report them otherwise). */
	cairo_debug_reset_static_data();
	FcFini();
	return st;
}
