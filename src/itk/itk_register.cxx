/* itk_register.cxx - rigid registration of one region (e.g. one hip) of two
 * sessions: versor rigid 3D, Mattes mutual information, multi-resolution,
 * regular-step gradient descent. Both images are cropped to the region before
 * ITK sees them, so the cost follows the region, not the field of view. */
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <itkImageMaskSpatialObject.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkVersor.h>
#include <itkVersorRigid3DTransform.h>

#include "itk_bridge.h"

using namespace bmeq_itk;

extern "C" void bmeq_reg_params_default(bmeq_reg_params *p)
{
	std::memset(p, 0, sizeof(*p));
	p->region = BMEQ_REGION_ALL;
	p->fixed_mask = NULL;
	p->levels = 3;
	p->iterations = 60;
	p->histogram_bins = 32;
	p->sampling = 0.25;
	p->finest_mm = 1.5;
	p->max_step_mm = 3.0;
	p->min_step_mm = 0.01;
	p->margin_mm = 25.0;
	p->seed = 1;
	p->max_angle_deg = 20.0;
	p->max_shift_mm = 25.0;
}

static bmeq_status check_reg_params(const bmeq_reg_params *p)
{
	const char *w = "itk_register_rigid";

	if (p->region != BMEQ_REGION_ALL && p->region != BMEQ_REGION_BOX &&
	    p->region != BMEQ_REGION_SPHERE)
		return bmeq_fail(BMEQ_E_ARG, "%s: unknown region kind %d", w, (int)p->region);
	for (int c = 0; c < 3; c++)
		if (!std::isfinite(p->centre[c]) || !std::isfinite(p->half_size[c]) ||
		    (p->region == BMEQ_REGION_BOX && !(p->half_size[c] > 0.0)))
			return bmeq_fail(BMEQ_E_ARG, "%s: bad region centre or box size", w);
	if (p->region == BMEQ_REGION_SPHERE && (!(p->radius > 0.0) || !std::isfinite(p->radius)))
		return bmeq_fail(BMEQ_E_ARG, "%s: sphere radius %g mm", w, p->radius);
	if (p->levels < 1 || p->levels > 4)
		return bmeq_fail(BMEQ_E_ARG, "%s: %d levels (1..4)", w, p->levels);
	if (p->iterations < 1 || p->iterations > 10000)
		return bmeq_fail(BMEQ_E_ARG, "%s: %d iterations", w, p->iterations);
	if (p->histogram_bins < 8 || p->histogram_bins > 512)
		return bmeq_fail(BMEQ_E_ARG, "%s: %d histogram bins", w, p->histogram_bins);
	if (!(p->sampling > 0.0 && p->sampling <= 1.0))
		return bmeq_fail(BMEQ_E_ARG, "%s: sampling fraction %g", w, p->sampling);
	if (p->max_samples != 0 && p->max_samples < 500)
		return bmeq_fail(BMEQ_E_ARG, "%s: at most %zu samples per level (0 or >= 500)", w,
				 p->max_samples);
	if (p->max_samples_finest != 0 && p->max_samples_finest < 500)
		return bmeq_fail(BMEQ_E_ARG, "%s: at most %zu samples on the finest level (0 or >= 500)",
				 w, p->max_samples_finest);
	if (!(p->finest_mm >= 0.0 && p->finest_mm < 100.0))
		return bmeq_fail(BMEQ_E_ARG, "%s: finest voxel size %g mm", w, p->finest_mm);
	if (!(p->max_step_mm > 0.0 && p->min_step_mm > 0.0 && p->min_step_mm < p->max_step_mm &&
	      std::isfinite(p->max_step_mm)))
		return bmeq_fail(BMEQ_E_ARG, "%s: steps %g..%g mm", w, p->min_step_mm, p->max_step_mm);
	if (!(p->margin_mm >= 0.0 && std::isfinite(p->margin_mm)))
		return bmeq_fail(BMEQ_E_ARG, "%s: margin %g mm", w, p->margin_mm);
	return BMEQ_OK;
}

/* The fixed voxel box (inclusive) covering the region, clamped to the image.
 * Returns false when the region misses the image. */
