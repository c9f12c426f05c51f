/* itk_filters.cxx - N4 bias-field correction, Gaussian smoothing and gradient
 * magnitude through ITK. */
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <itkBSplineControlPointImageFilter.h>
#include <itkN4BiasFieldCorrectionImageFilter.h>
#include <itkRecursiveGaussianImageFilter.h>
#include <itkShrinkImageFilter.h>

#include "itk_bridge.h"

using namespace bmeq_itk;

extern "C" void bmeq_n4_params_default(bmeq_n4_params *p)
{
	p->shrink_mm = 2.5;
	p->levels = 3;
	p->iterations[0] = 25;
	p->iterations[1] = 15;
	p->iterations[2] = 10;
	p->iterations[3] = 10;
	p->spline_distance_mm = 150.0;
	p->convergence = 0.002;
	p->histogram_bins = 200;
}

static bmeq_status check_n4_params(const bmeq_n4_params *p)
{
	if (!(p->shrink_mm >= 0.0) || !std::isfinite(p->shrink_mm))
		return bmeq_fail(BMEQ_E_ARG, "itk_n4: shrink_mm %g", p->shrink_mm);
	if (p->levels < 1 || p->levels > 4)
		return bmeq_fail(BMEQ_E_ARG, "itk_n4: %d levels (1..4)", p->levels);
	for (int l = 0; l < p->levels; l++)
		if (p->iterations[l] < 1 || p->iterations[l] > 1000)
			return bmeq_fail(BMEQ_E_ARG, "itk_n4: %d iterations at level %d", p->iterations[l], l);
	if (!(p->spline_distance_mm > 0.0) || !std::isfinite(p->spline_distance_mm))
		return bmeq_fail(BMEQ_E_ARG, "itk_n4: spline distance %g mm", p->spline_distance_mm);
	if (!(p->convergence >= 0.0))
		return bmeq_fail(BMEQ_E_ARG, "itk_n4: convergence %g", p->convergence);
	if (p->histogram_bins < 10 || p->histogram_bins > 10000)
		return bmeq_fail(BMEQ_E_ARG, "itk_n4: %d histogram bins", p->histogram_bins);
	return BMEQ_OK;
}

