/* study_write.c - writing a phantom study: BIDS-like scans, truth label maps,
 * manifest.csv and truth.json. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bmeq/csv.h"
#include "bmeq/json.h"
#include "bmeq/nifti_io.h"
#include "bmeq/path.h"
#include "phantom_internal.h"

void bmeq_phantom_study_opts_init(bmeq_phantom_study_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gzip_level = 1;
	o->edema_model = BMEQ_PHANTOM_EDEMA_REALISTIC;
	o->tissue_model = BMEQ_PHANTOM_TISSUE_CLASSIC;
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

static json_t *side_json(const bmeq_phantom_side_truth *t, const bmeq_phantom_hip *h, int side,
			 double W[4][4], int *ok)
{
	bmeq_ph_hip_frame f;
	double axis[3];
	json_t *j = json_object();

	/* The neck axis in this scan's world frame (rotation only). */
	bmeq_ph_hip_frame_make(h, side, &f);
	for (int r = 0; r < 3; r++)
		axis[r] = W[r][0] * f.neck[0] + W[r][1] * f.neck[1] + W[r][2] * f.neck[2];
	bmeq_json_put(j, "edema_scale", bmeq_json_fixed(h->edema_scale, 4), ok);
	bmeq_json_put(j, "head_ml", bmeq_json_fixed(t->head_ml, 3), ok);
	bmeq_json_put(j, "neck_ml", bmeq_json_fixed(t->neck_ml, 3), ok);
	bmeq_json_put(j, "edema_head_ml", bmeq_json_fixed(t->edema_head_ml, 3), ok);
	bmeq_json_put(j, "edema_neck_ml", bmeq_json_fixed(t->edema_neck_ml, 3), ok);
	bmeq_json_put(j, "edema_ml", bmeq_json_fixed(t->edema_head_ml + t->edema_neck_ml, 3), ok);
	bmeq_json_put(j, "head_grid_ml", bmeq_json_fixed(t->head_grid_ml, 3), ok);
	bmeq_json_put(j, "neck_grid_ml", bmeq_json_fixed(t->neck_grid_ml, 3), ok);
	bmeq_json_put(j, "edema_head_grid_ml", bmeq_json_fixed(t->edema_head_grid_ml, 3), ok);
	bmeq_json_put(j, "edema_neck_grid_ml", bmeq_json_fixed(t->edema_neck_grid_ml, 3), ok);
	bmeq_json_put(j, "lesion_count", json_integer(t->lesion_count), ok);
	bmeq_json_put(j, "head_centre_ras", bmeq_json_fixed_array(t->head_centre_ras, 3, 3), ok);
	bmeq_json_put(j, "head_radius_mm", bmeq_json_fixed(t->head_radius_mm, 3), ok);
	bmeq_json_put(j, "neck_axis_ras", bmeq_json_fixed_array(axis, 3, 5), ok);
	bmeq_json_put(j, "neck_length_mm", bmeq_json_fixed(h->neck_length, 3), ok);
	return j;
}

