/* measure.c - one scan through the pipeline (load, correct, segment, measure).
 * Its options and their defaults are in src/measure/opts.c, below the ITK bridge. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/clock.h"
#include "bmeq/femhead.h"
#include "bmeq/measure.h"
#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"
#include "bmeq/outdir.h"
#include "bmeq/threshold.h"

void bmeq_scan_result_destroy(bmeq_scan_result *r)
{
	if (!r)
		return;
	bmeq_volume_destroy(r->image);
	bmeq_volume_destroy(r->t1_image);
	free(r->roi);
	bmeq_edema_result_destroy(r->edema);
	free(r);
}

void bmeq_scan_stem(const char *path, char *stem, size_t cap)
{
	static const char *const exts[] = {".nii.gz", ".nii", ".hdr.gz", ".hdr", ".img.gz", ".img"};
	/* A DICOM folder may be given as "dir/" or "dir#series": the stem is the
	 * folder's name, and the series chosen is part of it. */
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	size_t len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	const char *base = strrchr(buf, '/');

	base = base ? base + 1 : buf;
	snprintf(stem, cap, "%s", base);
	for (char *p = stem; *p; p++)
		if (*p == '#' || *p == ' ' || *p == '*' || *p == '?' || *p == '[' || *p == ']')
			*p = '_';
	size_t n = strlen(stem);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && strcmp(stem + n - e, exts[i]) == 0) {
			stem[n - e] = '\0';
			break;
		}
	}
}

/* Refuses images the pipeline cannot measure honestly. */
static bmeq_status check_image(const bmeq_volume *v)
{
	size_t n = bmeq_grid_nvox(&v->grid), bad = 0, nonzero = 0;

	if (v->grid.dim[0] < 2 || v->grid.dim[1] < 2 || v->grid.dim[2] < 2)
		return bmeq_fail(BMEQ_E_FORMAT, "image is 2D (%zux%zux%zu): a 3D hip volume is needed",
				 v->grid.dim[0], v->grid.dim[1], v->grid.dim[2]);
	for (size_t i = 0; i < n; i++) {
		bad += !isfinite(v->data[i]);
		nonzero += v->data[i] != 0.0f;
	}
	if (bad)
		return bmeq_fail(BMEQ_E_FORMAT, "image holds %zu NaN or infinite voxels", bad);
	if (nonzero == 0)
		return bmeq_fail(BMEQ_E_FORMAT, "image is all zero");
	return BMEQ_OK;
}

/* N4 on the body (voxels above 5% of the 98th percentile), which keeps air
 * out of the fit. A sheared grid cannot go through ITK: measured uncorrected
 * with a note. */
static bmeq_status bias_correct(bmeq_scan_result *r, const bmeq_measure_opts *o)
{
	size_t n = bmeq_grid_nvox(&r->image->grid);
	double q98;
	bmeq_volume *corrected = NULL;
	uint8_t *mask;
	bmeq_status st;

	if ((st = bmeq_quantile(r->image->data, n, 0.98, &q98)) != BMEQ_OK)
		return st;
	mask = malloc(n);
	if (!mask)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		mask[i] = r->image->data[i] > 0.05 * q98;
	st = bmeq_itk_n4(r->image, mask, &o->n4, &corrected, NULL);
	free(mask);
	if (st == BMEQ_E_UNSUPPORTED) {
		snprintf(r->note, sizeof(r->note), "bias correction skipped: %s", bmeq_last_error());
		return BMEQ_OK;
	}
	if (st != BMEQ_OK)
		return bmeq_fail(st, "bias correction: %s", bmeq_last_error());
	bmeq_volume_destroy(r->image);
	r->image = corrected;
	return BMEQ_OK;
}

/* What the tables and the measurement keep of segmented side fs. */
static void side_geom(bmeq_edema_side_geom *g, const bmeq_femhead_side *fs)
{
	g->found = fs->found;
	g->radius = fs->radius_mm;
	memcpy(g->centre, fs->centre, sizeof(g->centre));
	snprintf(g->reason, sizeof(g->reason), "%s", fs->reason);
	g->status = bmeq_head_status_hip(fs->status);
	/* A doubtful head measured on request keeps its doubt in the rows'
	 * message: the number must not pass unread into a trial table. */
	if (fs->found && fs->status != BMEQ_HEAD_FOUND)
		snprintf(g->reason, sizeof(g->reason), "review: measured on request: %.130s",
			 fs->reason);
}

