/* bmeq/itk.h - the ITK bridge as the pipeline uses it: bias-field
 * correction, resampling and rigid registration over bmeq volumes.
 *
 * This plain-C header is the way into the C++ code in src/itk. Every
 * function here returns a bmeq_status and records a one-line reason on
 * failure; no C++ exception or type ever crosses it. Voxel buffers handed in
 * are wrapped without copying (ITK never writes into them); results are new
 * bmeq objects owned by the caller. The bridge's other functions (the RAS/LPS
 * geometry conversion, smoothing, gradients, connected components, 16-bit
 * label resampling, rotations about an axis) are called only by its tests and
 * benchmarks, which compare ITK with bmeq's own code: they are declared in
 * src/itk/itk_internal.h, not here.
 *
 * Coordinates: bmeq grids map voxels to RAS+ mm, ITK images live in LPS+ mm.
 * The conversion happens in exactly one place inside the bridge
 * (bmeq_itk_grid_to_lps() and its inverse, src/itk/itk_internal.h). ITK
 * images cannot represent a sheared voxel lattice, so a grid whose affine
 * columns are not orthogonal is rejected with BMEQ_E_UNSUPPORTED by every
 * function.
 *
 * Threads: ITK's filters use a global default thread count. Set it once with
 * bmeq_itk_set_threads() before starting work (1 inside batch workers, so the
 * batch's own threads never oversubscribe the cores). Apart from that setter,
 * the functions are safe to call from several threads at once on different
 * data.
 */
#ifndef BMEQ_ITK_H
#define BMEQ_ITK_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- threads ----------------------------------------------------------- */

/* Sets ITK's global default number of threads for every later call (n >= 1;
 * values above ITK's maximum are clamped). BMEQ_E_ARG for n < 1. Not
 * thread-safe: call it before any thread runs an ITK function. */
bmeq_status bmeq_itk_set_threads(int n);

/* ---- N4 bias-field correction -------------------------------------------- */

/* Parameters of bmeq_itk_n4(). Start from bmeq_n4_params_default(). */
typedef struct bmeq_n4_params {
	double shrink_mm;       /* target voxel size of the fitting image: each axis is
				   shrunk by floor(shrink_mm / spacing), at least 1, so
				   5 mm slices shrink 2-fold where 0.9 mm pixels shrink
				   11-fold (default 10; 0 = no shrinking, slow) */
	int levels;             /* B-spline fitting levels, 1..4 (default 3); the
				   control mesh doubles at each level */
	int iterations[4];      /* maximum iterations per level (default 20 15 10 -) */
	double spline_distance_mm; /* control point distance at the first level along
				   each axis, > 0 (default 150); at least 1 mesh span
				   per axis */
	double convergence;     /* stop a level when the field changes less (default 0.002) */
	int histogram_bins;     /* intensity histogram bins (default 200) */
} bmeq_n4_params;

/* Fills p with the defaults above, chosen for speed (about 0.3 s for a
 * 320x320x24 scan on one core, see bench/RESULTS.md). Inline: the measurement
 * options (src/measure/opts.c) start from these defaults below the bridge. */
static inline void bmeq_n4_params_default(bmeq_n4_params *p)
{
	/* ~10 mm fitting voxels: ~10k voxels for a 320x320x24 hip scan, which
	 * keeps N4 near 0.3 s on one core; the field varies over ~150 mm, so
	 * it is still sampled ~15 times per spline span. */
	p->shrink_mm = 10.0;
	p->levels = 3;
	p->iterations[0] = 20;
	p->iterations[1] = 15;
	p->iterations[2] = 10;
	p->iterations[3] = 10;
	p->spline_distance_mm = 150.0;
	p->convergence = 0.002;
	p->histogram_bins = 200;
}

