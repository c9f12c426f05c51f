/* tables.c - scans.csv and lesions.csv rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bmeq/measure.h"
#include "bmeq/scan.h"
#include "bmeq/tables.h"

const char *const bmeq_scans_columns[BMEQ_SCANS_NCOLUMNS] = {
	"subject", "session", "side", "status", "region_ml", "edema_ml", "edema_ml_low",
	"edema_ml_high", "edema_fraction", "head_ml", "head_edema_ml", "neck_ml", "neck_edema_ml",
	"lesions", "largest_lesion_ml", "reference_intensity", "threshold", "threshold_rule",
	"threshold_source", "edema_to_reference_ratio", "regions_from", "edema_removed_by_t1_ml",
	"t1_shift_mm", "t1_angle_deg", "fat_suppression", "fat_to_muscle",
	/* The sequence facts (bmeq_protocol), written by protocol_fields. */
	"protocol_source", "fluid_fat_suppressed", "series_description", "scanning_sequence",
	"sequence_variant", "scan_options", "inversion_time_ms", "echo_time_ms",
	"repetition_time_ms", "field_strength_t", "slice_thickness_mm", "slice_spacing_mm",
	"manufacturer", "model",
	"scan", "message",
};

/* Columns from status up to the sequence facts: a scan's results. */
#define RESULT_FIRST 4
#define PROTOCOL_COLUMNS 14
#define PROTOCOL_FIRST (BMEQ_SCANS_NCOLUMNS - 2 - PROTOCOL_COLUMNS)

const char *const bmeq_lesions_columns[BMEQ_LESIONS_NCOLUMNS] = {
	"subject", "session", "side", "region", "lesion", "volume_ml", "centroid_x", "centroid_y",
	"centroid_z", "mean_ratio_to_reference", "depth_mm", "voxels",
};

void bmeq_region_side_text(const bmeq_edema_region *g, char *buf, size_t cap)
{
	if (g->side == BMEQ_SIDE_NONE)
		snprintf(buf, cap, "label-%u", (unsigned)g->label);
	else
		snprintf(buf, cap, "%s", bmeq_side_name(g->side));
}

void bmeq_scan_facts_of(const bmeq_scan_result *r, bmeq_scan_facts *facts)
{
	facts->regions_from = bmeq_regions_source_name(r->regions_from);
	for (int k = 0; k < 2; k++)
		facts->side_regions_from[k] = r->regions_from_side[k] == r->regions_from
						      ? NULL
						      : bmeq_regions_source_name(r->regions_from_side[k]);
	facts->t1_shift_mm = r->t1.registered ? r->t1.shift_mm : NAN;
	facts->t1_angle_deg = r->t1.registered ? r->t1.angle_deg : NAN;
	facts->protocol = &r->protocol;
	for (int k = 0; k < 2; k++) {
		const bmeq_fatsat_side *f = &r->fatsat[k];
		facts->fat_suppression[k] = !r->fatsat_checked ? NULL
					    : !f->seen		? "unseen"
					    : f->failed		? "failed"
								: "ok";
		facts->fat_to_muscle[k] = r->fatsat_checked ? f->fat_to_muscle : NAN;
	}
}

/* The PROTOCOL_COLUMNS sequence facts of p (NULL, or nothing known: empty).
 * Only the elements of bmeq_protocol, none of which identifies a patient. */
static void protocol_fields(bmeq_csv *w, const bmeq_protocol *p)
{
	if (!p || !p->source[0]) {
		for (int c = 0; c < PROTOCOL_COLUMNS; c++)
			bmeq_csv_field(w, "");
		return;
	}
	char why[200];
	bmeq_protocol_verdict v = bmeq_protocol_classify(p, why, sizeof(why));
	bmeq_csv_field(w, p->source);
	bmeq_csv_field(w, v == BMEQ_PROTOCOL_FLUID_FS ? "yes" : v == BMEQ_PROTOCOL_OTHER ? "no" : "");
	bmeq_csv_field(w, p->description);
	bmeq_csv_field(w, p->scanning_sequence);
	bmeq_csv_field(w, p->sequence_variant);
	bmeq_csv_field(w, p->scan_options);
	bmeq_csv_number(w, p->inversion_time_ms, 2);
	bmeq_csv_number(w, p->echo_time_ms, 2);
	bmeq_csv_number(w, p->repetition_time_ms, 2);
	bmeq_csv_number(w, p->field_strength_t, 2);
	bmeq_csv_number(w, p->slice_thickness_mm, 2);
	bmeq_csv_number(w, p->slice_spacing_mm, 2);
	bmeq_csv_field(w, p->manufacturer);
	bmeq_csv_field(w, p->model);
}