static json_t *subject_json(const bmeq_phantom_subject *s, unsigned subject, int *ok)
{
	char id[16];
	static const char *const side_key[2] = {"right", "left"};
	json_t *j = json_object();

	snprintf(id, sizeof(id), "%02u", subject + 1);
	bmeq_json_put(j, "subject", bmeq_json_str(id), ok);
	bmeq_json_put(j, "age_years", json_integer(s->age_years), ok);
	for (int side = 0; side < 2; side++) {
		const bmeq_phantom_hip *h = &s->anat.hip[side];
		/* Added where its key belongs and filled after: the document keeps
		 * its own reference, so hj stays valid whatever happens to j. */
		json_t *hj = json_object();
		bmeq_json_put(j, side_key[side], json_incref(hj), ok);
		bmeq_json_put(hj, "trajectory",
			      bmeq_json_str(bmeq_phantom_trajectory_name(s->trajectory[side])), ok);
		bmeq_json_put(hj, "pattern", bmeq_json_str(bmeq_phantom_pattern_name(h->pattern)), ok);
		bmeq_json_put(hj, "lesions_drawn", json_integer(h->nlesions), ok);
		bmeq_json_put(hj, "effusion_mm", bmeq_json_fixed(h->effusion_mm, 2), ok);
		if (s->anat.edema_model == BMEQ_PHANTOM_EDEMA_BRIGHT) {
			bmeq_json_put(hj, "edema_ratio", bmeq_json_fixed(h->edema_ratio, 3), ok);
		} else {
			/* What each drawn lesion looks like at full strength. */
			double ratio[BMEQ_PHANTOM_MAX_LESIONS], edge[BMEQ_PHANTOM_MAX_LESIONS];
			size_t nl = h->nlesions < BMEQ_PHANTOM_MAX_LESIONS ? (size_t)h->nlesions
									   : BMEQ_PHANTOM_MAX_LESIONS;
			for (size_t l = 0; l < nl; l++) {
				ratio[l] = h->lesion[l].peak_ratio;
				edge[l] = h->lesion[l].edge_mm;
			}
			bmeq_json_put(hj, "lesion_peak_ratio", bmeq_json_fixed_array(ratio, nl, 3), ok);
			bmeq_json_put(hj, "lesion_edge_mm", bmeq_json_fixed_array(edge, nl, 2), ok);
			bmeq_json_put(hj, "patch_amplitude", bmeq_json_fixed(h->patch_amp, 3), ok);
			bmeq_json_put(hj, "patch_correlation_mm", bmeq_json_fixed(h->patch_corr_mm, 2), ok);
		}
		bmeq_json_put(hj, "head_radius_mm", bmeq_json_fixed(h->head_radius, 3), ok);
		bmeq_json_put(hj, "head_centre_body_mm", bmeq_json_fixed_array(h->head_centre, 3, 3), ok);
		bmeq_json_put(hj, "neck_shaft_deg", bmeq_json_fixed(h->neck_shaft_deg, 2), ok);
		bmeq_json_put(hj, "anteversion_deg", bmeq_json_fixed(h->anteversion_deg, 2), ok);
		bmeq_json_put(hj, "neck_length_mm", bmeq_json_fixed(h->neck_length, 3), ok);
		bmeq_json_put(hj, "neck_radius_mm", bmeq_json_fixed_array(h->neck_radius, 2, 3), ok);
		json_decref(hj);
	}
	return j;
}

