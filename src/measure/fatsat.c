/* fatsat.c - has the STIR's fat suppression failed over a hip? (bmeq/fatsat.h)
 *
 * Along each row of the T1 that runs left-right, from a field-of-view edge
 * that shows air: the first tissue met is skin and subcutaneous fat, the
 * brightest tissue on T1; deep to it lies muscle, intermediate on T1. Rows
 * that meet the body beside a hip (lateral to it, within a few centimetres of
 * its centre in height and depth) give that side's witnesses. Each witness is
 * read on the STIR at the same place (the T1 placed by the registration); a
 * side's ratio is that of the two tissues' medians, and its verdict compares
 * it with the other side's (bmeq/fatsat.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/fatsat.h"
#include "bmeq/hip.h"
#include "bmeq/threshold.h"

/* Geometry of the search, mm: rows meet the body at most this far from a hip's
 * centre in height (z) and depth (y), and at least this far lateral to it
 * (beyond the head, the greater trochanter and the muscles on it). */
#define ROW_HALF_HEIGHT_MM 40.0
#define ROW_HALF_DEPTH_MM 50.0
#define LATERAL_MM 40.0
/* The fat layer: its level is the brightest T1 within the first 10 mm of
 * tissue; it runs from the surface (the skin's partial voxels skipped, up to
 * 3 mm) while the T1 stays above 0.6 of that level, at most 40 mm; it counts
 * from 3 mm thick. Muscle: the next 40 mm, T1 between 0.15 and 0.5 of the fat's
 * level (muscle is about 0.3-0.45 of fat on T1; fascia and vessels darker). */
#define FAT_PROBE_MM 10.0
#define SKIN_MM 3.0
#define FAT_MAX_MM 40.0
#define FAT_MIN_MM 3.0
#define FAT_KEEP 0.6
#define MUSCLE_DEPTH_MM 40.0
#define MUSCLE_LO 0.15
#define MUSCLE_HI 0.5
/* Background: below a tenth of the T1's 99th percentile; a fat layer's level
 * at least 0.3 of it (a row that meets only noise or the coil's fall-off). */
#define BACKGROUND 0.1
#define FAT_LEVEL_MIN 0.3
#define MIN_WITNESSES 100

typedef struct fvec {
	float *v;
	size_t n, cap;
} fvec;