static bool region_box(const bmeq_grid *g, const bmeq_reg_params *p, size_t lo[3], size_t hi[3])
{
	if (p->region == BMEQ_REGION_ALL) {
		for (int c = 0; c < 3; c++) {
			lo[c] = 0;
			hi[c] = g->dim[c] - 1;
		}
		return true;
	}
	double h[3];
	for (int c = 0; c < 3; c++)
		h[c] = p->region == BMEQ_REGION_BOX ? p->half_size[c] : p->radius;
	double mn[3] = {HUGE_VAL, HUGE_VAL, HUGE_VAL}, mx[3] = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
	for (int k = 0; k < 8; k++) {
		double xyz[3], ijk[3];
		for (int c = 0; c < 3; c++)
			xyz[c] = p->centre[c] + ((k >> c & 1) ? h[c] : -h[c]);
		if (bmeq_grid_world_to_voxel(g, xyz, ijk) != BMEQ_OK)
			return false;
		for (int c = 0; c < 3; c++) {
			mn[c] = std::min(mn[c], ijk[c]);
			mx[c] = std::max(mx[c], ijk[c]);
		}
	}
	for (int c = 0; c < 3; c++) {
		double a = std::max(0.0, std::ceil(mn[c] - 1e-6));
		double b = std::min((double)g->dim[c] - 1.0, std::floor(mx[c] + 1e-6));
		if (!(a <= b))
			return false;
		lo[c] = (size_t)a;
		hi[c] = (size_t)b;
	}
	return true;
}

/* Copies voxels lo..hi of v into a new ITK image that keeps v's world
 * placement, averaged over blocks of f[0] x f[1] x f[2] voxels (1 1 1: the
 * voxels themselves; a partial block at the far end is left out). A block's
 * value is the mean of its voxels, its place their centre. BMEQ_E_ARG if any
 * copied voxel is not finite (MI histograms cannot bin a NaN). */
static bmeq_status crop(const bmeq_volume *v, const bmeq_itk_geometry &geo, const size_t lo[3],
			const size_t hi[3], const unsigned f[3], FloatImage::Pointer &out)
{
	size_t dim[3];
	bmeq_itk_geometry cg = geo;

	for (int c = 0; c < 3; c++) {
		dim[c] = (hi[c] - lo[c] + 1) / f[c];
		if (dim[c] < 1)
			return bmeq_fail(BMEQ_E_ARG, "itk_register_rigid: block larger than the crop");
	}
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			cg.origin[r] += geo.direction[r][c] * geo.spacing[c] *
					((double)lo[c] + 0.5 * ((double)f[c] - 1.0));
	for (int c = 0; c < 3; c++)
		cg.spacing[c] = geo.spacing[c] * (double)f[c];
	out = FloatImage::New();
	apply_geometry(out, cg, dim);
	out->Allocate();
	float *dst = out->GetBufferPointer();
	const size_t nx = v->grid.dim[0], nxy = nx * v->grid.dim[1];
	if (f[0] == 1 && f[1] == 1 && f[2] == 1) {
		for (size_t k = lo[2]; k <= hi[2]; k++)
			for (size_t j = lo[1]; j <= hi[1]; j++) {
				const float *src = v->data + k * nxy + j * nx + lo[0];
				for (size_t i = 0; i < dim[0]; i++) {
					if (!std::isfinite(src[i]))
						return bmeq_fail(BMEQ_E_ARG,
								 "itk_register_rigid: non-finite voxel at %zu %zu %zu",
								 lo[0] + i, j, k);
					*dst++ = src[i];
				}
			}
		return BMEQ_OK;
	}
	std::vector<double> acc(dim[0]);
	const double inv = 1.0 / ((double)f[0] * f[1] * f[2]);
	for (size_t K = 0; K < dim[2]; K++)
		for (size_t J = 0; J < dim[1]; J++) {
			std::fill(acc.begin(), acc.end(), 0.0);
			for (size_t k = lo[2] + K * f[2]; k < lo[2] + (K + 1) * f[2]; k++)
				for (size_t j = lo[1] + J * f[1]; j < lo[1] + (J + 1) * f[1]; j++) {
					const float *src = v->data + k * nxy + j * nx + lo[0];
					for (size_t i = 0; i < dim[0] * f[0]; i++) {
						if (!std::isfinite(src[i]))
							return bmeq_fail(BMEQ_E_ARG,
									 "itk_register_rigid: non-finite voxel at %zu %zu %zu",
									 lo[0] + i, j, k);
						acc[i / f[0]] += src[i];
					}
				}
			for (size_t I = 0; I < dim[0]; I++)
				*dst++ = (float)(acc[I] * inv);
		}
	return BMEQ_OK;
}

