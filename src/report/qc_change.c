/* qc_change.c - <followup stem>_change_qc.png: baseline and follow-up side
 * by side per hip, with resolved (blue), persistent (yellow) and new (red)
 * edema from the change map.
 *
 * The change map lives on the baseline grid (the follow-up registered onto
 * the baseline). The baseline panel shows the baseline scan with resolved
 * and persistent edema. The follow-up panel shows the follow-up scan around
 * its own head centre (shifted by the difference of the head centres, a
 * translation only: rotation between visits is not undone) with persistent
 * and new edema drawn at their baseline positions; the picture says so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"
#include "report_internal.h"

enum { P = 256, M = 10, HEADER = 46, CAPTION = 16, TEXT = 2 * 18 + 4, NOTE = 44, LEGEND = 24 };

typedef struct side_ctx {
	int side;
	int split;     /* 1: both heads found, the midline is mid */
	double mid;
} side_ctx;

static int change_on_side(unsigned l, const double w[3], const void *ctx)
{
	const side_ctx *s = ctx;
	(void)l;
	if (!s->split)
		return 1;
	return s->side == 0 ? w[0] > s->mid : w[0] <= s->mid;
}

static bmeq_status read_scan(const bmeq_rp_scan *s, bmeq_volume **out)
{
	bmeq_read_opts ro;
	bmeq_status st;

	bmeq_read_opts_init(&ro);
	ro.volume = s->volume;
	if ((st = bmeq_scan_read(s->path, &ro, out, NULL)) != BMEQ_OK)
		return bmeq_fail(st, "scan %s: %s", s->path, bmeq_last_error());
	return BMEQ_OK;
}

