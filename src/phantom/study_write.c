/* study_write.c - writing a phantom study: BIDS-like scans, truth label maps,
 * manifest.csv and truth.json. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bmeq/csv.h"
#include "bmeq/nifti_io.h"
#include "bmeq/path.h"
#include "phantom_internal.h"

void bmeq_phantom_study_opts_init(bmeq_phantom_study_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gzip_level = 1;
	o->edema_model = BMEQ_PHANTOM_EDEMA_REALISTIC;
}

/* mkdir -p */
static bmeq_status make_dirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return bmeq_fail(BMEQ_E_ARG, "bad output folder name");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create folder: %s", buf,
					 strerror(errno));
		buf[i] = c;
	}
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return bmeq_fail(BMEQ_E_WRITE, "%s: not a folder", path);
	return BMEQ_OK;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_date(long z, char out[16])
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	long m = mp < 10 ? mp + 3 : mp - 9;

	snprintf(out, 16, "%04d-%02d-%02d", (int)((y + (m <= 2)) % 10000), (int)(m % 100),
		 (int)(d % 100));
}

static const char *dtype_name(int dt)
{
	return dt == BMEQ_DT_INT16 ? "int16" : dt == BMEQ_DT_UINT16 ? "uint16" : "float32";
}

static void side_json(bmeq_ph_json *j, const char *key, const bmeq_phantom_side_truth *t,
		      const bmeq_phantom_hip *h, int side, double W[4][4])
{
	bmeq_ph_hip_frame f;
	double axis[3];

	/* The neck axis in this scan's world frame (rotation only). */
	bmeq_ph_hip_frame_make(h, side, &f);
	for (int r = 0; r < 3; r++)
		axis[r] = W[r][0] * f.neck[0] + W[r][1] * f.neck[1] + W[r][2] * f.neck[2];
	bmeq_ph_json_begin(j, key, '{');
	bmeq_ph_json_num(j, "edema_scale", h->edema_scale, 4);
	bmeq_ph_json_num(j, "head_ml", t->head_ml, 3);
	bmeq_ph_json_num(j, "neck_ml", t->neck_ml, 3);
	bmeq_ph_json_num(j, "edema_head_ml", t->edema_head_ml, 3);
	bmeq_ph_json_num(j, "edema_neck_ml", t->edema_neck_ml, 3);
	bmeq_ph_json_num(j, "edema_ml", t->edema_head_ml + t->edema_neck_ml, 3);
	bmeq_ph_json_num(j, "head_grid_ml", t->head_grid_ml, 3);
	bmeq_ph_json_num(j, "neck_grid_ml", t->neck_grid_ml, 3);
	bmeq_ph_json_num(j, "edema_head_grid_ml", t->edema_head_grid_ml, 3);
	bmeq_ph_json_num(j, "edema_neck_grid_ml", t->edema_neck_grid_ml, 3);
	bmeq_ph_json_int(j, "lesion_count", t->lesion_count);
	bmeq_ph_json_vec(j, "head_centre_ras", t->head_centre_ras, 3, 3);
	bmeq_ph_json_num(j, "head_radius_mm", t->head_radius_mm, 3);
	bmeq_ph_json_vec(j, "neck_axis_ras", axis, 3, 5);
	bmeq_ph_json_num(j, "neck_length_mm", h->neck_length, 3);
	bmeq_ph_json_end(j, '}');
}

