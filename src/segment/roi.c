/* roi.c - regions of a user-supplied label map (--roi). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "femhead_internal.h"

bmeq_status bmeq_femhead_roi_from_labels(const bmeq_grid *g, const uint16_t *labels,
					 bmeq_roi_region **regions, size_t *n,
					 bmeq_femhead_result *res)
{
	size_t nvox, nreg = 0;
	size_t *cnt = NULL;
	double (*sum)[3] = NULL;
	bmeq_roi_region *out = NULL;

	if (!g || !labels || !regions || !n)
		return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_roi_from_labels: NULL argument");
	*regions = NULL;
	*n = 0;
	nvox = bmeq_grid_nvox(g);
	cnt = calloc(65536, sizeof(*cnt));
	sum = calloc(65536, sizeof(*sum));
	if (!cnt || !sum) {
		free(cnt);
		free(sum);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory (region table)");
	}
	/* Centroids accumulate voxel indices and are mapped to world once, which
	 * is exact because the affine is linear. */
	for (size_t idx = 0; idx < nvox; idx++) {
		uint16_t l = labels[idx];

		if (!l)
			continue;
		cnt[l]++;
		sum[l][0] += (double)(idx % g->dim[0]);
		sum[l][1] += (double)((idx / g->dim[0]) % g->dim[1]);
		sum[l][2] += (double)(idx / (g->dim[0] * g->dim[1]));
	}
	for (size_t l = 1; l < 65536; l++)
		nreg += cnt[l] > 0;
	if (nreg) {
		out = calloc(nreg, sizeof(*out));
		if (!out) {
			free(cnt);
			free(sum);
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory (regions)");
		}
	}
	const double (*A)[4] = g->affine;
	double vml = fabs(A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
			  A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
			  A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0])) / 1000.0;
	if (res) {
		memset(res, 0, sizeof(*res));
		for (int k = 0; k < 2; k++)
			snprintf(res->side[k].reason, sizeof(res->side[k].reason),
				 "the --roi mask has no head label for this side");
	}
	size_t r = 0;
	for (size_t l = 1; l < 65536; l++) {
		if (!cnt[l])
			continue;
		bmeq_roi_region *rg = &out[r++];
		double ijk[3] = {sum[l][0] / (double)cnt[l], sum[l][1] / (double)cnt[l],
				 sum[l][2] / (double)cnt[l]};

		rg->label = (unsigned)l;
		rg->voxels = cnt[l];
		rg->ml = (double)cnt[l] * vml;
		bmeq_grid_voxel_to_world(g, ijk, rg->centroid);
		rg->side = bmeq_label_side((unsigned)l);
		rg->part = bmeq_label_part((unsigned)l);
		if (res && l <= 4) {
			bmeq_femhead_side *sd = &res->side[l % 2 ? BMEQ_FEMHEAD_RIGHT : BMEQ_FEMHEAD_LEFT];

			if (l <= 2) {
				sd->found = 1;
				sd->status = BMEQ_HEAD_FOUND;
				sd->in_view = 1;
				sd->cup = NAN;
				sd->reason[0] = 0;
				memcpy(sd->centre, rg->centroid, sizeof(sd->centre));
				/* Radius of the sphere of the labelled volume: a
				 * summary only, the user's head need not be a sphere. */
				sd->radius_mm = cbrt(3.0 * rg->ml * 1000.0 / (4.0 * FH_PI));
				sd->head_ml = rg->ml;
				sd->confidence = 1;
				sd->qc = 1;
			} else {
				sd->neck_ml = rg->ml;
			}
		}
	}
	free(cnt);
	free(sum);
	*regions = out;
	*n = nreg;
	return BMEQ_OK;
}
