/* report_internal.h - private to src/report: what the report's parts share. */
#ifndef BMEQ_REPORT_INTERNAL_H
#define BMEQ_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/hip.h"
#include "bmeq/outdir.h"
#include "bmeq/report.h"
#include "bmeq/volume.h"

/* ---- the scans of OUT ---------------------------------------------------- */

/* The geometry of a scan's slice mosaics (<stem>_slices.csv). */
typedef struct bmeq_rp_slices {
	int ok;                   /* read and sane */
	int n, cols, rows;        /* slices, the mosaic's tiles across and down */
	int tw, th;               /* a tile's pixels */
	double mm_w, mm_h;        /* a pixel's size in mm (the page keeps the aspect) */
	int t1;                   /* 1: <stem>_slices_t1.png holds the T1 on the same tiles */
} bmeq_rp_slices;

/* One scan as the report sees it: identity, completion record, and the
 * numbers of its scans.csv rows. Every field read from OUT is also in the
 * key that decides whether its pictures are drawn again (report.c,
 * scan_text): a field added here belongs there too. */
typedef struct bmeq_rp_scan {
	char *subject, *session, *path;   /* owned */
	char dir[BMEQ_PATH_MAX];          /* OUT/<subject>/<session> */
	int has_record;                   /* scan_record.csv was readable */
	char status[16];                  /* "ok" / "error" ("" without record) */
	char message[1024];
	char stem[256];
	long volume;                      /* 3D volume read from a 4D file (-1: 3D) */
	int found[2];                     /* [0] right, [1] left */
	double centre[2][3], radius[2];
	/* from scans.csv */
	char side_status[2][16];
	double edema_ml[2], fraction[2], threshold;
	double edema_ml_low[2], edema_ml_high[2]; /* the band's range (NaN: none) */
	char rule[64];
	char threshold_source[8];         /* "auto" / "reader" ("" when absent) */
	char side_message[2][256];
	char review[2][24];               /* the reader's decision in scans.csv ("" none) */
	size_t baseline;                  /* index of the subject's baseline scan */
	int is_baseline;
	/* from response.csv (this follow-up against the baseline) */
	int has_response[2];
	char response[2][24], early[2][8], response_message[2][256];
	int uncertain[2];                 /* 1: the class could differ within the ranges */
	double change_ml[2], change_pct[2], resolved_ml[2], persistent_ml[2], new_ml[2];
	/* pictures: 1 drawn (or found), 0 absent; note says why not */
	int qc, change_qc;
	char qc_note[256], change_note[256];
	int pictures_kept;                /* 1: nothing they are drawn from changed since
					     they were drawn: not drawn again */
	bmeq_rp_slices slices;            /* the viewer's mosaics (ok 0: none) */
	int change_slices;                /* 1: the follow-up's change mosaics exist */
	/* the visit's T1 (record: path and placement; scans.csv: the numbers) */
	char *t1;                         /* owned; NULL: measured without a T1 */
	double t1_transform[3][4];        /* scan world -> T1 world (RAS mm) */
	char regions_from[2][12];         /* per side: "stir", "t1", "user", "correction"
					     ("" when absent) */
	double t1_removed_ml[2];          /* edema_removed_by_t1_ml (NaN: none) */
	double t1_shift_mm, t1_angle_deg; /* the registration's move (NaN: none) */
} bmeq_rp_scan;

/* Reads what the batch folder outdir holds about its scans, without drawing
 * anything: the scans in the study's order (study NULL: the order of
 * outdir/scans.csv), each with its completion record (scan_record.csv), its
 * scans.csv rows and its response.csv rows (absent: no responses).
 * Numbers that are empty or unreadable are NaN; rows that name no scan or no
 * side (right/left) are ignored. *out (n entries) is freed with
 * bmeq_rp_scans_free. BMEQ_E_IO / BMEQ_E_FORMAT when scans.csv is missing or
 * lacks subject, session, side or scan; BMEQ_E_NOMEM. */
bmeq_status bmeq_rp_scans_read(const bmeq_study *study, const char *outdir,
			       bmeq_rp_scan **out, size_t *n);
/* Frees what bmeq_rp_scans_read returned. Accepts NULL. */
void bmeq_rp_scans_free(bmeq_rp_scan *v, size_t n);

/* ---- drawing ------------------------------------------------------------- */

typedef struct bmeq_rp_canvas {
	int w, h;
	uint8_t *rgb;     /* w * h * 3 */
	char panels[2048];/* the "bmeq-panels" text */
} bmeq_rp_canvas;