static void subject_json(bmeq_ph_json *j, const bmeq_phantom_subject *s, unsigned subject)
{
	char id[16];
	static const char *const side_key[2] = {"right", "left"};

	snprintf(id, sizeof(id), "%02u", subject + 1);
	bmeq_ph_json_begin(j, NULL, '{');
	bmeq_ph_json_str(j, "subject", id);
	bmeq_ph_json_int(j, "age_years", s->age_years);
	for (int side = 0; side < 2; side++) {
		const bmeq_phantom_hip *h = &s->anat.hip[side];
		bmeq_ph_json_begin(j, side_key[side], '{');
		bmeq_ph_json_str(j, "trajectory", bmeq_phantom_trajectory_name(s->trajectory[side]));
		bmeq_ph_json_str(j, "pattern", bmeq_phantom_pattern_name(h->pattern));
		bmeq_ph_json_int(j, "lesions_drawn", h->nlesions);
		bmeq_ph_json_num(j, "effusion_mm", h->effusion_mm, 2);
		if (s->anat.edema_model == BMEQ_PHANTOM_EDEMA_BRIGHT) {
			bmeq_ph_json_num(j, "edema_ratio", h->edema_ratio, 3);
		} else {
			/* What each drawn lesion looks like at full strength. */
			double ratio[BMEQ_PHANTOM_MAX_LESIONS], edge[BMEQ_PHANTOM_MAX_LESIONS];
			size_t nl = h->nlesions < BMEQ_PHANTOM_MAX_LESIONS ? (size_t)h->nlesions
									   : BMEQ_PHANTOM_MAX_LESIONS;
			for (size_t l = 0; l < nl; l++) {
				ratio[l] = h->lesion[l].peak_ratio;
				edge[l] = h->lesion[l].edge_mm;
			}
			bmeq_ph_json_vec(j, "lesion_peak_ratio", ratio, nl, 3);
			bmeq_ph_json_vec(j, "lesion_edge_mm", edge, nl, 2);
			bmeq_ph_json_num(j, "patch_amplitude", h->patch_amp, 3);
			bmeq_ph_json_num(j, "patch_correlation_mm", h->patch_corr_mm, 2);
		}
		bmeq_ph_json_num(j, "head_radius_mm", h->head_radius, 3);
		bmeq_ph_json_vec(j, "head_centre_body_mm", h->head_centre, 3, 3);
		bmeq_ph_json_num(j, "neck_shaft_deg", h->neck_shaft_deg, 2);
		bmeq_ph_json_num(j, "anteversion_deg", h->anteversion_deg, 2);
		bmeq_ph_json_num(j, "neck_length_mm", h->neck_length, 3);
		bmeq_ph_json_vec(j, "neck_radius_mm", h->neck_radius, 2, 3);
		bmeq_ph_json_end(j, '}');
	}
	bmeq_ph_json_end(j, '}');
}

typedef struct scan_paths {
	char rel[256], abs[4096];
	char lab_rel[256], lab_abs[4096];
	char ed_rel[256], ed_abs[4096];
	char t1_rel[256], t1_abs[4096];
	char dir_abs[4096], tdir_abs[4096];
} scan_paths;

static bmeq_status make_paths(const char *dir, unsigned sub, unsigned ses, scan_paths *p)
{
	bmeq_status st;

	char stem[64];

	snprintf(stem, sizeof(stem), "sub-%02u_ses-%02u", sub + 1, ses + 1);
	snprintf(p->rel, sizeof(p->rel), "sub-%02u/ses-%02u/anat/%s_acq-STIR_T2w.nii.gz", sub + 1,
		 ses + 1, stem);
	snprintf(p->t1_rel, sizeof(p->t1_rel), "sub-%02u/ses-%02u/anat/%s_T1w.nii.gz", sub + 1,
		 ses + 1, stem);
	snprintf(p->lab_rel, sizeof(p->lab_rel),
		 "derivatives/truth/sub-%02u/ses-%02u/anat/%s_acq-STIR_desc-hips_dseg.nii.gz",
		 sub + 1, ses + 1, stem);
	snprintf(p->ed_rel, sizeof(p->ed_rel),
		 "derivatives/truth/sub-%02u/ses-%02u/anat/%s_acq-STIR_desc-edema_dseg.nii.gz",
		 sub + 1, ses + 1, stem);
	if ((st = bmeq_path(p->abs, sizeof(p->abs), "%s/%s", dir, p->rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->t1_abs, sizeof(p->t1_abs), "%s/%s", dir, p->t1_rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->lab_abs, sizeof(p->lab_abs), "%s/%s", dir, p->lab_rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->ed_abs, sizeof(p->ed_abs), "%s/%s", dir, p->ed_rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->dir_abs, sizeof(p->dir_abs), "%s/sub-%02u/ses-%02u/anat", dir,
			    sub + 1, ses + 1)) != BMEQ_OK)
		return st;
	return bmeq_path(p->tdir_abs, sizeof(p->tdir_abs),
			 "%s/derivatives/truth/sub-%02u/ses-%02u/anat", dir, sub + 1, ses + 1);
}

