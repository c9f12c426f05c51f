/* phantom_internal.h - private to src/phantom: the random generator and the
 * primitive shape model shared by the phantom's files. */
#ifndef BMEQ_PHANTOM_INTERNAL_H
#define BMEQ_PHANTOM_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "bmeq/phantom.h"

/* ---- small vector helpers ---- */

static inline double bmeq_ph_dot(const double a[3], const double b[3])
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline void bmeq_ph_cross(const double a[3], const double b[3], double o[3])
{
	double x = a[1] * b[2] - a[2] * b[1], y = a[2] * b[0] - a[0] * b[2];
	double z = a[0] * b[1] - a[1] * b[0];

	o[0] = x;
	o[1] = y;
	o[2] = z;
}

/* Normalises v in place (a zero vector is left alone). */
static inline void bmeq_ph_normalize(double v[3])
{
	double n = bmeq_ph_dot(v, v);

	if (n > 0.0) {
		n = 1.0 / sqrt(n);
		v[0] *= n;
		v[1] *= n;
		v[2] *= n;
	}
}

/* o = a + s * b */
static inline void bmeq_ph_axpy(const double a[3], double s, const double b[3], double o[3])
{
	o[0] = a[0] + s * b[0];
	o[1] = a[1] + s * b[1];
	o[2] = a[2] + s * b[2];
}

/* ---- libm-independent transcendental functions (detmath.c) ---- */

double bmeq_ph_exp(double x);
double bmeq_ph_log(double x);
double bmeq_ph_sin(double x);
double bmeq_ph_cos(double x);
double bmeq_ph_atan2(double y, double x);
double bmeq_ph_acos(double c);
double bmeq_ph_cbrt(double v);

/* ---- random numbers (rng.c): xoshiro256** seeded through splitmix64 ---- */

typedef struct bmeq_ph_rng {
	uint64_t s[4];
} bmeq_ph_rng;

/* Seeds r from a study seed and two stream numbers (e.g. subject, purpose),
 * so that every stream is independent and reproducible. */