/* Block size along an axis of spacing mm that averages the crop towards the
 * finest level's voxels without passing them (p->preaverage; 1: none). */
static unsigned block_for(const bmeq_reg_params *p, double spacing, size_t n)
{
	if (!p->preaverage || !(p->finest_mm > 0.0))
		return 1;
	unsigned f = (unsigned)std::max(1.0, std::floor(p->finest_mm / spacing + 1e-6));
	while (f > 1 && n / f < 8)
		f--;
	return f;
}

/* Maps RAS point x through t. */
static void rigid_apply(const bmeq_rigid *t, const double x[3], double y[3])
{
	for (int r = 0; r < 3; r++)
		y[r] = t->rotation[r][0] * x[0] + t->rotation[r][1] * x[1] + t->rotation[r][2] * x[2] +
		       t->translation[r];
}

using Transform = itk::VersorRigid3DTransform<double>;

/* The moving image's gradient at a point as ITK's CentralDifferenceImageFunction
 * (with its linear interpolator) gives it: along each physical (LPS) axis d,
 * the difference of the image at the point +- half the spacing of voxel axis
 * d, over that distance; 0 along an axis where either neighbour leaves the
 * buffer (ITK's bounds: -0.5 .. n-0.5 voxels); values by linear
 * interpolation clamped at the edge voxels, as ITK's. ITK's function maps
 * each of the six neighbours from world to voxel twice (its bounds check and
 * its interpolator) through virtual calls; here the point is mapped once and
 * the neighbours are offsets of its voxel position, read straight from the
 * buffer. The metric calls it at every sample and iteration, where ITK's
 * took 40 % of a T1's registration (bench/RESULTS.md, issue 17). */
