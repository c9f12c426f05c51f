/* edema.c - edema lesion patterns (diffuse, subchondral crescent, focal,
 * multifocal) and their per-session trajectories. */
#include <math.h>
#include <string.h>

#include "phantom_internal.h"

/* Random orthonormal axes with the first along w (or random when w is NULL). */
static void random_axes(bmeq_ph_rng *r, const double *w, double ax[3][3])
{
	double a[3], b[3];

	for (int i = 0; i < 3; i++) {
		a[i] = w ? w[i] : bmeq_ph_rng_normal(r);
		b[i] = bmeq_ph_rng_normal(r);
	}
	bmeq_ph_normalize(a);
	bmeq_ph_axpy(b, -bmeq_ph_dot(a, b), a, b);
	bmeq_ph_normalize(b);
	memcpy(ax[0], a, sizeof(ax[0]));
	memcpy(ax[1], b, sizeof(ax[1]));
	bmeq_ph_cross(a, b, ax[2]);
}

/* A small ellipsoid in the head (in_neck = 0) or the neck (1). */
static void focal(bmeq_ph_rng *r, const bmeq_phantom_hip *h, const bmeq_ph_hip_frame *f,
		  int in_neck, bmeq_phantom_lesion *le)
{
	double rad = h->head_radius;

	memset(le, 0, sizeof(*le));
	le->kind = BMEQ_PHANTOM_LESION_ELLIPSOID;
	random_axes(r, NULL, le->axis);
	if (in_neck) {
		double t = bmeq_ph_rng_range(r, rad + 3.0, h->neck_length - 5.0);
		double lim = 0.55 * (h->neck_radius[1] - h->cortex_neck);
		bmeq_ph_axpy(h->head_centre, t, f->neck, le->centre);
		bmeq_ph_axpy(le->centre, bmeq_ph_rng_range(r, -3.0, 3.0), f->perp, le->centre);
		for (int i = 0; i < 3; i++)
			le->radii[i] = bmeq_ph_rng_range(r, 0.7, 1.0) * (lim > 4.0 ? lim : 4.0);
	} else {
		/* Upper (weight-bearing) half of the head, away from the surface. */
		double d[3] = {bmeq_ph_rng_normal(r), bmeq_ph_rng_normal(r),
			       fabs(bmeq_ph_rng_normal(r)) + 0.5};
		bmeq_ph_normalize(d);
		bmeq_ph_axpy(h->head_centre, bmeq_ph_rng_range(r, 0.25, 0.5) * rad, d, le->centre);
		for (int i = 0; i < 3; i++)
			le->radii[i] = bmeq_ph_rng_range(r, 5.0, 9.0);
	}
	le->margin_mm = bmeq_ph_rng_range(r, 1.5, 2.5);
}

void bmeq_ph_lesions_make(bmeq_ph_rng *r, bmeq_phantom_hip *h, int side, int pattern)
{
	bmeq_ph_hip_frame f;
	double rad = h->head_radius;

	bmeq_ph_hip_frame_make(h, side, &f);
	memset(h->lesion, 0, sizeof(h->lesion));
	h->nlesions = 0;
	h->pattern = pattern;
	switch (pattern) {
	case BMEQ_PHANTOM_PATTERN_DIFFUSE: {
		/* Bone marrow edema syndrome: most of the head and on into the neck. */
		bmeq_phantom_lesion *le = &h->lesion[h->nlesions++];
		double k = bmeq_ph_rng_range(r, 0.9, 1.05), t = 0.3 * h->neck_length;
		le->kind = BMEQ_PHANTOM_LESION_ELLIPSOID;
		random_axes(r, f.neck, le->axis);
		bmeq_ph_axpy(h->head_centre, t, f.neck, le->centre);
		le->radii[0] = k * (t + 0.85 * rad);
		le->radii[1] = k * 0.82 * rad;
		le->radii[2] = k * bmeq_ph_rng_range(r, 0.72, 0.85) * rad;
		le->margin_mm = bmeq_ph_rng_range(r, 2.5, 4.0);
		break;
	}
	case BMEQ_PHANTOM_PATTERN_CRESCENT: {
		/* A band under the anterosuperior dome, as in early necrosis. */
		bmeq_phantom_lesion *le = &h->lesion[h->nlesions++];
		double d[3] = {f.lat[0] * bmeq_ph_rng_range(r, -0.1, 0.3),
			       bmeq_ph_rng_range(r, 0.2, 0.45), 0.9};
		bmeq_ph_normalize(d);
		le->kind = BMEQ_PHANTOM_LESION_CRESCENT;
		memcpy(le->centre, h->head_centre, sizeof(le->centre));
		random_axes(r, d, le->axis);
		le->radii[0] = bmeq_ph_rng_range(r, 5.0, 9.0);
		le->radii[1] = bmeq_ph_rng_range(r, 35.0, 50.0);
		le->radii[2] = rad - 0.5 * h->cortex_head;
		le->margin_mm = bmeq_ph_rng_range(r, 1.2, 2.0);
		break;
	}
	case BMEQ_PHANTOM_PATTERN_FOCAL:
		focal(r, h, &f, bmeq_ph_rng_uniform(r) < 0.3, &h->lesion[h->nlesions++]);
		break;
	case BMEQ_PHANTOM_PATTERN_MULTIFOCAL: {
		int n = 2 + (int)(bmeq_ph_rng_uniform(r) * 3.0); /* 2-4 */
		for (int i = 0; i < n && i < BMEQ_PHANTOM_MAX_LESIONS; i++)
			focal(r, h, &f, i == 1, &h->lesion[h->nlesions++]);
		break;
	}
	default:
		h->pattern = BMEQ_PHANTOM_PATTERN_NONE;
		break;
	}
}