bmeq_status bmeq_rp_canvas_create(int w, int h, bmeq_rp_canvas **out);
void bmeq_rp_canvas_destroy(bmeq_rp_canvas *c);
void bmeq_rp_fill(bmeq_rp_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]);
void bmeq_rp_put(bmeq_rp_canvas *c, int x, int y, const uint8_t rgb[3]);
/* Mixes rgb into the pixel with weight alpha (0..1). */
void bmeq_rp_blend(bmeq_rp_canvas *c, int x, int y, const uint8_t rgb[3], double alpha);
/* Records an image panel in the "bmeq-panels" text. */
void bmeq_rp_panel_note(bmeq_rp_canvas *c, int x, int y, int w, int h, const char *side,
			const char *kind);

/* Built-in 5x7 font, upper case (lower case is drawn as upper case; a
 * character without a glyph as '?'). scale >= 1. Returns the text's width. */
int bmeq_rp_text(bmeq_rp_canvas *c, int x, int y, int scale, const char *s, const uint8_t rgb[3]);
int bmeq_rp_text_width(int scale, const char *s);
#define BMEQ_RP_GLYPH_H 7

/* Encodes w x h pixels of channels bytes each (1 grey, 3 RGB, 4 RGBA), rows
 * top down, as an 8-bit PNG with libpng (text, when not NULL, as the
 * "bmeq-panels" tEXt chunk) and writes it atomically to path. */
bmeq_status bmeq_rp_png_write_pixels(const uint8_t *px, int w, int h, int channels,
				     const char *text, const char *path);

/* Encodes c as an 8-bit RGB PNG with libpng (the panels text as a tEXt
 * chunk) and writes it atomically. */
bmeq_status bmeq_rp_png_write(const bmeq_rp_canvas *c, const char *path);

/* ---- sampling by world coordinates ---------------------------------------- */

typedef struct bmeq_rp_sampler {
	const bmeq_grid *g;
	double inv[16];   /* RAS mm -> voxel, row-major */
} bmeq_rp_sampler;

bmeq_status bmeq_rp_sampler_init(bmeq_rp_sampler *s, const bmeq_grid *g);
/* Trilinear sample at RAS point w; NAN outside the volume. */
float bmeq_rp_sample(const bmeq_rp_sampler *s, const float *data, const double w[3]);
/* Nearest-voxel label at w; 0 outside. */
unsigned bmeq_rp_label(const bmeq_rp_sampler *s, const uint16_t *lab, const double w[3]);
unsigned bmeq_rp_label8(const bmeq_rp_sampler *s, const uint8_t *lab, const double w[3]);

/* A coronal panel: size x size pixels showing the plane y = centre[1] over
 * x in centre[0] +- half, z in centre[2] +- half, radiological display (the
 * patient's right, +x, on the viewer's left), superior up. */
typedef struct bmeq_rp_view {
	double centre[3];
	double half;      /* mm */
	int size;         /* px */
} bmeq_rp_view;

/* The RAS point at the centre of panel pixel (u, v). */
void bmeq_rp_view_point(const bmeq_rp_view *v, int u, int v_, double w[3]);

/* The y (mm) of the coronal plane holding most voxels of mask (labels for
 * which want(label, ctx) is non-zero), in 1 mm bins; returns 0 when there are
 * none. */
int bmeq_rp_densest_y(const bmeq_grid *g, const void *labels, int bytes,
		      int (*want)(unsigned label, const double w[3], const void *ctx),
		      const void *ctx, double *y);

/* 1st and 99th percentile of the finite values (n >= 1); 0 when none. */
int bmeq_rp_window(float *vals, size_t n, double *lo, double *hi);

/* Grey level of v under the window. */
uint8_t bmeq_rp_grey(float v, double lo, double hi);

/* ---- panels (panel.c) ------------------------------------------------------ */

extern const uint8_t bmeq_rp_white[3], bmeq_rp_yellow[3], bmeq_rp_red[3], bmeq_rp_blue[3],
	bmeq_rp_green[3], bmeq_rp_cyan[3], bmeq_rp_dark[3], bmeq_rp_bg[3];

/* Grey levels of size*size samples under the window. */
void bmeq_rp_draw_grey(bmeq_rp_canvas *c, int x0, int y0, int size, const float *vals, double lo,
		       double hi);
/* Colours the pixels whose class (size*size, 0 none) is k with palette[k-1],
 * blended at alpha. */
