/* slices.c - every slice of a scan, pre-rendered for report.html's viewer.
 *
 * A reader must be able to scroll through the whole scan, not one coronal
 * slice per hip. The viewer is a small script of our own in the page over
 * images written here, per scan, into its folder: every slice along the
 * voxel axis nearest the anterior-posterior direction (coronal on a coronal
 * hip STIR, a coronal reformat of the voxels otherwise), laid out as tiles of
 * one mosaic PNG per layer:
 *   <stem>_slices.png        grey (window: 1st-99th percentile of the scan)
 *   <stem>_slices_roi.png    the regions (heads green, necks cyan), RGBA
 *   <stem>_slices_edema.png  edema (red), RGBA
 *   <stem>_slices_t1.png     the visit's T1 at the same voxels (scans measured
 *                            with a T1: placed by the registration the
 *                            measurement found; window 1st-99th percentile)
 *   <stem>_slices.csv        the mosaic's geometry (key,value rows; t1,1
 *                            when the T1's mosaic was written)
 * and per follow-up, on the baseline's grid and tiles, so both scroll
 * together:
 *   <stem>_change_slices.png       the follow-up sampled at the baseline's
 *                                  voxels, shifted by the mean difference of
 *                                  the head centres (a translation: the
 *                                  registration's rotation is not stored)
 *   <stem>_change_slices_base.png  resolved (blue) and persistent (yellow)
 *   <stem>_change_slices_fu.png    persistent (yellow) and new (red)
 * Tiles are shown in radiological display: the patient's right on the
 * viewer's left, superior up (the axes' signs come from the affine). The
 * page loads a scan's images only when its viewer is opened, so a 200-scan
 * report opens as fast as one without them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/csv.h"
#include "report_internal.h"

/* Largest tile side in pixels: a 512-pixel matrix is shown at half
 * resolution (a 256-pixel tile per slice; the browser scales it up). */
enum { TILE_MAX = 384 };

/* The voxel axes of the display: slice axis (nearest RAS y), horizontal
 * (nearest x) and vertical (nearest z), each with its direction. */
typedef struct layout {
	int ax[3];          /* [0] slice, [1] horizontal, [2] vertical voxel axis */
	int flip[3];        /* 1: walk the axis backwards */
	int step;           /* in-plane decimation */
	int tw, th;         /* tile size, pixels */
	int n, cols, rows;  /* slices and the mosaic's grid */
	double mm_w, mm_h;  /* a pixel's size, mm */
} layout;

static void make_layout(const bmeq_grid *g, layout *L)
{
	int used[3] = {0, 0, 0};

	/* Slice axis first (y), then horizontal (x), then vertical (z). */
	static const int ras_row[3] = {1, 0, 2};
	for (int k = 0; k < 3; k++) {
		int best = -1;
		double bv = -1;
		for (int a = 0; a < 3; a++) {
			double v = fabs(g->affine[ras_row[k]][a]) / (g->spacing[a] > 0 ? g->spacing[a] : 1);
			if (!used[a] && v > bv) {
				bv = v;
				best = a;
			}
		}
		used[best] = 1;
		L->ax[k] = best;
	}
	/* Radiological: the patient's right (+x in RAS) on the viewer's left,
	 * so screen x grows against RAS x; screen y grows downwards, against
	 * RAS z. Slices run from anterior to posterior. */
	L->flip[0] = g->affine[1][L->ax[0]] > 0;
	L->flip[1] = g->affine[0][L->ax[1]] > 0;
	L->flip[2] = g->affine[2][L->ax[2]] > 0;
	int nw = (int)g->dim[L->ax[1]], nh = (int)g->dim[L->ax[2]];
	int big = nw > nh ? nw : nh;
	L->step = (big + TILE_MAX - 1) / TILE_MAX;
	L->tw = (nw + L->step - 1) / L->step;
	L->th = (nh + L->step - 1) / L->step;
	L->n = (int)g->dim[L->ax[0]];
	L->cols = (int)ceil(sqrt((double)L->n));
	L->rows = (L->n + L->cols - 1) / L->cols;
	L->mm_w = g->spacing[L->ax[1]] * L->step;
	L->mm_h = g->spacing[L->ax[2]] * L->step;
}