/* Finds both femoral heads and necks on image (the STIR, or the visit's
 * T1 on its own grid) into labels (nvox of image; NULL: none drawn), fr and
 * r->geom (world coordinates of image, so they hold on any grid), searching
 * only inside the world box lo .. hi (NULL: everywhere). what names the image
 * in messages. */
static bmeq_status segment(bmeq_scan_result *r, const bmeq_volume *image, const char *what,
			   const bmeq_measure_opts *o, const double *lo, const double *hi,
			   uint8_t *lab, bmeq_femhead_result *fr)
{
	bmeq_femhead_params fp;
	bmeq_status st;

	bmeq_femhead_params_init(&fp);
	fp.accept_doubtful = o->measure_doubtful;
	if (lo && hi) {
		fp.search_box = 1;
		memcpy(fp.search_lo, lo, sizeof(fp.search_lo));
		memcpy(fp.search_hi, hi, sizeof(fp.search_hi));
	}
	st = bmeq_femhead_segment(image, &fp, lab, fr);
	if (st != BMEQ_OK)
		return bmeq_fail(st, "segmentation%s: %s", what, bmeq_last_error());
	for (int s = 0; s < 2; s++)
		side_geom(&r->geom[s], &fr->side[s]);
	/* One side missing is a one-sided scan; no hip in view at all is a
	 * failed scan, not two empty measurements. */
	if (fr->side[0].status == BMEQ_HEAD_NOT_IN_VIEW && fr->side[1].status == BMEQ_HEAD_NOT_IN_VIEW)
		return bmeq_fail(BMEQ_E_PROCESS,
				 "no femoral head in view%s: the field of view lies above or below the "
				 "hips, or the scan shows another anatomy or series; --roi gives the "
				 "regions by hand",
				 what);
	return BMEQ_OK;
}

/* ---- the visit's T1 ------------------------------------------------------ */

/* Reads the T1: one 3D volume with a qform or sform, finite, not empty. */
static bmeq_status read_t1(const char *path, const bmeq_measure_opts *o, bmeq_volume **t1)
{
	bmeq_read_opts ro;
	bmeq_scan_info info;
	bmeq_status st;

	bmeq_read_opts_init(&ro);
	ro.volume = -1; /* the STIR's --volume does not choose among T1 volumes */
	ro.max_bytes = bmeq_max_scan_bytes(o->max_scan_mb);
	if ((st = bmeq_scan_read(path, &ro, t1, &info)) != BMEQ_OK) {
		/* The reader's advice for 4D files names --volume, which chooses
		 * among the scan's volumes, not the T1's. */
		char msg[512], *cut;
		snprintf(msg, sizeof(msg), "%s", bmeq_last_error());
		if (strstr(msg, "(4D)") && (cut = strchr(msg, ';')) != NULL)
			snprintf(cut, sizeof(msg) - (size_t)(cut - msg), "; a T1 must be one 3D volume");
		return bmeq_fail(st, "T1 %s: %s", path, msg);
	}
	if (!info.dicom && info.nifti.affine_source == BMEQ_AFFINE_PIXDIM)
		return bmeq_fail(BMEQ_E_FORMAT,
				 "T1 %s: neither qform nor sform is set, so it cannot be placed on the "
				 "scan", path);
	if ((st = check_image(*t1)) != BMEQ_OK)
		return bmeq_fail(st, "T1 %s: %s", path, bmeq_last_error());
	return BMEQ_OK;
}

/* The box (world RAS mm) around the head centres c[0], c[1] (NULL: none on
 * that side), each +- 45 mm (the hip joint, acetabulum and neck). 0 when
 * both are NULL. */