const char *bmeq_threshold_source_name(int factor_from_reader)
{
	return factor_from_reader ? "reader" : "auto";
}

static bmeq_status header(bmeq_csv *w, const char *const *cols, size_t n,
			  const bmeq_extra_cols *extras)
{
	bmeq_status st;

	for (size_t i = 0; i < n; i++)
		if ((st = bmeq_csv_field(w, cols[i])) != BMEQ_OK)
			return st;
	for (size_t i = 0; extras && i < extras->n; i++)
		if ((st = bmeq_csv_field(w, extras->names[i])) != BMEQ_OK)
			return st;
	return bmeq_csv_end_row(w);
}

bmeq_status bmeq_scans_header(bmeq_csv *w, const bmeq_extra_cols *extras)
{
	return header(w, bmeq_scans_columns, BMEQ_SCANS_NCOLUMNS, extras);
}

bmeq_status bmeq_lesions_header(bmeq_csv *w, const bmeq_extra_cols *extras)
{
	return header(w, bmeq_lesions_columns, BMEQ_LESIONS_NCOLUMNS, extras);
}

static bmeq_status end_row(bmeq_csv *w, const bmeq_extra_cols *extras)
{
	bmeq_status st;

	for (size_t i = 0; extras && i < extras->n; i++)
		if ((st = bmeq_csv_field(w, extras->values[i])) != BMEQ_OK)
			return st;
	return bmeq_csv_end_row(w);
}

bmeq_status bmeq_scans_rows(bmeq_csv *w, const char *subject, const char *session,
			    const char *scan, const bmeq_edema_result *r,
			    const bmeq_scan_facts *facts, const bmeq_extra_cols *extras)
{
	bmeq_status st = BMEQ_OK;

	for (size_t k = 0; k < r->nregions && st == BMEQ_OK; k++) {
		const bmeq_edema_region *g = &r->regions[k];
		int ok = g->status == BMEQ_HIP_OK;
		double nan = NAN;
		char side[24];
		bmeq_region_side_text(g, side, sizeof(side));
		bmeq_csv_field(w, subject);
		bmeq_csv_field(w, session);
		bmeq_csv_field(w, side);
		bmeq_csv_field(w, bmeq_hip_status_name(g->status));
		bmeq_csv_number(w, ok ? g->region_ml : nan, 3);
		bmeq_csv_number(w, ok ? g->edema_ml : nan, 3);
		bmeq_csv_number(w, ok ? g->edema_ml_low : nan, 3);
		bmeq_csv_number(w, ok ? g->edema_ml_high : nan, 3);
		bmeq_csv_number(w, ok ? g->edema_fraction : nan, 4);
		bmeq_csv_number(w, ok ? g->head_ml : nan, 3);
		bmeq_csv_number(w, ok ? g->head_edema_ml : nan, 3);
		bmeq_csv_number(w, ok ? g->neck_ml : nan, 3);
		bmeq_csv_number(w, ok ? g->neck_edema_ml : nan, 3);
		if (ok)
			bmeq_csv_int(w, (long long)g->lesions);
		else
			bmeq_csv_field(w, "");
		bmeq_csv_number(w, ok ? g->largest_lesion_ml : nan, 3);
		bmeq_csv_number(w, r->reference_intensity, 3);
		bmeq_csv_number(w, r->threshold, 3);
		bmeq_csv_field(w, r->rule_text);
		bmeq_csv_field(w, bmeq_threshold_source_name(r->factor_from_reader));
		bmeq_csv_number(w, ok ? g->edema_to_reference_ratio : nan, 4);
		const char *from = facts ? facts->regions_from : NULL;
		if (facts && (g->side == BMEQ_SIDE_RIGHT || g->side == BMEQ_SIDE_LEFT) &&
		    facts->side_regions_from[g->side])
			from = facts->side_regions_from[g->side];
		bmeq_csv_field(w, from ? from : "");
		bmeq_csv_number(w, ok ? g->edema_removed_by_t1_ml : nan, 3);
		bmeq_csv_number(w, facts ? facts->t1_shift_mm : nan, 2);
		bmeq_csv_number(w, facts ? facts->t1_angle_deg : nan, 2);
		int sd = g->side == BMEQ_SIDE_RIGHT || g->side == BMEQ_SIDE_LEFT ? (int)g->side : -1;
		const char *fs = facts && sd >= 0 ? facts->fat_suppression[sd] : NULL;
		bmeq_csv_field(w, fs ? fs : "");
		bmeq_csv_number(w, facts && sd >= 0 ? facts->fat_to_muscle[sd] : nan, 3);
		protocol_fields(w, facts ? facts->protocol : NULL);
		bmeq_csv_field(w, scan);
		st = bmeq_csv_field(w, g->message);
		if (st == BMEQ_OK)
			st = end_row(w, extras);
	}
	return st;
}

