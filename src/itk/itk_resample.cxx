/* itk_resample.cxx - resampling images (trilinear) and label maps (nearest
 * neighbour) onto a target grid, optionally through a rigid transform. */
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <itkAffineTransform.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include "itk_bridge.h"

using namespace bmeq_itk;

/* ResampleImageFilter maps each output (target) point through the transform
 * into the input (moving) image, which is exactly bmeq_rigid's direction.
 * An affine transform carries it: it takes any matrix without re-checking
 * orthogonality, so a rigid from the caller is used as given. */
static itk::AffineTransform<double, 3>::Pointer make_transform(const bmeq_rigid *t)
{
	itk::AffineTransform<double, 3>::Pointer tr = itk::AffineTransform<double, 3>::New();
	tr->SetIdentity();
	if (t) {
		double m[3][3], o[3];
		itk::AffineTransform<double, 3>::MatrixType mat;
		itk::AffineTransform<double, 3>::OutputVectorType off;
		rigid_to_lps(t, m, o);
		for (unsigned r = 0; r < 3; r++) {
			off[r] = o[r];
			for (unsigned c = 0; c < 3; c++)
				mat(r, c) = m[r][c];
		}
		tr->SetMatrix(mat);
		tr->SetOffset(off);
	}
	return tr;
}

static bmeq_status check_rigid(const char *what, const bmeq_rigid *t)
{
	if (!t)
		return BMEQ_OK;
	for (int r = 0; r < 3; r++) {
		if (!std::isfinite(t->translation[r]))
			return bmeq_fail(BMEQ_E_ARG, "%s: transform is not finite", what);
		for (int c = 0; c < 3; c++)
			if (!std::isfinite(t->rotation[r][c]))
				return bmeq_fail(BMEQ_E_ARG, "%s: transform is not finite", what);
	}
	return BMEQ_OK;
}

/* Resamples src (wrapped caller data) onto the target geometry through t
 * with the given interpolator and copies the result into out: the whole
 * target (box NULL), or only its voxels box[0..2] (first) to box[3..5]
 * (inclusive), x fastest. A box is the output's requested region inside the
 * whole target: ITK 5's linear path maps each voxel from the end points of
 * its whole row of the largest region, whatever region it computes, so the
 * box's voxels are those of the whole target to the bit. */
template <typename T, typename Interp>
static void resample_into(const T *src, const bmeq_itk_geometry &sgeo, const size_t sdim[3],
			  const bmeq_itk_geometry &tgeo, const size_t tdim[3], const size_t *box,
			  const bmeq_rigid *t, T fill, T *out)
{
	using Img = itk::Image<T, 3>;
	using Resampler = itk::ResampleImageFilter<Img, Img, double>;
	typename Img::Pointer in = wrap<T>(src, sgeo, sdim);
	typename Img::Pointer ref = Img::New(); /* geometry only, no buffer */
	apply_geometry(ref, tgeo, tdim);
	typename Resampler::Pointer rs = Resampler::New();
	rs->SetInput(in);
	rs->SetTransform(make_transform(t));
	rs->SetInterpolator(Interp::New());
	rs->SetUseReferenceImage(true);
	rs->SetReferenceImage(ref);
	rs->SetDefaultPixelValue(fill);
	size_t n = tdim[0] * tdim[1] * tdim[2];
	if (box) {
		typename Img::RegionType region;
		n = 1;
		for (unsigned a = 0; a < 3; a++) {
			region.SetIndex(a, (itk::IndexValueType)box[a]);
			region.SetSize(a, (itk::SizeValueType)(box[a + 3] - box[a] + 1));
			n *= box[a + 3] - box[a] + 1;
		}
		rs->GetOutput()->SetRequestedRegion(region);
		rs->Update();
		if (rs->GetOutput()->GetBufferedRegion() != region)
			throw std::runtime_error("resampled another region than the box asked for");
	} else {
		rs->Update();
	}
	std::memcpy(out, rs->GetOutput()->GetBufferPointer(), n * sizeof(T));
}

/* The moving image resampled (trilinear) onto the target grid through t:
 * the whole target (lo and hi NULL), or only its voxels lo..hi (inclusive),
 * in a volume on the box's own grid (the target's, its origin moved to voxel
 * lo). what names the caller in errors. */
