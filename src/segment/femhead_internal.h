/* femhead_internal.h - private to src/segment: the working grid, the sphere
 * Hough transform, the sphere refinement, the anatomical plausibility checks
 * and the labelling of head and neck.
 */
#ifndef BMEQ_FEMHEAD_INTERNAL_H
#define BMEQ_FEMHEAD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/femhead.h"
#include "bmeq/volume.h"

/* C17 has no M_PI. */
#define FH_PI 3.14159265358979323846

/* An axis-aligned RAS working grid: voxel (i,j,k) sits at origin + h*(i,j,k).
 * img is the percentile-normalised, smoothed scan; gx/gy/gz its gradient per
 * mm; valid marks voxels inside the scan's field of view whose gradient
 * stencil is wholly inside it too. */
typedef struct bmeq_fh_work {
	size_t n[3];
	double origin[3];
	double h;
	float *img;
	float *gx, *gy, *gz;
	uint8_t *valid;
	float gthr;     /* gradient magnitude above which a voxel votes */
	float gclip;    /* vote weights are clipped at this magnitude */
} bmeq_fh_work;

/* Samples the scan in world coordinates (trilinear; NaN outside). */
typedef struct bmeq_fh_sampler {
	const bmeq_volume *scan;
	double inv[16];   /* world -> voxel, row-major */
} bmeq_fh_sampler;

/* Rays cast from a head centre by the refinement (bmeq_fh_directions order). */
#define BMEQ_FH_NRAYS 256

/* A head candidate and, after refinement, its fitted sphere. */
typedef struct bmeq_fh_cand {
	double c[3];      /* centre, RAS mm */
	double r;         /* radius, mm */
	double votes;     /* Hough accumulator value (normalised) */
	double conf;      /* fraction of rays with an edge on the fitted sphere */
	double rms;       /* RMS residual of the inlier edges, mm */
	int polarity;     /* +1: brighter outside (STIR), -1: brighter inside (T1) */
	int ok;           /* refinement converged to a plausible sphere */
	uint8_t edge[BMEQ_FH_NRAYS]; /* 1: ray a met the fitted surface's edge */
} bmeq_fh_cand;

bmeq_status bmeq_fh_sampler_init(bmeq_fh_sampler *s, const bmeq_volume *scan);
/* How much an edge found along the unit direction u counts, 0..1: 1 / (1 +
 * (e / 2 mm)^2), e being one voxel of the scan projected on u (the spacing
 * in-plane, the slice spacing across the slices), which an edge crossed
 * along u is located no better than. Across slices 4-7 mm thick cortex and
 * cartilage blur into what lies beside them. */
double bmeq_fh_ray_weight(const bmeq_fh_sampler *s, const double u[3]);
double bmeq_fh_sample(const bmeq_fh_sampler *s, const double xyz[3]);
/* 1 when the ray c + r u lies inside the scan across a surface of radius R
 * (R +- 4 mm, the refinement's widest window and its smoothing): whether
 * an edge there could have been seen at all. */
int bmeq_fh_ray_seen(const bmeq_fh_sampler *s, const double c[3], double R, const double u[3]);
/* Weighted algebraic fit of a circle (d 2) or sphere (d 3), |p|^2 = 2 c.p +
 * (R^2 - |c|^2), through the n points p (d coordinates each, packed) whose
 * weight w is above 0; tol is the normal equations' singularity tolerance
 * (bmeq_gauss_jordan). Sets c (d values) and R; returns 0, leaving them,
 * when the equations are singular or R^2 is not positive. */
int bmeq_fh_fit_ball(const double *p, int d, const double *w, size_t n, double tol, double *c,
		     double *R);

/* The working grid of spacing h over the scan's field of view, or over its
 * part inside the world box box_lo .. box_hi (both NULL: all of it). */
bmeq_status bmeq_fh_work_build(const bmeq_volume *scan, double h, const double *box_lo,
			       const double *box_hi, bmeq_fh_work *w);
void bmeq_fh_work_free(bmeq_fh_work *w);

/* Finds up to max local maxima of the sphere-centre accumulator, best first,
 * at least min_sep mm apart. *n receives the count. */
bmeq_status bmeq_fh_hough(const bmeq_fh_work *w, double rmin, double rmax, bmeq_fh_cand *out, size_t max,
			  double min_sep, size_t *n);

/* Refines c in place on the scan: radius, centre, polarity, confidence. */
void bmeq_fh_refine(const bmeq_fh_sampler *s, const bmeq_femhead_params *p, bmeq_fh_cand *c);

/* Estimates the neck axis of a refined head (lateral sign: +1 when lateral
 * is +x, i.e. a right femur; 0 when unknown) and fills the side's geometry. */