/* The voxel index (into x-fastest data) shown at pixel (u, v) of slice s. */
static size_t voxel_at(const bmeq_grid *g, const layout *L, int s, int u, int v)
{
	size_t ijk[3];
	int c[3] = {s, u * L->step, v * L->step};

	for (int k = 0; k < 3; k++) {
		size_t d = g->dim[L->ax[k]];
		size_t x = (size_t)c[k] < d ? (size_t)c[k] : d - 1;
		ijk[L->ax[k]] = L->flip[k] ? d - 1 - x : x;
	}
	return ijk[0] + g->dim[0] * (ijk[1] + g->dim[1] * ijk[2]);
}

/* The pixel (x, y) of the mosaic for pixel (u, v) of slice s. */
static size_t mosaic_at(const layout *L, int s, int u, int v)
{
	size_t x = (size_t)(s % L->cols) * (size_t)L->tw + (size_t)u;
	size_t y = (size_t)(s / L->cols) * (size_t)L->th + (size_t)v;
	return y * (size_t)L->cols * (size_t)L->tw + x;
}

static size_t mosaic_pixels(const layout *L)
{
	return (size_t)L->cols * (size_t)L->tw * (size_t)L->rows * (size_t)L->th;
}

/* The grey window of a volume: 1st-99th percentile of a sample of voxels. */
static bmeq_status window_of(const float *data, size_t nvox, double *lo, double *hi)
{
	size_t stride = nvox > 400000 ? nvox / 400000 : 1, n = 0;
	float *vals = malloc((nvox / stride + 1) * sizeof(float));

	if (!vals)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (size_t i = 0; i < nvox; i += stride)
		vals[n++] = data[i];
	if (!bmeq_rp_window(vals, n, lo, hi)) {
		*lo = 0;
		*hi = 1;
	}
	free(vals);
	return BMEQ_OK;
}

static bmeq_status write_mosaic(const char *dir, const char *stem, bmeq_scan_file f,
				const uint8_t *px, const layout *L, int channels)
{
	char path[BMEQ_PATH_MAX];
	bmeq_status st = bmeq_scan_path(dir, stem, f, path, sizeof(path));

	if (st != BMEQ_OK)
		return st;
	return bmeq_rp_png_write_pixels(px, L->cols * L->tw, L->rows * L->th, channels, NULL, path);
}

static void put_rgba(uint8_t *px, size_t at, const uint8_t rgb[3], uint8_t a)
{
	memcpy(px + 4 * at, rgb, 3);
	px[4 * at + 3] = a;
}

