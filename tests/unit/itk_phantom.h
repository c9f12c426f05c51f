/* itk_phantom.h - a small analytic test object for the ITK bridge's tests and
 * benchmark: a body ellipsoid holding a femoral-head-like ball, oblique
 * ellipsoids and a smooth texture, sampled through a rigid motion.
 * (Kept to the ITK tests; the project's phantom lives in src/phantom.) */
#ifndef BMEQ_TEST_ITK_PHANTOM_H
#define BMEQ_TEST_ITK_PHANTOM_H

#include <math.h>
#include <string.h>

#include "../../src/itk/itk_internal.h"

/* The intensity of the object at RAS point p (mm), centred on c. */
static float itk_phantom_value(const double p[3], const double c[3])
{
	double x = p[0] - c[0], y = p[1] - c[1], z = p[2] - c[2];
	double body = (x * x) / (110.0 * 110.0) + (y * y) / (70.0 * 70.0) + (z * z) / (90.0 * 90.0);

	if (body > 1.0)
		return 0.0f;
	double v = 40.0 + 8.0 * sin(x / 6.0) * sin(y / 7.0 + 0.5) * sin(z / 5.0 + 1.0);
	/* femoral head (bright shell, darker core) at the region centre */
	double r2 = x * x + y * y + z * z;
	if (r2 < 24.0 * 24.0)
		v = r2 < 17.0 * 17.0 ? 90.0 + 10.0 * sin(x / 3.0 + z / 4.0) : 140.0;
	/* a neck: an oblique cylinder-like ellipsoid */
	double u = (x - 18.0) * 0.8 + (z + 14.0) * 0.6, w = -(x - 18.0) * 0.6 + (z + 14.0) * 0.8;
	if ((u * u) / (30.0 * 30.0) + (w * w) / (10.0 * 10.0) + (y * y) / (12.0 * 12.0) < 1.0)
		v = 110.0;
	/* an acetabulum-like dark cap and two asymmetric blobs */
	if (r2 > 26.0 * 26.0 && r2 < 31.0 * 31.0 && x + z < -8.0)
		v = 15.0;
	double b1 = (x + 30) * (x + 30) + (y - 20) * (y - 20) / 4.0 + (z - 25) * (z - 25);
	if (b1 < 100.0)
		v = 160.0;
	double b2 = (x - 35) * (x - 35) / 9.0 + (y + 15) * (y + 15) + (z - 30) * (z - 30) / 2.0;
	if (b2 < 64.0)
		v = 70.0;
	return (float)v;
}

/* Fills v (grid already set) with the object moved by the rigid t: the
 * moved image at x shows the object at t^-1(x) = R^T (x - t). Each voxel
 * averages 3 samples across its third axis, like a thick slice. */
static void itk_phantom_fill(bmeq_volume *v, const double centre[3], const bmeq_rigid *t)
{
	const size_t nx = v->grid.dim[0], ny = v->grid.dim[1], nz = v->grid.dim[2];

	for (size_t k = 0; k < nz; k++)
		for (size_t j = 0; j < ny; j++)
			for (size_t i = 0; i < nx; i++) {
				double acc = 0.0;
				for (int s = -1; s <= 1; s++) {
					double ijk[3] = {(double)i, (double)j, (double)k + s / 3.0}, x[3],
					       q[3];
					bmeq_grid_voxel_to_world(&v->grid, ijk, x);
					for (int r = 0; r < 3; r++) {
						q[r] = 0.0;
						for (int c = 0; c < 3; c++)
							q[r] += t->rotation[c][r] * (x[c] - t->translation[c]);
					}
					acc += itk_phantom_value(q, centre);
				}
				v->data[(k * ny + j) * nx + i] = (float)(acc / 3.0);
			}
}

/* A coronal scan grid like the hip studies (LSP: i -> left, j -> superior,
 * k -> posterior), in-plane spacing sp, 5 mm slices, centred on c. */
static void itk_phantom_grid(bmeq_grid *g, size_t nx, size_t ny, size_t nz, double sp,
			     const double c[3])
{
	memset(g, 0, sizeof(*g));
	g->dim[0] = nx;
	g->dim[1] = ny;
	g->dim[2] = nz;
	g->affine[0][0] = -sp;
	g->affine[2][1] = sp;
	g->affine[1][2] = -5.0;
	g->affine[3][3] = 1.0;
	/* origin so that the middle voxel sits at c */
	g->affine[0][3] = c[0] + sp * 0.5 * (double)(nx - 1);
	g->affine[2][3] = c[2] - sp * 0.5 * (double)(ny - 1);
	g->affine[1][3] = c[1] + 5.0 * 0.5 * (double)(nz - 1);
	g->xform_code = 1;
	bmeq_grid_update_spacing(g);
}

#endif
