/* canvas.c - an RGB picture, a built-in 5x7 font for its annotations, and
 * PNG output through libpng. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bmeq/files.h"
#include "bmeq/strbuf.h"
#include "report_internal.h"

bmeq_status bmeq_rp_canvas_create(int w, int h, bmeq_rp_canvas **out)
{
	bmeq_rp_canvas *c;

	*out = NULL;
	if (w < 1 || h < 1 || w > 8192 || h > 8192)
		return bmeq_fail(BMEQ_E_ARG, "picture size %dx%d out of range", w, h);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->rgb = calloc((size_t)w * (size_t)h * 3, 1))) {
		free(c);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory for a %dx%d picture", w, h);
	}
	c->w = w;
	c->h = h;
	*out = c;
	return BMEQ_OK;
}

void bmeq_rp_canvas_destroy(bmeq_rp_canvas *c)
{
	if (!c)
		return;
	free(c->rgb);
	free(c);
}

void bmeq_rp_put(bmeq_rp_canvas *c, int x, int y, const uint8_t rgb[3])
{
	if (x < 0 || y < 0 || x >= c->w || y >= c->h)
		return;
	memcpy(c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3, rgb, 3);
}

void bmeq_rp_blend(bmeq_rp_canvas *c, int x, int y, const uint8_t rgb[3], double alpha)
{
	if (x < 0 || y < 0 || x >= c->w || y >= c->h)
		return;
	uint8_t *p = c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
	for (int k = 0; k < 3; k++)
		p[k] = (uint8_t)((1.0 - alpha) * p[k] + alpha * rgb[k] + 0.5);
}

void bmeq_rp_fill(bmeq_rp_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3])
{
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			bmeq_rp_put(c, i, j, rgb);
}

void bmeq_rp_panel_note(bmeq_rp_canvas *c, int x, int y, int w, int h, const char *side,
			const char *kind)
{
	size_t n = strlen(c->panels);

	if (n < sizeof(c->panels))
		snprintf(c->panels + n, sizeof(c->panels) - n, "%d,%d,%d,%d,%s,%s;", x, y, w, h, side,
			 kind);
}

/* ---- font ------------------------------------------------------------------ */

/* 5x7 glyphs, one byte per row, bit 4 the leftmost column. */
typedef struct glyph {
	char ch;
	uint8_t rows[7];
} glyph;

