/* bmeq/phantom.h - a synthetic hip STIR phantom (and its T1 twin) with exact
 * ground truth.
 *
 * The phantom models both proximal femora (head, neck, trochanters, shaft,
 * cortex and marrow), the acetabulum and pelvic bones, articular cartilage,
 * the joint-fluid film, an optional effusion, bladder, femoral vessels,
 * muscle and subcutaneous fat, and bone marrow edema lesions, all as analytic
 * shapes in a patient "body frame" (RAS+ millimetres: +x towards the patient's
 * right, so the left hip lies at negative x; +y anterior; +z superior).
 * A rigid transform places the body in scanner world coordinates for each
 * session, and a simulated 2D acquisition samples it on a scan grid with
 * thick slices, gaps, partial volume (adaptive supersampling), a smooth coil
 * bias, a scanner scale and Rician noise.
 *
 * Truth label convention (shared with the pipeline): 1 right femoral head,
 * 2 left femoral head, 3 right femoral neck, 4 left femoral neck; the edema
 * truth map carries the same values on edema voxels and 0 elsewhere.
 * Side index 0 is the patient's right, 1 the patient's left, everywhere.
 *
 * Edema is drawn by one of two models (bmeq_phantom_edema_model). The default,
 * REALISTIC, follows what real clinical STIR shows: each lesion's peak signal
 * is only 1.4-2.6x normal marrow (some at 1.4-1.7x, the hard real cases), the
 * edema strength is patchy (a smooth multiplicative texture of about +-20 %
 * with a 3-6 mm correlation length) and falls off over 2-5 mm (a raised
 * cosine of the lesion's signed distance), and the voxels average it over
 * their thick slices. BRIGHT is the earlier model (2.5-5x, uniform, sampled at
 * voxel centres), kept bit for bit. In both, the edema truth is the zone
 * where the edema process, before texture and noise, is at least half its
 * full strength (what a reader outlines): the lesion shapes themselves, since
 * both edge profiles pass through one half on the shape's surface.
 *
 * Everything is deterministic for a given seed: the phantom uses its own
 * random generator (xoshiro256**), never rand().
 *
 * Thread-safety: every function may be called from several threads at once
 * on different outputs; nothing is global.
 */
#ifndef BMEQ_PHANTOM_H
#define BMEQ_PHANTOM_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BMEQ_PHANTOM_MAX_LESIONS 4

/* Side indices. */
enum { BMEQ_PHANTOM_RIGHT = 0, BMEQ_PHANTOM_LEFT = 1 };

/* Truth labels. */
enum {
	BMEQ_PHANTOM_LABEL_RIGHT_HEAD = 1,
	BMEQ_PHANTOM_LABEL_LEFT_HEAD = 2,
	BMEQ_PHANTOM_LABEL_RIGHT_NECK = 3,
	BMEQ_PHANTOM_LABEL_LEFT_NECK = 4
};

typedef enum bmeq_phantom_orient {
	BMEQ_PHANTOM_CORONAL = 0, /* slices stacked anterior-posterior */
	BMEQ_PHANTOM_AXIAL = 1,   /* slices stacked inferior-superior */
	BMEQ_PHANTOM_OBLIQUE = 2  /* coronal turned about S-I and tilted (along the neck) */
} bmeq_phantom_orient;

typedef enum bmeq_phantom_contrast {
	BMEQ_PHANTOM_STIR = 0, /* fat dark, fluid and edema bright */
	BMEQ_PHANTOM_T1 = 1    /* fat and fatty marrow bright, fluid and edema dark */
} bmeq_phantom_contrast;

/* How edema looks in the image (the truth is the same shapes in both). */
typedef enum bmeq_phantom_edema_model {
	BMEQ_PHANTOM_EDEMA_REALISTIC = 0, /* 1.4-2.6x, patchy, graded edges (default) */
	BMEQ_PHANTOM_EDEMA_BRIGHT = 1     /* the earlier 2.5-5x uniform lesions */
} bmeq_phantom_edema_model;

/* The STIR's tissue levels (the T1 twin has one table). REAL follows what
 * real STIR shows (measured on the development STIRs of the reader
 * benchmark): fat suppressed to about the level of muscle (subcutaneous fat
 * 0.87-1.48x the muscle beneath it), fatty marrow about the same (sacral
 * marrow 0.89-1.8x muscle), so a femoral head and neck stand out from the
 * muscle around them only by their thin dark cortex and the bright joint
 * fluid and cartilage. CLASSIC is the earlier table (fat 0.12, muscle 0.9,
 * marrow 0.42: muscle twice as bright as marrow), kept bit for bit. */
