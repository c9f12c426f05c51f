/* itk_bridge.h - private helpers shared by the C++ files of the ITK bridge.
 *
 * Everything here is C++ and stays inside src/itk: the public face is the
 * plain-C bmeq/itk.h. The helpers wrap caller buffers as ITK images without
 * copying and turn every exception into a bmeq_status.
 */
#ifndef BMEQ_ITK_BRIDGE_H
#define BMEQ_ITK_BRIDGE_H

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>

#include <itkMacro.h>
#include <itkImage.h>

#include "bmeq/itk.h"
#include "itk_internal.h"

namespace bmeq_itk {

using FloatImage = itk::Image<float, 3>;
using MaskImage = itk::Image<unsigned char, 3>;

/* Runs body (a callable returning bmeq_status) and converts any exception it
 * throws into a status with a one-line message naming the function. This is
 * the only place where C++ exceptions are caught, so no entry point can leak
 * one into C. */
template <typename Body>
bmeq_status guard(const char *what, Body &&body) noexcept
{
	try {
		return body();
	} catch (const itk::ExceptionObject &e) {
		return bmeq_fail(BMEQ_E_INTERNAL, "%s: ITK: %s", what, e.GetDescription());
	} catch (const std::bad_alloc &) {
		return bmeq_fail(BMEQ_E_NOMEM, "%s: out of memory", what);
	} catch (const std::exception &e) {
		return bmeq_fail(BMEQ_E_INTERNAL, "%s: %s", what, e.what());
	} catch (...) {
		return bmeq_fail(BMEQ_E_INTERNAL, "%s: unknown exception", what);
	}
}

/* Checks that g has non-zero dims within BMEQ_MAX_VOXELS and converts it to
 * an ITK geometry (see bmeq_itk_grid_to_lps). */
bmeq_status check_grid(const char *what, const bmeq_grid *g, bmeq_itk_geometry *geo);

/* Sets origin, spacing, direction and the largest region of img from geo and dim. */
void apply_geometry(itk::ImageBase<3> *img, const bmeq_itk_geometry &geo, const size_t dim[3]);

/* Wraps a caller buffer of bmeq_grid_nvox elements as an ITK image without
 * copying or taking ownership. ITK treats it as read-only input: the buffer
 * is only ever given to filters as an input, never run in place. */
template <typename T>
typename itk::Image<T, 3>::Pointer wrap(const T *data, const bmeq_itk_geometry &geo,
					const size_t dim[3])
{
	using Img = itk::Image<T, 3>;
	typename Img::Pointer img = Img::New();
	apply_geometry(img, geo, dim);
	/* The const_cast is safe: ITK never writes to an input image's buffer,
	 * and the container does not free what it does not own. */
	img->GetPixelContainer()->SetImportPointer(const_cast<T *>(data),
						   dim[0] * dim[1] * dim[2], false);
	return img;
}

/* Copies the buffer of img (same size as g) into a new bmeq volume on g. */
bmeq_status to_volume(const FloatImage *img, const bmeq_grid *g, bmeq_volume **out);

/* BMEQ_E_ARG unless every voxel of v is finite. */
bmeq_status check_finite(const char *what, const bmeq_volume *v);

/* ITK's rigid transform parts (LPS) from a RAS rigid and back:
 * p_moving = m p_fixed + o in LPS. */
void rigid_to_lps(const bmeq_rigid *t, double m[3][3], double o[3]);
void rigid_from_lps(const double m[3][3], const double o[3], bmeq_rigid *t);

} // namespace bmeq_itk

#endif
