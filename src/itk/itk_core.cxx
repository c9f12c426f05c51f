/* itk_core.cxx - threads, RAS <-> LPS geometry, buffer import and the rigid
 * transform helpers of the ITK bridge. */
#include <cmath>
#include <cstring>

#include <itkMultiThreaderBase.h>

#include "itk_bridge.h"

namespace bmeq_itk {

bmeq_status check_grid(const char *what, const bmeq_grid *g, bmeq_itk_geometry *geo)
{
	if (!g)
		return bmeq_fail(BMEQ_E_ARG, "%s: grid is NULL", what);
	for (int c = 0; c < 3; c++)
		if (g->dim[c] == 0)
			return bmeq_fail(BMEQ_E_ARG, "%s: grid dimension %d is zero", what, c);
	if (g->dim[1] > BMEQ_MAX_VOXELS / g->dim[0] ||
	    g->dim[2] > BMEQ_MAX_VOXELS / (g->dim[0] * g->dim[1]))
		return bmeq_fail(BMEQ_E_NOMEM, "%s: grid %zux%zux%zu is too large", what, g->dim[0],
				 g->dim[1], g->dim[2]);
	bmeq_status st = bmeq_itk_grid_to_lps(g, geo);
	if (st != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", what, bmeq_last_error());
	return BMEQ_OK;
}

void apply_geometry(itk::ImageBase<3> *img, const bmeq_itk_geometry &geo, const size_t dim[3])
{
	itk::ImageBase<3>::SizeType size;
	itk::ImageBase<3>::PointType origin;
	itk::ImageBase<3>::SpacingType spacing;
	itk::ImageBase<3>::DirectionType dir;

	for (unsigned r = 0; r < 3; r++) {
		size[r] = dim[r];
		origin[r] = geo.origin[r];
		spacing[r] = geo.spacing[r];
		for (unsigned c = 0; c < 3; c++)
			dir(r, c) = geo.direction[r][c];
	}
	img->SetRegions(itk::ImageBase<3>::RegionType(size));
	img->SetOrigin(origin);
	img->SetSpacing(spacing);
	img->SetDirection(dir);
}

bmeq_status to_volume(const FloatImage *img, const bmeq_grid *g, bmeq_volume **out)
{
	const size_t n = bmeq_grid_nvox(g);

	if (img->GetBufferedRegion().GetNumberOfPixels() != n)
		return bmeq_fail(BMEQ_E_INTERNAL, "itk: output has %zu voxels, grid %zu",
				 (size_t)img->GetBufferedRegion().GetNumberOfPixels(), n);
	bmeq_status st = bmeq_volume_create(g, out);
	if (st != BMEQ_OK)
		return st;
	std::memcpy((*out)->data, img->GetBufferPointer(), n * sizeof(float));
	return BMEQ_OK;
}

bmeq_status check_finite(const char *what, const bmeq_volume *v)
{
	const size_t n = bmeq_grid_nvox(&v->grid);

	for (size_t i = 0; i < n; i++)
		if (!std::isfinite(v->data[i]))
			return bmeq_fail(BMEQ_E_ARG, "%s: voxel %zu is not finite", what, i);
	return BMEQ_OK;
}

/* LPS = F RAS with F = diag(-1, -1, 1); F is its own inverse, so a RAS map
 * x -> R x + t reads F R F x + F t in LPS. */
static const double flip[3] = {-1.0, -1.0, 1.0};

void rigid_to_lps(const bmeq_rigid *t, double m[3][3], double o[3])
{
	for (int r = 0; r < 3; r++) {
		o[r] = flip[r] * t->translation[r];
		for (int c = 0; c < 3; c++)
			m[r][c] = flip[r] * t->rotation[r][c] * flip[c];
	}
}

void rigid_from_lps(const double m[3][3], const double o[3], bmeq_rigid *t)
{
	for (int r = 0; r < 3; r++) {
		t->translation[r] = flip[r] * o[r];
		for (int c = 0; c < 3; c++)
			t->rotation[r][c] = flip[r] * m[r][c] * flip[c];
	}
}

} // namespace bmeq_itk

using namespace bmeq_itk;

extern "C" bmeq_status bmeq_itk_set_threads(int n)
{
	if (n < 1)
		return bmeq_fail(BMEQ_E_ARG, "itk_set_threads: %d threads", n);
	return guard("itk_set_threads", [n]() {
		/* The maximum bounds the default; raise it first so n is honoured. */
		if ((itk::ThreadIdType)n > itk::MultiThreaderBase::GetGlobalMaximumNumberOfThreads())
			itk::MultiThreaderBase::SetGlobalMaximumNumberOfThreads((itk::ThreadIdType)n);
		itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads((itk::ThreadIdType)n);
		return BMEQ_OK;
	});
}

extern "C" int bmeq_itk_get_threads(void)
{
	return (int)itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads();
}

extern "C" void bmeq_rigid_identity(bmeq_rigid *t)
{
	std::memset(t, 0, sizeof(*t));
	for (int i = 0; i < 3; i++)
		t->rotation[i][i] = 1.0;
}

extern "C" void bmeq_rigid_translation(bmeq_rigid *t, const double d[3])
{
	bmeq_rigid_identity(t);
	for (int i = 0; i < 3; i++)
		t->translation[i] = d[i];
}

extern "C" void bmeq_rigid_matrix(const bmeq_rigid *t, double m[4][4])
{
	for (int r = 0; r < 3; r++) {
		for (int c = 0; c < 3; c++)
			m[r][c] = t->rotation[r][c];
		m[r][3] = t->translation[r];
		m[3][r] = 0.0;
	}
	m[3][3] = 1.0;
}

extern "C" void bmeq_rigid_inverse_matrix(const bmeq_rigid *t, double inv[3][4])
{
	for (int a = 0; a < 3; a++) {
		inv[a][3] = 0.0;
		for (int b = 0; b < 3; b++) {
			inv[a][b] = t->rotation[b][a];
			inv[a][3] -= t->rotation[b][a] * t->translation[b];
		}
	}
}

extern "C" bmeq_status bmeq_rigid_from_axis_angle(bmeq_rigid *t, const double axis[3],
						  double angle_deg, const double centre[3],
						  const double d[3])
{
	double n = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);

