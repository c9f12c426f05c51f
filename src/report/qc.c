/* qc.c - <stem>_qc.png: what a scan's numbers were measured on.
 *
 * Two coronal panels per hip, reformatted by world coordinates so that any
 * acquisition orientation gives the same display: one through the head
 * centre (the segmentation's anchor) and one through the plane holding most
 * of the side's edema (a lesion off the centre plane would otherwise be out
 * of sight). Radiological display: the right hip's panels on the viewer's
 * left, and inside each panel the patient's right on the viewer's left.
 *
 * A scan measured with the visit's T1 shows the T1 beside each of those
 * panels, on the same plane: sampled at the same world points through the
 * placement the measurement found (the record's t1_transform), with the same
 * region outlines and the edema outlined rather than filled, so that a reader
 * sees whether the edema is dark on T1 as it should be. The T1 is read from
 * its path again, as the scan is. A scan without a T1 looks as it always did.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/edema.h"
#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"
#include "report_internal.h"

enum { P = 256, M = 10, HEADER = 46, CAPTION = 16, NUMBERS = 5 * 18 + 8, LEGEND = 24 };

static int label_side(unsigned l)
{
	if (l == BMEQ_LABEL_RIGHT_HEAD || l == BMEQ_LABEL_RIGHT_NECK)
		return 0;
	if (l == BMEQ_LABEL_LEFT_HEAD || l == BMEQ_LABEL_LEFT_NECK)
		return 1;
	return -1; /* a user region: shown on both sides */
}

static int want_side(unsigned l, const double w[3], const void *ctx)
{
	int side = *(const int *)ctx, ls = label_side(l);
	(void)w;
	return ls == side;
}

/* The samples of one panel. */
typedef struct panel {
	bmeq_rp_view view;
	int side, shown;
	char caption[96];
	float *img;
	uint16_t *roi;
	uint8_t *cls;
	float *t1;        /* the T1 at the same points (scans with a T1) */
} panel;

void bmeq_rp_t1_point(const bmeq_rp_scan *s, const double w[3], double t[3])
{
	const double(*m)[4] = s->t1_transform;
	for (int a = 0; a < 3; a++)
		t[a] = m[a][0] * w[0] + m[a][1] * w[1] + m[a][2] * w[2] + m[a][3];
}

static void sample_t1(panel *p, const bmeq_rp_scan *s, const bmeq_volume *t1,
		      const bmeq_rp_sampler *ts)
{
	for (int v = 0; v < P; v++)
		for (int u = 0; u < P; u++) {
			double w[3], tw[3];
			bmeq_rp_view_point(&p->view, u, v, w);
			bmeq_rp_t1_point(s, w, tw);
			p->t1[(size_t)v * P + (size_t)u] = bmeq_rp_sample(ts, t1->data, tw);
		}
}

/* The grey window of the shown panels' pixels (img: the scan's, or the
 * T1's): the region around the hips, not the whole field of view. 0 when
 * there are none (the window is then 0..1). */
static bmeq_status panels_window(const panel *pn, int use_t1, double *lo, double *hi)
{
	float *pool = malloc(4 * (size_t)P * P * sizeof(float));
	size_t npool = 0;

	*lo = 0;
	*hi = 1;
	if (!pool)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (int k = 0; k < 4; k++)
		if (pn[k].shown) {
			memcpy(pool + npool, use_t1 ? pn[k].t1 : pn[k].img, (size_t)P * P * sizeof(float));
			npool += (size_t)P * P;
		}
	if (npool)
		bmeq_rp_window(pool, npool, lo, hi);
	free(pool);
	return BMEQ_OK;
}

static bmeq_status load_labels(const char *dir, const char *stem, bmeq_scan_file file,
			       const bmeq_grid *g, uint16_t **out)
{
	char path[BMEQ_PATH_MAX];
	bmeq_status st;

	if ((st = bmeq_scan_path(dir, stem, file, path, sizeof(path))) != BMEQ_OK)
		return st;
	if ((st = bmeq_nifti_read_labels(path, g, out)) != BMEQ_OK)
		return bmeq_fail(st, "%s%s: %s", stem, bmeq_scan_file_name(file), bmeq_last_error());
	return BMEQ_OK;
}