static bmeq_status n4_body(const bmeq_volume *in, const uint8_t *mask, const bmeq_n4_params *p,
			   bmeq_volume **corrected, bmeq_volume **field)
{
	using N4 = itk::N4BiasFieldCorrectionImageFilter<FloatImage, MaskImage, FloatImage>;
	using Lattice = N4::BiasFieldControlPointLatticeType;
	using Reconstructor = itk::BSplineControlPointImageFilter<Lattice, N4::ScalarImageType>;
	bmeq_itk_geometry geo;
	bmeq_status st = check_grid("itk_n4", &in->grid, &geo);
	const size_t n = bmeq_grid_nvox(&in->grid);

	if (st != BMEQ_OK)
		return st;
	if ((st = check_finite("itk_n4", in)) != BMEQ_OK)
		return st;

	/* N4 works on log intensities: voxels <= 0 cannot take part, whatever
	 * the caller's mask says, so they are dropped from the fitting mask. */
	std::vector<unsigned char> fit(n);
	size_t nfit = 0;
	for (size_t i = 0; i < n; i++) {
		fit[i] = (in->data[i] > 0.0f && (!mask || mask[i])) ? 1 : 0;
		nfit += fit[i];
	}
	if (nfit < 64)
		return bmeq_fail(BMEQ_E_PROCESS, "itk_n4: only %zu usable voxels (empty mask?)", nfit);

	FloatImage::Pointer img = wrap<float>(in->data, geo, in->grid.dim);
	MaskImage::Pointer msk = wrap<unsigned char>(fit.data(), geo, in->grid.dim);

	/* Shrink each axis towards shrink_mm voxels: with 0.6 mm in-plane and
	 * 5 mm slices only the in-plane axes shrink, keeping every slice, and
	 * the fit runs on ~1/16 of the voxels. Keep at least 4 voxels per axis. */
	itk::ShrinkImageFilter<FloatImage, FloatImage>::Pointer shrink_img =
		itk::ShrinkImageFilter<FloatImage, FloatImage>::New();
	itk::ShrinkImageFilter<MaskImage, MaskImage>::Pointer shrink_msk =
		itk::ShrinkImageFilter<MaskImage, MaskImage>::New();
	N4::ArrayType ncp;
	for (unsigned c = 0; c < 3; c++) {
		unsigned f = (unsigned)std::max(1.0, std::floor(p->shrink_mm / geo.spacing[c]));
		while (f > 1 && in->grid.dim[c] / f < 4)
			f--;
		shrink_img->SetShrinkFactor(c, f);
		shrink_msk->SetShrinkFactor(c, f);
		/* Control points from a physical distance, so that the field is
		 * equally stiff along thick-slice and in-plane axes. */
		double extent = (double)in->grid.dim[c] * geo.spacing[c];
		unsigned spans = (unsigned)std::max(1.0, std::ceil(extent / p->spline_distance_mm));
		ncp[c] = spans + 3; /* cubic B-spline: spans + order control points */
	}
	shrink_img->SetInput(img);
	shrink_msk->SetInput(msk);

	N4::Pointer n4 = N4::New();
	n4->SetInput(shrink_img->GetOutput());
	n4->SetMaskImage(shrink_msk->GetOutput());
	n4->SetNumberOfControlPoints(ncp);
	n4->SetSplineOrder(3);
	n4->SetConvergenceThreshold((float)p->convergence);
	n4->SetNumberOfHistogramBins((unsigned)p->histogram_bins);
	N4::VariableSizeArrayType iters((unsigned)p->levels);
	for (int l = 0; l < p->levels; l++)
		iters[(unsigned)l] = (unsigned)p->iterations[l];
	n4->SetMaximumNumberOfIterations(iters);
	n4->SetNumberOfFittingLevels((unsigned)p->levels);
	n4->Update();

	/* Evaluate the fitted log field on the full grid. The lattice spans the
	 * shrunk image's extent, slightly inside the full one (by half a shrunk
	 * voxel less half a voxel per side); mapping it onto the full extent
	 * stretches a field that varies over ~150 mm by under 1%, which is far
	 * below what matters, and avoids extrapolating a B-spline. */
	Reconstructor::Pointer rec = Reconstructor::New();
	rec->SetInput(n4->GetLogBiasFieldControlPointLattice());
	rec->SetSplineOrder(3);
	rec->SetSize(img->GetLargestPossibleRegion().GetSize());
	rec->SetOrigin(img->GetOrigin());
	rec->SetSpacing(img->GetSpacing());
	rec->SetDirection(img->GetDirection());
	rec->Update();
	const N4::ScalarType *logf = rec->GetOutput()->GetBufferPointer();

	/* Normalise the field to geometric mean 1 over the fitting voxels, so
	 * corrected intensities stay on the scale of the input. */
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		if (fit[i])
			sum += logf[i][0];
	const double mean = sum / (double)nfit;

	bmeq_volume *cor = NULL, *fld = NULL;
	if ((st = bmeq_volume_create(&in->grid, &fld)) != BMEQ_OK)
		return st;
	if (corrected && (st = bmeq_volume_create(&in->grid, &cor)) != BMEQ_OK) {
		bmeq_volume_destroy(fld);
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		float b = (float)std::exp((double)logf[i][0] - mean);
		fld->data[i] = b;
		if (cor)
			cor->data[i] = in->data[i] / b;
	}
	if (corrected)
		*corrected = cor;
	if (field)
		*field = fld;
	else
		bmeq_volume_destroy(fld);
	return BMEQ_OK;
}

extern "C" bmeq_status bmeq_itk_n4(const bmeq_volume *in, const uint8_t *mask,
				   const bmeq_n4_params *params, bmeq_volume **corrected,
				   bmeq_volume **field)
{
	bmeq_n4_params def;

	if (corrected)
		*corrected = NULL;
	if (field)
		*field = NULL;
	if (!in || !in->data)
		return bmeq_fail(BMEQ_E_ARG, "itk_n4: no input volume");
	if (!params) {
		bmeq_n4_params_default(&def);
		params = &def;
	}
	bmeq_status st = check_n4_params(params);
	if (st != BMEQ_OK)
		return st;
	return guard("itk_n4", [&]() { return n4_body(in, mask, params, corrected, field); });
}