static const glyph font[] = {
	{'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
	{'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
	{'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
	{'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
	{'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
	{'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
	{'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
	{'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
	{'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
	{'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
	{'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
	{'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
	{'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
	{'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
	{'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
	{'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
	{'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
	{'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
	{'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
	{'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
	{'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
	{'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
	{'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
	{'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
	{'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
	{'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
	{'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
	{'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
	{'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
	{'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
	{'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
	{'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
	{'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
	{'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
	{'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
	{'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
	{' ', {0, 0, 0, 0, 0, 0, 0}},
	{'.', {0, 0, 0, 0, 0, 0x0C, 0x0C}},
	{',', {0, 0, 0, 0, 0x0C, 0x04, 0x08}},
	{'-', {0, 0, 0, 0x1F, 0, 0, 0}},
	{'+', {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0}},
	{'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
	{':', {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}},
	{'=', {0, 0, 0x1F, 0, 0x1F, 0, 0}},
	{'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
	{')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
	{'/', {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0}},
	{'*', {0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0}},
	{'_', {0, 0, 0, 0, 0, 0, 0x1F}},
	{'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}},
	{'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
	{'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
	{'!', {0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04}},
	{'\'', {0x04, 0x04, 0x08, 0, 0, 0, 0}},
	{'"', {0x0A, 0x0A, 0, 0, 0, 0, 0}},
	{'&', {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D}},
	{'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04}},
};

static const glyph *find_glyph(char ch)
{
	if (ch >= 'a' && ch <= 'z')
		ch = (char)(ch - 'a' + 'A');
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
		if (font[i].ch == ch)
			return &font[i];
	return &font[sizeof(font) / sizeof(font[0]) - 1]; /* '?' */
}

int bmeq_rp_text_width(int scale, const char *s)
{
	size_t n = strlen(s);
	return n ? (int)n * 6 * scale - scale : 0;
}

int bmeq_rp_text(bmeq_rp_canvas *c, int x, int y, int scale, const char *s, const uint8_t rgb[3])
{
	int x0 = x;

	for (; *s; s++, x += 6 * scale) {
		const glyph *g = find_glyph(*s);
		for (int r = 0; r < 7; r++)
			for (int col = 0; col < 5; col++)
				if (g->rows[r] & (0x10 >> col))
					bmeq_rp_fill(c, x + col * scale, y + r * scale, scale, scale, rgb);
	}
	return x - x0;
}

/* ---- PNG --------------------------------------------------------------------- */

/* libpng's output goes to a growing buffer; a failed allocation is sticky
 * (m->oom) and checked after the encoding. */
static void mem_write(png_structp p, png_bytep data, png_size_t n)
{
	bmeq_strbuf_add(png_get_io_ptr(p), data, n);
}

static void mem_flush(png_structp p)
{
	(void)p;
}

/* libpng's default handlers print; the library must not, so errors jump
 * back with the message kept and warnings are dropped. */
static void png_error_fn(png_structp p, png_const_charp msg)
{
	char *keep = png_get_error_ptr(p);
	snprintf(keep, 256, "%s", msg);
	png_longjmp(p, 1);
}

static void png_warning_fn(png_structp p, png_const_charp msg)
{
	(void)p;
	(void)msg;
}

/* Encodes into m; returns 0 or -1 with why filled. Kept apart from the
 * caller so that no local of the caller lives across setjmp. */
static int encode(const uint8_t *px, int w, int h, int channels, const char *panels,
		  bmeq_strbuf *m, char why[256])
{
	png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, why, png_error_fn,
						png_warning_fn);
	png_infop info = p ? png_create_info_struct(p) : NULL;
	png_bytep *volatile rows = NULL;

	if (!p || !info) {
		png_destroy_write_struct(&p, NULL);
		snprintf(why, 256, "out of memory");
		return -1;
	}
	if (setjmp(png_jmpbuf(p))) {
		png_destroy_write_struct(&p, &info);
		free(rows);
		return -1;
	}
	rows = malloc((size_t)h * sizeof(*rows));
	if (!rows)
		png_error(p, "out of memory");
	for (int y = 0; y < h; y++)
		rows[y] = (png_bytep)(uintptr_t)(px + (size_t)y * (size_t)w * (size_t)channels);
	png_set_write_fn(p, m, mem_write, mem_flush);
	/* Run-length deflate after libpng's per-row filters: on the report's
	 * mosaics and QC pictures it spends about 40% less CPU than the default
	 * strategy for files about 9% larger (bench/RESULTS.md, "The report's
	 * pictures"); report time is a third of a batch's. */
	png_set_compression_strategy(p, Z_RLE);
	png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
		     channels == 1   ? PNG_COLOR_TYPE_GRAY
		     : channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA
				     : PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_text text[2];
	memset(text, 0, sizeof(text));
	text[0].compression = PNG_TEXT_COMPRESSION_NONE;
	text[0].key = (png_charp) "Software";
	text[0].text = (png_charp) "bmeq";
	text[1].compression = PNG_TEXT_COMPRESSION_NONE;
	text[1].key = (png_charp) "bmeq-panels";
	text[1].text = (png_charp)(uintptr_t)panels;
	png_set_text(p, info, text, panels ? 2 : 1);
	png_set_rows(p, info, rows);
	png_write_png(p, info, PNG_TRANSFORM_IDENTITY, NULL);
	png_destroy_write_struct(&p, &info);
	free(rows);
	if (m->oom) {
		snprintf(why, 256, "out of memory");
		return -1;
	}
	return 0;
}

bmeq_status bmeq_rp_png_write(const bmeq_rp_canvas *c, const char *path)
{
	return bmeq_rp_png_write_pixels(c->rgb, c->w, c->h, 3, c->panels, path);
}

bmeq_status bmeq_rp_png_write_pixels(const uint8_t *px, int w, int h, int channels,
				     const char *text, const char *path)
{
	bmeq_strbuf m = BMEQ_STRBUF_INIT;
	char why[256] = "";
	bmeq_status st;

	if (encode(px, w, h, channels, text, &m, why) != 0) {
		bmeq_strbuf_free(&m);
		return bmeq_fail(BMEQ_E_NOMEM, "%s: PNG encoding failed: %s", path, why);
	}
	st = bmeq_write_file_atomic(path, m.s, m.len);
	bmeq_strbuf_free(&m);
	return st;
}