typedef enum bmeq_phantom_tissue_model {
	BMEQ_PHANTOM_TISSUE_CLASSIC = 0, /* the earlier table (default) */
	BMEQ_PHANTOM_TISSUE_REAL = 1     /* fat ~ marrow ~ muscle */
} bmeq_phantom_tissue_model;

typedef enum bmeq_phantom_lesion_kind {
	BMEQ_PHANTOM_LESION_ELLIPSOID = 0, /* diffuse and focal lesions */
	BMEQ_PHANTOM_LESION_CRESCENT = 1   /* subchondral band under the weight-bearing dome */
} bmeq_phantom_lesion_kind;

/* Edema patterns (how a hip's lesions were drawn; reported in truth.json). */
typedef enum bmeq_phantom_pattern {
	BMEQ_PHANTOM_PATTERN_NONE = 0,
	BMEQ_PHANTOM_PATTERN_DIFFUSE = 1,   /* head and neck (BME syndrome) */
	BMEQ_PHANTOM_PATTERN_CRESCENT = 2,  /* subchondral crescent */
	BMEQ_PHANTOM_PATTERN_FOCAL = 3,
	BMEQ_PHANTOM_PATTERN_MULTIFOCAL = 4
} bmeq_phantom_pattern;

/* Per-hip edema course over the sessions of a study. */
typedef enum bmeq_phantom_trajectory {
	BMEQ_PHANTOM_TRAJ_NONE = 0,        /* edema-free hip */
	BMEQ_PHANTOM_TRAJ_COMPLETE = 1,    /* shrinks to nothing by the last session */
	BMEQ_PHANTOM_TRAJ_PARTIAL = 2,     /* shrinks to about 40 % of its volume */
	BMEQ_PHANTOM_TRAJ_STABLE = 3,
	BMEQ_PHANTOM_TRAJ_PROGRESSION = 4, /* grows from about 50 % to 110 % */
	BMEQ_PHANTOM_TRAJ_NEW = 5          /* absent at baseline, appears later (contralateral) */
} bmeq_phantom_trajectory;

/* One edema lesion in the body frame, at edema scale 1. */
typedef struct bmeq_phantom_lesion {
	int kind;             /* bmeq_phantom_lesion_kind */
	double centre[3];     /* ellipsoid centre; crescent: the head centre */
	double axis[3][3];    /* ellipsoid: unit axes (rows); crescent: axis[0] = dome direction */
	double radii[3];      /* ellipsoid: semi-axes mm; crescent: depth mm, half-angle deg, head radius mm */
	double margin_mm;     /* BRIGHT: half-width of the soft edge (signal ramps across +-margin) */
	double peak_ratio;    /* REALISTIC: signal to normal marrow at full strength, 1.4-2.6 */
	double edge_mm;       /* REALISTIC: width of the graded edge, 2-5 mm: full strength
			       * edge_mm/2 inside the surface, half on it, none edge_mm/2 outside */
} bmeq_phantom_lesion;

/* One proximal femur and its joint, in the body frame. */
typedef struct bmeq_phantom_hip {
	double head_centre[3];
	double head_radius;       /* mm, 20-27 */
	double neck_shaft_deg;    /* 120-140 */
	double anteversion_deg;   /* forward turn of the neck */
	double adduction_deg;     /* medial lean of the shaft from vertical */
	double neck_length;       /* head centre to the lateral end of the labelled neck, mm */
	double neck_radius[2];    /* neck semi-axes: in the neck-shaft plane, and across it */
	double shaft_radius;
	double cortex_head, cortex_neck, cortex_shaft; /* mm */
	double cartilage_mm;      /* femoral and acetabular cartilage, each */
	double acetabular_incl_deg, acetabular_av_deg, acetabular_cover_deg;
	double effusion_mm;       /* capsule distension around head and neck; 0 = none */
	double edema_ratio;       /* BRIGHT: edema to normal marrow signal, 2.5-5 */
	double patch_amp;         /* REALISTIC: SD of the patchy texture of the edema strength
				   * (relative, 0.10-0.14: about +-20 %); 0 = uniform */
	double patch_corr_mm;     /* REALISTIC: its correlation length, 3-6 mm */
	uint64_t patch_seed;      /* REALISTIC: its waves */
	double edema_scale;       /* session scaling of every lesion's size; 0 = no edema */
	int pattern;              /* bmeq_phantom_pattern (informative) */
	int nlesions;
	bmeq_phantom_lesion lesion[BMEQ_PHANTOM_MAX_LESIONS];
} bmeq_phantom_hip;

