/* qc.c - <stem>_qc.png: what a scan's numbers were measured on.
 *
 * Two coronal panels per hip, reformatted by world coordinates so that any
 * acquisition orientation gives the same display: one through the head
 * centre (the segmentation's anchor) and one through the plane holding most
 * of the side's edema (a lesion off the centre plane would otherwise be out
 * of sight). Radiological display: the right hip's panels on the viewer's
 * left, and inside each panel the patient's right on the viewer's left.
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
} panel;

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
	bmeq_volume *img = NULL;
	uint16_t *roi = NULL, *edema = NULL;
	bmeq_rp_canvas *c = NULL;
	bmeq_rp_sampler smp;
	panel pn[4];
	float *pool = NULL;
	char path[BMEQ_PATH_MAX], line[256];
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
			if (!p->img || !p->roi || !p->cls) {
				st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
				goto done;
			}
			p->shown = 1;
			sample_panel(p, img, &smp, roi, edema);
		}

	/* One window for the whole picture, from the panels' own pixels
	 * (the region around the hips, not the whole field of view). */
	double lo = 0, hi = 1;
	size_t npool = 0;
	if (!(pool = malloc(4 * (size_t)P * P * sizeof(float)))) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (int k = 0; k < 4; k++)
		if (pn[k].shown) {
			memcpy(pool + npool, pn[k].img, (size_t)P * P * sizeof(float));
			npool += (size_t)P * P;
		}
	if (npool)
		bmeq_rp_window(pool, npool, &lo, &hi);

	int width = 3 * M + 2 * P;
	int yrows = HEADER, ynum = yrows + 2 * (P + CAPTION), yleg = ynum + NUMBERS;
	if ((st = bmeq_rp_canvas_create(width, yleg + LEGEND + M, &c)) != BMEQ_OK)
		goto done;
	bmeq_rp_fill(c, 0, 0, c->w, c->h, bmeq_rp_bg);
	snprintf(line, sizeof(line), "SUBJECT %s  SESSION %s", s->subject,
		 s->session[0] ? s->session : "-");
	bmeq_rp_text(c, M, 8, 2, line, bmeq_rp_white);
	bmeq_rp_text(c, M, 30, 1, "CORONAL, RADIOLOGICAL DISPLAY: PATIENT RIGHT ON VIEWER LEFT",
		     bmeq_rp_white);
	static const uint8_t edema_palette[1][3] = {{235, 20, 20}};
	for (int side = 0; side < 2; side++) {
		int x0 = M + side * (P + M);
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
	}
	int x = M;
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_red, "EDEMA");
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_green, "HEAD OUTLINE");
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_cyan, "NECK OUTLINE");
	if ((st = bmeq_scan_path(s->dir, s->stem, BMEQ_SCAN_QC, path, sizeof(path))) == BMEQ_OK)
		st = bmeq_rp_png_write(c, path);
done:
	for (int k = 0; k < 4; k++) {
		free(pn[k].img);
		free(pn[k].roi);
		free(pn[k].cls);
	}
	free(pool);
	bmeq_rp_canvas_destroy(c);
	bmeq_volume_destroy(img);
	free(roi);
	free(edema);
	return st;
}