void bmeq_fh_neck_axis(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, int lateral_sign,
		       bmeq_femhead_side *side);

/* Angles at which the neck's surface radius is measured. */
#define BMEQ_FH_NECK_NANG BMEQ_FEMHEAD_NECK_ANGLES

/* A measured neck: its cross-section frame (e0 in the neck-shaft plane, e1
 * across) and the outer bone surface's radius from the axis at angle
 * 2 pi a / BMEQ_FH_NECK_NANG from e0 towards e1. */
typedef struct bmeq_fh_neck {
	double axis[3], e0[3], e1[3];
	double rho[BMEQ_FH_NECK_NANG];
	int measured;     /* 0: rho is the (shrunk) model, the image gave no neck */
} bmeq_fh_neck;

/* Cross-section frame of a neck axis (see bmeq_fh_neck). */
void bmeq_fh_neck_frame(const double ax[3], double e0[3], double e1[3]);

/* Measures the neck of head c on the image, starting from the axis in
 * side->neck_axis (bmeq_fh_neck_axis): refines that axis, measures the
 * surface radius per angle into nk, and updates side's neck geometry. */
void bmeq_fh_neck_fit(const bmeq_fh_sampler *s, const bmeq_fh_cand *c, bmeq_femhead_side *side,
		      bmeq_fh_neck *nk);

/* Writes head and neck labels of one side onto the scan grid and sets the
 * side's head_ml and neck_ml. The neck (when label_neck) is the part of the
 * measured section nk within side->neck_length_mm of the centre, outside
 * the head. */
void bmeq_fh_label(const bmeq_grid *g, bmeq_femhead_side *side, const bmeq_fh_neck *nk,
		   uint8_t head_label, uint8_t neck_label, int label_neck, uint8_t *labels);

/* The body's midsagittal plane x = *x0 (RAS mm) as the plane of best
 * left-right mirror symmetry of the working image; *x0 is NAN when no plane
 * with enough image either side is clearly symmetric (*corr the best
 * normalised correlation found). plausible.c. */
void bmeq_fh_midline(const bmeq_fh_work *w, double *x0, double *corr);

/* 1 when lone head candidate cand[b] has a mirror twin among cand[0..n)
 * (similar size, height and depth) on the other side of the midline
 * midline_x (NAN: unknown, then 0), closer to it than sep_min: a bilateral
 * pair of round structures too close to the midline to be the hips. */
int bmeq_fh_lone_has_near_twin(const bmeq_femhead_params *p, double midline_x, const bmeq_fh_cand *cand,
				size_t n, size_t b);

/* 1 when a lone head centred at c may be a hip by its distance from the
 * midline midline_x (symmetry correlation corr): 0 only when the scan is
 * strongly symmetric and c lies within sep_min / 2 - 15 mm of its midline. */
int bmeq_fh_lone_position_ok(const bmeq_femhead_params *p, double midline_x, double corr, const double c[3]);

/* 1 when a neck axis leaves the head inferiorly, as every femoral neck does
 * (at least 15 degrees below the horizontal). */
int bmeq_fh_neck_descends(const double axis[3]);

/* Fraction of the volume of the sphere (c, r) inside the scan's field of
 * view. anatomy.c. */
double bmeq_fh_in_view(const bmeq_fh_sampler *s, const double c[3], double r);

/* Acetabular congruence of head c: the mean correlation of the intensity
 * profiles just outside the head under the roof of the cup with their mean
 * (about 0.6-1 in a hip joint, below 0.35 around bowel, bone or muscle
 * that merely look round); NAN when the roof is not in view. anatomy.c. */
double bmeq_fh_cup_score(const bmeq_fh_sampler *s, const bmeq_fh_cand *c);

/* 1 when a neck axis (head to shaft) of a head on the side whose lateral is
 * lateral_sign * +x turns from lateral no further than femoral version and
 * the leg's rotation allow. anatomy.c. */
int bmeq_fh_neck_version_ok(const double axis[3], int lateral_sign);

/* Fraction of head c's surface rays within 30 degrees of the neck axis
 * without an edge (1: the bone opens into a neck there). anatomy.c. */
double bmeq_fh_neck_opening(const bmeq_fh_cand *c, const double axis[3]);

/* Unit directions spread evenly over the sphere (Fibonacci lattice). */
void bmeq_fh_directions(double (*dir)[3], size_t n);

/* Scales v to unit length (a zero vector stays zero). */
void bmeq_fh_normalise(double v[3]);

/* qsort comparison of doubles, ascending. */
int bmeq_fh_cmp_double(const void *a, const void *b);

#endif