static int fvec_push(fvec *a, float x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 1024;
		float *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* Centroid (scan world) of each side's femoral labels; found[s] 0 without any. */
static void side_centres(const bmeq_grid *g, const uint16_t *roi, double c[2][3], int found[2])
{
	double sum[2][4] = {{0}};

	for (size_t z = 0, i = 0; z < g->dim[2]; z++)
		for (size_t y = 0; y < g->dim[1]; y++)
			for (size_t x = 0; x < g->dim[0]; x++, i++) {
				bmeq_side s = bmeq_label_side(roi[i]);
				if (s != BMEQ_SIDE_RIGHT && s != BMEQ_SIDE_LEFT)
					continue;
				sum[s][0] += (double)x;
				sum[s][1] += (double)y;
				sum[s][2] += (double)z;
				sum[s][3] += 1.0;
			}
	for (int s = 0; s < 2; s++) {
		found[s] = sum[s][3] > 0.0;
		if (!found[s])
			continue;
		double ijk[3] = {sum[s][0] / sum[s][3], sum[s][1] / sum[s][3], sum[s][2] / sum[s][3]};
		bmeq_grid_voxel_to_world(g, ijk, c[s]);
	}
}

/* The T1's 99th percentile over at most about 10^6 voxels (every k-th). */
static bmeq_status t1_high(const bmeq_volume *t1, double *hi)
{
	size_t n = bmeq_grid_nvox(&t1->grid), step = n / 1000000 + 1, m = 0;
	float *v = malloc((n / step + 1) * sizeof(*v));
	bmeq_status st;

	if (!v)
		return bmeq_fail(BMEQ_E_NOMEM, "fat suppression check: out of memory");
	for (size_t i = 0; i < n; i += step)
		v[m++] = t1->data[i];
	st = bmeq_quantile(v, m, 0.99, hi);
	free(v);
	return st;
}

bmeq_status bmeq_fatsat_witness(const bmeq_volume *stir, const uint16_t *roi,
				const bmeq_volume *t1, const double t1_to_scan[3][4],
				double factor, bmeq_fatsat_side out[2])
{
	const bmeq_grid *tg = &t1->grid, *sg = &stir->grid;
	double centre[2][3], hi;
	int found[2];
	fvec fat[2] = {{0}}, mus[2] = {{0}};
	bmeq_status st = BMEQ_OK;

	for (int s = 0; s < 2; s++) {
		memset(&out[s], 0, sizeof(out[s]));
		out[s].fat_to_muscle = NAN;
	}
	if (!(factor > 0.0))
		return bmeq_fail(BMEQ_E_ARG, "fat suppression check: factor %g must be > 0", factor);
	side_centres(sg, roi, centre, found);
	if (!found[0] && !found[1])
		return BMEQ_OK;
	if ((st = t1_high(t1, &hi)) != BMEQ_OK)
		return st == BMEQ_E_PROCESS ? BMEQ_OK : st; /* no finite T1: nothing seen */
	if (!(hi > 0.0))
		return BMEQ_OK;

	/* T1 voxel -> scan world (w) and -> scan voxel (v). */
	double to_scan[4][4] = {{0}}, w[4][4], sinv[4][4], v[4][4];
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 4; c++)
			to_scan[r][c] = t1_to_scan[r][c];
	to_scan[3][3] = 1.0;
	bmeq_affine_mul(&to_scan[0][0], &tg->affine[0][0], &w[0][0]);
	if ((st = bmeq_affine_invert(&sg->affine[0][0], &sinv[0][0])) != BMEQ_OK)
		return st;
	bmeq_affine_mul(&sinv[0][0], &w[0][0], &v[0][0]);

	/* The row axis: the T1's index axis nearest the scan's left-right. */
	int ax = -1;
	double best = 0.0;
	for (int a = 0; a < 3; a++) {
		double len = sqrt(w[0][a] * w[0][a] + w[1][a] * w[1][a] + w[2][a] * w[2][a]);
		double cx = len > 0.0 ? fabs(w[0][a]) / len : 0.0;
		if (cx > best) {
			best = cx;
			ax = a;
		}
	}
	if (ax < 0 || best < 0.7 || tg->dim[ax] < 4)
		return BMEQ_OK; /* no axis within 45 degrees of left-right */
	const int u = ax == 0 ? 1 : 0, q = ax == 2 ? 1 : 2; /* the other two axes */
	const size_t n = tg->dim[ax];
	const double sp = tg->spacing[ax];
	size_t stride[3] = {1, tg->dim[0], tg->dim[0] * tg->dim[1]};
	/* RAS: +x is the patient's right. When the axis points that way, index
	 * 0 lies on the left and the walk from it meets the left side's skin. */
	const int side_of_start = w[0][ax] > 0.0 ? BMEQ_SIDE_LEFT : BMEQ_SIDE_RIGHT;
	const size_t probe = (size_t)ceil(FAT_PROBE_MM / sp), skin = (size_t)floor(SKIN_MM / sp),
		     fat_max = (size_t)ceil(FAT_MAX_MM / sp), mus_n = (size_t)ceil(MUSCLE_DEPTH_MM / sp);

	for (size_t b = 0; b < tg->dim[q] && st == BMEQ_OK; b++)
		for (size_t a = 0; a < tg->dim[u] && st == BMEQ_OK; a++) {
			size_t base = a * stride[u] + b * stride[q];
			for (int end = 0; end < 2; end++) {
				int side = end == 0 ? side_of_start : 1 - side_of_start;
				if (!found[side])
					continue;
				/* k-th voxel of the row from this end. */
#define AT(k) (end == 0 ? (k) : n - 1 - (k))
#define T1V(k) (t1->data[base + AT(k) * stride[ax]])
				if (!(T1V(0) < BACKGROUND * hi))
					continue; /* the body reaches the edge: no skin */
				size_t k = 0;
				while (k < n && !(T1V(k) >= BACKGROUND * hi))
					k++;
				if (k + probe >= n)
					continue;
				/* Where the row meets the body: beside this hip? */
				double ijk[3], p[3];
				ijk[ax] = (double)AT(k);
				ijk[u] = (double)a;
				ijk[q] = (double)b;
				bmeq_affine_apply(&w[0][0], ijk, p);
				double lateral = side == BMEQ_SIDE_RIGHT ? p[0] - centre[side][0]
									 : centre[side][0] - p[0];
				if (lateral < LATERAL_MM || fabs(p[2] - centre[side][2]) > ROW_HALF_HEIGHT_MM ||
				    fabs(p[1] - centre[side][1]) > ROW_HALF_DEPTH_MM)
					continue;
				double level = 0.0;
				for (size_t j = k; j < k + probe; j++)
					level = fmax(level, T1V(j));
				if (level < FAT_LEVEL_MIN * hi)
					continue;
				size_t f0 = k;
				while (f0 <= k + skin && f0 < n && !(T1V(f0) >= FAT_KEEP * level))
					f0++;
				size_t f1 = f0;
				while (f1 < n && f1 < f0 + fat_max && T1V(f1) >= FAT_KEEP * level)
					f1++;
				if (f0 > k + skin || (double)(f1 - f0) * sp < FAT_MIN_MM)
					continue;
				/* Read the STIR: fat, then muscle deep to it. */
				for (size_t j = f0; j < f1 + mus_n && j < n; j++) {
					int is_fat = j < f1;
					float t = T1V(j);
					if (!is_fat && !(t >= MUSCLE_LO * level && t <= MUSCLE_HI * level))
						continue;
					ijk[ax] = (double)AT(j);
					double sv[3];
					bmeq_affine_apply(&v[0][0], ijk, sv);
					long x = lround(sv[0]), y = lround(sv[1]), z = lround(sv[2]);
					if (x < 0 || y < 0 || z < 0 || (size_t)x >= sg->dim[0] ||
					    (size_t)y >= sg->dim[1] || (size_t)z >= sg->dim[2])
						continue;
					float s = stir->data[((size_t)z * sg->dim[1] + (size_t)y) * sg->dim[0] +
							     (size_t)x];
					if (!isfinite(s))
						continue;
					if (fvec_push(is_fat ? &fat[side] : &mus[side], s) != 0) {
						st = bmeq_fail(BMEQ_E_NOMEM,
							       "fat suppression check: out of memory");
						break;
					}
				}
#undef T1V
#undef AT
			}
		}
	for (int s = 0; s < 2 && st == BMEQ_OK; s++) {
		out[s].fat_voxels = fat[s].n;
		out[s].muscle_voxels = mus[s].n;
		if (fat[s].n < MIN_WITNESSES || mus[s].n < MIN_WITNESSES)
			continue;
		double mf, mm;
		if ((st = bmeq_quantile(fat[s].v, fat[s].n, 0.5, &mf)) != BMEQ_OK ||
		    (st = bmeq_quantile(mus[s].v, mus[s].n, 0.5, &mm)) != BMEQ_OK)
			break;
		if (!(mm > 0.0))
			continue;
		out[s].seen = 1;
		out[s].fat_to_muscle = mf / mm;
	}
	for (int s = 0; s < 2 && st == BMEQ_OK; s++) {
		double ref = BMEQ_FATSAT_WORKING_MAX;
		if (out[1 - s].seen)
			ref = fmin(ref, out[1 - s].fat_to_muscle);
		out[s].failed = out[s].seen && out[s].fat_to_muscle > factor * ref;
	}
	for (int s = 0; s < 2; s++) {
		free(fat[s].v);
		free(mus[s].v);
	}
	return st;
}