/* The whole subject: hips [0] right (+x) and [1] left (-x), and soft tissue. */
typedef struct bmeq_phantom_anatomy {
	bmeq_phantom_hip hip[2];
	double body_radius[2];     /* body cross-section semi-axes along x and y, mm */
	double body_centre_y;
	double fat_mm;             /* subcutaneous fat thickness */
	double bladder_centre[3], bladder_radius[3];
	double marrow_texture;     /* relative amplitude of the marrow texture, e.g. 0.08 */
	uint64_t texture_seed;
	int edema_model;           /* bmeq_phantom_edema_model (0: REALISTIC) */
	int tissue_model;          /* bmeq_phantom_tissue_model (0: CLASSIC) */
} bmeq_phantom_anatomy;

/* A failed fat suppression on a STIR (common at the edges of a large field
 * of view): over a band from one edge of the field of view along the voxel
 * axis i, fat, fatty marrow and red marrow regain part of the signal the
 * inversion pulse should have nulled, so they look bright like edema, while
 * the T1 of the visit is unchanged (a T1 has no fat suppression). The
 * failure's level at a voxel is strength x a raised cosine of its distance d
 * from the edge: full for d <= half_mm - ramp_mm / 2, half at half_mm, none
 * from half_mm + ramp_mm / 2. At full level (strength 1) fat reaches 1.5,
 * fatty marrow 1.2 and red marrow 0.9 (muscle is 0.9, suppressed fatty marrow
 * 0.42). The truth maps do not change: the band is not edema. */
typedef struct bmeq_phantom_fatsat {
	int edge;                  /* 0: none; -1: the band starts at voxel i = 0;
				    * +1: at i = dim[0] - 1 */
	double half_mm;            /* distance from the edge of the field of view
				    * (the outer face of the edge voxels) where the
				    * failure is at half its level, > 0 */
	double ramp_mm;            /* width of the transition, > 0 */
	double strength;           /* 0..1: fraction of the nulled signal regained */
} bmeq_phantom_fatsat;

/* One simulated acquisition and how it is stored. */
typedef struct bmeq_phantom_acq {
	int orient;                /* bmeq_phantom_orient */
	int flip_lr;               /* 1: the first voxel axis runs towards the patient's left */
	int contrast;              /* bmeq_phantom_contrast */
	double inplane_mm;         /* in-plane voxel size, 0.7-1.2 */
	double thickness_mm;       /* slice thickness, 3-5.5 */
	double gap_mm;             /* gap between slices (spacing = thickness + gap) */
	double fov_mm[2];          /* in-plane extent along voxel axes i and j */
	size_t nslices;
	double fov_centre[3];      /* world RAS mm of the grid centre */
	double oblique_deg;        /* OBLIQUE: turn about the S-I axis */
	double oblique_tilt_deg;   /* OBLIQUE: tilt about the A-P axis */
	double rotation_deg[3];    /* body -> world rigid: rotations about x, y, z (R = Rz Ry Rx) */
	double translation_mm[3];  /* ... then this translation */
	double snr;                /* muscle signal / noise sigma, 10-30; <= 0: no noise */
	double scanner_scale;      /* multiplies all signal */
	double bias_coef[9];       /* log-bias polynomial (x, y, z, x2, y2, z2, xy, xz, yz), 0: none */
	uint64_t noise_seed;
	int supersample;           /* in-plane sub-samples per axis at edges (default 3) */
	bmeq_phantom_fatsat fatsat; /* STIR only: a failed fat suppression (zeros: none) */
	/* storage (used by the writer only) */
	int datatype;              /* BMEQ_DT_INT16, BMEQ_DT_UINT16 or BMEQ_DT_FLOAT32 */
	double scl_slope, scl_inter;
	int nifti_version, qform_code, sform_code;
} bmeq_phantom_acq;

typedef struct bmeq_phantom_params {
	bmeq_phantom_anatomy anat;
	bmeq_phantom_acq acq;
} bmeq_phantom_params;

/* Truth for one side of one scan. The _ml numbers are the volumes of the
 * analytic shapes in the body (integrated at 0.25 mm at their edges, grid
 * independent); the _grid_ml numbers are voxel counts of the truth label maps
 * times the voxel volume (slice spacing included), i.e. the best any method
 * working on this grid can report. */