void bmeq_ph_lesions_realism(bmeq_ph_rng *r, bmeq_phantom_hip *h, int low)
{
	/* Real clinical STIR: the intensity that reproduces readers' volumes is
	 * 1.3-2.0x normal marrow, so full-strength edema is drawn at 1.4-2.6x;
	 * a third of the lesions (every lesion of a `low` hip) at 1.4-1.7x, the
	 * faint lesions readers still outline. Edges fall off over 2-5 mm, the
	 * widest on diffuse (BME syndrome) edema. */
	for (int l = 0; l < h->nlesions && l < BMEQ_PHANTOM_MAX_LESIONS; l++) {
		bmeq_phantom_lesion *le = &h->lesion[l];
		int faint = low || bmeq_ph_rng_uniform(r) < 1.0 / 3.0;
		le->peak_ratio = faint ? bmeq_ph_rng_range(r, 1.4, 1.7) : bmeq_ph_rng_range(r, 1.7, 2.6);
		le->edge_mm = h->pattern == BMEQ_PHANTOM_PATTERN_DIFFUSE ? bmeq_ph_rng_range(r, 3.0, 5.0)
									 : bmeq_ph_rng_range(r, 2.0, 4.0);
	}
	/* Patchy: +-20 % (SD 0.10-0.14) over a 3-6 mm correlation length. */
	h->patch_amp = bmeq_ph_rng_range(r, 0.10, 0.14);
	h->patch_corr_mm = bmeq_ph_rng_range(r, 3.0, 6.0);
	h->patch_seed = bmeq_ph_rng_next(r);
}

void bmeq_ph_lesions_make_fixed(bmeq_phantom_hip *h, int side, int pattern)
{
	bmeq_ph_rng r;

	bmeq_ph_rng_seed(&r, 20240101u, (uint64_t)side, (uint64_t)pattern);
	bmeq_ph_lesions_make(&r, h, side, pattern);
	bmeq_ph_rng_seed(&r, 20240101u, 0x7265616cull + (uint64_t)side, (uint64_t)pattern);
	bmeq_ph_lesions_realism(&r, h, 0);
}

double bmeq_phantom_trajectory_scale(int traj, unsigned session, unsigned nsessions)
{
	/* tau runs from 0 at baseline to 1 at the last visit; v is the volume
	 * factor and the lesion radii scale with its cube root. */
	double tau = nsessions > 1 ? (double)session / (double)(nsessions - 1) : 0.0;
	double v;

	switch (traj) {
	case BMEQ_PHANTOM_TRAJ_COMPLETE: v = 1.0 - tau; break;
	case BMEQ_PHANTOM_TRAJ_PARTIAL: v = 1.0 - 0.6 * tau; break;
	case BMEQ_PHANTOM_TRAJ_STABLE: v = 1.0; break;
	case BMEQ_PHANTOM_TRAJ_PROGRESSION: v = 0.5 + 0.6 * tau; break;
	case BMEQ_PHANTOM_TRAJ_NEW: v = tau >= 0.5 ? tau : 0.0; break;
	default: v = 0.0; break;
	}
	return v > 0.0 ? bmeq_ph_cbrt(v) : 0.0;
}

const char *bmeq_phantom_pattern_name(int pattern)
{
	static const char *const n[] = {"none", "diffuse", "crescent", "focal", "multifocal"};
	return pattern >= 0 && pattern <= 4 ? n[pattern] : "unknown";
}

const char *bmeq_phantom_trajectory_name(int traj)
{
	static const char *const n[] = {"none", "complete", "partial", "stable", "progression",
					"new"};
	return traj >= 0 && traj <= 5 ? n[traj] : "unknown";
}

const char *bmeq_phantom_edema_model_name(int model)
{
	return model == BMEQ_PHANTOM_EDEMA_REALISTIC ? "realistic"
	       : model == BMEQ_PHANTOM_EDEMA_BRIGHT  ? "bright"
						     : "unknown";
}

int bmeq_phantom_edema_model_parse(const char *name)
{
	if (name && strcmp(name, "realistic") == 0)
		return BMEQ_PHANTOM_EDEMA_REALISTIC;
	if (name && strcmp(name, "bright") == 0)
		return BMEQ_PHANTOM_EDEMA_BRIGHT;
	return -1;
}

const char *bmeq_phantom_tissue_model_name(int model)
{
	return model == BMEQ_PHANTOM_TISSUE_REAL      ? "real"
	       : model == BMEQ_PHANTOM_TISSUE_CLASSIC ? "classic"
						      : "unknown";
}

int bmeq_phantom_tissue_model_parse(const char *name)
{
	if (name && strcmp(name, "real") == 0)
		return BMEQ_PHANTOM_TISSUE_REAL;
	if (name && strcmp(name, "classic") == 0)
		return BMEQ_PHANTOM_TISSUE_CLASSIC;
	return -1;
}

const char *bmeq_phantom_orient_name(int orient)
{
	static const char *const n[] = {"coronal", "axial", "oblique"};
	return orient >= 0 && orient <= 2 ? n[orient] : "unknown";
}
