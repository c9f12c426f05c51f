/* truth.c - truth numbers: head, neck and edema volumes integrated in the
 * body frame (independent of any scan grid), and lesion counts as connected
 * components of the edema truth map. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "phantom_internal.h"

void bmeq_ph_truth_volumes(const bmeq_ph_model *m, const bmeq_phantom_hip *h, int side,
			   bmeq_phantom_side_truth *t)
{
	bmeq_ph_hip_frame f;
	double lo[3], hi[3], cell = 2.0;
	uint16_t all[BMEQ_PH_MAX_PRIM], cand[BMEQ_PH_MAX_PRIM];
	size_t nall = 0;
	bmeq_ph_accum acc;
	bmeq_ph_plan plan;
	double half[3][3] = {{0}};

	/* Only the side's femur, regions and lesions decide these volumes. */
	for (size_t c = 0; c < m->nprim; c++) {
		const bmeq_ph_prim *pr = &m->prim[c];
		if (pr->group != side)
			continue;
		if (pr->role == BMEQ_PH_FEMUR || pr->role == BMEQ_PH_FEMUR_CORE ||
		    pr->role == BMEQ_PH_REG_HEAD || pr->role == BMEQ_PH_REG_NECK ||
		    pr->role == BMEQ_PH_LESION)
			all[nall++] = (uint16_t)c;
	}
	/* Box around the head sphere and the labelled neck cylinder. */
	bmeq_ph_hip_frame_make(h, side, &f);
	double rn = h->neck_radius[0] > h->neck_radius[1] ? h->neck_radius[0] : h->neck_radius[1];
	for (int i = 0; i < 3; i++) {
		double e = h->head_centre[i] + f.neck[i] * h->neck_length;
		lo[i] = fmin(h->head_centre[i] - h->head_radius, e - rn) - 1.0;
		hi[i] = fmax(h->head_centre[i] + h->head_radius, e + rn) + 1.0;
	}
	memset(&plan, 0, sizeof(plan));
	plan.nlevels = 2;
	for (int a = 0; a < 3; a++) {
		plan.split[0][a] = 4; /* 0.5 mm */
		plan.split[1][a] = 2; /* 0.25 mm sample points at edges */
		half[a][a] = 0.5 * cell;
	}
	double hd = sqrt(3.0) * 0.5 * cell;
	memset(&acc, 0, sizeof(acc));
	size_t n[3];
	for (int i = 0; i < 3; i++)
		n[i] = (size_t)ceil((hi[i] - lo[i]) / cell);
	for (size_t z = 0; z < n[2]; z++)
		for (size_t y = 0; y < n[1]; y++)
			for (size_t x = 0; x < n[0]; x++) {
				double p[3] = {lo[0] + ((double)x + 0.5) * cell,
					       lo[1] + ((double)y + 0.5) * cell,
					       lo[2] + ((double)z + 0.5) * cell};
				size_t nc = 0;
				for (size_t c = 0; c < nall; c++) {
					const bmeq_ph_prim *pr = &m->prim[all[c]];
					double d[3] = {p[0] - pr->bc[0], p[1] - pr->bc[1],
						       p[2] - pr->bc[2]};
					double rr = pr->br + hd;
					if (pr->br < 0.0 || bmeq_ph_dot(d, d) <= rr * rr)
						cand[nc++] = all[c];
				}
				if (nc)
					bmeq_ph_sample_box(m, &plan, p, half, cand, NULL, nc, NULL,
							   1.0, &acc);
			}
	double ml = cell * cell * cell / 1000.0;
	t->head_ml = acc.region[1 + side] * ml;
	t->neck_ml = acc.region[3 + side] * ml;
	t->edema_head_ml = acc.edema[1 + side] * ml;
	t->edema_neck_ml = acc.edema[3 + side] * ml;
}

bmeq_status bmeq_ph_count_components(const uint8_t *lab, const size_t dim[3], int la, int lb,
				     int *count)
{
	size_t n = dim[0] * dim[1] * dim[2], nsel = 0;
	uint8_t *seen;
	size_t *queue;
	int comps = 0;

	*count = 0;
	for (size_t i = 0; i < n; i++)
		nsel += lab[i] == la || lab[i] == lb;
	if (nsel == 0)
		return BMEQ_OK;
	seen = calloc(n, 1);
	queue = malloc(nsel * sizeof(*queue));
	if (!seen || !queue) {
		free(seen);
		free(queue);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	for (size_t start = 0; start < n; start++) {
		if (seen[start] || (lab[start] != la && lab[start] != lb))
			continue;
		size_t head = 0, tail = 0;
		comps++;
		seen[start] = 1;
		queue[tail++] = start;
		while (head < tail) {
			size_t v = queue[head++];
			long x = (long)(v % dim[0]), y = (long)((v / dim[0]) % dim[1]);
			long z = (long)(v / (dim[0] * dim[1]));
			for (long dz = -1; dz <= 1; dz++)
				for (long dy = -1; dy <= 1; dy++)
					for (long dx = -1; dx <= 1; dx++) {
						long X = x + dx, Y = y + dy, Z = z + dz;
						if (X < 0 || Y < 0 || Z < 0 || X >= (long)dim[0] ||
						    Y >= (long)dim[1] || Z >= (long)dim[2])
							continue;
						size_t w = ((size_t)Z * dim[1] + (size_t)Y) * dim[0] +
							   (size_t)X;
						if (seen[w] || (lab[w] != la && lab[w] != lb))
							continue;
						seen[w] = 1;
						queue[tail++] = w;
					}
		}
	}
	free(seen);
	free(queue);
	*count = comps;
	return BMEQ_OK;
}