typedef struct bmeq_phantom_side_truth {
	double head_ml, neck_ml;
	double edema_head_ml, edema_neck_ml;
	double head_grid_ml, neck_grid_ml;
	double edema_head_grid_ml, edema_neck_grid_ml;
	int lesion_count;            /* 26-connected components of the side's edema truth map */
	double head_centre_ras[3];   /* world RAS mm of the head centre in this scan */
	double head_radius_mm;
} bmeq_phantom_side_truth;

/* A simulated scan: the image, its two truth label maps on the same grid and
 * the truth numbers. */
typedef struct bmeq_phantom_scan {
	bmeq_volume *image;               /* float32 signal (scanner units) */
	uint8_t *labels;                  /* nvox: 0 or 1-4 (heads and necks) */
	uint8_t *edema;                   /* nvox: 0 or the region label on edema voxels */
	bmeq_phantom_side_truth truth[2]; /* [0] right, [1] left */
	double world_from_body[4][4];     /* the session's rigid transform */
} bmeq_phantom_scan;

/* Fills p with a fixed mid-range subject (both hips, diffuse edema on the
 * left, a focal lesion on the right, no effusion, the REALISTIC edema model;
 * set p->anat.edema_model for the other) and a coronal STIR acquisition
 * without repositioning, as a reproducible starting point for tests. */
void bmeq_phantom_params_default(bmeq_phantom_params *p);

/* Simulates one scan. p->acq's storage fields are ignored. *out is owned by
 * the caller (bmeq_phantom_scan_destroy).
 * Statuses: BMEQ_E_ARG for out-of-range parameters (non-positive sizes,
 * more than BMEQ_MAX_VOXELS voxels ...), BMEQ_E_NOMEM. */
bmeq_status bmeq_phantom_scan_make(const bmeq_phantom_params *p, bmeq_phantom_scan **out);

/* Frees s and everything it owns. Accepts NULL. */
void bmeq_phantom_scan_destroy(bmeq_phantom_scan *s);

/* The session's rigid transform of acquisition acq, body frame -> world RAS
 * mm (rotations about x, y, z by rotation_deg, R = Rz Ry Rx, then
 * translation_mm): bmeq_phantom_scan.world_from_body without simulating. */
void bmeq_phantom_world_from_body(const bmeq_phantom_acq *acq, double m[4][4]);

/* Builds the scan grid p->acq describes (orientation, storage flip, slice
 * spacing) without simulating anything. BMEQ_E_ARG on bad sizes. */
bmeq_status bmeq_phantom_grid(const bmeq_phantom_acq *acq, bmeq_grid *g);

/* ---- studies ---- */

/* A subject of a generated study: anatomy (lesions at scale 1) and the
 * per-side trajectory class. */
typedef struct bmeq_phantom_subject {
	bmeq_phantom_anatomy anat;
	int trajectory[2];        /* bmeq_phantom_trajectory per side */
	int age_years;
	int baseline_day;         /* days after 2024-01-01 of the first session */
} bmeq_phantom_subject;

/* Draws subject number `subject` (0-based) of the study with this seed. The
 * first six subjects of every study follow a fixed plan of trajectories and
 * patterns (so that a default study covers every class, and holds faint
 * 1.4-1.7x hips); later ones are drawn at random. The edema model is
 * REALISTIC (set out->anat.edema_model for the other; the shapes, anatomy
 * and truth do not depend on it). Deterministic. */
void bmeq_phantom_subject_make(uint64_t seed, unsigned subject, bmeq_phantom_subject *out);

/* The edema size factor (multiplying lesion radii) of trajectory traj at
 * session `session` of nsessions (0-based). */
double bmeq_phantom_trajectory_scale(int traj, unsigned session, unsigned nsessions);

/* Fills p for session `session` (0-based) of subject `subject`: the anatomy
 * with the session's edema scale and the session's acquisition (orientation,
 * storage variant, repositioning, noise). The storage variants cycle with the
 * scan's index in the study so that every study of 6 scans or more holds
 * every orientation, LR flip, datatype, NIfTI version and qform/sform choice. */
void bmeq_phantom_session_params(uint64_t seed, const bmeq_phantom_subject *s, unsigned subject,
				 unsigned session, unsigned nsessions, bmeq_phantom_params *p);