void bmeq_rp_draw_classes(bmeq_rp_canvas *c, int x0, int y0, int size, const uint8_t *cls,
			  const uint8_t (*palette)[3], double alpha);
/* The outline of the pixels whose class (size*size, 0 none) is non-zero, in
 * rgb (edema on the T1, whose own darkness must stay visible). */
void bmeq_rp_draw_class_outline(bmeq_rp_canvas *c, int x0, int y0, int size, const uint8_t *cls,
				const uint8_t rgb[3]);
/* Outlines of the regions of roi (size*size labels): heads green, necks cyan,
 * other labels white. */
void bmeq_rp_draw_outlines(bmeq_rp_canvas *c, int x0, int y0, int size, const uint16_t *roi);
/* R and L at the panel's left and right edges (radiological display). */
void bmeq_rp_draw_rl(bmeq_rp_canvas *c, int x0, int y0, int size);
/* A legend entry: a colour box and its name; returns the width used. */
int bmeq_rp_legend(bmeq_rp_canvas *c, int x, int y, const uint8_t rgb[3], const char *name);
/* Text wrapped at spaces to maxw pixels; returns the height used. */
int bmeq_rp_text_wrap(bmeq_rp_canvas *c, int x, int y, int maxw, int scale, const char *s,
		      const uint8_t rgb[3]);
/* Shadowed text for drawing over an image. */
void bmeq_rp_text_shadow(bmeq_rp_canvas *c, int x, int y, int scale, const char *s,
			 const uint8_t rgb[3]);

/* ---- the pictures and the page -------------------------------------------- */

/* Draws <stem>_qc.png of scan s. Not drawable (unreadable scan or maps):
 * returns BMEQ_E_IO/FORMAT/GRID with the reason; BMEQ_E_WRITE when the PNG
 * cannot be written. */
bmeq_status bmeq_rp_scan_qc(const bmeq_rp_scan *s);

/* Draws <stem>_change_qc.png of follow-up fu against baseline base. */
bmeq_status bmeq_rp_change_qc(const bmeq_rp_scan *base, const bmeq_rp_scan *fu);

/* ---- every slice, for the page's viewer (slices.c) ----------------------- */


/* Writes <stem>_slices.png, _slices_roi.png, _slices_edema.png, with a T1
 * (t1 not NULL: the visit's T1 on its own grid, placed by s->t1_transform)
 * _slices_t1.png on the same tiles, and, last, _slices.csv of scan s from its
 * loaded image and maps. BMEQ_E_WRITE, BMEQ_E_NOMEM. */
bmeq_status bmeq_rp_scan_slices(const bmeq_rp_scan *s, const bmeq_volume *img, const uint16_t *roi,
				const uint16_t *edema, const bmeq_volume *t1);

/* The scan-world point w as a point of the T1's world (s->t1_transform). */
void bmeq_rp_t1_point(const bmeq_rp_scan *s, const double w[3], double t[3]);

/* Writes follow-up fu's <stem>_change_slices.png, _base.png and _fu.png on
 * the tiles of baseline base (its image bimg; change on bimg's grid). */
bmeq_status bmeq_rp_change_slices(const bmeq_rp_scan *base, const bmeq_rp_scan *fu,
				  const bmeq_volume *bimg, const bmeq_volume *fimg,
				  const uint16_t *change);

/* Reads the geometry of s's mosaics. BMEQ_E_IO when absent, BMEQ_E_FORMAT. */
bmeq_status bmeq_rp_slices_info(const bmeq_rp_scan *s, bmeq_rp_slices *out);

/* What bmeq_rp_figures wrote. */
typedef struct bmeq_rp_figures_made {
	int ok;           /* every figure and study_summary.csv written */
	int followups;    /* follow-up visits: waterfall_visit1 .. <followups> */
} bmeq_rp_figures_made;

/* Writes OUT/study_summary.csv and the study figures (OUT/figures/, SVG and
 * PNG, cairo; figures.c): a waterfall per follow-up, the edema course, the
 * response counts (with follow-ups). BMEQ_E_WRITE, BMEQ_E_NOMEM. Serialised
 * across threads. */
bmeq_status bmeq_rp_figures(const char *outdir, const bmeq_rp_scan *v, size_t n,
			    bmeq_rp_figures_made *made);

/* Writes OUT/report.html. */
bmeq_status bmeq_rp_html(const char *outdir, const bmeq_rp_scan *scans, size_t n,
			 const bmeq_rp_figures_made *figs, bmeq_report_summary *sum);

#endif
