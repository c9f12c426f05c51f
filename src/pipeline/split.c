/* split.c - resolved / persistent / new edema of one side from two visits'
 * edema maps and the registration between them. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "compare_internal.h"

/* Sub-samples are about this far apart along each baseline voxel axis: finer
 * than any in-plane voxel, so thick slices are integrated, not point-sampled. */
#define SAMPLE_MM 1.0
#define MAX_SUB 8

int bmeq_compare_label_side(uint16_t l)
{
	if (l == 1 || l == 3)
		return 0;
	if (l == 2 || l == 4)
		return 1;
	return -1;
}

typedef struct box {
	long lo[3], hi[3]; /* inclusive; empty when lo > hi on any axis */
} box;

static void box_empty(box *b)
{
	for (int a = 0; a < 3; a++) {
		b->lo[a] = LONG_MAX;
		b->hi[a] = -1;
	}
}

/* Voxel-index box of the side's labels in map m on grid g. */
static void label_box(const bmeq_grid *g, const uint16_t *m, int s, box *b)
{
	size_t i = 0;

	box_empty(b);
	for (size_t k = 0; k < g->dim[2]; k++)
		for (size_t j = 0; j < g->dim[1]; j++)
			for (size_t x = 0; x < g->dim[0]; x++, i++) {
				if (!m[i] || bmeq_compare_label_side(m[i]) != s)
					continue;
				long v[3] = {(long)x, (long)j, (long)k};
				for (int a = 0; a < 3; a++) {
					if (v[a] < b->lo[a])
						b->lo[a] = v[a];
					if (v[a] > b->hi[a])
						b->hi[a] = v[a];
				}
			}
}

static int box_is_empty(const box *b)
{
	return b->lo[0] > b->hi[0] || b->lo[1] > b->hi[1] || b->lo[2] > b->hi[2];
}