static int heads_box(const double *const c[2], double lo[3], double hi[3])
{
	int any = 0;

	for (int a = 0; a < 3; a++) {
		lo[a] = INFINITY;
		hi[a] = -INFINITY;
	}
	for (int s = 0; s < 2; s++) {
		if (!c[s])
			continue;
		for (int a = 0; a < 3; a++) {
			lo[a] = fmin(lo[a], c[s][a] - 45.0);
			hi[a] = fmax(hi[a], c[s][a] + 45.0);
		}
		any = 1;
	}
	return any;
}

/* The box (world RAS mm) around the regions that drives the T1's
 * registration: the found heads (heads_box), or the labelled voxels of roi
 * on grid g. 0 when empty. */
static int hips_box(const bmeq_scan_result *r, const bmeq_grid *g, const uint16_t *roi,
		    double lo[3], double hi[3])
{
	int any = 0;

	if (!roi) {
		const double *const c[2] = {r->geom[0].found ? r->geom[0].centre : NULL,
					    r->geom[1].found ? r->geom[1].centre : NULL};
		return heads_box(c, lo, hi);
	}
	for (int a = 0; a < 3; a++) {
		lo[a] = INFINITY;
		hi[a] = -INFINITY;
	}
	for (size_t z = 0, i = 0; z < g->dim[2]; z++)
		for (size_t y = 0; y < g->dim[1]; y++)
			for (size_t x = 0; x < g->dim[0]; x++, i++) {
				if (!roi[i])
					continue;
				double ijk[3] = {(double)x, (double)y, (double)z}, p[3];
				bmeq_grid_voxel_to_world(g, ijk, p);
				for (int a = 0; a < 3; a++) {
					lo[a] = fmin(lo[a], p[a]);
					hi[a] = fmax(hi[a], p[a]);
				}
				any = 1;
			}
	return any;
}

/* Registers the T1 (moving) to the scan (fixed) inside the hips' box; the
 * transform goes to *t (the T1 is resampled later, only where the gate reads
 * it: see t1_onto_box). The bounds
 * are those of a patient who moved between two series of one visit; a T1
 * that needs more is another visit's or another subject's. */
