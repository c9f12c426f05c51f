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

static bmeq_status segment(bmeq_scan_result *r, const bmeq_measure_opts *o)
{
	size_t n = bmeq_grid_nvox(&r->image->grid);
	bmeq_femhead_params fp;
	bmeq_femhead_result fr;
	uint8_t *lab = malloc(n);
	bmeq_status st;

	if (!lab)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	bmeq_femhead_params_init(&fp);
	fp.accept_doubtful = o->measure_doubtful;
	st = bmeq_femhead_segment(r->image, &fp, lab, &fr);
	if (st != BMEQ_OK) {
		free(lab);
		return bmeq_fail(st, "segmentation: %s", bmeq_last_error());
	}
	for (size_t i = 0; i < n; i++)
		r->roi[i] = lab[i];
	free(lab);
	for (int s = 0; s < 2; s++) {
		const bmeq_femhead_side *fs = &fr.side[s];
		r->geom[s].found = fs->found;
		r->geom[s].radius = fs->radius_mm;
		memcpy(r->geom[s].centre, fs->centre, sizeof(r->geom[s].centre));
		snprintf(r->geom[s].reason, sizeof(r->geom[s].reason), "%s", fs->reason);
		r->geom[s].status = bmeq_head_status_hip(fs->status);
		/* A doubtful head measured on request keeps its doubt in the
		 * rows' message: the number must not pass unread into a trial
		 * table. */
		if (fs->found && fs->status != BMEQ_HEAD_FOUND)
			snprintf(r->geom[s].reason, sizeof(r->geom[s].reason),
				 "review: measured on request: %s", fs->reason);
	}
	/* One side missing is a one-sided scan; no hip in view at all is a
	 * failed scan, not two empty measurements. */
	if (fr.side[0].status == BMEQ_HEAD_NOT_IN_VIEW && fr.side[1].status == BMEQ_HEAD_NOT_IN_VIEW)
		return bmeq_fail(BMEQ_E_PROCESS,
				 "no femoral head in view: the field of view lies above or below the "
				 "hips, or the scan shows another anatomy or series; --roi gives the "
				 "regions by hand");
	return BMEQ_OK;
}

bmeq_status bmeq_measure_scan(const char *path, const char *roi_path, const char *reference_path,
			      const bmeq_measure_opts *opts, bmeq_scan_result **out)
{
	bmeq_measure_opts defaults;
	bmeq_read_opts ro;
	bmeq_scan_result *r;
	uint8_t *ref = NULL;
	bmeq_status st;
	double t0 = bmeq_clock_seconds(), t1;

	*out = NULL;
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
	t1 = bmeq_clock_seconds();
	r->seconds[0] = t1 - t0;

	if (opts->bias_correct && !(roi_path && reference_path)) {
		if ((st = bias_correct(r, opts)) != BMEQ_OK)
			goto fail;
	}
	t0 = bmeq_clock_seconds();
	r->seconds[1] = t0 - t1;

	if (!roi_path) {
		if ((st = segment(r, opts)) != BMEQ_OK)
			goto fail;
	} else {
		for (int s = 0; s < 2; s++)
			r->geom[s].found = 1;
	}
	t1 = bmeq_clock_seconds();
	r->seconds[2] = t1 - t0;

	st = bmeq_edema_measure(r->image, r->roi, ref, r->geom, &opts->edema, &r->edema);
	if (st != BMEQ_OK)
		goto fail;
	r->seconds[3] = bmeq_clock_seconds() - t1;
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