bmeq_status bmeq_compare_split(const bmeq_grid *bg, const uint16_t *bm, const bmeq_grid *fg,
			       const uint16_t *fm, const bmeq_rigid *t, int s, double ml[3],
			       uint8_t *change_map)
{
	double binv[16], finv[16], tm[4][4], tinv[16], tmp[16], b2f[16], f2b[16];
	box bb, fb;
	bmeq_status st;

	ml[0] = ml[1] = ml[2] = 0.0;
	if ((st = bmeq_affine_invert(&bg->affine[0][0], binv)) != BMEQ_OK ||
	    (st = bmeq_affine_invert(&fg->affine[0][0], finv)) != BMEQ_OK)
		return st;
	bmeq_rigid_matrix(t, tm);
	if ((st = bmeq_affine_invert(&tm[0][0], tinv)) != BMEQ_OK)
		return st;
	/* baseline voxel -> follow-up voxel, and back */
	bmeq_affine_mul(&tm[0][0], &bg->affine[0][0], tmp);
	bmeq_affine_mul(finv, tmp, b2f);
	bmeq_affine_mul(tinv, &fg->affine[0][0], tmp);
	bmeq_affine_mul(binv, tmp, f2b);

	label_box(bg, bm, s, &bb);
	label_box(fg, fm, s, &fb);
	/* The follow-up's edema box, corners widened by half a voxel, seen on
	 * the baseline grid: new edema can only lie there. */
	if (!box_is_empty(&fb))
		for (int c = 0; c < 8; c++) {
			double v[3], w[3];
			for (int a = 0; a < 3; a++)
				v[a] = (c >> a & 1) ? (double)fb.hi[a] + 0.5 : (double)fb.lo[a] - 0.5;
			bmeq_affine_apply(f2b, v, w);
			for (int a = 0; a < 3; a++) {
				long lo = (long)floor(w[a]), hi = (long)ceil(w[a]);
				if (lo < bb.lo[a])
					bb.lo[a] = lo;
				if (hi > bb.hi[a])
					bb.hi[a] = hi;
			}
		}
	for (int a = 0; a < 3; a++) {
		if (bb.lo[a] < 0)
			bb.lo[a] = 0;
		if (bb.hi[a] > (long)bg->dim[a] - 1)
			bb.hi[a] = (long)bg->dim[a] - 1;
	}
	if (box_is_empty(&bb))
		return BMEQ_OK;

	int nsub[3];
	for (int a = 0; a < 3; a++) {
		nsub[a] = (int)ceil(bg->spacing[a] / SAMPLE_MM - 1e-9);
		nsub[a] = nsub[a] < 1 ? 1 : nsub[a] > MAX_SUB ? MAX_SUB : nsub[a];
	}
	int ntot = nsub[0] * nsub[1] * nsub[2];
	/* Sub-sample offsets in follow-up voxel units: the voxel's own mapping
	 * plus these, so the inner loop is additions only. */
	double off[MAX_SUB * MAX_SUB * MAX_SUB][3];
	int q = 0;
	for (int c = 0; c < nsub[2]; c++)
		for (int b = 0; b < nsub[1]; b++)
			for (int a = 0; a < nsub[0]; a++, q++) {
				double d[3] = {(a + 0.5) / nsub[0] - 0.5, (b + 0.5) / nsub[1] - 0.5,
					       (c + 0.5) / nsub[2] - 0.5};
				for (int r = 0; r < 3; r++)
					off[q][r] = b2f[r * 4] * d[0] + b2f[r * 4 + 1] * d[1] +
						    b2f[r * 4 + 2] * d[2];
			}

	const double fdim[3] = {(double)fg->dim[0], (double)fg->dim[1], (double)fg->dim[2]};
	const size_t fsx = fg->dim[0], fsxy = fg->dim[0] * fg->dim[1];
	double nres = 0.0, nper = 0.0, nnew = 0.0;
	for (long k = bb.lo[2]; k <= bb.hi[2]; k++)
		for (long j = bb.lo[1]; j <= bb.hi[1]; j++)
			for (long i = bb.lo[0]; i <= bb.hi[0]; i++) {
				size_t idx = (size_t)i + bg->dim[0] * ((size_t)j + bg->dim[1] * (size_t)k);
				uint16_t b = bm[idx];
				int bl = b && bmeq_compare_label_side(b) == s;
				if (b && !bl)
					continue; /* the other side's edema */
				double v[3] = {(double)i, (double)j, (double)k}, c0[3];
				bmeq_affine_apply(b2f, v, c0);
				int hit_side = 0, hit_any = 0;
				for (int p = 0; p < ntot; p++) {
					double x = c0[0] + off[p][0] + 0.5, y = c0[1] + off[p][1] + 0.5,
					       z = c0[2] + off[p][2] + 0.5;
					if (!(x >= 0.0 && y >= 0.0 && z >= 0.0 && x < fdim[0] &&
					      y < fdim[1] && z < fdim[2]))
						continue;
					uint16_t f = fm[(size_t)x + fsx * (size_t)y + fsxy * (size_t)z];
					hit_any += f != 0;
					hit_side += f && bmeq_compare_label_side(f) == s;
				}
				uint8_t code = 0;
				if (bl) {
					nper += (double)hit_any / ntot;
					nres += (double)(ntot - hit_any) / ntot;
					code = 2 * hit_any > ntot ? 2 : 1;
				} else if (hit_side) {
					nnew += (double)hit_side / ntot;
					code = 2 * hit_side > ntot ? 3 : 0;
				}
				if (change_map && code)
					change_map[idx] = code;
			}
	const double *A = &bg->affine[0][0];
	double vml = fabs(A[0] * (A[5] * A[10] - A[6] * A[9]) - A[1] * (A[4] * A[10] - A[6] * A[8]) +
			  A[2] * (A[4] * A[9] - A[5] * A[8])) / 1000.0;
	ml[0] = nres * vml;
	ml[1] = nper * vml;
	ml[2] = nnew * vml;
	return BMEQ_OK;
}