static bmeq_status resample_volume(const char *what, const bmeq_volume *moving,
				   const bmeq_grid *target, const size_t *lo, const size_t *hi,
				   const bmeq_rigid *t, float fill, bmeq_volume **out)
{
	bmeq_itk_geometry sgeo, tgeo;
	bmeq_status st;
	char w[64];

	if (out)
		*out = NULL;
	if (!moving || !moving->data || !target || !out || !lo != !hi)
		return bmeq_fail(BMEQ_E_ARG, "%s: NULL argument", what);
	snprintf(w, sizeof(w), "%s: moving", what);
	if ((st = check_grid(w, &moving->grid, &sgeo)) != BMEQ_OK)
		return st;
	snprintf(w, sizeof(w), "%s: target", what);
	if ((st = check_grid(w, target, &tgeo)) != BMEQ_OK ||
	    (st = check_rigid(what, t)) != BMEQ_OK)
		return st;
	size_t box[6];
	bmeq_grid bg = *target;
	if (lo) {
		for (int a = 0; a < 3; a++) {
			if (!(lo[a] <= hi[a] && hi[a] < target->dim[a]))
				return bmeq_fail(BMEQ_E_ARG, "%s: box %zu..%zu off axis %d (0..%zu)",
						 what, lo[a], hi[a], a, target->dim[a] - 1);
			box[a] = lo[a];
			box[a + 3] = hi[a];
			bg.dim[a] = hi[a] - lo[a] + 1;
		}
		for (int r = 0; r < 3; r++)
			bg.affine[r][3] = target->affine[r][3] +
					  target->affine[r][0] * (double)lo[0] +
					  target->affine[r][1] * (double)lo[1] +
					  target->affine[r][2] * (double)lo[2];
	}
	bmeq_volume *res = NULL;
	if ((st = bmeq_volume_create(&bg, &res)) != BMEQ_OK)
		return st;
	st = guard(what, [&]() {
		using Interp = itk::LinearInterpolateImageFunction<FloatImage, double>;
		resample_into<float, Interp>(moving->data, sgeo, moving->grid.dim, tgeo, target->dim,
					     lo ? box : NULL, t, fill, res->data);
		return BMEQ_OK;
	});
	if (st != BMEQ_OK) {
		bmeq_volume_destroy(res);
		return st;
	}
	*out = res;
	return BMEQ_OK;
}

extern "C" bmeq_status bmeq_itk_resample(const bmeq_volume *moving, const bmeq_grid *target,
					 const bmeq_rigid *t, float fill, bmeq_volume **out)
{
	return resample_volume("itk_resample", moving, target, NULL, NULL, t, fill, out);
}

extern "C" bmeq_status bmeq_itk_resample_box(const bmeq_volume *moving, const bmeq_grid *target,
					     const size_t lo[3], const size_t hi[3],
					     const bmeq_rigid *t, float fill, bmeq_volume **out)
{
	if (!lo || !hi) {
		if (out)
			*out = NULL;
		return bmeq_fail(BMEQ_E_ARG, "itk_resample_box: NULL argument");
	}
	return resample_volume("itk_resample_box", moving, target, lo, hi, t, fill, out);
}

template <typename T>
static bmeq_status resample_labels(const char *what, const T *labels, const bmeq_grid *src,
				   const bmeq_grid *target, const bmeq_rigid *t, T *out)
{
	bmeq_itk_geometry sgeo, tgeo;
	bmeq_status st;

	if (!labels || !src || !target || !out)
		return bmeq_fail(BMEQ_E_ARG, "%s: NULL argument", what);
	if ((st = check_grid(what, src, &sgeo)) != BMEQ_OK ||
	    (st = check_grid(what, target, &tgeo)) != BMEQ_OK ||
	    (st = check_rigid(what, t)) != BMEQ_OK)
		return st;
	return guard(what, [&]() {
		using Interp = itk::NearestNeighborInterpolateImageFunction<itk::Image<T, 3>, double>;
		resample_into<T, Interp>(labels, sgeo, src->dim, tgeo, target->dim, NULL, t, 0, out);
		return BMEQ_OK;
	});
}

extern "C" bmeq_status bmeq_itk_resample_labels_u8(const uint8_t *labels, const bmeq_grid *src,
						   const bmeq_grid *target, const bmeq_rigid *t,
						   uint8_t *out)
{
	return resample_labels<uint8_t>("itk_resample_labels_u8", labels, src, target, t, out);
}

extern "C" bmeq_status bmeq_itk_resample_labels_u16(const uint16_t *labels, const bmeq_grid *src,
						    const bmeq_grid *target, const bmeq_rigid *t,
						    uint16_t *out)
{
	return resample_labels<uint16_t>("itk_resample_labels_u16", labels, src, target, t, out);
}