/* Recursive Gaussian along axis a of src: order 0 smooths, 1 differentiates
 * (per mm: ITK's recursive filters work in physical units). */
static FloatImage::Pointer gauss_axis(FloatImage *src, unsigned a, double sigma, int order)
{
	using Gauss = itk::RecursiveGaussianImageFilter<FloatImage, FloatImage>;
	Gauss::Pointer g = Gauss::New();
	g->SetInput(src);
	g->SetDirection(a);
	g->SetSigma(sigma);
	g->SetOrder(order ? itk::GaussianOrderEnum::FirstOrder : itk::GaussianOrderEnum::ZeroOrder);
	g->SetNormalizeAcrossScale(false);
	g->Update();
	FloatImage::Pointer out = g->GetOutput();
	out->DisconnectPipeline();
	return out;
}

/* ITK's recursive filters need 4 voxels along their axis; shorter axes (a
 * single slice, say) are not filtered, which for smoothing is what a
 * Gaussian over one sample gives anyway. */
static bool axis_ok(const bmeq_volume *v, unsigned a)
{
	return v->grid.dim[a] >= 4;
}

static bmeq_status check_sigma(const char *what, const bmeq_volume *in, double sigma_mm,
			       bmeq_volume **out, bmeq_itk_geometry *geo)
{
	if (out)
		*out = NULL;
	if (!in || !in->data || !out)
		return bmeq_fail(BMEQ_E_ARG, "%s: NULL argument", what);
	if (!(sigma_mm > 0.0) || !std::isfinite(sigma_mm))
		return bmeq_fail(BMEQ_E_ARG, "%s: sigma %g mm", what, sigma_mm);
	return check_grid(what, &in->grid, geo);
}

extern "C" bmeq_status bmeq_itk_smooth(const bmeq_volume *in, double sigma_mm, bmeq_volume **out)
{
	bmeq_itk_geometry geo;
	bmeq_status st = check_sigma("itk_smooth", in, sigma_mm, out, &geo);

	if (st != BMEQ_OK)
		return st;
	return guard("itk_smooth", [&]() {
		FloatImage::Pointer cur = wrap<float>(in->data, geo, in->grid.dim);
		for (unsigned a = 0; a < 3; a++)
			if (axis_ok(in, a))
				cur = gauss_axis(cur, a, sigma_mm, 0);
		return to_volume(cur, &in->grid, out);
	});
}

extern "C" bmeq_status bmeq_itk_gradient_magnitude(const bmeq_volume *in, double sigma_mm,
						   bmeq_volume **out)
{
	bmeq_itk_geometry geo;
	bmeq_status st = check_sigma("itk_gradient_magnitude", in, sigma_mm, out, &geo);

	if (st != BMEQ_OK)
		return st;
	return guard("itk_gradient_magnitude", [&]() {
		const size_t n = bmeq_grid_nvox(&in->grid);
		FloatImage::Pointer src = wrap<float>(in->data, geo, in->grid.dim);
		bmeq_volume *res = NULL;
		bmeq_status s = bmeq_volume_create(&in->grid, &res);
		if (s != BMEQ_OK)
			return s;
		/* Freed if an ITK filter throws before it is handed out. */
		std::unique_ptr<bmeq_volume, void (*)(bmeq_volume *)> hold(res, bmeq_volume_destroy);
		/* The voxel axes are orthonormal in world space (shear is
		 * rejected), so the sum of squared per-axis derivatives is the
		 * squared world gradient. */
		for (unsigned d = 0; d < 3; d++) {
			if (!axis_ok(in, d))
				continue;
			FloatImage::Pointer cur = src;
			for (unsigned a = 0; a < 3; a++)
				if (axis_ok(in, a))
					cur = gauss_axis(cur, a, sigma_mm, a == d);
			const float *g = cur->GetBufferPointer();
			for (size_t i = 0; i < n; i++)
				res->data[i] += g[i] * g[i];
		}
		for (size_t i = 0; i < n; i++)
			res->data[i] = std::sqrt(res->data[i]);
		*out = hold.release();
		return BMEQ_OK;
	});
}
