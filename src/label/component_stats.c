/* component_stats.c - per-component statistics from the runs of the last
 * labelling, so that measuring lesions never rescans the label volume. */
#include <string.h>

#include "cc_internal.h"

bmeq_status bmeq_components_stats(const bmeq_cc_workspace *ws, const float *intensity,
				  bmeq_component *out)
{
	if (!ws || !ws->valid || !out)
		return bmeq_fail(BMEQ_E_ARG, "components: no labelling result to describe");

	size_t nx = ws->dim[0], ny = ws->dim[1], nrows = ws->dim[1] * ws->dim[2];

	for (uint32_t l = 0; l < ws->ncomp; l++) {
		bmeq_component *c = &out[l];
		memset(c, 0, sizeof(*c));
		c->label = l + 1;
		for (int a = 0; a < 3; a++)
			c->bbox_min[a] = UINT32_MAX;
	}
	for (size_t r = 0; r < nrows; r++) {
		uint32_t y = (uint32_t)(r % ny), z = (uint32_t)(r / ny);

		for (uint32_t i = ws->row_first[r]; i < ws->row_first[r + 1]; i++) {
			uint32_t l = ws->lab[i], x0 = ws->xs[2 * i], x1 = ws->xs[2 * i + 1];
			if (!l)
				continue; /* removed by the size filter */
			bmeq_component *c = &out[l - 1];
			uint64_t len = x1 - x0;

			c->voxels += len;
			/* The x indices of a run sum to len (x0 + x1 - 1) / 2, an integer. */
			c->centroid[0] += (double)(len * (x0 + (uint64_t)x1 - 1) / 2);
			c->centroid[1] += (double)(len * y);
			c->centroid[2] += (double)(len * z);
			c->bbox_min[0] = x0 < c->bbox_min[0] ? x0 : c->bbox_min[0];
			c->bbox_max[0] = x1 - 1 > c->bbox_max[0] ? x1 - 1 : c->bbox_max[0];
			c->bbox_min[1] = y < c->bbox_min[1] ? y : c->bbox_min[1];
			c->bbox_max[1] = y > c->bbox_max[1] ? y : c->bbox_max[1];
			c->bbox_min[2] = z < c->bbox_min[2] ? z : c->bbox_min[2];
			c->bbox_max[2] = z > c->bbox_max[2] ? z : c->bbox_max[2];
			if (intensity) {
				const float *row = intensity + r * nx;
				double s = 0.0;
				for (uint32_t x = x0; x < x1; x++)
					s += row[x];
				c->intensity_sum += s;
			}
		}
	}
	for (uint32_t l = 0; l < ws->ncomp; l++) {
		bmeq_component *c = &out[l];
		for (int a = 0; a < 3; a++)
			c->centroid[a] = c->voxels ? c->centroid[a] / (double)c->voxels : 0.0;
	}
	return BMEQ_OK;
}