/* Writes the image with the acquisition's storage variant; for uint16 the
 * slope and intercept are chosen from the data and recorded in q. */
static bmeq_status write_image(const char *path, const bmeq_volume *v, bmeq_phantom_acq *q,
			       int gzip_level)
{
	bmeq_write_opts o;
	size_t n = bmeq_grid_nvox(&v->grid);

	bmeq_write_opts_init(&o, &v->grid);
	o.datatype = q->datatype;
	o.nifti_version = q->nifti_version;
	o.qform_code = q->qform_code;
	o.sform_code = q->sform_code;
	o.gzip_level = gzip_level;
	if (q->datatype == BMEQ_DT_UINT16) {
		float mx = 0.0f;
		for (size_t i = 0; i < n; i++)
			mx = v->data[i] > mx ? v->data[i] : mx;
		/* A round-ish negative intercept exercises scl_inter too. */
		q->scl_inter = -8.0;
		q->scl_slope = ((double)mx - q->scl_inter) / 60000.0;
		if (!(q->scl_slope > 0.0))
			q->scl_slope = 1.0;
	} else {
		q->scl_slope = 0.0;
		q->scl_inter = 0.0;
	}
	o.scl_slope = q->scl_slope;
	o.scl_inter = q->scl_inter;
	return bmeq_nifti_write(path, &v->grid, v->data, &o);
}

