/* sample.c - adaptive supersampling of one box (a voxel, or a truth cell):
 * a primitive whose surface is farther from the box centre than the box's
 * half-diagonal is wholly in or out, so only primitives near the box are
 * looked at again in its sub-boxes. Interior voxels cost one evaluation. */
#include <math.h>
#include <string.h>

#include "phantom_internal.h"

static void accumulate(const bmeq_ph_model *m, const uint32_t masks[3], double w,
		       bmeq_ph_accum *acc)
{
	bmeq_ph_sample smp;

	bmeq_ph_compose(masks, &smp);
	if (smp.tissue == BMEQ_PH_T_MARROW)
		acc->marrow[smp.marrow_side] += w;
	else if (smp.tissue == BMEQ_PH_T_RED_MARROW)
		acc->red_marrow += w;
	else
		acc->signal += w * m->intensity[smp.tissue];
	if (smp.tissue == BMEQ_PH_T_FAT)
		acc->fat += w;
	acc->region[smp.region] += w;
	if (smp.edema)
		acc->edema[smp.region] += w;
}

static void box_rec(const bmeq_ph_model *m, const bmeq_ph_plan *plan, int level, const double p[3],
		    double half[3][3], const uint16_t *cand, size_t ncand,
		    const uint32_t in_masks[3], double weight, bmeq_ph_accum *acc, const double *s_init)
{
	uint16_t near[BMEQ_PH_MAX_PRIM];
	size_t nn = 0;
	uint32_t masks[3] = {in_masks[0], in_masks[1], in_masks[2]};
	int leaf = level >= plan->nlevels;
	double hd = 0.0;

	if (leaf) {
		for (size_t c = 0; c < ncand; c++) {
			const bmeq_ph_prim *pr = &m->prim[cand[c]];
			if (bmeq_ph_prim_inside(pr, p))
				masks[pr->group] |= 1u << pr->role;
		}
		accumulate(m, masks, weight, acc);
		return;
	}
	hd = sqrt(bmeq_ph_dot(half[0], half[0]) + bmeq_ph_dot(half[1], half[1]) +
		  bmeq_ph_dot(half[2], half[2]));
	for (size_t c = 0; c < ncand; c++) {
		const bmeq_ph_prim *pr = &m->prim[cand[c]];
		double s = s_init ? s_init[c] : bmeq_ph_prim_eval(pr, p);
		if (s < -hd)
			masks[pr->group] |= 1u << pr->role;
		else if (s <= hd)
			near[nn++] = cand[c];
	}
	if (nn == 0) {
		accumulate(m, masks, weight, acc);
		return;
	}
	const int *sp = plan->split[level];
	double ch[3][3], w = weight / (double)(sp[0] * sp[1] * sp[2]);
	for (int a = 0; a < 3; a++)
		for (int i = 0; i < 3; i++)
			ch[a][i] = half[a][i] / (double)sp[a];
	for (int k = 0; k < sp[2]; k++) {
		double fk = (2.0 * k + 1.0) / sp[2] - 1.0;
		for (int j = 0; j < sp[1]; j++) {
			double fj = (2.0 * j + 1.0) / sp[1] - 1.0;
			for (int i = 0; i < sp[0]; i++) {
				double fi = (2.0 * i + 1.0) / sp[0] - 1.0, q[3];
				for (int x = 0; x < 3; x++)
					q[x] = p[x] + fi * half[0][x] + fj * half[1][x] +
					       fk * half[2][x];
				if (level + 1 < plan->nlevels) {
					box_rec(m, plan, level + 1, q, ch, near, nn, masks, w, acc,
						NULL);
					continue;
				}
				/* Children are sample points: test them here. */
				uint32_t mk[3] = {masks[0], masks[1], masks[2]};
				for (size_t c = 0; c < nn; c++) {
					const bmeq_ph_prim *pr = &m->prim[near[c]];
					if (bmeq_ph_prim_inside(pr, q))
						mk[pr->group] |= 1u << pr->role;
				}
				accumulate(m, mk, w, acc);
			}
		}
	}
}

void bmeq_ph_sample_box(const bmeq_ph_model *m, const bmeq_ph_plan *plan, const double p[3],
			double half[3][3], const uint16_t *cand, const double *s_init, size_t ncand,
			const uint32_t *masks, double weight, bmeq_ph_accum *acc)
{
	static const uint32_t none[3] = {0, 0, 0};

	box_rec(m, plan, 0, p, half, cand, ncand, masks ? masks : none, weight, acc, s_init);
}
