/* threshold_scalar.c - the generic threshold kernels, always built.
 *
 * These define the result every vector path must reproduce. They are
 * branch-free (the comparison result becomes an all-ones or all-zero mask)
 * so that a compiler may vectorise them in a portable build too.
 */
#include "threshold_kernels.h"

static void roi16_scalar(const float *restrict v, const uint16_t *restrict roi, size_t n, float t,
			 uint16_t *restrict out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint16_t)(roi[i] & (uint16_t)-(uint16_t)(v[i] > t));
}

static void roi8_scalar(const float *restrict v, const uint8_t *restrict roi, size_t n, float t,
			uint8_t *restrict out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(roi[i] & (uint8_t)-(uint8_t)(v[i] > t));
}

static void mask_scalar(const float *restrict v, size_t n, float t, uint8_t *restrict out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v[i] > t);
}

const bmeq_thr_kernels bmeq_thr_scalar = { roi16_scalar, roi8_scalar, mask_scalar };