static void scan_json(bmeq_ph_json *j, const scan_paths *sp, const char *t1rel, unsigned sub,
		      unsigned ses, const char *date, const bmeq_phantom_params *p,
		      const bmeq_phantom_scan *sc)
{
	char id[16], orient[4];
	const bmeq_phantom_acq *q = &p->acq;
	const bmeq_grid *g = &sc->image->grid;

	bmeq_grid_orientation(g, orient);
	bmeq_ph_json_begin(j, NULL, '{');
	snprintf(id, sizeof(id), "%02u", sub + 1);
	bmeq_ph_json_str(j, "subject", id);
	snprintf(id, sizeof(id), "%02u", ses + 1);
	bmeq_ph_json_str(j, "session", id);
	bmeq_ph_json_str(j, "date", date);
	bmeq_ph_json_str(j, "path", sp->rel);
	bmeq_ph_json_str(j, "labels", sp->lab_rel);
	bmeq_ph_json_str(j, "edema_labels", sp->ed_rel);
	if (t1rel)
		bmeq_ph_json_str(j, "t1_path", t1rel);
	bmeq_ph_json_begin(j, "acquisition", '{');
	bmeq_ph_json_str(j, "orientation", bmeq_phantom_orient_name(q->orient));
	bmeq_ph_json_str(j, "orientation_code", orient);
	bmeq_ph_json_bool(j, "flip_lr", q->flip_lr);
	bmeq_ph_json_str(j, "datatype", dtype_name(q->datatype));
	bmeq_ph_json_num(j, "scl_slope", q->scl_slope, 9);
	bmeq_ph_json_num(j, "scl_inter", q->scl_inter, 3);
	bmeq_ph_json_int(j, "nifti_version", q->nifti_version);
	bmeq_ph_json_int(j, "qform_code", q->qform_code);
	bmeq_ph_json_int(j, "sform_code", q->sform_code);
	double dims[3] = {(double)g->dim[0], (double)g->dim[1], (double)g->dim[2]};
	bmeq_ph_json_vec(j, "dim", dims, 3, 0);
	bmeq_ph_json_num(j, "inplane_mm", q->inplane_mm, 4);
	bmeq_ph_json_num(j, "thickness_mm", q->thickness_mm, 4);
	bmeq_ph_json_num(j, "gap_mm", q->gap_mm, 4);
	bmeq_ph_json_num(j, "snr", q->snr, 3);
	bmeq_ph_json_num(j, "scanner_scale", q->scanner_scale, 4);
	if (q->orient == BMEQ_PHANTOM_OBLIQUE) {
		bmeq_ph_json_num(j, "oblique_deg", q->oblique_deg, 3);
		bmeq_ph_json_num(j, "oblique_tilt_deg", q->oblique_tilt_deg, 3);
	}
	bmeq_ph_json_end(j, '}');
	bmeq_ph_json_begin(j, "rigid", '{');
	bmeq_ph_json_vec(j, "rotation_deg", q->rotation_deg, 3, 4);
	bmeq_ph_json_vec(j, "translation_mm", q->translation_mm, 3, 4);
	bmeq_ph_json_begin(j, "world_from_body", '[');
	for (int r = 0; r < 4; r++)
		bmeq_ph_json_vec(j, NULL, sc->world_from_body[r], 4, 6);
	bmeq_ph_json_end(j, ']');
	bmeq_ph_json_end(j, '}');
	double W[4][4];
	memcpy(W, sc->world_from_body, sizeof(W));
	side_json(j, "right", &sc->truth[0], &p->anat.hip[0], 0, W);
	side_json(j, "left", &sc->truth[1], &p->anat.hip[1], 1, W);
	bmeq_ph_json_end(j, '}');
}

static bmeq_status write_scan(const char *dir, unsigned sub, unsigned ses, unsigned nses,
			      uint64_t seed, const bmeq_phantom_subject *s, const bmeq_phantom_study_opts *o,
			      const char *date, bmeq_ph_json *j)
{
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL, *t1 = NULL;
	scan_paths *sp = malloc(sizeof(*sp));
	bmeq_status st;

	if (!sp)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	bmeq_phantom_session_params(seed, s, sub, ses, nses, &p);
	st = make_paths(dir, sub, ses, sp);
	if (st == BMEQ_OK)
		st = make_dirs(sp->dir_abs);
	if (st == BMEQ_OK)
		st = make_dirs(sp->tdir_abs);
	if (st == BMEQ_OK)
		st = bmeq_phantom_scan_make(&p, &sc);
	if (st == BMEQ_OK)
		st = write_image(sp->abs, sc->image, &p.acq, o->gzip_level);
	if (st == BMEQ_OK)
		st = bmeq_nifti_write_labels(sp->lab_abs, &sc->image->grid, sc->labels, BMEQ_DT_UINT8);
	if (st == BMEQ_OK)
		st = bmeq_nifti_write_labels(sp->ed_abs, &sc->image->grid, sc->edema, BMEQ_DT_UINT8);
	if (st == BMEQ_OK && o->with_t1) {
		bmeq_phantom_params p1 = p;
		p1.acq.contrast = BMEQ_PHANTOM_T1;
		p1.acq.noise_seed ^= 0x5431ull;
		st = bmeq_phantom_scan_make(&p1, &t1);
		if (st == BMEQ_OK)
			st = write_image(sp->t1_abs, t1->image, &p1.acq, o->gzip_level);
	}
	if (st == BMEQ_OK)
		scan_json(j, sp, o->with_t1 ? sp->t1_rel : NULL, sub, ses, date, &p, sc);
	bmeq_phantom_scan_destroy(sc);
	bmeq_phantom_scan_destroy(t1);
	free(sp);
	return st;
}