static bmeq_status place_t1(bmeq_scan_result *r, const bmeq_volume *t1, const double lo[3],
			    const double hi[3], const bmeq_measure_opts *o, bmeq_rigid *t)
{
	bmeq_status st;

	bmeq_rigid_identity(t);
	r->t1.metric = NAN;
	if (o->t1_register) {
		bmeq_reg_params rp;
		bmeq_reg_params_default(&rp);
		rp.region = BMEQ_REGION_BOX;
		for (int a = 0; a < 3; a++) {
			rp.centre[a] = 0.5 * (lo[a] + hi[a]);
			rp.half_size[a] = 0.5 * (hi[a] - lo[a]);
		}
		rp.levels = 2;
		rp.finest_mm = 2.0;
		/* 5,000 random samples on the coarse level, 15,000 on the finest
		 * (seeded, so the tables repeat) instead of a quarter of a box of
		 * 10^5-10^6 voxels: what the T1 adds per scan fell 2.57 -> 0.88 s
		 * CPU with 5,000 on both levels, but the placement error at the
		 * heads of 12 phantom twins grew 0.42 -> 0.72 mm (median), 1.15
		 * -> 2.55 mm (max), and heads carried from the T1 fell to Dice
		 * 0.91. The finest level sets the accuracy: with 15,000 there
		 * the error is 0.42 / 1.18 mm (seed 7) and 0.32 / 0.99 mm (seed
		 * 5), head Dice at least 0.96, for about 0.2 s more per scan;
		 * bench/RESULTS.md, issue 17. */
		rp.max_samples = 5000;
		rp.max_samples_finest = 15000;
		/* Both crops averaged over 2 x 2 in-plane blocks before ITK's
		 * pyramid smooths them at each level (0.3 s a scan, the largest
		 * part of the registration once the samples were capped): the
		 * same accuracy at the heads (bench/RESULTS.md, issue 17). */
		rp.preaverage = 1;
		/* Converged at a step of 0.02 mm on the finest (2 mm) level and
		 * 0.04 mm on the coarse one: at 0.01 mm on both, most iterations
		 * crawled at 0.012 mm steps (up to 50 of 60 on the coarse level,
		 * 32 on the finest) for a few hundredths of a millimetre. On the
		 * 12 phantom twins of seed 7 the finest level's iterations fell
		 * 205 -> 124; placement and head Dice unchanged on seeds 7 and 5
		 * (bench/RESULTS.md, issue 17's cost). */
		rp.min_step_mm = 0.02;
		rp.min_step_per_level = 1;
		rp.max_angle_deg = 15.0;
		rp.max_shift_mm = 20.0;
		st = bmeq_itk_register_rigid(r->image, t1, NULL, &rp, t);
		if (st != BMEQ_OK)
			return bmeq_fail(st == BMEQ_E_UNSUPPORTED ? st : BMEQ_E_PROCESS,
					 "T1 registration: %s (does the T1 cover the hips?)",
					 bmeq_last_error());
		/* The move at the box centre. */
		double m[4][4], d = 0.0;
		bmeq_rigid_matrix(t, m);
		for (int a = 0; a < 3; a++) {
			double y = m[a][3] - rp.centre[a];
			for (int b = 0; b < 3; b++)
				y += m[a][b] * rp.centre[b];
			d += y * y;
		}
		r->t1.shift_mm = sqrt(d);
		r->t1.angle_deg = bmeq_rigid_angle_deg(t);
		r->t1.metric = t->metric;
		r->t1.registered = 1;
		if (t->flags & (BMEQ_RIGID_ANGLE | BMEQ_RIGID_SHIFT))
			return bmeq_fail(BMEQ_E_PROCESS,
					 "T1 registration moved %.1f mm and turned %.1f deg from the "
					 "scanner's coordinates (limits %g mm, %g deg): is the T1 from "
					 "this visit and subject?",
					 r->t1.shift_mm, r->t1.angle_deg, rp.max_shift_mm,
					 rp.max_angle_deg);
	}
	/* Kept for the report, which shows the T1 beside the scan. */
	double m[4][4];
	bmeq_rigid_matrix(t, m);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 4; b++)
			r->t1.transform[a][b] = m[a][b];
	r->t1.placed = 1;
	return BMEQ_OK;
}

/* The T1 through t onto the box of the scan's grid that the gate and the
 * weighting read: the
 * regions and reference mask and the smoothing's reach around them. Its
 * voxels are those a whole-grid resampling gives them (bmeq_itk_resample_box),
 * and the gate reads nothing outside it, so the tables are those of a T1
 * resampled whole; on 12 phantom STIRs (seed 7) the box is 7-19 % of the
 * grid, median 10 %. */
static bmeq_status t1_onto_box(bmeq_scan_result *r, const bmeq_volume *t1, const uint8_t *ref,
			       const bmeq_measure_opts *o, const bmeq_rigid *t)
{
	size_t lo[3], hi[3];
	bmeq_status st;

	/* No regions: nothing is gated, but the scan still counts as gated
	 * (edema_removed_by_t1_ml 0): one voxel stands for the T1. */
	if (!bmeq_edema_t1_box(&r->image->grid, r->roi, ref, &o->edema, lo, hi))
		for (int a = 0; a < 3; a++)
			lo[a] = hi[a] = 0;
	st = bmeq_itk_resample_box(t1, &r->image->grid, lo, hi, t, NAN, &r->t1_image);
	if (st != BMEQ_OK)
		return bmeq_fail(st, "T1 resampling: %s", bmeq_last_error());
	memcpy(r->t1_lo, lo, sizeof(lo));
	return BMEQ_OK;
}

/* How far beyond the scan's field of view heads are searched for on the T1:
 * the registration's limit on the patient's movement (20 mm at the hips'
 * centre) and the working grid's smoothing and gradient (two 2 mm voxels). A
 * T1 turned so far that a head moves further is cut at the box's edge and,
 * not found there, that side is taken from the scan's own segmentation. */
#define T1_SEARCH_MARGIN_MM 25.0

