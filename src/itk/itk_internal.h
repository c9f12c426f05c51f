/* itk_internal.h - the ITK bridge's functions that only its tests and
 * benchmarks call (plain C, like bmeq/itk.h, which they complete).
 *
 * The pipeline uses what bmeq/itk.h declares. The functions here check the
 * bridge itself (the one RAS<->LPS conversion, ITK's thread count) or are
 * ITK's versions of what bmeq does in its own C code (smoothing, gradients,
 * connected components, 16-bit label resampling), kept so that tests and
 * bench/ can compare the two in one run. Include it as
 * "../../src/itk/itk_internal.h" from tests/unit and "../src/itk/itk_internal.h"
 * from bench/; they link bmeq_itk as usual. The same rules as bmeq/itk.h apply:
 * every function returns a status with a one-line reason, results are owned
 * by the caller, nothing is global except ITK's thread count.
 */
#ifndef BMEQ_ITK_INTERNAL_H
#define BMEQ_ITK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/itk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- threads and geometry ------------------------------------------------ */

/* ITK's current global default number of threads. */
int bmeq_itk_get_threads(void);

/* An ITK image geometry in LPS+ mm: physical = origin + direction * diag(spacing) * index. */
typedef struct bmeq_itk_geometry {
	double origin[3];
	double spacing[3];
	double direction[3][3]; /* columns are the unit voxel axes */
} bmeq_itk_geometry;

/* Converts grid g (voxel -> RAS) to an ITK geometry (LPS): the x and y rows of
 * the affine are negated, spacing is the column norms, direction the
 * normalised columns and origin the translation column.
 * BMEQ_E_ARG for a zero-length column or non-finite values,
 * BMEQ_E_UNSUPPORTED when the bottom row is not 0 0 0 1 or the columns are
 * not orthogonal (shear; cosine above 1e-4). */
bmeq_status bmeq_itk_grid_to_lps(const bmeq_grid *g, bmeq_itk_geometry *out);

/* The inverse of bmeq_itk_grid_to_lps(): builds grid out (dims from dim,
 * xform_code 1) from an ITK geometry. BMEQ_E_ARG for a zero dimension or a
 * non-positive spacing. */
bmeq_status bmeq_itk_grid_from_lps(const bmeq_itk_geometry *geo, const size_t dim[3],
				   bmeq_grid *out);

/* ---- smoothing and gradients --------------------------------------------- */

/* Gaussian smoothing with standard deviation sigma_mm (> 0) in every world
 * direction (recursive Gaussian, so the cost does not grow with sigma).
 * Axes of only one voxel are left alone. *out is new, on in's grid. */
bmeq_status bmeq_itk_smooth(const bmeq_volume *in, double sigma_mm, bmeq_volume **out);

/* Gradient magnitude (per mm) of the image smoothed with sigma_mm (> 0),
 * recursive Gaussian derivatives. *out is new, on in's grid. */
bmeq_status bmeq_itk_gradient_magnitude(const bmeq_volume *in, double sigma_mm,
					bmeq_volume **out);

/* ---- rotations and label resampling -------------------------------------- */

/* Sets t from a rotation of angle_deg about the unit axis through point
 * centre (RAS mm), followed by a translation d: x -> R (x - c) + c + d.
 * BMEQ_E_ARG for a zero axis. */
bmeq_status bmeq_rigid_from_axis_angle(bmeq_rigid *t, const double axis[3], double angle_deg,
				       const double centre[3], const double d[3]);


/* As bmeq_itk_resample_labels_u8() for a uint16 label map (the ITK peer of
 * the comparison's own nearest-neighbour carrying of lesion maps, timed by
 * bench/bench_compare.c). */
bmeq_status bmeq_itk_resample_labels_u16(const uint16_t *labels, const bmeq_grid *src,
					 const bmeq_grid *target, const bmeq_rigid *t,
					 uint16_t *out);

/* ---- connected components ------------------------------------------------ */

/* Labels the connected components of the non-zero voxels of mask (on grid g)
 * with ITK's ConnectedComponentImageFilter: 6-connected, or 26-connected when
 * fully_connected is non-zero. labels_out (optional, bmeq_grid_nvox(g)
 * elements) receives 0 for background and 1..n per component in ITK's order;
 * *ncomponents receives n. BMEQ_E_ARG for NULL mask or ncomponents,
 * BMEQ_E_NOMEM, BMEQ_E_INTERNAL. Only the dims of g are used (no geometry
 * check), so any grid works. */
bmeq_status bmeq_itk_connected_components(const uint8_t *mask, const bmeq_grid *g,
					  int fully_connected, uint32_t *labels_out,
					  size_t *ncomponents);

#ifdef __cplusplus
}
#endif
#endif