/* Estimates the smooth multiplicative bias field of in with N4 and returns
 * the corrected image (in / field) in *corrected and the field in *field,
 * both on in's grid, the field at full resolution (the fitted B-spline is
 * evaluated on the full grid) and normalised to geometric mean 1 over the
 * fitting voxels. Either out pointer may be NULL when not wanted.
 * The fitted spline is evaluated directly on the full grid; its domain is
 * the shrunk image's extent stretched onto the full extent (as in ITK's
 * BSplineControlPointImageFilter), a sub-percent stretch of a smooth field.
 * mask (optional, NULL = all voxels) marks with non-zero the voxels used for
 * fitting; voxels <= 0 are never used (log domain). Outside the fitting
 * voxels the field is the spline's extension, so the whole image is corrected.
 * params NULL means the defaults.
 * BMEQ_E_ARG for bad parameters, non-finite voxels or an axis of fewer than
 * 4 voxels, BMEQ_E_PROCESS when
 * fewer than 64 voxels are usable (empty mask), BMEQ_E_UNSUPPORTED for a
 * sheared grid, BMEQ_E_NOMEM, BMEQ_E_INTERNAL for an ITK exception. */
bmeq_status bmeq_itk_n4(const bmeq_volume *in, const uint8_t *mask, const bmeq_n4_params *params,
			bmeq_volume **corrected, bmeq_volume **field);

/* ---- rigid transforms and resampling ------------------------------------- */

/* A rigid transform in RAS mm mapping a point x of the fixed (target) world
 * to the point R x + t of the moving (source) world, with the outcome of the
 * registration that produced it (zeros when set by hand). */
typedef struct bmeq_rigid {
	double rotation[3][3];  /* proper rotation (det +1) */
	double translation[3];  /* mm */
	double metric;          /* final Mattes MI metric (lower is better; negative MI) */
	double metric_initial;  /* metric of the initial transform on the same samples */
	int iterations;         /* optimiser iterations over all levels */
	unsigned flags;         /* BMEQ_RIGID_* quality flags; 0 means passed */
} bmeq_rigid;

#define BMEQ_RIGID_ANGLE 1u    /* rotation above params.max_angle_deg */
#define BMEQ_RIGID_SHIFT 2u    /* moved further than params.max_shift_mm from the start */
#define BMEQ_RIGID_METRIC 4u   /* the metric did not improve on the initial transform */

/* Sets t to the identity (and clears the outcome fields). */
void bmeq_rigid_identity(bmeq_rigid *t);

/* Sets t to the pure translation (dx, dy, dz) mm. */
void bmeq_rigid_translation(bmeq_rigid *t, const double d[3]);

/* Rotation angle of t in degrees (0..180). */
double bmeq_rigid_angle_deg(const bmeq_rigid *t);

/* Writes the 4x4 RAS->RAS matrix (fixed world -> moving world) of t. */
void bmeq_rigid_matrix(const bmeq_rigid *t, double m[4][4]);

/* Writes the 3x4 RAS->RAS matrix of t's inverse (moving world -> fixed world):
 * x = R^T (y - d) for t: y = R x + d. */
void bmeq_rigid_inverse_matrix(const bmeq_rigid *t, double inv[3][4]);

/* Resamples image moving onto grid target through t (NULL = identity):
 * voxel v of the output takes moving's value at t(world(v)), trilinear,
 * fill outside moving's lattice. *out is new, on target.
 * BMEQ_E_ARG / BMEQ_E_UNSUPPORTED for bad grids, BMEQ_E_NOMEM. */
bmeq_status bmeq_itk_resample(const bmeq_volume *moving, const bmeq_grid *target,
			      const bmeq_rigid *t, float fill, bmeq_volume **out);

/* As bmeq_itk_resample() over voxels lo..hi (inclusive, per axis) of target
 * only: *out is new, on the box's own grid (target's, its origin moved to
 * voxel lo), and each of its voxels holds, to the bit, the value
 * bmeq_itk_resample() gives that voxel of the whole target. The cost follows
 * the box (e.g. a T1 needed only around the hips of a wide STIR).
 * BMEQ_E_ARG also for a box off the grid. */
bmeq_status bmeq_itk_resample_box(const bmeq_volume *moving, const bmeq_grid *target,
				  const size_t lo[3], const size_t hi[3], const bmeq_rigid *t,
				  float fill, bmeq_volume **out);

/* As bmeq_itk_resample() for a uint8 label map (nearest neighbour, 0
 * outside): labels on grid src, out is a caller buffer of
 * bmeq_grid_nvox(target) elements. (A region map carried from one grid onto
 * another, e.g. from a T1 onto its STIR.) */
bmeq_status bmeq_itk_resample_labels_u8(const uint8_t *labels, const bmeq_grid *src,
					const bmeq_grid *target, const bmeq_rigid *t,
					uint8_t *out);

/* ---- rigid registration -------------------------------------------------- */