/* Regions from the T1: the heads and necks found on its own grid, their
 * geometry (sphere, neck axis and measured section) moved through the
 * registration into the scan's world and drawn on the scan's grid at its own
 * resolution. Carrying the T1's label map over instead (nearest neighbour
 * from 3.5-4.5 mm slices) cost the heads of 12 phantom twins 3-5 points of
 * Dice each (median 0.951 against the STIR's own 0.990; bench/RESULTS.md,
 * issue 17). A side the T1 does not find (uncertain, partial or not in view:
 * a head full of edema is dark on T1 and loses its edge) is taken from the
 * STIR's own segmentation when the STIR finds it, and the side's row says
 * regions_from stir. t maps scan world x to T1 world R x + d. */
static bmeq_status regions_from_t1(bmeq_scan_result *r, const bmeq_volume *t1,
				   const bmeq_measure_opts *o, bmeq_rigid *t_out)
{
	size_t n = bmeq_grid_nvox(&r->image->grid);
	uint8_t *lab = calloc(n, 1);
	bmeq_femhead_result fr, fs;
	double lo[3], hi[3];
	bmeq_rigid t;
	bmeq_status st;
	int from_stir[2] = {0, 0};

	if (!lab) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	/* Heads are searched for only where the scan looks (its field of view
	 * in the scanner's world, which the T1 shares up to the patient's
	 * movement, plus T1_SEARCH_MARGIN_MM): a head the T1 shows outside it
	 * cannot be drawn on the scan, and the T1's wider field of view made
	 * its segmentation cost more than the STIR's (bench/RESULTS.md, issue
	 * 17's cost). Only the geometry is kept, so nothing is drawn on the
	 * T1's grid. */
	double tlo[3], thi[3];
	bmeq_grid_world_box(&r->image->grid, T1_SEARCH_MARGIN_MM, lo, hi);
	bmeq_grid_world_box(&t1->grid, 0.0, tlo, thi);
	for (int a = 0; a < 3; a++)
		if (!(fmin(hi[a], thi[a]) > fmax(lo[a], tlo[a]))) {
			st = bmeq_fail(BMEQ_E_PROCESS,
				       "T1: its field of view does not come within %g mm of the "
				       "scan's: is it of this visit and subject?",
				       T1_SEARCH_MARGIN_MM);
			goto done;
		}
	if ((st = segment(r, t1, " of the T1", o, lo, hi, NULL, &fr)) != BMEQ_OK)
		goto done;
	/* The registration is driven by a box around every head placed on the
	 * T1, doubtful ones too (their centre is good to a few mm): driven by
	 * one hip alone, a turn of a degree moves the other hip by 3-4 mm. */
	const double *const placed[2] = {
		fr.side[0].status != BMEQ_HEAD_NOT_IN_VIEW ? fr.side[0].centre : NULL,
		fr.side[1].status != BMEQ_HEAD_NOT_IN_VIEW ? fr.side[1].centre : NULL};
	heads_box(placed, lo, hi); /* segment() fails when neither is in view */
	if ((st = place_t1(r, t1, lo, hi, o, &t)) != BMEQ_OK)
		goto done;
	double inv[3][4]; /* T1 world -> scan world */
	bmeq_rigid_inverse_matrix(&t, inv);
	int need_stir = 0;
	for (int s = 0; s < 2; s++) {
		bmeq_femhead_side *side = &fr.side[s];
		if (side->status != BMEQ_HEAD_NOT_IN_VIEW)
			bmeq_femhead_side_move(side, (const double(*)[4])inv);
		side_geom(&r->geom[s], side);
		if (!side->found) {
			need_stir = 1;
			continue;
		}
		bmeq_side k = s == 0 ? BMEQ_SIDE_RIGHT : BMEQ_SIDE_LEFT;
		st = bmeq_femhead_label_side(&r->image->grid, side,
					     (uint8_t)bmeq_label_of(k, BMEQ_PART_HEAD),
					     (uint8_t)bmeq_label_of(k, BMEQ_PART_NECK), 1, lab);
		if (st != BMEQ_OK)
			goto done;
	}
	if (need_stir) {
		/* The STIR's own heads for the sides the T1 left out; a STIR
		 * with no hip in view (an error of its own) leaves them as the
		 * T1 said. Only those sides are drawn, over what the T1's sides
		 * hold already (bmeq_femhead_label_side draws a side as the
		 * segmentation does). */
		bmeq_edema_side_geom keep[2];

		memcpy(keep, r->geom, sizeof(keep));
		int ok = segment(r, r->image, "", o, NULL, NULL, NULL, &fs) == BMEQ_OK;
		bmeq_clear_error();
		for (int s = 0; s < 2; s++) {
			if (fr.side[s].found || !ok || !fs.side[s].found) {
				r->geom[s] = keep[s];
				continue;
			}
			bmeq_side k = s == 0 ? BMEQ_SIDE_RIGHT : BMEQ_SIDE_LEFT;
			st = bmeq_femhead_label_side(&r->image->grid, &fs.side[s],
						     (uint8_t)bmeq_label_of(k, BMEQ_PART_HEAD),
						     (uint8_t)bmeq_label_of(k, BMEQ_PART_NECK), 1, lab);
			if (st != BMEQ_OK)
				goto done;
			from_stir[s] = 1;
			/* The row says why this side's regions are the STIR's. */
			size_t len = strlen(r->geom[s].reason);
			snprintf(r->geom[s].reason + len, sizeof(r->geom[s].reason) - len,
				 "%sregions from the STIR: on the T1 %s", len ? "; " : "",
				 bmeq_head_status_name(fr.side[s].status));
		}
	}
	size_t inside = 0;
	for (size_t i = 0; i < n; i++) {
		r->roi[i] = lab[i];
		inside += lab[i] != 0;
	}
	if (!inside && (r->geom[0].found || r->geom[1].found)) {
		st = bmeq_fail(BMEQ_E_PROCESS,
			       "the femoral regions found on the T1 fall outside the scan's field of "
			       "view: do the T1 and the scan show the same hips?");
		goto done;
	}
	r->regions_from = BMEQ_REGIONS_T1;
	for (int s = 0; s < 2; s++)
		r->regions_from_side[s] = from_stir[s] ? BMEQ_REGIONS_STIR : BMEQ_REGIONS_T1;
	*t_out = t;
done:
	free(lab);
	return st;
}

