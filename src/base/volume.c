/* volume.c - grids, affines and float volumes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/volume.h"

size_t bmeq_grid_nvox(const bmeq_grid *g)
{
	return g->dim[0] * g->dim[1] * g->dim[2];
}

void bmeq_grid_update_spacing(bmeq_grid *g)
{
	for (int c = 0; c < 3; c++)
		g->spacing[c] = sqrt(g->affine[0][c] * g->affine[0][c] +
				     g->affine[1][c] * g->affine[1][c] +
				     g->affine[2][c] * g->affine[2][c]);
}

bmeq_status bmeq_grid_make(bmeq_grid *g, const size_t dim[3], const double sp[3],
			   const double origin[3])
{
	memset(g, 0, sizeof(*g));
	for (int c = 0; c < 3; c++) {
		if (dim[c] == 0 || !(sp[c] > 0.0) || !isfinite(sp[c]))
			return bmeq_fail(BMEQ_E_ARG, "grid: dimension %d is empty or has spacing %g", c,
					 sp[c]);
		g->dim[c] = dim[c];
		g->affine[c][c] = sp[c];
		g->affine[c][3] = origin[c];
	}
	g->affine[3][3] = 1.0;
	g->xform_code = 1;
	bmeq_grid_update_spacing(g);
	return BMEQ_OK;
}

void bmeq_grid_voxel_to_world(const bmeq_grid *g, const double ijk[3], double xyz[3])
{
	for (int r = 0; r < 3; r++)
		xyz[r] = g->affine[r][0] * ijk[0] + g->affine[r][1] * ijk[1] +
			 g->affine[r][2] * ijk[2] + g->affine[r][3];
}

int bmeq_gauss_jordan(double *m, int n, int cols, double tol)
{
	for (int c = 0; c < n; c++) {
		int p = c;
		for (int r = c + 1; r < n; r++)
			if (fabs(m[r * cols + c]) > fabs(m[p * cols + c]))
				p = r;
		/* Written so that a NaN pivot counts as singular too. */
		if (!(fabs(m[p * cols + c]) >= tol))
			return -1;
		if (p != c)
			for (int k = 0; k < cols; k++) {
				double t = m[c * cols + k];
				m[c * cols + k] = m[p * cols + k];
				m[p * cols + k] = t;
			}
		double inv = 1.0 / m[c * cols + c];
		for (int k = 0; k < cols; k++)
			m[c * cols + k] *= inv;
		for (int r = 0; r < n; r++) {
			if (r == c)
				continue;
			double f = m[r * cols + c];
			for (int k = 0; k < cols; k++)
				m[r * cols + k] -= f * m[c * cols + k];
		}
	}
	return 0;
}

void bmeq_grid_world_box(const bmeq_grid *g, double margin, double lo[3], double hi[3])
{
	for (int a = 0; a < 3; a++) {
		lo[a] = INFINITY;
		hi[a] = -INFINITY;
	}
	for (int c = 0; c < 8; c++) {
		double ijk[3], p[3];
		for (int a = 0; a < 3; a++)
			ijk[a] = (c >> a & 1) ? (double)g->dim[a] - 0.5 : -0.5;
		bmeq_grid_voxel_to_world(g, ijk, p);
		for (int a = 0; a < 3; a++) {
			lo[a] = fmin(lo[a], p[a] - margin);
			hi[a] = fmax(hi[a], p[a] + margin);
		}
	}
}

void bmeq_affine_mul(const double *a, const double *b, double *out)
{
	for (int r = 0; r < 4; r++)
		for (int k = 0; k < 4; k++) {
			out[r * 4 + k] = 0.0;
			for (int q = 0; q < 4; q++)
				out[r * 4 + k] += a[r * 4 + q] * b[q * 4 + k];
		}
}

void bmeq_affine_apply(const double *m, const double x[3], double y[3])
{
	for (int r = 0; r < 3; r++)
		y[r] = m[r * 4] * x[0] + m[r * 4 + 1] * x[1] + m[r * 4 + 2] * x[2] + m[r * 4 + 3];
}

bmeq_status bmeq_affine_invert(const double *a, double *out)
{
	/* The 4x8 tableau [A | I]: its right half becomes the inverse. */
	double m[4][8];

	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++) {
			m[r][c] = a[r * 4 + c];
			m[r][c + 4] = (r == c) ? 1.0 : 0.0;
		}
	if (bmeq_gauss_jordan(&m[0][0], 4, 8, 1e-12) != 0)
		return bmeq_fail(BMEQ_E_ARG, "affine is singular");
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			out[r * 4 + c] = m[r][c + 4];
	return BMEQ_OK;
}