static void sample_panel(panel *p, const bmeq_volume *img, const bmeq_rp_sampler *s,
			 const uint16_t *roi, const uint16_t *edema)
{
	for (int v = 0; v < P; v++)
		for (int u = 0; u < P; u++) {
			double w[3];
			size_t k = (size_t)v * P + (size_t)u;
			bmeq_rp_view_point(&p->view, u, v, w);
			p->img[k] = bmeq_rp_sample(s, img->data, w);
			p->roi[k] = (uint16_t)bmeq_rp_label(s, roi, w);
			unsigned e = bmeq_rp_label(s, edema, w);
			int es = label_side(e);
			p->cls[k] = e && (es < 0 || es == p->side);
		}
}

static void fmt_num(char *buf, size_t cap, const char *what, double v, int dec, const char *unit)
{
	if (isfinite(v))
		snprintf(buf, cap, "%s %.*f%s", what, dec, v, unit);
	else
		snprintf(buf, cap, "%s -", what);
}

bmeq_status bmeq_rp_scan_qc(const bmeq_rp_scan *s)
{
	bmeq_read_opts ro;
	bmeq_volume *img = NULL, *t1 = NULL;
	uint16_t *roi = NULL, *edema = NULL;
	bmeq_rp_canvas *c = NULL;
	bmeq_rp_sampler smp, tsmp;
	panel pn[4];
	char path[BMEQ_PATH_MAX], line[256], t1_why[160] = "";
	bmeq_status st;

	memset(pn, 0, sizeof(pn));
	if (strcmp(s->status, "ok") != 0)
		return bmeq_fail(BMEQ_E_PROCESS, "the scan failed: no maps to show");
	bmeq_read_opts_init(&ro);
	ro.volume = s->volume;
	if ((st = bmeq_scan_read(s->path, &ro, &img, NULL)) != BMEQ_OK)
		return bmeq_fail(st, "scan %s: %s", s->path, bmeq_last_error());
	if ((st = load_labels(s->dir, s->stem, BMEQ_SCAN_ROI, &img->grid, &roi)) != BMEQ_OK ||
	    (st = load_labels(s->dir, s->stem, BMEQ_SCAN_EDEMA, &img->grid, &edema)) != BMEQ_OK ||
	    (st = bmeq_rp_sampler_init(&smp, &img->grid)) != BMEQ_OK)
		goto done;
	/* The visit's T1: a T1 that cannot be read now (moved, deleted) leaves
	 * its panels empty with the reason, the scan's own panels drawn. */
	if (s->t1) {
		bmeq_read_opts tro;
		bmeq_read_opts_init(&tro);
		tro.volume = -1;
		if (bmeq_scan_read(s->t1, &tro, &t1, NULL) != BMEQ_OK ||
		    bmeq_rp_sampler_init(&tsmp, &t1->grid) != BMEQ_OK) {
			snprintf(t1_why, sizeof(t1_why), "T1 NOT READ: %.90s", bmeq_last_error());
			bmeq_volume_destroy(t1);
			t1 = NULL;
		}
	}
	/* Every slice for the page's viewer, from the volumes loaded here. */
	if ((st = bmeq_rp_scan_slices(s, img, roi, edema, t1)) != BMEQ_OK)
		goto done;

	/* Panels: [side][row], row 0 through the head centre, row 1 through
	 * the side's densest edema plane. */
	for (int side = 0; side < 2; side++)
		for (int row = 0; row < 2; row++) {
			panel *p = &pn[side * 2 + row];
			p->side = side;
			if (!s->found[side]) {
				snprintf(p->caption, sizeof(p->caption), "HEAD NOT FOUND");
				continue;
			}
			double r = s->radius[side] > 5 ? s->radius[side] : 25;
			memcpy(p->view.centre, s->centre[side], sizeof(p->view.centre));
			p->view.half = 2.8 * r;
			p->view.size = P;
			if (row == 0) {
				snprintf(p->caption, sizeof(p->caption), "HEAD CENTRE, Y %.1f MM",
					 p->view.centre[1]);
			} else {
				double y;
				if (!bmeq_rp_densest_y(&img->grid, edema, 2, want_side, &side, &y)) {
					snprintf(p->caption, sizeof(p->caption), "NO EDEMA");
					continue;
				}
				p->view.centre[1] = y;
				snprintf(p->caption, sizeof(p->caption), "MOST EDEMA, Y %.1f MM", y);
			}
			p->img = malloc((size_t)P * P * sizeof(float));
			p->roi = malloc((size_t)P * P * sizeof(uint16_t));
			p->cls = malloc((size_t)P * P);
			p->t1 = t1 ? malloc((size_t)P * P * sizeof(float)) : NULL;
			if (!p->img || !p->roi || !p->cls || (t1 && !p->t1)) {
				st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
				goto done;
			}
			p->shown = 1;
			sample_panel(p, img, &smp, roi, edema);
			if (t1)
				sample_t1(p, s, t1, &tsmp);
		}

	/* One window for the whole picture, from the panels' own pixels; the
	 * T1 its own. */
	double lo, hi, tlo = 0, thi = 1;
	if ((st = panels_window(pn, 0, &lo, &hi)) != BMEQ_OK ||
	    (t1 && (st = panels_window(pn, 1, &tlo, &thi)) != BMEQ_OK))
		goto done;

	/* Columns: per side the scan, and with a T1 the T1 beside it. */
	int with_t1 = s->t1 != NULL, per_side = with_t1 ? 2 : 1;
	int numbers = with_t1 ? NUMBERS + 2 * 18 : NUMBERS;
	int width = M + 2 * per_side * (P + M);
	int yrows = HEADER, ynum = yrows + 2 * (P + CAPTION), yleg = ynum + numbers;
	if ((st = bmeq_rp_canvas_create(width, yleg + LEGEND + M, &c)) != BMEQ_OK)
		goto done;
	bmeq_rp_fill(c, 0, 0, c->w, c->h, bmeq_rp_bg);
	snprintf(line, sizeof(line), "SUBJECT %s  SESSION %s", s->subject,
		 s->session[0] ? s->session : "-");
	bmeq_rp_text(c, M, 8, 2, line, bmeq_rp_white);
	if (!with_t1)
		snprintf(line, sizeof(line),
			 "CORONAL, RADIOLOGICAL DISPLAY: PATIENT RIGHT ON VIEWER LEFT");
	else if (t1_why[0])
		snprintf(line, sizeof(line),
			 "CORONAL, RADIOLOGICAL DISPLAY: PATIENT RIGHT ON VIEWER LEFT. %s", t1_why);
	else
		snprintf(line, sizeof(line),
			 "CORONAL, RADIOLOGICAL DISPLAY: PATIENT RIGHT ON VIEWER LEFT. STIR, AND THE "
			 "VISIT'S T1 BESIDE IT ON THE SAME PLANE (%s)",
			 isfinite(s->t1_shift_mm) ? "REGISTERED" : "PLACED BY THE SCANNER'S COORDINATES");
	bmeq_rp_text(c, M, 30, 1, line, bmeq_rp_white);
	static const uint8_t edema_palette[1][3] = {{235, 20, 20}};
	for (int side = 0; side < 2; side++) {
		int x0 = M + side * per_side * (P + M), xt = x0 + P + M;
		for (int row = 0; row < 2; row++) {
			panel *p = &pn[side * 2 + row];
			int y0 = yrows + row * (P + CAPTION);
			if (p->shown) {
				bmeq_rp_draw_grey(c, x0, y0, P, p->img, lo, hi);
				bmeq_rp_draw_classes(c, x0, y0, P, p->cls, edema_palette, 0.6);
				bmeq_rp_draw_outlines(c, x0, y0, P, p->roi);
				bmeq_rp_draw_rl(c, x0, y0, P);
				bmeq_rp_panel_note(c, x0, y0, P, P, bmeq_side_name((bmeq_side)side),
						   row ? "edema" : "centre");
			} else {
				bmeq_rp_fill(c, x0, y0, P, P, bmeq_rp_dark);
			}
			bmeq_rp_text(c, x0, y0 + P + 4, 1, p->caption, bmeq_rp_white);
			if (!with_t1)
				continue;
			if (p->shown && p->t1) {
				bmeq_rp_draw_grey(c, xt, y0, P, p->t1, tlo, thi);
				bmeq_rp_draw_class_outline(c, xt, y0, P, p->cls, bmeq_rp_red);
				bmeq_rp_draw_outlines(c, xt, y0, P, p->roi);
				bmeq_rp_draw_rl(c, xt, y0, P);
				bmeq_rp_text_shadow(c, xt + 4, y0 + 4, 2, "T1", bmeq_rp_white);
				bmeq_rp_text_shadow(c, x0 + 4, y0 + 4, 2, "STIR", bmeq_rp_white);
				bmeq_rp_panel_note(c, xt, y0, P, P, bmeq_side_name((bmeq_side)side),
						   row ? "t1-edema" : "t1-centre");
				bmeq_rp_text(c, xt, y0 + P + 4, 1, "T1, SAME PLANE", bmeq_rp_white);
			} else {
				bmeq_rp_fill(c, xt, y0, P, P, bmeq_rp_dark);
				if (p->shown)
					bmeq_rp_text(c, xt, y0 + P + 4, 1, "T1 NOT READ", bmeq_rp_white);
			}
		}
		/* The side's numbers, as in scans.csv. */
		int y = ynum;
		snprintf(line, sizeof(line), "%s HIP: %s", side ? "LEFT" : "RIGHT",
			 s->side_status[side][0] ? s->side_status[side] : "-");
		bmeq_rp_text(c, x0, y, 2, line, bmeq_rp_yellow);
		fmt_num(line, sizeof(line), "EDEMA", s->edema_ml[side], 2, " ML");
		bmeq_rp_text(c, x0, y += 18, 2, line, bmeq_rp_white);
		fmt_num(line, sizeof(line), "", 100.0 * s->fraction[side], 1, "% OF REGION");
		bmeq_rp_text(c, x0, y += 18, 2, line + 1, bmeq_rp_white);
		fmt_num(line, sizeof(line), "THRESHOLD", s->threshold, 1, "");
		bmeq_rp_text(c, x0, y += 18, 2, line, bmeq_rp_white);
		snprintf(line, sizeof(line), "RULE %s", s->rule[0] ? s->rule : "-");
		bmeq_rp_text(c, x0, y += 18, 2, line, bmeq_rp_white);
		if (with_t1) {
			fmt_num(line, sizeof(line), "REMOVED BY THE T1 GATE", s->t1_removed_ml[side], 2,
				" ML");
			bmeq_rp_text(c, x0, y += 18, 2, line, bmeq_rp_white);
			snprintf(line, sizeof(line), "REGIONS FROM %s",
				 s->regions_from[side][0] ? s->regions_from[side] : "-");
			bmeq_rp_text(c, x0, y += 18, 2, line, bmeq_rp_white);
		}
	}
	int x = M;
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_red,
			    with_t1 ? "EDEMA (OUTLINED ON THE T1)" : "EDEMA");
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_green, "HEAD OUTLINE");
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_cyan, "NECK OUTLINE");
	if (with_t1) {
		if (isfinite(s->t1_shift_mm) && isfinite(s->t1_angle_deg))
			snprintf(line, sizeof(line), "T1 REGISTERED TO THE STIR: MOVED %.1f MM, TURNED %.1f DEG",
				 s->t1_shift_mm, s->t1_angle_deg);
		else
			snprintf(line, sizeof(line), "T1 PLACED BY THE SCANNER'S COORDINATES (NOT REGISTERED)");
		bmeq_rp_text(c, x + 12, yleg + 6, 1, line, bmeq_rp_white);
	}
	if ((st = bmeq_scan_path(s->dir, s->stem, BMEQ_SCAN_QC, path, sizeof(path))) == BMEQ_OK)
		st = bmeq_rp_png_write(c, path);
done:
	for (int k = 0; k < 4; k++) {
		free(pn[k].img);
		free(pn[k].roi);
		free(pn[k].cls);
		free(pn[k].t1);
	}
	bmeq_rp_canvas_destroy(c);
	bmeq_volume_destroy(img);
	bmeq_volume_destroy(t1);
	free(roi);
	free(edema);
	return st;
}