namespace {

class CentralDifference
	: public itk::ImageFunction<FloatImage, itk::CovariantVector<double, 3>, double>
{
      public:
	using Self = CentralDifference;
	using Superclass = itk::ImageFunction<FloatImage, itk::CovariantVector<double, 3>, double>;
	using Pointer = itk::SmartPointer<Self>;
	using ConstPointer = itk::SmartPointer<const Self>;
	itkNewMacro(Self)
	itkTypeMacro(CentralDifference, ImageFunction)

	void SetInputImage(const FloatImage *img) override
	{
		Superclass::SetInputImage(img);
		if (!img)
			return;
		const FloatImage::RegionType reg = img->GetBufferedRegion();
		for (unsigned a = 0; a < 3; a++) {
			start_[a] = (double)reg.GetIndex()[a];
			n_[a] = (long)reg.GetSize()[a];
			origin_[a] = img->GetOrigin()[a];
			half_[a] = 0.5 * img->GetSpacing()[a];
			for (unsigned b = 0; b < 3; b++)
				p2i_[a][b] = img->GetInverseDirection()(a, b) / img->GetSpacing()[a];
		}
		buf_ = img->GetBufferPointer();
	}

	OutputType Evaluate(const PointType &p) const override
	{
		double c[3], x[3];
		for (unsigned a = 0; a < 3; a++)
			x[a] = p[a] - origin_[a];
		for (unsigned a = 0; a < 3; a++)
			c[a] = p2i_[a][0] * x[0] + p2i_[a][1] * x[1] + p2i_[a][2] * x[2] - start_[a];
		OutputType g;
		for (unsigned d = 0; d < 3; d++) {
			double lo[3], hi[3];
			for (unsigned a = 0; a < 3; a++) {
				const double e = p2i_[a][d] * half_[d];
				lo[a] = c[a] - e;
				hi[a] = c[a] + e;
			}
			g[d] = inside(lo) && inside(hi) ? (value(hi) - value(lo)) / (2.0 * half_[d]) : 0.0;
		}
		return g;
	}

	OutputType EvaluateAtIndex(const IndexType &i) const override
	{
		PointType p;
		this->GetInputImage()->TransformIndexToPhysicalPoint(i, p);
		return Evaluate(p);
	}

	OutputType EvaluateAtContinuousIndex(const ContinuousIndexType &ci) const override
	{
		PointType p;
		this->GetInputImage()->TransformContinuousIndexToPhysicalPoint(ci, p);
		return Evaluate(p);
	}

      protected:
	CentralDifference() = default;

      private:
	/* Within the buffer by ITK's test (voxel positions from the buffer's
	 * first voxel). */
	bool inside(const double c[3]) const
	{
		for (unsigned a = 0; a < 3; a++)
			if (!(c[a] >= -0.5 && c[a] < (double)n_[a] - 0.5))
				return false;
		return true;
	}

	/* Linear interpolation at c, clamped to the edge voxels. */
	double value(const double c[3]) const
	{
		long i0[3], i1[3];
		double f[3];
		for (unsigned a = 0; a < 3; a++) {
			/* c lies within -0.5 .. n-0.5 (inside()): below 0 the
			 * first voxel's value, as ITK's clamp. A cast and a test
			 * instead of std::floor, a library call without SSE4.1. */
			long i = (long)c[a];
			i -= (double)i > c[a];
			if (i < 0) {
				i0[a] = i1[a] = 0;
				f[a] = 0.0;
				continue;
			}
			f[a] = c[a] - (double)i;
			i0[a] = std::min(i, n_[a] - 1);
			i1[a] = std::min(i + 1, n_[a] - 1);
		}
		const size_t sx = 1, sy = (size_t)n_[0], sz = (size_t)n_[0] * (size_t)n_[1];
		auto at = [&](long x, long y, long z) -> double {
			return (double)buf_[(size_t)x * sx + (size_t)y * sy + (size_t)z * sz];
		};
		const double v00 = at(i0[0], i0[1], i0[2]) + (at(i1[0], i0[1], i0[2]) - at(i0[0], i0[1], i0[2])) * f[0];
		const double v10 = at(i0[0], i1[1], i0[2]) + (at(i1[0], i1[1], i0[2]) - at(i0[0], i1[1], i0[2])) * f[0];
		const double v01 = at(i0[0], i0[1], i1[2]) + (at(i1[0], i0[1], i1[2]) - at(i0[0], i0[1], i1[2])) * f[0];
		const double v11 = at(i0[0], i1[1], i1[2]) + (at(i1[0], i1[1], i1[2]) - at(i0[0], i1[1], i1[2])) * f[0];
		const double w0 = v00 + (v10 - v00) * f[1], w1 = v01 + (v11 - v01) * f[1];
		return w0 + (w1 - w0) * f[2];
	}

	double start_[3] = {0, 0, 0}, origin_[3] = {0, 0, 0}, half_[3] = {0, 0, 0};
	double p2i_[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
	long n_[3] = {0, 0, 0};
	const float *buf_ = nullptr;
};

} // namespace

/* Shrink factor of axis c at a level whose target voxel size is size_mm:
 * in-plane axes shrink, 5 mm slice axes mostly do not. */
static unsigned shrink_for(double size_mm, double spacing, size_t dim)
{
	unsigned f = (unsigned)std::max(1.0, std::floor(size_mm / spacing + 1e-6));
	while (f > 1 && dim / f < 4)
		f--;
	return f;
}

static bmeq_status run_registration(FloatImage *fimg, FloatImage *mimg,
				    itk::ImageMaskSpatialObject<3> *mask, double inside,
				    const double centre[3], double radius, const bmeq_rigid *init,
				    const bmeq_reg_params *p, bmeq_rigid *result)
{
	using Metric = itk::MattesMutualInformationImageToImageMetricv4<FloatImage, FloatImage>;
	using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
	using Method = itk::ImageRegistrationMethodv4<FloatImage, FloatImage, Transform>;

	/* Initial transform in LPS about the region centre. */
	double m[3][3], o[3];
	rigid_to_lps(init, m, o);
	Transform::Pointer tr = Transform::New();
	Transform::InputPointType c;
	c[0] = -centre[0];
	c[1] = -centre[1];
	c[2] = centre[2];
	tr->SetCenter(c);
	Transform::MatrixType mat;
	Transform::OutputVectorType off;
	for (unsigned r = 0; r < 3; r++) {
		off[r] = o[r];
		for (unsigned k = 0; k < 3; k++)
			mat(r, k) = m[r][k];
	}
	itk::Versor<double> vs;
	vs.Set(mat);
	tr->SetRotation(vs);
	tr->SetOffset(off);
	const Transform::ParametersType start = tr->GetParameters();

	Metric::Pointer metric = Metric::New();
	metric->SetNumberOfHistogramBins((itk::SizeValueType)p->histogram_bins);
	/* Gradients only at the sampled points: far cheaper than filtering
	 * whole images when a quarter of the voxels is sampled. */
	metric->SetUseMovingImageGradientFilter(false);
	metric->SetUseFixedImageGradientFilter(false);
	if (!p->itk_gradient)
		metric->SetMovingImageGradientCalculator(CentralDifference::New());
	if (mask)
		metric->SetFixedImageMask(mask);

	/* Scales: a versor component v turns points at distance r by about
	 * 2 r v mm, so dividing its gradient by (2 r)^2 makes one step of
	 * learning rate L move points about L mm, as for the translations.
	 * r is a typical distance of region voxels from the centre. */
	const double rv = 2.0 * 0.6 * radius;
	Optimizer::ScalesType scales(6);
	for (unsigned i = 0; i < 3; i++) {
		scales[i] = rv * rv;
		scales[i + 3] = 1.0;
	}
	Optimizer::Pointer opt = Optimizer::New();
	opt->SetScales(scales);
	opt->SetLearningRate(p->max_step_mm);
	opt->SetMinimumStepLength(p->min_step_mm);
	opt->SetRelaxationFactor(0.5);
	opt->SetGradientMagnitudeTolerance(1e-8);
	opt->SetNumberOfIterations((itk::SizeValueType)p->iterations);
	opt->SetReturnBestParametersAndValue(true);
	int iterations = 0;
	opt->AddObserver(itk::IterationEvent(), [&iterations](const itk::EventObject &) { iterations++; });

	Method::Pointer reg = Method::New();
	reg->SetFixedImage(fimg);
	reg->SetMovingImage(mimg);
	reg->SetMetric(metric);
	reg->SetOptimizer(opt);
	reg->SetInitialTransform(tr);
	reg->SetInPlace(true);
	reg->SetInitializeCenterOfLinearOutputTransform(false);

	const unsigned L = (unsigned)p->levels;
	reg->SetNumberOfLevels(L);
	Method::SmoothingSigmasArrayType sigmas(L);
	Method::MetricSamplingPercentageArrayType pct(L);
	const size_t fdim[3] = {fimg->GetLargestPossibleRegion().GetSize()[0],
				fimg->GetLargestPossibleRegion().GetSize()[1],
				fimg->GetLargestPossibleRegion().GetSize()[2]};
	const double fill = inside / (double)(fdim[0] * fdim[1] * fdim[2]);
	for (unsigned l = 0; l < L; l++) {
		/* Level l (0 coarsest) aims at voxels of finest_mm * 2^(L-1-l). */
		const double size_mm = std::max(p->finest_mm, 1e-3) * (double)(1u << (L - 1 - l));
		Method::ShrinkFactorsPerDimensionContainerType f;
		double nvox = 1.0;
		for (unsigned a = 0; a < 3; a++) {
			f[a] = shrink_for(size_mm, fimg->GetSpacing()[a], fdim[a]);
			nvox *= std::ceil((double)fdim[a] / (double)f[a]);
		}
		reg->SetShrinkFactorsPerDimension(l, f);
		/* Anti-alias before shrinking; the finest level of a full-size
		 * image is left sharp. */
		sigmas[l] = (l + 1 == L && p->finest_mm <= 0.0) ? 0.0 : 0.5 * size_mm;
		/* Enough samples for a 32-bin joint histogram at coarse levels. */
		pct[l] = std::min(1.0, std::max(p->sampling, 8000.0 / (nvox * fill)));
		/* The cap wins over that floor: the cost of an iteration follows
		 * the samples, and a box over both hips holds 10^5-10^6 voxels. */
		const size_t cap = l + 1 == L && p->max_samples_finest ? p->max_samples_finest
								      : p->max_samples;
		if (cap)
			pct[l] = std::min(pct[l], (double)cap / (nvox * fill));
	}
	reg->SetSmoothingSigmasPerLevel(sigmas);
	reg->SetSmoothingSigmasAreSpecifiedInPhysicalUnits(true);
	reg->SetMetricSamplingStrategy(Method::MetricSamplingStrategyEnum::RANDOM);
	reg->SetMetricSamplingPercentagePerLevel(pct);
	reg->MetricSamplingReinitializeSeed((int)(p->seed & 0x7fffffff));
	/* Finer levels start with smaller steps: the coarse levels have
	 * already brought the images within a voxel or two. */
	reg->AddObserver(itk::MultiResolutionIterationEvent(), [&](const itk::EventObject &) {
		const unsigned l = reg->GetCurrentLevel();
		opt->SetLearningRate(p->max_step_mm / (double)(1u << l));
		if (p->min_step_per_level)
			opt->SetMinimumStepLength(p->min_step_mm * (double)(1u << (L - 1 - l)));
	});
	reg->Update();

	const Transform::ParametersType fin = tr->GetParameters();
	for (unsigned i = 0; i < fin.Size(); i++)
		if (!std::isfinite(fin[i]))
			return bmeq_fail(BMEQ_E_PROCESS, "itk_register_rigid: the optimiser diverged");
	/* Judge the result against the start on the same (finest) samples. */
	tr->SetParameters(start);
	const double v0 = metric->GetValue();
	tr->SetParameters(fin);
	const double v1 = metric->GetValue();

	const Transform::MatrixType &fm = tr->GetMatrix();
	const Transform::OutputVectorType fo = tr->GetOffset();
	for (unsigned r = 0; r < 3; r++) {
		o[r] = fo[r];
		for (unsigned k = 0; k < 3; k++)
			m[r][k] = fm(r, k);
	}
	bmeq_rigid_identity(result);
	rigid_from_lps(m, o, result);
	result->metric = v1;
	result->metric_initial = v0;
	result->iterations = iterations;
	result->flags = 0;
	if (bmeq_rigid_angle_deg(result) > p->max_angle_deg)
		result->flags |= BMEQ_RIGID_ANGLE;
	double a[3], b[3];
	rigid_apply(init, centre, a);
	rigid_apply(result, centre, b);
	if (std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
		      (a[2] - b[2]) * (a[2] - b[2])) > p->max_shift_mm)
		result->flags |= BMEQ_RIGID_SHIFT;
	if (!(v1 < v0))
		result->flags |= BMEQ_RIGID_METRIC;
	return BMEQ_OK;
}

