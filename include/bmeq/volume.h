/* bmeq/volume.h - the canonical in-memory image and its grid.
 *
 * A grid is the voxel lattice of one scan: three dimensions, x fastest in
 * memory, and the 4x4 affine that maps voxel indices (i, j, k, 1) to patient
 * world coordinates in RAS+ millimetres (x towards the patient's left is
 * negative, y anterior positive, z superior positive). Every image and label
 * map that belongs to a scan is stored on that scan's grid, so writing an
 * output with the same grid makes it overlay exactly in ITK-SNAP or Slicer.
 *
 * A volume owns float32 voxels on a grid. Masks are uint8, label maps uint8
 * or uint16 arrays of bmeq_grid_nvox() elements in the same order.
 */
#ifndef BMEQ_VOLUME_H
#define BMEQ_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_grid {
	size_t dim[3];         /* voxels along i, j, k (k = 1 for a 2D image) */
	double spacing[3];     /* voxel size in mm: the column norms of affine */
	double affine[4][4];   /* voxel (i,j,k,1) -> RAS mm; row 3 is 0 0 0 1 */
	int xform_code;        /* NIfTI xform code written with this grid (>= 1) */
} bmeq_grid;

typedef struct bmeq_volume {
	bmeq_grid grid;
	float *data;           /* bmeq_grid_nvox(&grid) voxels, x fastest */
} bmeq_volume;

/* Largest voxel count bmeq accepts in one volume (2^31 - 1): larger headers
 * are rejected as absurd before anything is allocated. */
#define BMEQ_MAX_VOXELS ((size_t)2147483647u)

/* Number of voxels of g (product of dim). */
size_t bmeq_grid_nvox(const bmeq_grid *g);

/* Builds an axis-aligned grid with voxel size sp and origin (the RAS mm of
 * voxel 0,0,0); voxel axes i, j, k run along +x, +y, +z (orientation RAS).
 * Returns BMEQ_E_ARG for a zero dimension or a non-positive spacing. */
bmeq_status bmeq_grid_make(bmeq_grid *g, const size_t dim[3], const double sp[3],
			   const double origin[3]);

/* Recomputes g->spacing from the affine's column norms. */
void bmeq_grid_update_spacing(bmeq_grid *g);

/* Non-zero when a and b have the same dims and affines equal within tol mm
 * (compared as the world position of the corner voxels). */
int bmeq_grid_same(const bmeq_grid *a, const bmeq_grid *b, double tol_mm);

/* Maps voxel index (continuous) to RAS mm and back. bmeq_grid_world_to_voxel
 * returns BMEQ_E_ARG when the affine is singular. */
void bmeq_grid_voxel_to_world(const bmeq_grid *g, const double ijk[3], double xyz[3]);
bmeq_status bmeq_grid_world_to_voxel(const bmeq_grid *g, const double xyz[3], double ijk[3]);

/* The world box (RAS mm) of g's field of view: the smallest axis-aligned box
 * holding its eight corners (voxel edges, index -0.5 .. dim - 0.5), grown by
 * margin on every side. */
void bmeq_grid_world_box(const bmeq_grid *g, double margin, double lo[3], double hi[3]);

/* Inverts a 4x4 matrix given as 16 row-major doubles (e.g. &grid.affine[0][0])
 * into out (16 row-major doubles). BMEQ_E_ARG if singular. */
bmeq_status bmeq_affine_invert(const double *a, double *out);

/* The 4x4 product out = a b, each 16 row-major doubles (flat, so that const
 * and non-const matrices mix without casts); out must not overlap a or b. */
void bmeq_affine_mul(const double *a, const double *b, double *out);

/* y = the point x through the 4x4 affine m (16 row-major doubles). */
void bmeq_affine_apply(const double *m, const double x[3], double y[3]);

/* Solves a small dense linear system in place by Gauss-Jordan elimination
 * with partial pivoting. m holds n rows of cols doubles (row-major): the
 * first n columns are the matrix, the other cols - n the right-hand sides,
 * which on return hold the solutions. Returns 0, or -1 (m then undefined)
 * when a pivot's magnitude is below tol (a singular or near-singular system).
 * For the 3x3 to 4x4 systems of affines and least-squares fits. */
int bmeq_gauss_jordan(double *m, int n, int cols, double tol);

/* Writes the three orientation letters of g ("RAS", "LPS", "LIA" ...) into
 * out (4 bytes with the terminator): for each voxel axis, the world direction
 * it points to most. */
void bmeq_grid_orientation(const bmeq_grid *g, char out[4]);

/* Allocates a volume on grid g with zeroed voxels. *out is owned by the
 * caller (bmeq_volume_destroy). BMEQ_E_NOMEM when too large. */
bmeq_status bmeq_volume_create(const bmeq_grid *g, bmeq_volume **out);

/* Deep copy. */
bmeq_status bmeq_volume_clone(const bmeq_volume *v, bmeq_volume **out);

/* Frees v and its voxels. Accepts NULL. */
void bmeq_volume_destroy(bmeq_volume *v);

#ifdef __cplusplus
}
#endif
#endif