/* Where on the fixed image the metric is evaluated. */
typedef enum bmeq_region_kind {
	BMEQ_REGION_ALL = 0,    /* the whole fixed image (slow; avoid on hip pairs) */
	BMEQ_REGION_BOX = 1,    /* axis-aligned RAS box: centre +- half_size */
	BMEQ_REGION_SPHERE = 2  /* RAS ball: centre, radius */
} bmeq_region_kind;

/* Parameters of bmeq_itk_register_rigid(). Start from bmeq_reg_params_default(). */
typedef struct bmeq_reg_params {
	bmeq_region_kind region;
	double centre[3];       /* RAS mm, box or sphere centre (also the rotation centre) */
	double half_size[3];    /* box half extents in mm */
	double radius;          /* sphere radius in mm */
	const uint8_t *fixed_mask; /* optional, on the fixed grid, non-zero = use;
				   combined with the region */
	int levels;             /* resolution levels, 1..4 (default 3) */
	int iterations;         /* maximum iterations per level (default 60) */
	int histogram_bins;     /* Mattes bins (default 32) */
	double sampling;        /* fraction of region voxels sampled, (0, 1] (default 0.25) */
	size_t max_samples;     /* at most about this many samples per level, however large
				   the region (0, the default: no cap; else >= 500); the
				   samples are random but drawn from the fixed seed, so a
				   capped registration repeats exactly */
	size_t max_samples_finest; /* the cap on the finest level alone (0, the default:
				   max_samples); >= 500. The coarse levels only bring
				   the images within a voxel or two, the finest one sets
				   the result's accuracy */
	double finest_mm;       /* voxel size aimed at on the finest level: axes with
				   smaller voxels are shrunk (default 1.5; 0 = full
				   resolution); each coarser level doubles it */
	int preaverage;         /* 1: the fixed and moving crops are block-averaged
				   towards finest_mm before ITK's pyramid smooths them
				   (a quarter of the voxels of a 0.8 mm in-plane scan at
				   2 mm); 0 (default): the voxels as they are */
	double max_step_mm;     /* initial step in mm-equivalents (default 3) */
	double min_step_mm;     /* convergence step (default 0.01) */
	int min_step_per_level; /* 1: min_step_mm on the finest level, doubled on each
				   coarser one as its voxels are (a 4 mm level above a
				   2 mm one stops at 0.02 mm); 0 (default): min_step_mm
				   on every level */
	double margin_mm;       /* margin of moving image kept around the region (default 25) */
	int itk_gradient;       /* 1: the moving image's gradient by ITK's own
				   CentralDifferenceImageFunction (slower); 0 (default):
				   bmeq's, the same differences read straight from the
				   buffer (equal up to rounding; unit_itk compares them) */
	unsigned seed;          /* sampling seed, fixed for reproducible results (default 1) */
	double max_angle_deg;   /* quality bound on the rotation (default 20) */
	double max_shift_mm;    /* quality bound on the change from the initial transform
				   at the region centre (default 25) */
} bmeq_reg_params;

/* Fills p with the defaults above; region is BMEQ_REGION_ALL. */
void bmeq_reg_params_default(bmeq_reg_params *p);

/* Rigidly registers moving onto fixed (versor rigid 3D, Mattes mutual
 * information, multi-resolution with in-plane shrinking for thick slices,
 * regular-step gradient descent), starting from *init (NULL = identity, e.g.
 * the translation between detected femoral heads). Only the fixed voxels in
 * the region (and mask) drive the metric; both images are cropped to it
 * first, so the cost follows the region size. On BMEQ_OK *result holds the
 * transform (fixed world -> moving world, RAS mm), the metric, iteration
 * count and quality flags; a result with flags != 0 is suspect and should
 * not be used without review.
 * BMEQ_E_ARG for bad parameters or non-finite voxels in the region,
 * BMEQ_E_PROCESS when the region holds too few voxels or the optimiser
 * fails, BMEQ_E_UNSUPPORTED for a sheared grid, BMEQ_E_INTERNAL. */
bmeq_status bmeq_itk_register_rigid(const bmeq_volume *fixed, const bmeq_volume *moving,
				    const bmeq_rigid *init, const bmeq_reg_params *params,
				    bmeq_rigid *result);

#ifdef __cplusplus
}
#endif
#endif