static bmeq_status register_body(const bmeq_volume *fixed, const bmeq_volume *moving,
				 const bmeq_rigid *init, const bmeq_reg_params *p,
				 bmeq_rigid *result)
{
	const char *w = "itk_register_rigid";
	bmeq_itk_geometry fgeo, mgeo;
	bmeq_status st;
	size_t flo[3], fhi[3], mlo[3], mhi[3];

	if ((st = check_grid(w, &fixed->grid, &fgeo)) != BMEQ_OK ||
	    (st = check_grid(w, &moving->grid, &mgeo)) != BMEQ_OK)
		return st;
	if (!region_box(&fixed->grid, p, flo, fhi))
		return bmeq_fail(BMEQ_E_PROCESS, "%s: the region lies outside the fixed image", w);

	/* The region's world centre: the rotation centre, which keeps rotation
	 * and translation nearly independent for the optimiser. */
	double centre[3];
	if (p->region == BMEQ_REGION_ALL) {
		double ijk[3];
		for (int c = 0; c < 3; c++)
			ijk[c] = 0.5 * ((double)fixed->grid.dim[c] - 1.0);
		bmeq_grid_voxel_to_world(&fixed->grid, ijk, centre);
	} else {
		std::memcpy(centre, p->centre, sizeof(centre));
	}

	/* Crops block-averaged towards the finest level's voxels (preaverage):
	 * ITK's pyramid then smooths a quarter of the voxels of a 0.8 mm
	 * in-plane STIR, and the finest level samples what it sampled before,
	 * an image no finer than finest_mm. */
	unsigned fb[3];
	for (int c = 0; c < 3; c++)
		fb[c] = block_for(p, fgeo.spacing[c], fhi[c] - flo[c] + 1);
	FloatImage::Pointer fimg, mimg;
	if ((st = crop(fixed, fgeo, flo, fhi, fb, fimg)) != BMEQ_OK)
		return st;

	/* Metric mask: the sphere or oblique box on the crop, and the caller's
	 * mask; a block is in when at least half its voxels are. An
	 * axis-aligned box crop with no caller mask needs none. */
	const size_t fdim[3] = {(fhi[0] - flo[0] + 1) / fb[0], (fhi[1] - flo[1] + 1) / fb[1],
				(fhi[2] - flo[2] + 1) / fb[2]};
	const size_t fn = fdim[0] * fdim[1] * fdim[2];
	std::vector<unsigned char> mask(fn, 1);
	std::vector<unsigned> votes(fb[0] * fb[1] * fb[2] > 1 ? fn : 0, 0);
	const unsigned need = (fb[0] * fb[1] * fb[2] + 1) / 2;
	size_t inside = 0;
	double radius = 0.0;
	for (int c = 0; c < 3; c++)
		radius = std::max(radius, p->region == BMEQ_REGION_BOX ? p->half_size[c] : p->radius);
	const size_t bdim[3] = {fdim[0] * fb[0], fdim[1] * fb[1], fdim[2] * fb[2]};
	for (size_t k = 0; k < bdim[2]; k++)
		for (size_t j = 0; j < bdim[1]; j++)
			for (size_t i = 0; i < bdim[0]; i++) {
				const size_t gi = flo[0] + i, gj = flo[1] + j, gk = flo[2] + k;
				const size_t q = (k / fb[2] * fdim[1] + j / fb[1]) * fdim[0] + i / fb[0];
				bool in = true;
				if (p->fixed_mask &&
				    !p->fixed_mask[(gk * fixed->grid.dim[1] + gj) * fixed->grid.dim[0] + gi])
					in = false;
				if (p->region != BMEQ_REGION_ALL && in) {
					double ijk[3] = {(double)gi, (double)gj, (double)gk}, x[3], d2 = 0;
					bmeq_grid_voxel_to_world(&fixed->grid, ijk, x);
					for (int c = 0; c < 3; c++) {
						double e = x[c] - p->centre[c];
						if (p->region == BMEQ_REGION_BOX && std::fabs(e) > p->half_size[c] + 1e-6)
							in = false;
						d2 += e * e;
					}
					if (p->region == BMEQ_REGION_SPHERE && d2 > p->radius * p->radius)
						in = false;
				}
				if (votes.empty())
					mask[q] = in;
				else
					votes[q] += in;
			}
	for (size_t q = 0; q < fn; q++) {
		if (!votes.empty())
			mask[q] = votes[q] >= need;
		inside += mask[q];
	}
	if (inside < 1000)
		return bmeq_fail(BMEQ_E_PROCESS, "%s: only %zu fixed voxels in the region and mask", w,
				 inside);
	if (p->region == BMEQ_REGION_ALL)
		for (int c = 0; c < 3; c++)
			radius = std::max(radius, 0.5 * (double)fixed->grid.dim[c] * fgeo.spacing[c]);

	/* The moving crop: the fixed crop's corners through the initial
	 * transform, plus a margin for the motion still to be found. */
	bmeq_grid mg = moving->grid;
	double mn[3] = {HUGE_VAL, HUGE_VAL, HUGE_VAL}, mx[3] = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
	for (int k = 0; k < 8; k++) {
		double ijk[3], x[3], y[3], v[3];
		for (int c = 0; c < 3; c++)
			ijk[c] = (double)((k >> c & 1) ? fhi[c] : flo[c]);
		bmeq_grid_voxel_to_world(&fixed->grid, ijk, x);
		rigid_apply(init, x, y);
		for (int s = 0; s < 8; s++) {
			double z[3];
			for (int c = 0; c < 3; c++)
				z[c] = y[c] + ((s >> c & 1) ? p->margin_mm : -p->margin_mm);
			if ((st = bmeq_grid_world_to_voxel(&mg, z, v)) != BMEQ_OK)
				return st;
			for (int c = 0; c < 3; c++) {
				mn[c] = std::min(mn[c], v[c]);
				mx[c] = std::max(mx[c], v[c]);
			}
		}
	}
	for (int c = 0; c < 3; c++) {
		double a = std::max(0.0, std::floor(mn[c]));
		double b = std::min((double)mg.dim[c] - 1.0, std::ceil(mx[c]));
		if (!(a + 1.0 <= b))
			return bmeq_fail(BMEQ_E_PROCESS,
					 "%s: the region does not overlap the moving image", w);
		mlo[c] = (size_t)a;
		mhi[c] = (size_t)b;
	}
	unsigned mb[3];
	for (int c = 0; c < 3; c++)
		mb[c] = block_for(p, mgeo.spacing[c], mhi[c] - mlo[c] + 1);
	if ((st = crop(moving, mgeo, mlo, mhi, mb, mimg)) != BMEQ_OK)
		return st;
	for (int c = 0; c < 3; c++)
		if (fdim[c] < 4 || (mhi[c] - mlo[c] + 1) / mb[c] < 4)
			return bmeq_fail(BMEQ_E_PROCESS, "%s: the region spans fewer than 4 voxels along axis %d",
					 w, c);

	MaskImage::Pointer mimage;
	itk::ImageMaskSpatialObject<3>::Pointer so;
	if (inside < fn) {
		bmeq_itk_geometry cg;
		cg.origin[0] = fimg->GetOrigin()[0];
		cg.origin[1] = fimg->GetOrigin()[1];
		cg.origin[2] = fimg->GetOrigin()[2];
		for (int c = 0; c < 3; c++)
			cg.spacing[c] = fimg->GetSpacing()[c];
		std::memcpy(cg.direction, fgeo.direction, sizeof(cg.direction));
		mimage = wrap<unsigned char>(mask.data(), cg, fdim);
		so = itk::ImageMaskSpatialObject<3>::New();
		so->SetImage(mimage);
		so->Update();
	}
	return run_registration(fimg, mimg, so, (double)inside, centre, radius, init, p, result);
}