/* Fills t1 for the T1-weighted twin of a session whose STIR is stir (made by
 * bmeq_phantom_session_params for the same seed, subject, session and
 * nsessions): the same anatomy and edema, T1 contrast, and an acquisition of
 * its own as a hip protocol's T1 beside its STIR: 3.5-4.5 mm slices, a wider
 * field of view (400-440 x 300-330 mm in-plane), coronal, or axial beside
 * some coronal STIRs (so its orientation differs from the STIR's on four scans
 * of six), its own storage variant, coil bias and noise, and the patient's
 * motion between the two series: the STIR's rigid transform turned by 1-3
 * degrees about each axis and moved 1-4 mm along each (both signs), so that
 * registering the T1 to its STIR has real work. Never a fat-suppression
 * failure. The STIR's own draws are untouched (a stream of its own), so a
 * study's STIR scans are the same with and without their twins. */
void bmeq_phantom_t1_params(uint64_t seed, unsigned subject, unsigned session, unsigned nsessions,
			    const bmeq_phantom_params *stir, bmeq_phantom_params *t1);

/* Sets stir->acq.fatsat to a failed fat suppression for this session's STIR:
 * from the edge of the field of view on one patient side (the side of a hip
 * without edema in this session when there is one, else either) to a depth
 * that covers about half of that side's femoral head and the neck lateral to
 * it (its half-level plane within a quarter head radius of the head's
 * centre, a 20-40 mm transition, strength 0.6-1). Deterministic for the
 * seed, subject and session; its own stream. */
void bmeq_phantom_fatsat_params(uint64_t seed, unsigned subject, unsigned session,
				bmeq_phantom_params *stir);

/* The failure's level (0..strength) at world point w (RAS mm) of a scan on
 * grid g with failure f; 0 when f->edge is 0. */
double bmeq_phantom_fatsat_level(const bmeq_phantom_fatsat *f, const bmeq_grid *g,
				 const double w[3]);

typedef struct bmeq_phantom_study_opts {
	int with_t1;       /* also write each session's T1-weighted twin on a grid of its
			    * own (bmeq_phantom_t1_params), with its truth maps */
	int fatsat_failure; /* 1: every STIR gets a failed fat suppression
			     * (bmeq_phantom_fatsat_params); 0 (default): none */
	int gzip_level;    /* 1-9; default 1 (fast: noise does not compress anyway) */
	int edema_model;   /* bmeq_phantom_edema_model; default REALISTIC */
	int tissue_model;  /* bmeq_phantom_tissue_model; default CLASSIC */
} bmeq_phantom_study_opts;

void bmeq_phantom_study_opts_init(bmeq_phantom_study_opts *o);

/* Writes a study of nsubjects x nsessions scans under dir (created if
 * missing): sub-XX/ses-YY/anat/sub-XX_ses-YY_acq-STIR_T2w.nii.gz, truth label
 * maps under derivatives/truth/ (desc-hips_dseg and desc-edema_dseg on each
 * scan's grid), manifest.csv (subject,session,path,date,cycle,dose_ng_kg_min)
 * and truth.json. With opts->with_t1 each session also has its T1 twin
 * sub-XX_ses-YY_T1w.nii.gz beside the STIR, its truth maps
 * (sub-XX_ses-YY_space-T1w_desc-hips_dseg / _desc-edema_dseg, on the T1's
 * grid), a `t1` column in the manifest after `path` (relative, like path) and
 * a "t1" object per scan in truth.json (acquisition, rigid transform, the
 * motion from the STIR, truth per side in the T1's world). With
 * opts->fatsat_failure each STIR has a failed fat suppression, described per
 * scan in truth.json ("fatsat_failure"). opts may be NULL. Statuses:
 * BMEQ_E_ARG (0 or more than 99 subjects / sessions), BMEQ_E_WRITE,
 * BMEQ_E_NOMEM. */
bmeq_status bmeq_phantom_study_write(const char *dir, unsigned nsubjects, unsigned nsessions,
				     uint64_t seed, const bmeq_phantom_study_opts *opts);

/* Short names used in truth.json ("coronal", "diffuse", "complete",
 * "realistic" ...); "unknown" out of range. bmeq_phantom_edema_model_parse
 * returns the model named (0 or 1), or -1 for an unknown name. */
const char *bmeq_phantom_orient_name(int orient);
const char *bmeq_phantom_edema_model_name(int model);
int bmeq_phantom_edema_model_parse(const char *name);
/* "real" / "classic"; parse returns the model or -1. */
const char *bmeq_phantom_tissue_model_name(int model);
int bmeq_phantom_tissue_model_parse(const char *name);
const char *bmeq_phantom_pattern_name(int pattern);
const char *bmeq_phantom_trajectory_name(int traj);

#ifdef __cplusplus
}
#endif
#endif
