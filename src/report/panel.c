/* panel.c - drawing the parts of a QC panel: the windowed scan, coloured
 * classes, region outlines, orientation letters, legends and captions. */
#include <string.h>

#include "report_internal.h"

const uint8_t bmeq_rp_white[3] = {255, 255, 255};
const uint8_t bmeq_rp_yellow[3] = {255, 220, 0};
const uint8_t bmeq_rp_red[3] = {235, 20, 20};
const uint8_t bmeq_rp_blue[3] = {30, 110, 255};
const uint8_t bmeq_rp_green[3] = {40, 215, 40};
const uint8_t bmeq_rp_cyan[3] = {40, 200, 230};
const uint8_t bmeq_rp_dark[3] = {0, 0, 0};
const uint8_t bmeq_rp_bg[3] = {24, 24, 28};

void bmeq_rp_draw_grey(bmeq_rp_canvas *c, int x0, int y0, int size, const float *vals, double lo,
		       double hi)
{
	for (int v = 0; v < size; v++)
		for (int u = 0; u < size; u++) {
			uint8_t g = bmeq_rp_grey(vals[(size_t)v * (size_t)size + (size_t)u], lo, hi);
			uint8_t rgb[3] = {g, g, g};
			bmeq_rp_put(c, x0 + u, y0 + v, rgb);
		}
}

void bmeq_rp_draw_classes(bmeq_rp_canvas *c, int x0, int y0, int size, const uint8_t *cls,
			  const uint8_t (*palette)[3], double alpha)
{
	for (int v = 0; v < size; v++)
		for (int u = 0; u < size; u++) {
			uint8_t k = cls[(size_t)v * (size_t)size + (size_t)u];
			if (k)
				bmeq_rp_blend(c, x0 + u, y0 + v, palette[k - 1], alpha);
		}
}

void bmeq_rp_draw_class_outline(bmeq_rp_canvas *c, int x0, int y0, int size, const uint8_t *cls,
				const uint8_t rgb[3])
{
	for (int v = 0; v < size; v++)
		for (int u = 0; u < size; u++) {
			size_t k = (size_t)v * (size_t)size + (size_t)u;
			if (!cls[k])
				continue;
			int edge = u == 0 || v == 0 || u == size - 1 || v == size - 1 || !cls[k - 1] ||
				   !cls[k + 1] || !cls[k - (size_t)size] || !cls[k + (size_t)size];
			if (edge)
				bmeq_rp_put(c, x0 + u, y0 + v, rgb);
		}
}

void bmeq_rp_draw_outlines(bmeq_rp_canvas *c, int x0, int y0, int size, const uint16_t *roi)
{
	for (int v = 0; v < size; v++)
		for (int u = 0; u < size; u++) {
			uint16_t l = roi[(size_t)v * (size_t)size + (size_t)u];
			if (!l)
				continue;
			/* A region pixel with a 4-neighbour of another label (or the
			 * panel's edge) lies on the region's outline. */
			int edge = u == 0 || v == 0 || u == size - 1 || v == size - 1;
			if (!edge)
				edge = roi[(size_t)v * (size_t)size + (size_t)u - 1] != l ||
				       roi[(size_t)v * (size_t)size + (size_t)u + 1] != l ||
				       roi[(size_t)(v - 1) * (size_t)size + (size_t)u] != l ||
				       roi[(size_t)(v + 1) * (size_t)size + (size_t)u] != l;
			if (!edge)
				continue;
			const uint8_t *col = l <= 2 ? bmeq_rp_green : l <= 4 ? bmeq_rp_cyan : bmeq_rp_white;
			bmeq_rp_put(c, x0 + u, y0 + v, col);
		}
}

void bmeq_rp_text_shadow(bmeq_rp_canvas *c, int x, int y, int scale, const char *s,
			 const uint8_t rgb[3])
{
	bmeq_rp_text(c, x + 1, y + 1, scale, s, bmeq_rp_dark);
	bmeq_rp_text(c, x, y, scale, s, rgb);
}

void bmeq_rp_draw_rl(bmeq_rp_canvas *c, int x0, int y0, int size)
{
	int y = y0 + size / 2 - BMEQ_RP_GLYPH_H;

	bmeq_rp_text_shadow(c, x0 + 4, y, 2, "R", bmeq_rp_yellow);
	bmeq_rp_text_shadow(c, x0 + size - 4 - bmeq_rp_text_width(2, "L"), y, 2, "L", bmeq_rp_yellow);
}

int bmeq_rp_legend(bmeq_rp_canvas *c, int x, int y, const uint8_t rgb[3], const char *name)
{
	bmeq_rp_fill(c, x, y, 12, 12, rgb);
	return 16 + bmeq_rp_text(c, x + 16, y + 2, 1, name, bmeq_rp_white) + 12;
}

int bmeq_rp_text_wrap(bmeq_rp_canvas *c, int x, int y, int maxw, int scale, const char *s,
		      const uint8_t rgb[3])
{
	int per_line = maxw / (6 * scale), lines = 0;
	char buf[512];

	if (per_line < 1)
		per_line = 1;
	while (*s) {
		size_t n = strlen(s), take = n;
		if ((int)n > per_line) {
			take = (size_t)per_line;
			while (take > 0 && s[take] != ' ')
				take--;
			if (take == 0)
				take = (size_t)per_line;
		}
		if (take >= sizeof(buf))
			take = sizeof(buf) - 1;
		memcpy(buf, s, take);
		buf[take] = '\0';
		bmeq_rp_text(c, x, y + lines * (BMEQ_RP_GLYPH_H + 3) * scale, scale, buf, rgb);
		lines++;
		s += take;
		while (*s == ' ')
			s++;
	}
	return lines * (BMEQ_RP_GLYPH_H + 3) * scale;
}