bmeq_status bmeq_measure_scan(const char *path, const char *roi_path, const char *reference_path,
			      const char *t1_path, const bmeq_measure_opts *opts,
			      bmeq_scan_result **out)
{
	bmeq_measure_opts defaults;
	bmeq_read_opts ro;
	bmeq_scan_result *r;
	bmeq_volume *t1 = NULL;
	bmeq_rigid t1_to; /* scan world -> T1 world, once the T1 is placed */
	uint8_t *ref = NULL;
	bmeq_status st;
	double t0 = bmeq_clock_seconds();

	*out = NULL;
	bmeq_rigid_identity(&t1_to);
	if (!opts) {
		bmeq_measure_opts_init(&defaults);
		opts = &defaults;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	bmeq_read_opts_init(&ro);
	ro.volume = opts->volume;
	ro.max_bytes = bmeq_max_scan_bytes(opts->max_scan_mb);
	bmeq_scan_info sinfo;
	const bmeq_nifti_info *info_p = &sinfo.nifti;
	if ((st = bmeq_scan_read(path, &ro, &r->image, &sinfo)) != BMEQ_OK)
		goto fail;
	/* Without a qform or sform nothing says which side is the patient's
	 * left: a measurement per side would be a guess. */
	if (info_p->affine_source == BMEQ_AFFINE_PIXDIM) {
		st = bmeq_fail(BMEQ_E_FORMAT,
			       "neither qform nor sform is set: the patient's left and right are unknown");
		goto fail;
	}
	if ((st = check_image(r->image)) != BMEQ_OK)
		goto fail;
	/* The protocol check: a scan handed in as the STIR that its own header
	 * says is something else (a T1, a non-fat-suppressed T2) is the trials'
	 * silent error; before any heavy work. */
	r->protocol = sinfo.protocol;
	r->protocol_verdict = (int)bmeq_protocol_classify(&r->protocol, r->protocol_why,
							  sizeof(r->protocol_why));
	if (r->protocol_verdict == BMEQ_PROTOCOL_OTHER &&
	    opts->protocol_check == BMEQ_PROTOCOL_CHECK_REFUSE) {
		st = bmeq_fail(BMEQ_E_FORMAT, "protocol: %s (protocol.check = refuse)",
			       r->protocol_why);
		goto fail;
	}
	size_t n = bmeq_grid_nvox(&r->image->grid);

	/* User masks are read before any heavy work so a wrong grid fails fast. */
	if (roi_path) {
		st = bmeq_nifti_read_labels(roi_path, &r->image->grid, &r->roi);
		if (st != BMEQ_OK) {
			st = bmeq_fail(st, "--roi %s: %s", roi_path, bmeq_last_error());
			goto fail;
		}
		r->roi_from_user = 1;
	} else {
		r->roi = calloc(n, sizeof(*r->roi));
		if (!r->roi) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	if (reference_path) {
		uint16_t *lab = NULL;
		st = bmeq_nifti_read_labels(reference_path, &r->image->grid, &lab);
		if (st != BMEQ_OK) {
			st = bmeq_fail(st, "--reference %s: %s", reference_path, bmeq_last_error());
			goto fail;
		}
		ref = malloc(n);
		if (!ref) {
			free(lab);
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			ref[i] = lab[i] != 0;
		free(lab);
	}
	if (t1_path) {
		if ((st = read_t1(t1_path, opts, &t1)) != BMEQ_OK)
			goto fail;
		r->t1.used = 1;
	}
	double t1s = bmeq_clock_seconds();
	r->seconds[0] = t1s - t0;

	if (opts->bias_correct && !(roi_path && reference_path)) {
		if ((st = bias_correct(r, opts)) != BMEQ_OK)
			goto fail;
	}
	t0 = bmeq_clock_seconds();
	r->seconds[1] = t0 - t1s;

	if (roi_path) {
		r->regions_from = BMEQ_REGIONS_USER;
		for (int s = 0; s < 2; s++) {
			r->geom[s].found = 1;
			r->regions_from_side[s] = BMEQ_REGIONS_USER;
		}
	} else if (t1 && opts->t1_segment) {
		if ((st = regions_from_t1(r, t1, opts, &t1_to)) != BMEQ_OK)
			goto fail;
	} else {
		uint8_t *lab = malloc(n);
		if (!lab) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
		bmeq_femhead_result fr;
		st = segment(r, r->image, "", opts, NULL, NULL, lab, &fr);
		for (size_t i = 0; st == BMEQ_OK && i < n; i++)
			r->roi[i] = lab[i];
		free(lab);
		if (st != BMEQ_OK)
			goto fail;
		r->regions_from = BMEQ_REGIONS_STIR;
		r->regions_from_side[0] = r->regions_from_side[1] = BMEQ_REGIONS_STIR;
	}
	/* A T1 not yet placed (regions given or found on the STIR) is placed
	 * around the regions. */
	if (t1 && !r->t1.placed) {
		double lo[3], hi[3];
		int by_roi = roi_path || (!r->geom[0].found && !r->geom[1].found);
		if (!hips_box(r, &r->image->grid, by_roi ? r->roi : NULL, lo, hi)) {
			st = bmeq_fail(BMEQ_E_PROCESS, "no regions to place the T1 around");
			goto fail;
		}
		if ((st = place_t1(r, t1, lo, hi, opts, &t1_to)) != BMEQ_OK)
			goto fail;
	}
	/* Has the STIR's fat suppression failed over a hip? Its witness, the
	 * subcutaneous fat, lies far outside the regions: read on the T1's own
	 * grid. */
	if (t1 && opts->fatsat_factor > 0.0) {
		double inv[3][4]; /* T1 world -> scan world */
		bmeq_rigid_inverse_matrix(&t1_to, inv);
		if ((st = bmeq_fatsat_witness(r->image, r->roi, t1, (const double(*)[4])inv,
					      opts->fatsat_factor, r->fatsat)) != BMEQ_OK)
			goto fail;
		r->fatsat_checked = 1;
		for (int s = 0; s < 2; s++) {
			if (!r->fatsat[s].failed || !r->geom[s].found)
				continue;
			/* Not measured: normal marrow is as bright as edema there. */
			r->geom[s].fatsat_failed = 1;
			char other[48];
			if (r->fatsat[1 - s].seen)
				snprintf(other, sizeof(other), "the other hip's %.2fx",
					 r->fatsat[1 - s].fat_to_muscle);
			else
				snprintf(other, sizeof(other), "the other hip unseen");
			snprintf(r->geom[s].reason, sizeof(r->geom[s].reason),
				 "fat suppression failed over this hip (subcutaneous fat %.2fx the "
				 "muscle beneath it on the STIR, %s): not measured",
				 r->fatsat[s].fat_to_muscle, other);
		}
	}
	/* Only the gate and the weighting read the T1 on the scan's grid. */
	if (t1 && (opts->edema.t1_gate || opts->edema.t1_weight > 0.0) &&
	    (st = t1_onto_box(r, t1, ref, opts, &t1_to)) != BMEQ_OK)
		goto fail;
	bmeq_volume_destroy(t1);
	t1 = NULL;
	t1s = bmeq_clock_seconds();
	r->seconds[2] = t1s - t0;

	st = bmeq_edema_measure_t1(r->image, r->t1_image, r->t1_lo, r->roi, ref, r->geom,
				   &opts->edema, &r->edema);
	if (st != BMEQ_OK)
		goto fail;
	r->seconds[3] = bmeq_clock_seconds() - t1s;
	if (r->protocol_verdict == BMEQ_PROTOCOL_OTHER &&
	    opts->protocol_check == BMEQ_PROTOCOL_CHECK_WARN)
		for (size_t k = 0; k < r->edema->nregions; k++) {
			char *m = r->edema->regions[k].message;
			size_t len = strlen(m), cap = sizeof(r->edema->regions[k].message);
			snprintf(m + len, cap - len, "%sprotocol: %s", len ? "; " : "", r->protocol_why);
		}
	free(ref);
	*out = r;
	return BMEQ_OK;
fail:
	bmeq_volume_destroy(t1);
	free(ref);
	bmeq_scan_result_destroy(r);
	return st;
}

bmeq_status bmeq_scan_write_maps(const bmeq_scan_result *r, const char *dir, const char *stem)
{
	const bmeq_grid *g = &r->image->grid;
	size_t n = bmeq_grid_nvox(g);
	char path[BMEQ_PATH_MAX], edema_path[BMEQ_PATH_MAX];
	uint16_t maxl = 0;
	bmeq_status st;

	if ((st = bmeq_scan_path(dir, stem, BMEQ_SCAN_ROI, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_scan_path(dir, stem, BMEQ_SCAN_EDEMA, edema_path, sizeof(edema_path))) !=
		    BMEQ_OK)
		return st;
	for (size_t i = 0; i < n; i++)
		maxl = r->roi[i] > maxl ? r->roi[i] : maxl;
	/* uint8 overlays everywhere; uint16 only when a user label needs it. */
	uint8_t *u8 = maxl <= 255 ? malloc(n) : NULL;
	if (u8) {
		for (size_t i = 0; i < n; i++)
			u8[i] = (uint8_t)r->roi[i];
		st = bmeq_nifti_write_labels(path, g, u8, BMEQ_DT_UINT8);
		if (st == BMEQ_OK) {
			for (size_t i = 0; i < n; i++)
				u8[i] = (uint8_t)r->edema->edema_map[i];
			st = bmeq_nifti_write_labels(edema_path, g, u8, BMEQ_DT_UINT8);
		}
		free(u8);
	} else {
		st = bmeq_nifti_write_labels(path, g, r->roi, BMEQ_DT_UINT16);
		if (st == BMEQ_OK) {
			st = bmeq_nifti_write_labels(edema_path, g, r->edema->edema_map,
						     BMEQ_DT_UINT16);
		}
	}
	return st;
}
