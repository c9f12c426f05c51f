/* itk_geometry.cxx - the one RAS <-> LPS conversion of grids (bmeq/itk.h).
 *
 * Kept apart from ITK's own headers so that the DICOM reader, which needs it
 * and GDCM only, can also be built by clang for the DICOM fuzz target (ITK
 * 5.2's headers refuse Debian's clang). */
#include <cmath>
#include <cstring>

#include "itk_internal.h"

/* LPS = F RAS with F = diag(-1, -1, 1). */
static const double flip[3] = {-1.0, -1.0, 1.0};

extern "C" bmeq_status bmeq_itk_grid_to_lps(const bmeq_grid *g, bmeq_itk_geometry *out)
{
	double col[3][3];

	if (!g || !out)
		return bmeq_fail(BMEQ_E_ARG, "grid_to_lps: NULL argument");
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			if (!std::isfinite(g->affine[r][c]))
				return bmeq_fail(BMEQ_E_ARG, "grid_to_lps: affine is not finite");
	if (g->affine[3][0] != 0.0 || g->affine[3][1] != 0.0 || g->affine[3][2] != 0.0 ||
	    g->affine[3][3] != 1.0)
		return bmeq_fail(BMEQ_E_UNSUPPORTED, "grid_to_lps: affine bottom row is not 0 0 0 1");
	for (int c = 0; c < 3; c++) {
		double norm = 0.0;
		for (int r = 0; r < 3; r++) {
			col[c][r] = flip[r] * g->affine[r][c];
			norm += col[c][r] * col[c][r];
		}
		norm = std::sqrt(norm);
		if (!(norm > 1e-9))
			return bmeq_fail(BMEQ_E_ARG, "grid_to_lps: voxel axis %d has zero length", c);
		out->spacing[c] = norm;
		for (int r = 0; r < 3; r++) {
			out->direction[r][c] = col[c][r] / norm;
			col[c][r] /= norm;
		}
		out->origin[c] = flip[c] * g->affine[c][3];
	}
	/* An ITK image is origin + direction * diag(spacing) * index with a
	 * direction of unit columns that its filters assume orthogonal: a
	 * sheared lattice cannot be represented, so refuse it rather than
	 * resample it silently. 1e-4 accepts float32-rounded NIfTI sforms. */
	for (int a = 0; a < 3; a++)
		for (int b = a + 1; b < 3; b++) {
			double dot = col[a][0] * col[b][0] + col[a][1] * col[b][1] + col[a][2] * col[b][2];
			if (std::fabs(dot) > 1e-4)
				return bmeq_fail(BMEQ_E_UNSUPPORTED,
						 "grid is sheared (voxel axes %d and %d at %.3f degrees), "
						 "which ITK images cannot represent",
						 a, b, std::acos(std::fmax(-1.0, std::fmin(1.0, dot))) * 180.0 / 3.14159265358979323846);
		}
	return BMEQ_OK;
}

extern "C" bmeq_status bmeq_itk_grid_from_lps(const bmeq_itk_geometry *geo, const size_t dim[3],
					     bmeq_grid *out)
{
	if (!geo || !dim || !out)
		return bmeq_fail(BMEQ_E_ARG, "grid_from_lps: NULL argument");
	std::memset(out, 0, sizeof(*out));
	for (int c = 0; c < 3; c++) {
		if (dim[c] == 0 || !(geo->spacing[c] > 0.0) || !std::isfinite(geo->spacing[c]))
			return bmeq_fail(BMEQ_E_ARG, "grid_from_lps: axis %d is empty or has spacing %g",
					 c, geo->spacing[c]);
		out->dim[c] = dim[c];
	}
	for (int r = 0; r < 3; r++) {
		for (int c = 0; c < 3; c++)
			out->affine[r][c] = flip[r] * geo->direction[r][c] * geo->spacing[c];
		out->affine[r][3] = flip[r] * geo->origin[r];
	}
	out->affine[3][3] = 1.0;
	out->xform_code = 1;
	bmeq_grid_update_spacing(out);
	return BMEQ_OK;
}