void bmeq_ph_rng_seed(bmeq_ph_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t bmeq_ph_rng_next(bmeq_ph_rng *r);
double bmeq_ph_rng_uniform(bmeq_ph_rng *r);               /* [0, 1) */
double bmeq_ph_rng_range(bmeq_ph_rng *r, double lo, double hi);
double bmeq_ph_rng_normal(bmeq_ph_rng *r);                /* standard normal */
void bmeq_ph_rng_normal2(bmeq_ph_rng *r, double *a, double *b); /* two at once */

/* ---- the shape model (model.c) ---- */

/* Atoms are simple sets with a signed distance bound s (negative inside,
 * |s| <= true distance to the atom's surface, 1-Lipschitz). */
enum {
	BMEQ_PH_ATOM_ELL = 0,    /* ellipsoid: axes rows, radii */
	BMEQ_PH_ATOM_ELLCYL = 1, /* infinite elliptic cylinder along axis[2]; radii[0..1] */
	BMEQ_PH_ATOM_SLAB = 2,   /* t0 < axis[0].(p - c) < t1 */
	BMEQ_PH_ATOM_CONE = 3    /* angle between axis[0] and p - c below half-angle */
};

typedef struct bmeq_ph_atom {
	int kind;
	int complement;       /* 1: the outside of the set */
	double c[3];
	double axis[3][3];    /* unit rows */
	double r[3], inv_r[3]; /* radii and their inverses */
	double min_r;         /* smallest radius (distance scale) */
	double t0, t1;        /* SLAB */
	double half_angle;    /* CONE, radians */
	double cos_half, sin_half;
} bmeq_ph_atom;

/* Roles a primitive plays in the tissue composition. */
enum {
	BMEQ_PH_BODY = 0, BMEQ_PH_INNER, BMEQ_PH_BLADDER, BMEQ_PH_VEIN, BMEQ_PH_ARTERY,
	BMEQ_PH_PELVIS, BMEQ_PH_PELVIS_CORE, BMEQ_PH_CART_ACET, BMEQ_PH_FILM,
	BMEQ_PH_CART_FEM, BMEQ_PH_EFFUSION, BMEQ_PH_FEMUR, BMEQ_PH_FEMUR_CORE,
	BMEQ_PH_REG_HEAD, BMEQ_PH_REG_NECK, BMEQ_PH_LESION, BMEQ_PH_NROLES
};

/* Tissue classes of one sample point. */
enum {
	BMEQ_PH_T_AIR = 0, BMEQ_PH_T_FAT, BMEQ_PH_T_MUSCLE, BMEQ_PH_T_BLADDER, BMEQ_PH_T_VEIN,
	BMEQ_PH_T_ARTERY, BMEQ_PH_T_FLUID, BMEQ_PH_T_CARTILAGE, BMEQ_PH_T_CORTEX,
	BMEQ_PH_T_RED_MARROW, BMEQ_PH_T_MARROW, BMEQ_PH_NTISSUES
};

#define BMEQ_PH_MAX_ATOMS 3
#define BMEQ_PH_MAX_PRIM 96

/* A primitive: the intersection of up to 3 atoms, with a bounding sphere. */
typedef struct bmeq_ph_prim {
	int natoms;
	bmeq_ph_atom atom[BMEQ_PH_MAX_ATOMS];
	double bc[3], br;     /* bounding sphere (br < 0: unbounded) */
	int role;             /* BMEQ_PH_* role */
	int group;            /* 0 right, 1 left, 2 midline */
	double margin;        /* LESION, BRIGHT: soft edge half-width, mm */
	double excess;        /* LESION, REALISTIC: peak ratio - 1 */
	double edge;          /* LESION, REALISTIC: graded edge width, mm */
} bmeq_ph_prim;

#define BMEQ_PH_PATCH_WAVES 6

typedef struct bmeq_ph_model {
	size_t nprim;
	bmeq_ph_prim prim[BMEQ_PH_MAX_PRIM];
	double intensity[BMEQ_PH_NTISSUES];
	double edema_ratio[2];
	int contrast;
	/* marrow texture: a few plane waves */
	double tex_amp;
	double tex_k[4][3], tex_phase[4];
	/* REALISTIC edema: per side, the patchy texture of the edema strength */
	int edema_model;
	double patch_amp[2];
	double patch_k[2][BMEQ_PH_PATCH_WAVES][3], patch_phase[2][BMEQ_PH_PATCH_WAVES];
} bmeq_ph_model;

/* Builds the model of an anatomy (body frame). BMEQ_E_ARG when a size is out
 * of range or too many primitives would be needed. */
bmeq_status bmeq_ph_model_build(const bmeq_phantom_anatomy *a, int contrast, bmeq_ph_model *m);

/* Signed distance bound of primitive pr at body point p. */
double bmeq_ph_prim_eval(const bmeq_ph_prim *pr, const double p[3]);

/* 1 when p is inside pr (the sign of bmeq_ph_prim_eval, computed faster). */
int bmeq_ph_prim_inside(const bmeq_ph_prim *pr, const double p[3]);

/* Results of composing role masks (one uint32 per group) at a sample. */
typedef struct bmeq_ph_sample {
	int tissue;
	int marrow_side;      /* side whose femoral marrow this is, or -1 */
	int region;           /* truth label 0-4 */
	int edema;            /* 1 when an edema truth sample */
} bmeq_ph_sample;

void bmeq_ph_compose(const uint32_t masks[3], bmeq_ph_sample *out);

/* Marrow texture factor at body point p. */
double bmeq_ph_texture(const bmeq_ph_model *m, const double p[3]);

/* BRIGHT: edema weight in [0, 1] for a lesion primitive's signed distance s
 * (a smoothstep across +-margin, 0.5 at s = 0). */
double bmeq_ph_edema_weight(double s, double margin);

/* REALISTIC: the graded edge, in [0, 1], at signed distance s of a lesion
 * whose edge is `edge` mm wide: a raised cosine from 1 at s = -edge/2 to 0
 * at s = +edge/2, exactly 0.5 at s = 0 (so the half-strength zone, the truth,
 * is the shape itself). */
double bmeq_ph_edema_profile(double s, double edge);

/* REALISTIC: the patchy texture factor of side `side`'s edema strength at
 * body point p (1 when the side has none). */
double bmeq_ph_edema_patch(const bmeq_ph_model *m, int side, const double p[3]);

/* Hip geometry derived from the parameters (anatomy.c). */
typedef struct bmeq_ph_hip_frame {
	double lat[3];        /* unit vector towards the patient's side (lateral) */
	double neck[3];       /* unit neck axis from the head centre towards the shaft */
	double shaft[3];      /* unit shaft axis pointing down the femur */
	double perp[3];       /* unit normal of the neck-shaft plane */
	double junction[3];   /* where the neck axis meets the shaft axis region */
	double cup_open[3];   /* unit acetabular opening direction */
} bmeq_ph_hip_frame;

void bmeq_ph_hip_frame_make(const bmeq_phantom_hip *h, int side, bmeq_ph_hip_frame *f);

/* Defaults and random draws (anatomy.c). */
void bmeq_ph_anatomy_soft_default(bmeq_phantom_anatomy *a);
void bmeq_ph_acq_default(bmeq_phantom_acq *q);
void bmeq_ph_hip_random(bmeq_ph_rng *r, int side, bmeq_phantom_hip *h);
void bmeq_ph_anatomy_random(bmeq_ph_rng *r, bmeq_phantom_anatomy *a);

/* Lesions of a pattern (edema.c): replaces h's lesions and sets h->pattern.
 * The _fixed variant uses a constant stream (for the default subject). */
void bmeq_ph_lesions_make(bmeq_ph_rng *r, bmeq_phantom_hip *h, int side, int pattern);
void bmeq_ph_lesions_make_fixed(bmeq_phantom_hip *h, int side, int pattern);

/* REALISTIC appearance of h's lesions (peak ratio, edge width) and of its
 * patchy texture, from their own stream r (so that the shapes, drawn before,
 * and the BRIGHT model do not change). low: every lesion at 1.4-1.7x. */
void bmeq_ph_lesions_realism(bmeq_ph_rng *r, bmeq_phantom_hip *h, int low);

/* The level of a fat-suppression failure (0..strength) at distance d mm from
 * its edge of the field of view (acquire.c). */
double bmeq_ph_fatsat_profile(const bmeq_phantom_fatsat *f, double d);

/* Rigid body -> world transform of an acquisition as a 4x4 matrix. */
void bmeq_ph_rigid(const bmeq_phantom_acq *acq, double m[4][4]);

/* ---- truth (truth.c) ---- */

/* Integrates the head, neck and edema volumes (mL) of side `side` of model m
 * in the body frame. */
void bmeq_ph_truth_volumes(const bmeq_ph_model *m, const bmeq_phantom_hip *h, int side,
			   bmeq_phantom_side_truth *t);

/* Counts 26-connected components of voxels whose label is la or lb. */
bmeq_status bmeq_ph_count_components(const uint8_t *lab, const size_t dim[3], int la, int lb,
				     int *count);

/* ---- sampling (sample.c) ---- */

/* Voxel-averaged properties, filled by bmeq_ph_sample_box. */
typedef struct bmeq_ph_accum {
	double signal;        /* tissue intensities except marrow, weighted */
	double marrow[2];     /* femoral marrow fraction per side */
	double red_marrow;    /* pelvic marrow fraction */
	double fat;           /* fat fraction (its signal is in signal too) */
	double region[5];     /* fraction per truth label */
	double edema[5];      /* edema fraction per truth label */
} bmeq_ph_accum;

/* A sampling plan: a box with half-axis vectors (orthogonal) is split
 * split[level][0..2] ways along its axes at each level. */
typedef struct bmeq_ph_plan {
	int nlevels;
	int split[4][3];
} bmeq_ph_plan;

/* Adds the weighted properties of the box centred at body point p with
 * half-axes half[3][3] to acc. Only primitives cand[0..ncand) are looked at;
 * s_init, when not NULL, holds their signed distances at p (already known to
 * the caller). masks (NULL: none) holds the roles of primitives the caller
 * already knows to contain the whole box. */
void bmeq_ph_sample_box(const bmeq_ph_model *m, const bmeq_ph_plan *plan, const double p[3],
			double half[3][3], const uint16_t *cand, const double *s_init, size_t ncand,
			const uint32_t *masks, double weight, bmeq_ph_accum *acc);

#endif