typedef struct scan_paths {
	char rel[256], abs[4096];
	char lab_rel[256], lab_abs[4096];
	char ed_rel[256], ed_abs[4096];
	char t1_rel[256], t1_abs[4096];
	char t1lab_rel[256], t1lab_abs[4096];
	char t1ed_rel[256], t1ed_abs[4096];
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
	snprintf(p->t1lab_rel, sizeof(p->t1lab_rel),
		 "derivatives/truth/sub-%02u/ses-%02u/anat/%s_space-T1w_desc-hips_dseg.nii.gz",
		 sub + 1, ses + 1, stem);
	snprintf(p->t1ed_rel, sizeof(p->t1ed_rel),
		 "derivatives/truth/sub-%02u/ses-%02u/anat/%s_space-T1w_desc-edema_dseg.nii.gz",
		 sub + 1, ses + 1, stem);
	if ((st = bmeq_path(p->abs, sizeof(p->abs), "%s/%s", dir, p->rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->t1_abs, sizeof(p->t1_abs), "%s/%s", dir, p->t1_rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->lab_abs, sizeof(p->lab_abs), "%s/%s", dir, p->lab_rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->ed_abs, sizeof(p->ed_abs), "%s/%s", dir, p->ed_rel)) != BMEQ_OK ||
	    (st = bmeq_path(p->t1lab_abs, sizeof(p->t1lab_abs), "%s/%s", dir, p->t1lab_rel)) !=
		    BMEQ_OK ||
	    (st = bmeq_path(p->t1ed_abs, sizeof(p->t1ed_abs), "%s/%s", dir, p->t1ed_rel)) !=
		    BMEQ_OK ||
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

/* The acquisition and the body -> world transform of scan sc (made with q)
 * into j, as "acquisition" and "rigid". */
static void acq_json(json_t *j, const bmeq_phantom_acq *q, const bmeq_phantom_scan *sc, int *ok)
{
	char orient[4];
	const bmeq_grid *g = &sc->image->grid;
	json_t *acq = json_object(), *rigid = json_object(), *wfb = json_array();

	bmeq_grid_orientation(g, orient);
	/* Containers are added where their key belongs and filled after, with
	 * a reference of their own here (see subject_json). */
	bmeq_json_put(j, "acquisition", json_incref(acq), ok);
	bmeq_json_put(acq, "orientation", bmeq_json_str(bmeq_phantom_orient_name(q->orient)), ok);
	bmeq_json_put(acq, "orientation_code", bmeq_json_str(orient), ok);
	bmeq_json_put(acq, "flip_lr", json_boolean(q->flip_lr), ok);
	bmeq_json_put(acq, "datatype", bmeq_json_str(dtype_name(q->datatype)), ok);
	bmeq_json_put(acq, "scl_slope", bmeq_json_fixed(q->scl_slope, 9), ok);
	bmeq_json_put(acq, "scl_inter", bmeq_json_fixed(q->scl_inter, 3), ok);
	bmeq_json_put(acq, "nifti_version", json_integer(q->nifti_version), ok);
	bmeq_json_put(acq, "qform_code", json_integer(q->qform_code), ok);
	bmeq_json_put(acq, "sform_code", json_integer(q->sform_code), ok);
	double dims[3] = {(double)g->dim[0], (double)g->dim[1], (double)g->dim[2]};
	bmeq_json_put(acq, "dim", bmeq_json_fixed_array(dims, 3, 0), ok);
	bmeq_json_put(acq, "inplane_mm", bmeq_json_fixed(q->inplane_mm, 4), ok);
	bmeq_json_put(acq, "thickness_mm", bmeq_json_fixed(q->thickness_mm, 4), ok);
	bmeq_json_put(acq, "gap_mm", bmeq_json_fixed(q->gap_mm, 4), ok);
	bmeq_json_put(acq, "snr", bmeq_json_fixed(q->snr, 3), ok);
	bmeq_json_put(acq, "scanner_scale", bmeq_json_fixed(q->scanner_scale, 4), ok);
	if (q->orient == BMEQ_PHANTOM_OBLIQUE) {
		bmeq_json_put(acq, "oblique_deg", bmeq_json_fixed(q->oblique_deg, 3), ok);
		bmeq_json_put(acq, "oblique_tilt_deg", bmeq_json_fixed(q->oblique_tilt_deg, 3), ok);
	}
	bmeq_json_put(j, "rigid", json_incref(rigid), ok);
	bmeq_json_put(rigid, "rotation_deg", bmeq_json_fixed_array(q->rotation_deg, 3, 4), ok);
	bmeq_json_put(rigid, "translation_mm", bmeq_json_fixed_array(q->translation_mm, 3, 4), ok);
	bmeq_json_put(rigid, "world_from_body", json_incref(wfb), ok);
	for (int r = 0; r < 4; r++)
		bmeq_json_push(wfb, bmeq_json_fixed_array(sc->world_from_body[r], 4, 6), ok);
	json_decref(acq);
	json_decref(rigid);
	json_decref(wfb);
}

/* The fat-suppression failure of a STIR: where it lies and how much of each
 * femoral head it covers. */
static json_t *fatsat_json(const bmeq_phantom_params *p, const bmeq_phantom_scan *sc, int *ok)
{
	const bmeq_phantom_fatsat *f = &p->acq.fatsat;
	const bmeq_grid *g = &sc->image->grid;
	static const char *const side_key[2] = {"right", "left"};
	json_t *j = json_object();
	double inward[3];

	/* The unit vector of axis i pointing from the failure's edge into the field. */
	for (int r = 0; r < 3; r++)
		inward[r] = -(double)f->edge * g->affine[r][0] / g->spacing[0];
	bmeq_json_put(j, "edge", bmeq_json_str(inward[0] < 0.0 ? "right" : "left"), ok);
	bmeq_json_put(j, "edge_voxel", bmeq_json_str(f->edge < 0 ? "i=0" : "i=last"), ok);
	bmeq_json_put(j, "inward_ras", bmeq_json_fixed_array(inward, 3, 5), ok);
	bmeq_json_put(j, "half_mm", bmeq_json_fixed(f->half_mm, 3), ok);
	bmeq_json_put(j, "ramp_mm", bmeq_json_fixed(f->ramp_mm, 3), ok);
	bmeq_json_put(j, "full_to_mm", bmeq_json_fixed(f->half_mm - 0.5 * f->ramp_mm, 3), ok);
	bmeq_json_put(j, "none_from_mm", bmeq_json_fixed(f->half_mm + 0.5 * f->ramp_mm, 3), ok);
	bmeq_json_put(j, "strength", bmeq_json_fixed(f->strength, 4), ok);
	for (int s = 0; s < 2; s++) {
		const bmeq_phantom_side_truth *t = &sc->truth[s];
		json_t *sj = json_object();
		size_t in = 0, half = 0;
		/* The share of the head's ball at half the failure's level or more,
		 * on a 16^3 lattice over its bounding cube. */
		for (int a = 0; a < 16; a++)
			for (int b = 0; b < 16; b++)
				for (int c = 0; c < 16; c++) {
					double u[3] = {(a + 0.5) / 8.0 - 1.0, (b + 0.5) / 8.0 - 1.0,
						       (c + 0.5) / 8.0 - 1.0}, w[3];
					if (u[0] * u[0] + u[1] * u[1] + u[2] * u[2] > 1.0)
						continue;
					for (int r = 0; r < 3; r++)
						w[r] = t->head_centre_ras[r] + u[r] * t->head_radius_mm;
					in++;
					half += bmeq_phantom_fatsat_level(f, g, w) >= 0.5 * f->strength;
				}
		bmeq_json_put(j, side_key[s], json_incref(sj), ok);
		bmeq_json_put(sj, "level_at_head_centre",
			      bmeq_json_fixed(bmeq_phantom_fatsat_level(f, g, t->head_centre_ras), 4), ok);
		bmeq_json_put(sj, "head_fraction_at_half_level",
			      bmeq_json_fixed(in ? (double)half / (double)in : 0.0, 3), ok);
		json_decref(sj);
	}
	return j;
}

/* The T1 twin: its files, acquisition, rigid transform, the motion from the
 * STIR (T1 world from STIR world) and its truth per side in its own world. */
static json_t *t1_json(const scan_paths *sp, const bmeq_phantom_params *p1,
		       const bmeq_phantom_scan *t1, const bmeq_phantom_scan *sc, int *ok)
{
	json_t *j = json_object(), *mo = json_object(), *mat = json_array();
	double M[4][4], Wi[4][4], shift[2];
	const double (*Ws)[4] = sc->world_from_body, (*Wt)[4] = t1->world_from_body;

	bmeq_json_put(j, "path", bmeq_json_str(sp->t1_rel), ok);
	bmeq_json_put(j, "labels", bmeq_json_str(sp->t1lab_rel), ok);
	bmeq_json_put(j, "edema_labels", bmeq_json_str(sp->t1ed_rel), ok);
	acq_json(j, &p1->acq, t1, ok);
	/* M = Wt inv(Ws); inv of a rigid [R t] is [R^T, -R^T t]. */
	memset(Wi, 0, sizeof(Wi));
	for (int r = 0; r < 3; r++) {
		for (int c = 0; c < 3; c++)
			Wi[r][c] = Ws[c][r];
		for (int c = 0; c < 3; c++)
			Wi[r][3] -= Ws[c][r] * Ws[c][3];
	}
	Wi[3][3] = 1.0;
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++) {
			M[r][c] = 0.0;
			for (int k = 0; k < 4; k++)
				M[r][c] += Wt[r][k] * Wi[k][c];
		}
	double tr = M[0][0] + M[1][1] + M[2][2], ca = 0.5 * (tr - 1.0);
	ca = ca > 1.0 ? 1.0 : ca < -1.0 ? -1.0 : ca;
	for (int s = 0; s < 2; s++) {
		double d2 = 0.0;
		for (int r = 0; r < 3; r++) {
			double e = t1->truth[s].head_centre_ras[r] - sc->truth[s].head_centre_ras[r];
			d2 += e * e;
		}
		shift[s] = sqrt(d2);
	}
	bmeq_json_put(j, "motion_from_stir", json_incref(mo), ok);
	bmeq_json_put(mo, "t1_world_from_stir_world", json_incref(mat), ok);
	for (int r = 0; r < 4; r++)
		bmeq_json_push(mat, bmeq_json_fixed_array(M[r], 4, 6), ok);
	bmeq_json_put(mo, "rotation_deg", bmeq_json_fixed(acos(ca) * 180.0 / 3.14159265358979323846, 3),
		      ok);
	bmeq_json_put(mo, "head_shift_mm", bmeq_json_fixed_array(shift, 2, 3), ok);
	double W[4][4];
	memcpy(W, t1->world_from_body, sizeof(W));
	bmeq_json_put(j, "right", side_json(&t1->truth[0], &p1->anat.hip[0], 0, W, ok), ok);
	bmeq_json_put(j, "left", side_json(&t1->truth[1], &p1->anat.hip[1], 1, W, ok), ok);
	json_decref(mo);
	json_decref(mat);
	return j;
}

static json_t *scan_json(const scan_paths *sp, unsigned sub, unsigned ses, const char *date,
			 const bmeq_phantom_params *p, const bmeq_phantom_scan *sc,
			 const bmeq_phantom_params *p1, const bmeq_phantom_scan *t1, int *ok)
{
	char id[16];
	json_t *j = json_object();

	snprintf(id, sizeof(id), "%02u", sub + 1);
	bmeq_json_put(j, "subject", bmeq_json_str(id), ok);
	snprintf(id, sizeof(id), "%02u", ses + 1);
	bmeq_json_put(j, "session", bmeq_json_str(id), ok);
	bmeq_json_put(j, "date", bmeq_json_str(date), ok);
	bmeq_json_put(j, "path", bmeq_json_str(sp->rel), ok);
	bmeq_json_put(j, "labels", bmeq_json_str(sp->lab_rel), ok);
	bmeq_json_put(j, "edema_labels", bmeq_json_str(sp->ed_rel), ok);
	if (t1)
		bmeq_json_put(j, "t1_path", bmeq_json_str(sp->t1_rel), ok);
	acq_json(j, &p->acq, sc, ok);
	double W[4][4];
	memcpy(W, sc->world_from_body, sizeof(W));
	bmeq_json_put(j, "right", side_json(&sc->truth[0], &p->anat.hip[0], 0, W, ok), ok);
	bmeq_json_put(j, "left", side_json(&sc->truth[1], &p->anat.hip[1], 1, W, ok), ok);
	if (p->acq.fatsat.edge != 0)
		bmeq_json_put(j, "fatsat_failure", fatsat_json(p, sc, ok), ok);
	if (t1)
		bmeq_json_put(j, "t1", t1_json(sp, p1, t1, sc, ok), ok);
	return j;
}

static bmeq_status write_scan(const char *dir, unsigned sub, unsigned ses, unsigned nses,
			      uint64_t seed, const bmeq_phantom_subject *s, const bmeq_phantom_study_opts *o,
			      const char *date, json_t *scans, int *ok)
{
	bmeq_phantom_params p, p1;
	bmeq_phantom_scan *sc = NULL, *t1 = NULL;
	scan_paths *sp = malloc(sizeof(*sp));
	bmeq_status st;

	if (!sp)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	bmeq_phantom_session_params(seed, s, sub, ses, nses, &p);
	if (o->fatsat_failure)
		bmeq_phantom_fatsat_params(seed, sub, ses, &p);
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
		/* The visit's T1 on a grid of its own, after the patient moved. */
		bmeq_phantom_t1_params(seed, sub, ses, nses, &p, &p1);
		st = bmeq_phantom_scan_make(&p1, &t1);
		if (st == BMEQ_OK)
			st = write_image(sp->t1_abs, t1->image, &p1.acq, o->gzip_level);
		if (st == BMEQ_OK)
			st = bmeq_nifti_write_labels(sp->t1lab_abs, &t1->image->grid, t1->labels,
						     BMEQ_DT_UINT8);
		if (st == BMEQ_OK)
			st = bmeq_nifti_write_labels(sp->t1ed_abs, &t1->image->grid, t1->edema,
						     BMEQ_DT_UINT8);
	}
	if (st == BMEQ_OK)
		bmeq_json_push(scans, scan_json(sp, sub, ses, date, &p, sc, &p1, t1, ok), ok);
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
	json_t *j = NULL, *subjects = NULL, *scans = NULL, *labels = NULL;
	int okv = 1, *ok = &okv;
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
	if (o.tissue_model != BMEQ_PHANTOM_TISSUE_REAL && o.tissue_model != BMEQ_PHANTOM_TISSUE_CLASSIC)
		return bmeq_fail(BMEQ_E_ARG, "phantom: unknown tissue model %d", o.tissue_model);
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
	j = json_object();
	subjects = json_array();
	scans = json_array();
	labels = json_object();

	/* With twins, `t1` follows `path` (relative to the manifest, like it). */
	static const char *const cols[] = {"subject", "session", "path", "date", "cycle",
					   "dose_ng_kg_min"};
	static const char *const cols_t1[] = {"subject", "session", "path", "t1", "date", "cycle",
					      "dose_ng_kg_min"};
	st = o.with_t1 ? bmeq_csv_row(csv, cols_t1, 7) : bmeq_csv_row(csv, cols, 6);

	bmeq_json_put(j, "generator", bmeq_json_str("bmeq phantom"), ok);
	bmeq_json_put(j, "bmeq_version", bmeq_json_str(bmeq_version()), ok);
	/* jansson's integers are signed 64-bit: a seed beyond them is written
	 * as its decimal digits in a string. */
	if (seed <= (uint64_t)LLONG_MAX) {
		bmeq_json_put(j, "seed", json_integer((json_int_t)seed), ok);
	} else {
		char digits[32];
		snprintf(digits, sizeof(digits), "%llu", (unsigned long long)seed);
		bmeq_json_put(j, "seed", bmeq_json_str(digits), ok);
	}
	bmeq_json_put(j, "nsubjects", json_integer(nsubjects), ok);
	bmeq_json_put(j, "nsessions", json_integer(nsessions), ok);
	bmeq_json_put(j, "coordinates",
		      bmeq_json_str("RAS+ mm (+x = patient's right, so the left hip is at negative x)"),
		      ok);
	/* Containers keep a reference of their own here until the end. */
	bmeq_json_put(j, "labels", json_incref(labels), ok);
	bmeq_json_put(labels, "1", bmeq_json_str("right femoral head"), ok);
	bmeq_json_put(labels, "2", bmeq_json_str("left femoral head"), ok);
	bmeq_json_put(labels, "3", bmeq_json_str("right femoral neck"), ok);
	bmeq_json_put(labels, "4", bmeq_json_str("left femoral neck"), ok);
	bmeq_json_put(j, "volume_note",
		      bmeq_json_str("*_ml: analytic shapes integrated in the body frame; *_grid_ml: "
				    "truth label voxels x voxel volume (slice spacing) on the scan's "
				    "grid; lesion_count: 26-connected components of the side's edema "
				    "truth map"),
		      ok);
	bmeq_json_put(j, "edema_model", bmeq_json_str(bmeq_phantom_edema_model_name(o.edema_model)), ok);
	bmeq_json_put(j, "tissue_model", bmeq_json_str(bmeq_phantom_tissue_model_name(o.tissue_model)), ok);
	bmeq_json_put(j, "edema_note",
		      bmeq_json_str(o.edema_model == BMEQ_PHANTOM_EDEMA_BRIGHT
				 ? "bright: each hip's edema at edema_ratio (2.5-5x normal marrow), "
				   "uniform, its soft edge sampled at voxel centres"
				 : "realistic: each lesion at lesion_peak_ratio (1.4-2.6x normal marrow) "
				   "at full strength, patchy (a smooth texture of SD patch_amplitude "
				   "with a patch_correlation_mm correlation length multiplies the "
				   "strength), falling off across lesion_edge_mm (a raised cosine of the "
				   "lesion's signed distance, half strength on its surface), averaged "
				   "over each voxel's slice"), ok);
	bmeq_json_put(j, "truth_note",
		      bmeq_json_str("edema truth = the zone where the edema process, before texture "
				    "and noise, is at least half its full strength (what a reader "
				    "outlines): the lesion shapes, identical for both edema models"),
		      ok);
	bmeq_json_put(j, "region_note",
		      bmeq_json_str("head = the femoral head sphere (cortex included); neck = the neck "
				    "cylinder outside that sphere up to neck_length_mm from the head centre "
				    "along neck_axis_ras (a unit vector from the head towards the shaft); a "
				    "voxel carries a label when at least half of it lies in that side's head "
				    "and neck, and edema labels when at least half of it is edema in marrow"),
		      ok);

	if (o.with_t1)
		bmeq_json_put(j, "t1_note",
			      bmeq_json_str("t1: each session's T1-weighted twin (same anatomy and edema, "
					    "T1 contrast: fatty marrow bright, edema, fluid and cortex "
					    "dark) on a grid of its own, after the patient moved between "
					    "the series (motion_from_stir: T1 world from STIR world); its "
					    "truth maps (space-T1w) and per-side truth are on its grid and "
					    "in its world"),
			      ok);
	if (o.fatsat_failure)
		bmeq_json_put(j, "fatsat_note",
			      bmeq_json_str("fatsat_failure: the STIR's fat suppression failed over a "
					    "band from one edge of the field of view (edge: the patient's "
					    "side; inward_ras: into the field); its level is strength x a "
					    "raised cosine of the distance from that edge: full up to "
					    "full_to_mm, half at half_mm, none from none_from_mm. Fat and "
					    "marrow are bright there on the STIR only; it is not edema and "
					    "not in the truth maps"),
			      ok);

	bmeq_json_put(j, "subjects", json_incref(subjects), ok);
	for (unsigned s = 0; s < nsubjects; s++) {
		bmeq_phantom_subject_make(seed, s, &subj[s]);
		subj[s].anat.edema_model = o.edema_model;
		subj[s].anat.tissue_model = o.tissue_model;
		bmeq_json_push(subjects, subject_json(&subj[s], s, ok), ok);
	}
	bmeq_json_put(j, "scans", json_incref(scans), ok);
	for (unsigned s = 0; s < nsubjects && st == BMEQ_OK; s++) {
		long day = 19723 + subj[s].baseline_day; /* 2024-01-01 */
		bmeq_ph_rng r;
		bmeq_ph_rng_seed(&r, seed, 5, s);
		for (unsigned k = 0; k < nsessions && st == BMEQ_OK; k++) {
			char date[16], rel[96], t1rel[96], sub[12], ses[12];
			if (k > 0)
				day += 28 + (long)(bmeq_ph_rng_uniform(&r) * 15.0);
			civil_date(day, date);
			st = write_scan(dir, s, k, nsessions, seed, &subj[s], &o, date, scans, ok);
			if (st != BMEQ_OK)
				break;
			snprintf(sub, sizeof(sub), "%02u", s + 1);
			snprintf(ses, sizeof(ses), "%02u", k + 1);
			snprintf(rel, sizeof(rel), "sub-%02u/ses-%02u/anat/sub-%02u_ses-%02u_acq-STIR_T2w.nii.gz",
				 s + 1, k + 1, s + 1, k + 1);
			snprintf(t1rel, sizeof(t1rel), "sub-%02u/ses-%02u/anat/sub-%02u_ses-%02u_T1w.nii.gz",
				 s + 1, k + 1, s + 1, k + 1);
			/* Cycles of iloprost received before this visit; 2 then
			 * 1.5 ng/kg/min as in the case that motivated bmeq. */
			double dose = k == 0 ? 0.0 : k == 1 ? 2.0 : 1.5;
			st = bmeq_csv_field(csv, sub);
			if (st == BMEQ_OK) st = bmeq_csv_field(csv, ses);
			if (st == BMEQ_OK) st = bmeq_csv_field(csv, rel);
			if (st == BMEQ_OK && o.with_t1) st = bmeq_csv_field(csv, t1rel);
			if (st == BMEQ_OK) st = bmeq_csv_field(csv, date);
			if (st == BMEQ_OK) st = bmeq_csv_int(csv, (long long)k);
			if (st == BMEQ_OK) st = bmeq_csv_number(csv, dose, 1);
			if (st == BMEQ_OK) st = bmeq_csv_end_row(csv);
		}
	}
	char *truth = st == BMEQ_OK && okv ? bmeq_json_text(j, 2) : NULL;
	if (st == BMEQ_OK && !truth)
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	if (st == BMEQ_OK) {
		if ((st = bmeq_path(path, sizeof(path), "%s/manifest.csv", dir)) == BMEQ_OK)
			st = bmeq_csv_write_file(csv, path);
	}
	if (st == BMEQ_OK) {
		if ((st = bmeq_path(path, sizeof(path), "%s/truth.json", dir)) == BMEQ_OK)
			st = bmeq_write_file_atomic(path, truth, strlen(truth));
	}
	free(truth);
	json_decref(labels);
	json_decref(subjects);
	json_decref(scans);
	json_decref(j);
	bmeq_csv_destroy(csv);
	free(subj);
	return st;
}