static bmeq_status write_info(const char *dir, const char *stem, const layout *L, int t1)
{
	char path[BMEQ_PATH_MAX], val[64];
	bmeq_csv *w = NULL;
	bmeq_status st;

	if ((st = bmeq_scan_path(dir, stem, BMEQ_SCAN_SLICES_INFO, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_csv_create(&w)) != BMEQ_OK)
		return st;
	const struct {
		const char *key;
		double v;
		int dec;
	} kv[] = {
		{"slices", L->n, 0},   {"cols", L->cols, 0},  {"rows", L->rows, 0},
		{"tile_w", L->tw, 0},  {"tile_h", L->th, 0},  {"mm_w", L->mm_w, 4},
		{"mm_h", L->mm_h, 4},
	};
	bmeq_csv_field(w, "key");
	bmeq_csv_field(w, "value");
	bmeq_csv_end_row(w);
	for (size_t k = 0; k < sizeof(kv) / sizeof(kv[0]); k++) {
		snprintf(val, sizeof(val), "%.*f", kv[k].dec, kv[k].v);
		bmeq_csv_field(w, kv[k].key);
		bmeq_csv_field(w, val);
		bmeq_csv_end_row(w);
	}
	if (t1) {
		bmeq_csv_field(w, "t1");
		bmeq_csv_field(w, "1");
		bmeq_csv_end_row(w);
	}
	st = bmeq_csv_write_file(w, path);
	bmeq_csv_destroy(w);
	return st;
}

/* The T1's mosaic: the T1 sampled (trilinear) at the world point of each
 * shown voxel of the scan, moved into the T1's world by the placement. */
static bmeq_status t1_mosaic(const bmeq_rp_scan *s, const bmeq_grid *g, const layout *L,
			     const bmeq_volume *t1)
{
	bmeq_rp_sampler ts;
	size_t np = mosaic_pixels(L);
	float *val = malloc(np * sizeof(float));
	uint8_t *grey = calloc(np, 1);
	double lo, hi;
	bmeq_status st;

	if (!val || !grey) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	if ((st = bmeq_rp_sampler_init(&ts, &t1->grid)) != BMEQ_OK)
		goto done;
	for (size_t i = 0; i < np; i++)
		val[i] = NAN; /* the mosaic's spare tiles */
	for (int sl = 0; sl < L->n; sl++)
		for (int v = 0; v < L->th; v++)
			for (int u = 0; u < L->tw; u++) {
				size_t i = voxel_at(g, L, sl, u, v);
				double ijk[3] = {(double)(i % g->dim[0]),
						 (double)((i / g->dim[0]) % g->dim[1]),
						 (double)(i / (g->dim[0] * g->dim[1]))},
				       w[3], tw[3];
				bmeq_grid_voxel_to_world(g, ijk, w);
				bmeq_rp_t1_point(s, w, tw);
				val[mosaic_at(L, sl, u, v)] = bmeq_rp_sample(&ts, t1->data, tw);
			}
	/* The window of the T1 where it covers the scan (NaN outside). */
	if ((st = window_of(val, np, &lo, &hi)) != BMEQ_OK)
		goto done;
	for (size_t i = 0; i < np; i++)
		grey[i] = bmeq_rp_grey(val[i], lo, hi);
	st = write_mosaic(s->dir, s->stem, BMEQ_SCAN_SLICES_T1, grey, L, 1);
done:
	free(val);
	free(grey);
	return st;
}

bmeq_status bmeq_rp_scan_slices(const bmeq_rp_scan *s, const bmeq_volume *img, const uint16_t *roi,
				const uint16_t *edema, const bmeq_volume *t1)
{
	const bmeq_grid *g = &img->grid;
	layout L;
	double lo, hi;
	bmeq_status st;

	make_layout(g, &L);
	size_t np = mosaic_pixels(&L);
	uint8_t *grey = calloc(np, 1), *reg = calloc(np, 4), *ede = calloc(np, 4);
	if (!grey || !reg || !ede) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	if ((st = window_of(img->data, bmeq_grid_nvox(g), &lo, &hi)) != BMEQ_OK)
		goto done;
	for (int sl = 0; sl < L.n; sl++)
		for (int v = 0; v < L.th; v++)
			for (int u = 0; u < L.tw; u++) {
				size_t i = voxel_at(g, &L, sl, u, v), at = mosaic_at(&L, sl, u, v);
				grey[at] = bmeq_rp_grey(img->data[i], lo, hi);
				unsigned r = roi[i];
				if (r)
					put_rgba(reg, at,
						 r == 1 || r == 2   ? bmeq_rp_green
						 : r == 3 || r == 4 ? bmeq_rp_cyan
								    : bmeq_rp_white,
						 255);
				if (edema[i])
					put_rgba(ede, at, bmeq_rp_red, 255);
			}
	if ((st = write_mosaic(s->dir, s->stem, BMEQ_SCAN_SLICES, grey, &L, 1)) == BMEQ_OK &&
	    (st = write_mosaic(s->dir, s->stem, BMEQ_SCAN_SLICES_ROI, reg, &L, 4)) == BMEQ_OK &&
	    (st = write_mosaic(s->dir, s->stem, BMEQ_SCAN_SLICES_EDEMA, ede, &L, 4)) == BMEQ_OK &&
	    (!t1 || (st = t1_mosaic(s, g, &L, t1)) == BMEQ_OK))
		st = write_info(s->dir, s->stem, &L, t1 != NULL); /* last: the slices are complete */
done:
	free(grey);
	free(reg);
	free(ede);
	return st;
}

bmeq_status bmeq_rp_change_slices(const bmeq_rp_scan *base, const bmeq_rp_scan *fu,
				  const bmeq_volume *bimg, const bmeq_volume *fimg,
				  const uint16_t *change)
{
	const bmeq_grid *g = &bimg->grid;
	bmeq_rp_sampler fs;
	layout L;
	double lo, hi, shift[3] = {0, 0, 0};
	int nshift = 0;
	bmeq_status st;

	make_layout(g, &L);
	/* The follow-up where the baseline's voxels are: shifted by the mean
	 * movement of the heads found on both visits. */
	for (int side = 0; side < 2; side++)
		if (base->found[side] && fu->found[side]) {
			for (int k = 0; k < 3; k++)
				shift[k] += fu->centre[side][k] - base->centre[side][k];
			nshift++;
		}
	for (int k = 0; k < 3 && nshift; k++)
		shift[k] /= nshift;
	size_t np = mosaic_pixels(&L);
	uint8_t *grey = calloc(np, 1), *cb = calloc(np, 4), *cf = calloc(np, 4);
	if (!grey || !cb || !cf) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	if ((st = bmeq_rp_sampler_init(&fs, &fimg->grid)) != BMEQ_OK ||
	    (st = window_of(fimg->data, bmeq_grid_nvox(&fimg->grid), &lo, &hi)) != BMEQ_OK)
		goto done;
	for (int sl = 0; sl < L.n; sl++)
		for (int v = 0; v < L.th; v++)
			for (int u = 0; u < L.tw; u++) {
				size_t i = voxel_at(g, &L, sl, u, v), at = mosaic_at(&L, sl, u, v);
				size_t ii = i % g->dim[0], jj = (i / g->dim[0]) % g->dim[1],
				       kk = i / (g->dim[0] * g->dim[1]);
				double w[3];
				for (int r = 0; r < 3; r++)
					w[r] = g->affine[r][0] * (double)ii + g->affine[r][1] * (double)jj +
					       g->affine[r][2] * (double)kk + g->affine[r][3] + shift[r];
				float f = bmeq_rp_sample(&fs, fimg->data, w);
				grey[at] = isfinite(f) ? bmeq_rp_grey(f, lo, hi) : 0;
				/* 1 resolved, 2 persistent, 3 new */
				switch (change[i]) {
				case 1: put_rgba(cb, at, bmeq_rp_blue, 255); break;
				case 2:
					put_rgba(cb, at, bmeq_rp_yellow, 255);
					put_rgba(cf, at, bmeq_rp_yellow, 255);
					break;
				case 3: put_rgba(cf, at, bmeq_rp_red, 255); break;
				default: break;
				}
			}
	if ((st = write_mosaic(fu->dir, fu->stem, BMEQ_SCAN_CHANGE_SLICES, grey, &L, 1)) == BMEQ_OK &&
	    (st = write_mosaic(fu->dir, fu->stem, BMEQ_SCAN_CHANGE_SLICES_BASE, cb, &L, 4)) == BMEQ_OK)
		st = write_mosaic(fu->dir, fu->stem, BMEQ_SCAN_CHANGE_SLICES_FU, cf, &L, 4);
done:
	free(grey);
	free(cb);
	free(cf);
	return st;
}

/* ---- reading the geometry back (for the page) ------------------------------ */

bmeq_status bmeq_rp_slices_info(const bmeq_rp_scan *s, bmeq_rp_slices *out)
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv_table *t = NULL;
	bmeq_status st;

	memset(out, 0, sizeof(*out));
	if (!s->stem[0])
		return bmeq_fail(BMEQ_E_IO, "no scan record");
	if ((st = bmeq_scan_path(s->dir, s->stem, BMEQ_SCAN_SLICES_INFO, path, sizeof(path))) !=
		    BMEQ_OK ||
	    (st = bmeq_csv_read_file(path, &t)) != BMEQ_OK)
		return st;
	for (size_t r = 0; r < t->nrows; r++) {
		const char *k = bmeq_csv_cell(t, r, 0);
		double v = atof(bmeq_csv_cell(t, r, 1));
		if (strcmp(k, "slices") == 0)
			out->n = (int)v;
		else if (strcmp(k, "cols") == 0)
			out->cols = (int)v;
		else if (strcmp(k, "rows") == 0)
			out->rows = (int)v;
		else if (strcmp(k, "tile_w") == 0)
			out->tw = (int)v;
		else if (strcmp(k, "tile_h") == 0)
			out->th = (int)v;
		else if (strcmp(k, "mm_w") == 0)
			out->mm_w = v;
		else if (strcmp(k, "mm_h") == 0)
			out->mm_h = v;
		else if (strcmp(k, "t1") == 0)
			out->t1 = v == 1;
	}
	bmeq_csv_table_destroy(t);
	if (out->n < 1 || out->cols < 1 || out->tw < 1 || out->th < 1 || !(out->mm_w > 0) ||
	    !(out->mm_h > 0)) {
		memset(out, 0, sizeof(*out));
		return bmeq_fail(BMEQ_E_FORMAT, "%s: not a slices record", path);
	}
	out->ok = 1;
	return BMEQ_OK;
}