bmeq_status bmeq_grid_world_to_voxel(const bmeq_grid *g, const double xyz[3], double ijk[3])
{
	double inv[4][4];
	bmeq_status st = bmeq_affine_invert(&g->affine[0][0], &inv[0][0]);

	if (st != BMEQ_OK)
		return st;
	for (int r = 0; r < 3; r++)
		ijk[r] = inv[r][0] * xyz[0] + inv[r][1] * xyz[1] + inv[r][2] * xyz[2] + inv[r][3];
	return BMEQ_OK;
}

int bmeq_grid_same(const bmeq_grid *a, const bmeq_grid *b, double tol_mm)
{
	for (int c = 0; c < 3; c++)
		if (a->dim[c] != b->dim[c])
			return 0;
	/* Compare the world position of all 8 corners: this catches flips, shifts
	 * and scalings whatever the spacing. */
	for (int corner = 0; corner < 8; corner++) {
		double ijk[3], pa[3], pb[3];
		for (int c = 0; c < 3; c++)
			ijk[c] = (corner >> c & 1) ? (double)(a->dim[c] - 1) : 0.0;
		bmeq_grid_voxel_to_world(a, ijk, pa);
		bmeq_grid_voxel_to_world(b, ijk, pb);
		for (int c = 0; c < 3; c++)
			if (!(fabs(pa[c] - pb[c]) <= tol_mm))
				return 0;
	}
	return 1;
}

void bmeq_grid_orientation(const bmeq_grid *g, char out[4])
{
	static const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
	int used[3] = {0, 0, 0};

	/* Greedy: repeatedly take the largest remaining direction cosine, so that no
	 * world axis is used twice, even for 45-degree oblique grids. */
	int col_done[3] = {0, 0, 0};
	for (int n = 0; n < 3; n++) {
		int bc = 0, br = 0;
		double best = -1.0;
		for (int c = 0; c < 3; c++) {
			if (col_done[c])
				continue;
			double norm = g->spacing[c] > 0 ? g->spacing[c] : 1.0;
			for (int r = 0; r < 3; r++) {
				if (used[r])
					continue;
				double v = fabs(g->affine[r][c]) / norm;
				if (v > best) {
					best = v;
					bc = c;
					br = r;
				}
			}
		}
		col_done[bc] = 1;
		used[br] = 1;
		out[bc] = g->affine[br][bc] >= 0 ? pos[br] : neg[br];
	}
	out[3] = '\0';
}

bmeq_status bmeq_volume_create(const bmeq_grid *g, bmeq_volume **out)
{
	size_t n;
	bmeq_volume *v;

	*out = NULL;
	if (g->dim[0] == 0 || g->dim[1] == 0 || g->dim[2] == 0)
		return bmeq_fail(BMEQ_E_ARG, "volume: empty grid");
	if (g->dim[1] > BMEQ_MAX_VOXELS / g->dim[0] ||
	    g->dim[2] > BMEQ_MAX_VOXELS / (g->dim[0] * g->dim[1]))
		return bmeq_fail(BMEQ_E_NOMEM, "volume: %zux%zux%zu voxels is too large", g->dim[0],
				 g->dim[1], g->dim[2]);
	n = bmeq_grid_nvox(g);
	v = malloc(sizeof(*v));
	if (!v)
		return bmeq_fail(BMEQ_E_NOMEM, "volume: out of memory");
	v->grid = *g;
	v->data = calloc(n, sizeof(float));
	if (!v->data) {
		free(v);
		return bmeq_fail(BMEQ_E_NOMEM, "volume: out of memory for %zu voxels", n);
	}
	*out = v;
	return BMEQ_OK;
}

bmeq_status bmeq_volume_clone(const bmeq_volume *v, bmeq_volume **out)
{
	bmeq_status st = bmeq_volume_create(&v->grid, out);

	if (st == BMEQ_OK)
		memcpy((*out)->data, v->data, bmeq_grid_nvox(&v->grid) * sizeof(float));
	return st;
}

void bmeq_volume_destroy(bmeq_volume *v)
{
	if (!v)
		return;
	free(v->data);
	free(v);
}