bmeq_status bmeq_phantom_study_write(const char *dir, unsigned nsubjects, unsigned nsessions,
				     uint64_t seed, const bmeq_phantom_study_opts *opts)
{
	bmeq_phantom_study_opts o;
	bmeq_phantom_subject *subj = NULL;
	bmeq_csv *csv = NULL;
	bmeq_ph_json j;
	bmeq_status st;
	char path[4096];

	if (opts)
		o = *opts;
	else
		bmeq_phantom_study_opts_init(&o);
	if (nsubjects < 1 || nsubjects > 99 || nsessions < 1 || nsessions > 99)
		return bmeq_fail(BMEQ_E_ARG, "phantom: subjects and sessions must be 1-99");
	if (o.edema_model != BMEQ_PHANTOM_EDEMA_REALISTIC && o.edema_model != BMEQ_PHANTOM_EDEMA_BRIGHT)
		return bmeq_fail(BMEQ_E_ARG, "phantom: unknown edema model %d", o.edema_model);
	/* Every subject's and session's paths are as long as the first's: a
	 * folder whose paths do not fit is refused before anything is written. */
	{
		scan_paths *probe = malloc(sizeof(*probe));
		if (!probe)
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		st = make_paths(dir, 0, 0, probe);
		free(probe);
		if (st != BMEQ_OK)
			return st;
	}
	st = make_dirs(dir);
	if (st != BMEQ_OK)
		return st;
	subj = calloc(nsubjects, sizeof(*subj));
	if (!subj)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	st = bmeq_csv_create(&csv);
	if (st != BMEQ_OK) {
		free(subj);
		return st;
	}
	bmeq_ph_json_init(&j);

	static const char *const cols[] = {"subject", "session", "path", "date", "cycle",
					   "dose_ng_kg_min"};
	st = bmeq_csv_row(csv, cols, 6);

	bmeq_ph_json_begin(&j, NULL, '{');
	bmeq_ph_json_str(&j, "generator", "bmeq phantom");
	bmeq_ph_json_str(&j, "bmeq_version", bmeq_version());
	bmeq_ph_json_u64(&j, "seed", seed);
	bmeq_ph_json_int(&j, "nsubjects", nsubjects);
	bmeq_ph_json_int(&j, "nsessions", nsessions);
	bmeq_ph_json_str(&j, "coordinates",
			 "RAS+ mm (+x = patient's right, so the left hip is at negative x)");
	bmeq_ph_json_begin(&j, "labels", '{');
	bmeq_ph_json_str(&j, "1", "right femoral head");
	bmeq_ph_json_str(&j, "2", "left femoral head");
	bmeq_ph_json_str(&j, "3", "right femoral neck");
	bmeq_ph_json_str(&j, "4", "left femoral neck");
	bmeq_ph_json_end(&j, '}');
	bmeq_ph_json_str(&j, "volume_note",
			 "*_ml: analytic shapes integrated in the body frame; *_grid_ml: truth "
			 "label voxels x voxel volume (slice spacing) on the scan's grid; "
			 "lesion_count: 26-connected components of the side's edema truth map");
	bmeq_ph_json_str(&j, "edema_model", bmeq_phantom_edema_model_name(o.edema_model));
	bmeq_ph_json_str(&j, "edema_note",
			 o.edema_model == BMEQ_PHANTOM_EDEMA_BRIGHT
				 ? "bright: each hip's edema at edema_ratio (2.5-5x normal marrow), "
				   "uniform, its soft edge sampled at voxel centres"
				 : "realistic: each lesion at lesion_peak_ratio (1.4-2.6x normal marrow) "
				   "at full strength, patchy (a smooth texture of SD patch_amplitude "
				   "with a patch_correlation_mm correlation length multiplies the "
				   "strength), falling off across lesion_edge_mm (a raised cosine of the "
				   "lesion's signed distance, half strength on its surface), averaged "
				   "over each voxel's slice");
	bmeq_ph_json_str(&j, "truth_note",
			 "edema truth = the zone where the edema process, before texture and "
			 "noise, is at least half its full strength (what a reader outlines): the "
			 "lesion shapes, identical for both edema models");
	bmeq_ph_json_str(&j, "region_note",
			 "head = the femoral head sphere (cortex included); neck = the neck "
			 "cylinder outside that sphere up to neck_length_mm from the head centre "
			 "along neck_axis_ras (a unit vector from the head towards the shaft); a "
			 "voxel carries a label when at least half of it lies in that side's head "
			 "and neck, and edema labels when at least half of it is edema in marrow");

	bmeq_ph_json_begin(&j, "subjects", '[');
	for (unsigned s = 0; s < nsubjects; s++) {
		bmeq_phantom_subject_make(seed, s, &subj[s]);
		subj[s].anat.edema_model = o.edema_model;
		subject_json(&j, &subj[s], s);
	}
	bmeq_ph_json_end(&j, ']');

	bmeq_ph_json_begin(&j, "scans", '[');
	for (unsigned s = 0; s < nsubjects && st == BMEQ_OK; s++) {
		long day = 19723 + subj[s].baseline_day; /* 2024-01-01 */
		bmeq_ph_rng r;
		bmeq_ph_rng_seed(&r, seed, 5, s);
		for (unsigned k = 0; k < nsessions && st == BMEQ_OK; k++) {
			char date[16], rel[64], sub[8], ses[8];
			if (k > 0)
				day += 28 + (long)(bmeq_ph_rng_uniform(&r) * 15.0);
			civil_date(day, date);
			st = write_scan(dir, s, k, nsessions, seed, &subj[s], &o, date, &j);
			if (st != BMEQ_OK)
				break;
			snprintf(sub, sizeof(sub), "%02u", s + 1);
			snprintf(ses, sizeof(ses), "%02u", k + 1);
			snprintf(rel, sizeof(rel), "sub-%02u/ses-%02u/anat/sub-%02u_ses-%02u_acq-STIR_T2w.nii.gz",
				 s + 1, k + 1, s + 1, k + 1);
			/* Cycles of iloprost received before this visit; 2 then
			 * 1.5 ng/kg/min as in the case that motivated bmeq. */
			double dose = k == 0 ? 0.0 : k == 1 ? 2.0 : 1.5;
			st = bmeq_csv_field(csv, sub);
			if (st == BMEQ_OK) st = bmeq_csv_field(csv, ses);
			if (st == BMEQ_OK) st = bmeq_csv_field(csv, rel);
			if (st == BMEQ_OK) st = bmeq_csv_field(csv, date);
			if (st == BMEQ_OK) st = bmeq_csv_int(csv, (long long)k);
			if (st == BMEQ_OK) st = bmeq_csv_number(csv, dose, 1);
			if (st == BMEQ_OK) st = bmeq_csv_end_row(csv);
		}
	}
	bmeq_ph_json_end(&j, ']');
	bmeq_ph_json_end(&j, '}');

	if (st == BMEQ_OK && j.failed)
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	if (st == BMEQ_OK) {
		size_t len;
		const char *text = bmeq_csv_text(csv, &len);
		if ((st = bmeq_path(path, sizeof(path), "%s/manifest.csv", dir)) == BMEQ_OK)
			st = bmeq_write_file_atomic(path, text, len);
	}
	if (st == BMEQ_OK) {
		if ((st = bmeq_path(path, sizeof(path), "%s/truth.json", dir)) == BMEQ_OK)
			st = bmeq_write_file_atomic(path, j.buf, j.len);
	}
	bmeq_ph_json_free(&j);
	bmeq_csv_destroy(csv);
	free(subj);
	return st;
}