bmeq_status bmeq_scans_error_rows(bmeq_csv *w, const char *subject, const char *session,
				  const char *scan, const char *message,
				  const bmeq_protocol *protocol, const bmeq_extra_cols *extras)
{
	bmeq_status st = BMEQ_OK;

	for (int s = 0; s < BMEQ_NSIDES && st == BMEQ_OK; s++) {
		bmeq_csv_field(w, subject);
		bmeq_csv_field(w, session);
		bmeq_csv_field(w, bmeq_side_name((bmeq_side)s));
		bmeq_csv_field(w, bmeq_hip_status_name(BMEQ_HIP_ERROR));
		/* Everything between status and the sequence facts is a result
		 * of the scan. */
		for (int c = RESULT_FIRST; c < PROTOCOL_FIRST; c++)
			bmeq_csv_field(w, "");
		protocol_fields(w, protocol);
		bmeq_csv_field(w, scan);
		st = bmeq_csv_field(w, message);
		if (st == BMEQ_OK)
			st = end_row(w, extras);
	}
	return st;
}

bmeq_status bmeq_lesions_rows(bmeq_csv *w, const char *subject, const char *session,
			      const bmeq_edema_result *r, const bmeq_extra_cols *extras)
{
	bmeq_status st = BMEQ_OK;
	size_t per_region = 0;
	int last = -1;

	for (size_t k = 0; k < r->nlesions && st == BMEQ_OK; k++) {
		const bmeq_lesion *l = &r->lesions[k];
		if (l->region_index != last) {
			per_region = 0;
			last = l->region_index;
		}
		per_region++;
		char side[24];
		bmeq_region_side_text(&r->regions[l->region_index], side, sizeof(side));
		bmeq_csv_field(w, subject);
		bmeq_csv_field(w, session);
		bmeq_csv_field(w, side);
		bmeq_csv_field(w, bmeq_part_name(l->part));
		bmeq_csv_int(w, (long long)per_region);
		bmeq_csv_number(w, l->volume_ml, 3);
		for (int c = 0; c < 3; c++)
			bmeq_csv_number(w, l->centroid[c], 2);
		bmeq_csv_number(w, l->mean_ratio, 4);
		bmeq_csv_number(w, l->depth_mm, 2);
		st = bmeq_csv_int(w, (long long)l->voxels);
		if (st == BMEQ_OK)
			st = end_row(w, extras);
	}
	return st;
}

/* Copies the BIDS entity key and value ("sub-01", "ses-2": the label as the
 * file name writes it, prefix included) up to the next '_', '.' or '/' in the
 * file name part of path. */
static int bids_entity(const char *name, const char *key, char *out, size_t cap)
{
	const char *p = name;
	size_t klen = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if (p == name || p[-1] == '_') {
			size_t n = strcspn(p + klen, "_./");
			if (n == 0 || klen + n >= cap)
				return 0;
			n += klen;
			memcpy(out, p, n);
			out[n] = '\0';
			return 1;
		}
		p += klen;
	}
	return 0;
}

void bmeq_ids_from_path(const char *path, char *subject, char *session, size_t cap)
{
	/* A DICOM folder ("dir/", "dir#series") is named by the folder. */
	char buf[4096], dir[4096];
	const char *sel;
	if (bmeq_scan_split(path, dir, sizeof(dir), &sel))
		path = dir;
	snprintf(buf, sizeof(buf), "%s", path);
	for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
		buf[n - 1] = '\0';
	const char *base = strrchr(buf, '/');

	base = base ? base + 1 : buf;
	subject[0] = session[0] = '\0';
	if (cap == 0)
		return;
	if (!bids_entity(base, "sub-", subject, cap)) {
		snprintf(subject, cap, "%s", base);
		char *dot = strstr(subject, ".nii");
		if (!dot)
			dot = strstr(subject, ".hdr");
		if (dot)
			*dot = '\0';
	}
	if (!bids_entity(base, "ses-", session, cap))
		session[0] = '\0';
}