extern "C" bmeq_status bmeq_itk_register_rigid(const bmeq_volume *fixed, const bmeq_volume *moving,
					       const bmeq_rigid *init, const bmeq_reg_params *params,
					       bmeq_rigid *result)
{
	bmeq_reg_params def;
	bmeq_rigid ident;
	bmeq_status st;

	if (!fixed || !fixed->data || !moving || !moving->data || !result)
		return bmeq_fail(BMEQ_E_ARG, "itk_register_rigid: NULL argument");
	bmeq_rigid_identity(result);
	if (!params) {
		bmeq_reg_params_default(&def);
		params = &def;
	}
	if ((st = check_reg_params(params)) != BMEQ_OK)
		return st;
	if (!init) {
		bmeq_rigid_identity(&ident);
		init = &ident;
	}
	for (int r = 0; r < 3; r++) {
		if (!std::isfinite(init->translation[r]))
			return bmeq_fail(BMEQ_E_ARG, "itk_register_rigid: initial transform is not finite");
		for (int c = 0; c < 3; c++)
			if (!std::isfinite(init->rotation[r][c]))
				return bmeq_fail(BMEQ_E_ARG,
						 "itk_register_rigid: initial transform is not finite");
	}
	st = guard("itk_register_rigid",
		   [&]() { return register_body(fixed, moving, init, params, result); });
	if (st != BMEQ_OK)
		bmeq_rigid_identity(result);
	return st;
}
