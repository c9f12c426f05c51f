/* itk_filters.cxx - N4 bias-field correction, Gaussian smoothing and gradient
 * magnitude through ITK. */
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include <itkN4BiasFieldCorrectionImageFilter.h>
#include <itkRecursiveGaussianImageFilter.h>
#include <itkShrinkImageFilter.h>

#include "itk_bridge.h"

using namespace bmeq_itk;

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

/* Evaluates a cubic tensor-product B-spline with control lattice lat
 * (nc[0] x nc[1] x nc[2] values, x fastest) on an n[0] x n[1] x n[2] grid
 * whose corners span the lattice's whole parametric domain: the mapping of
 * ITK's BSplineControlPointImageFilter (parameter u = spans * i / (n - 1)),
 * computed separably. ITK's filter re-collapses the lattice per voxel and
 * took ~0.2 s for a 320x320x24 field; this takes a few ms. */
static void bspline3_eval(const float *lat, const unsigned nc[3], const size_t n[3], float *out)
{
	std::vector<unsigned> first[3];
	std::vector<std::array<double, 4>> w[3];

	for (int a = 0; a < 3; a++) {
		const double spans = (double)(nc[a] - 3);
		first[a].resize(n[a]);
		w[a].resize(n[a]);
		for (size_t i = 0; i < n[a]; i++) {
			double u = n[a] > 1 ? spans * (double)i / (double)(n[a] - 1) : 0.0;
			double s = std::min(std::floor(u), spans - 1.0);
			double t = u - s;
			first[a][i] = (unsigned)s;
			w[a][i] = {(1 - t) * (1 - t) * (1 - t) / 6.0,
				   (4.0 - 6.0 * t * t + 3.0 * t * t * t) / 6.0,
				   (1.0 + 3.0 * t + 3.0 * t * t - 3.0 * t * t * t) / 6.0,
				   t * t * t / 6.0};
		}
	}
	std::vector<double> zc((size_t)nc[0] * nc[1]), yc(nc[0]);
	for (size_t k = 0; k < n[2]; k++) {
		for (size_t q = 0; q < zc.size(); q++) {
			double v = 0.0;
			for (unsigned c = 0; c < 4; c++)
				v += w[2][k][c] * lat[(first[2][k] + c) * zc.size() + q];
			zc[q] = v;
		}
		for (size_t j = 0; j < n[1]; j++) {
			for (unsigned x = 0; x < nc[0]; x++) {
				double v = 0.0;
				for (unsigned c = 0; c < 4; c++)
					v += w[1][j][c] * zc[(first[1][j] + c) * nc[0] + x];
				yc[x] = v;
			}
			float *row = out + (k * n[1] + j) * n[0];
			for (size_t i = 0; i < n[0]; i++) {
				const std::array<double, 4> &wx = w[0][i];
				const double *y = &yc[first[0][i]];
				row[i] = (float)(wx[0] * y[0] + wx[1] * y[1] + wx[2] * y[2] + wx[3] * y[3]);
			}
		}
	}
}

static bmeq_status n4_body(const bmeq_volume *in, const uint8_t *mask, const bmeq_n4_params *p,
			   bmeq_volume **corrected, bmeq_volume **field)
{
	using N4 = itk::N4BiasFieldCorrectionImageFilter<FloatImage, MaskImage, FloatImage>;
	using Lattice = N4::BiasFieldControlPointLatticeType;
	bmeq_itk_geometry geo;
	bmeq_status st = check_grid("itk_n4", &in->grid, &geo);
	const size_t n = bmeq_grid_nvox(&in->grid);

	if (st != BMEQ_OK)
		return st;
	if ((st = check_finite("itk_n4", in)) != BMEQ_OK)
		return st;
	for (int c = 0; c < 3; c++)
		if (in->grid.dim[c] < 4)
			return bmeq_fail(BMEQ_E_ARG, "itk_n4: needs 4 voxels along each axis (axis %d has %zu)",
					 c, in->grid.dim[c]);

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

	/* Shrink each axis towards shrink_mm voxels: with 0.9 mm in-plane and
	 * 5 mm slices the in-plane axes shrink 11-fold and the slice axis only
	 * 2-fold, so the fitting voxels are near isotropic. Keep at least 4
	 * voxels per axis. */
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
	 * voxel less half a voxel per side); mapping it onto the full extent, as
	 * ITK's own BSplineControlPointImageFilter would, stretches a field that
	 * varies over ~150 mm by about 1%, far below what matters, and avoids
	 * extrapolating a B-spline. */
	const Lattice *lat = n4->GetLogBiasFieldControlPointLattice();
	unsigned nc[3];
	for (unsigned c = 0; c < 3; c++)
		nc[c] = (unsigned)lat->GetLargestPossibleRegion().GetSize()[c];
	std::vector<float> logf(n);
	bspline3_eval(&lat->GetBufferPointer()[0][0], nc, in->grid.dim, logf.data());

	/* Normalise the field to geometric mean 1 over the fitting voxels, so
	 * corrected intensities stay on the scale of the input. */
	double sum = 0.0;
	for (size_t i = 0; i < n; i++)
		if (fit[i])
			sum += logf[i];
	const double mean = sum / (double)nfit;

	bmeq_volume *cor = NULL, *fld = NULL;
	if ((st = bmeq_volume_create(&in->grid, &fld)) != BMEQ_OK)
		return st;
	if (corrected && (st = bmeq_volume_create(&in->grid, &cor)) != BMEQ_OK) {
		bmeq_volume_destroy(fld);
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		float b = (float)std::exp((double)logf[i] - mean);
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