bmeq_status bmeq_rp_change_qc(const bmeq_rp_scan *base, const bmeq_rp_scan *fu)
{
	bmeq_volume *bimg = NULL, *fimg = NULL;
	uint16_t *chg = NULL;
	bmeq_rp_canvas *c = NULL;
	bmeq_rp_sampler bs, fs;
	float *vals[2][2] = {{NULL, NULL}, {NULL, NULL}}; /* [side][0 baseline, 1 follow-up] */
	uint8_t *cls[2][2] = {{NULL, NULL}, {NULL, NULL}};
	float *pool = NULL;
	int shown[2] = {0, 0};
	double plane_y[2] = {0, 0};
	char path[BMEQ_PATH_MAX], line[512];
	bmeq_status st;

	if ((st = bmeq_scan_path(fu->dir, fu->stem, BMEQ_SCAN_CHANGE, path, sizeof(path))) != BMEQ_OK ||
	    (st = read_scan(base, &bimg)) != BMEQ_OK || (st = read_scan(fu, &fimg)) != BMEQ_OK)
		goto done;
	if ((st = bmeq_nifti_read_labels(path, &bimg->grid, &chg)) != BMEQ_OK) {
		st = bmeq_fail(st, "%s%s: %s", fu->stem, bmeq_scan_file_name(BMEQ_SCAN_CHANGE),
			       bmeq_last_error());
		goto done;
	}
	if ((st = bmeq_rp_sampler_init(&bs, &bimg->grid)) != BMEQ_OK ||
	    (st = bmeq_rp_sampler_init(&fs, &fimg->grid)) != BMEQ_OK)
		goto done;

	for (int side = 0; side < 2; side++) {
		if (!base->found[side])
			continue;
		side_ctx sc = {side, base->found[0] && base->found[1],
			       0.5 * (base->centre[0][0] + base->centre[1][0])};
		bmeq_rp_view view = {{base->centre[side][0], base->centre[side][1], base->centre[side][2]},
				     2.8 * (base->radius[side] > 5 ? base->radius[side] : 25), P};
		double y, shift[3] = {0, 0, 0};
		if (bmeq_rp_densest_y(&bimg->grid, chg, 2, change_on_side, &sc, &y))
			view.centre[1] = y;
		plane_y[side] = view.centre[1];
		if (fu->found[side])
			for (int a = 0; a < 3; a++)
				shift[a] = fu->centre[side][a] - base->centre[side][a];
		for (int k = 0; k < 2; k++) {
			vals[side][k] = malloc((size_t)P * P * sizeof(float));
			cls[side][k] = calloc((size_t)P * P, 1);
			if (!vals[side][k] || !cls[side][k]) {
				st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
				goto done;
			}
		}
		shown[side] = 1;
		for (int v = 0; v < P; v++)
			for (int u = 0; u < P; u++) {
				double w[3], wf[3];
				size_t k = (size_t)v * P + (size_t)u;
				bmeq_rp_view_point(&view, u, v, w);
				for (int a = 0; a < 3; a++)
					wf[a] = w[a] + shift[a];
				vals[side][0][k] = bmeq_rp_sample(&bs, bimg->data, w);
				vals[side][1][k] = bmeq_rp_sample(&fs, fimg->data, wf);
				unsigned ch = bmeq_rp_label(&bs, chg, w);
				if (ch < 1 || ch > 3 || !change_on_side(ch, w, &sc))
					continue;
				/* 1 resolved, 2 persistent, 3 new: the baseline had
				 * 1 and 2, the follow-up has 2 and 3. */
				if (ch <= 2)
					cls[side][0][k] = (uint8_t)ch;
				if (ch >= 2)
					cls[side][1][k] = (uint8_t)ch;
			}
	}

	/* Each scan gets its own window: intensities differ between visits. */
	double lo[2] = {0, 0}, hi[2] = {1, 1};
	if (!(pool = malloc(2 * (size_t)P * P * sizeof(float)))) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		for (int side = 0; side < 2; side++)
			if (shown[side]) {
				memcpy(pool + n, vals[side][k], (size_t)P * P * sizeof(float));
				n += (size_t)P * P;
			}
		if (n)
			bmeq_rp_window(pool, n, &lo[k], &hi[k]);
	}

	int width = 3 * M + 2 * P, row_h = P + CAPTION + TEXT;
	int ynote = HEADER + 2 * row_h, yleg = ynote + NOTE;
	if ((st = bmeq_rp_canvas_create(width, yleg + LEGEND + M, &c)) != BMEQ_OK)
		goto done;
	bmeq_rp_fill(c, 0, 0, c->w, c->h, bmeq_rp_bg);
	snprintf(line, sizeof(line), "SUBJECT %s  SESSION %s VS %s", fu->subject,
		 fu->session[0] ? fu->session : "-", base->session[0] ? base->session : "-");
	bmeq_rp_text(c, M, 8, 2, line, bmeq_rp_white);
	bmeq_rp_text(c, M, 30, 1, "CORONAL, RADIOLOGICAL DISPLAY. LEFT: BASELINE  RIGHT: FOLLOW-UP",
		     bmeq_rp_white);
	static const uint8_t palette[3][3] = {{30, 110, 255}, {255, 220, 0}, {235, 20, 20}};
	for (int side = 0; side < 2; side++) {
		int y0 = HEADER + side * row_h;
		for (int k = 0; k < 2; k++) {
			int x0 = M + k * (P + M);
			if (!shown[side]) {
				bmeq_rp_fill(c, x0, y0, P, P, bmeq_rp_dark);
				bmeq_rp_text(c, x0, y0 + P + 4, 1, "HEAD NOT FOUND AT BASELINE",
					     bmeq_rp_white);
				continue;
			}
			bmeq_rp_draw_grey(c, x0, y0, P, vals[side][k], lo[k], hi[k]);
			bmeq_rp_draw_classes(c, x0, y0, P, cls[side][k], palette, 0.6);
			bmeq_rp_draw_rl(c, x0, y0, P);
			bmeq_rp_panel_note(c, x0, y0, P, P, bmeq_side_name((bmeq_side)side),
					   k ? "followup" : "baseline");
			snprintf(line, sizeof(line), "%s HIP %s, Y %.1f MM", side ? "LEFT" : "RIGHT",
				 k ? "FOLLOW-UP" : "BASELINE", plane_y[side]);
			bmeq_rp_text(c, x0, y0 + P + 4, 1, line, bmeq_rp_white);
		}
		int yt = y0 + P + CAPTION;
		if (fu->has_response[side]) {
			snprintf(line, sizeof(line), "%s: %s", side ? "LEFT" : "RIGHT",
				 fu->response[side]);
			bmeq_rp_text(c, M, yt, 2, line, bmeq_rp_yellow);
			if (isfinite(fu->resolved_ml[side]))
				snprintf(line, sizeof(line), "RESOLVED %.2f PERSISTENT %.2f NEW %.2f ML",
					 fu->resolved_ml[side], fu->persistent_ml[side], fu->new_ml[side]);
			else
				snprintf(line, sizeof(line), "NOT REGISTERED");
			/* Large volumes make the line longer than the picture: smaller type. */
			int scale = bmeq_rp_text_width(2, line) <= width - 2 * M ? 2 : 1;
			bmeq_rp_text(c, M, yt + 18, scale, line, bmeq_rp_white);
		}
	}
	bmeq_rp_text_wrap(c, M, ynote, width - 2 * M, 1,
			  "FOLLOW-UP PANELS SHOW THE FOLLOW-UP SCAN AROUND ITS OWN HEAD CENTRE "
			  "(SHIFTED BY THE HEAD CENTRES, NOT ROTATED); THE COLOURS COME FROM THE "
			  "REGISTERED CHANGE MAP AND ARE DRAWN AT THEIR BASELINE POSITIONS.",
			  bmeq_rp_white);
	int x = M;
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_blue, "RESOLVED");
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_yellow, "PERSISTENT");
	x += bmeq_rp_legend(c, x, yleg + 4, bmeq_rp_red, "NEW");
	if ((st = bmeq_scan_path(fu->dir, fu->stem, BMEQ_SCAN_CHANGE_QC, path, sizeof(path))) ==
	    BMEQ_OK)
		st = bmeq_rp_png_write(c, path);
done:
	for (int side = 0; side < 2; side++)
		for (int k = 0; k < 2; k++) {
			free(vals[side][k]);
			free(cls[side][k]);
		}
	free(pool);
	bmeq_rp_canvas_destroy(c);
	bmeq_volume_destroy(bimg);
	bmeq_volume_destroy(fimg);
	free(chg);
	return st;
}