	if (!(n > 1e-12))
		return bmeq_fail(BMEQ_E_ARG, "rigid_from_axis_angle: zero axis");
	const double u[3] = {axis[0] / n, axis[1] / n, axis[2] / n};
	const double a = angle_deg * M_PI / 180.0, cs = std::cos(a), sn = std::sin(a);
	bmeq_rigid_identity(t);
	/* Rodrigues: R = cos I + sin [u]x + (1 - cos) u u^T. */
	const double ux[3][3] = {{0, -u[2], u[1]}, {u[2], 0, -u[0]}, {-u[1], u[0], 0}};
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			t->rotation[r][c] = (r == c ? cs : 0.0) + sn * ux[r][c] + (1.0 - cs) * u[r] * u[c];
	/* x -> R (x - c) + c + d, so t = c + d - R c. */
	for (int r = 0; r < 3; r++) {
		double rc = 0.0;
		for (int c = 0; c < 3; c++)
			rc += t->rotation[r][c] * centre[c];
		t->translation[r] = centre[r] + d[r] - rc;
	}
	return BMEQ_OK;
}

extern "C" double bmeq_rigid_angle_deg(const bmeq_rigid *t)
{
	double tr = t->rotation[0][0] + t->rotation[1][1] + t->rotation[2][2];
	double c = std::fmax(-1.0, std::fmin(1.0, 0.5 * (tr - 1.0)));

	return std::acos(c) * 180.0 / M_PI;
}
