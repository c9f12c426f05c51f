/* threshold_sse2.c - SSE2 threshold kernels (16 voxels per step for bytes,
 * 8 for uint16). The comparison result lanes (all ones / all zeros) are
 * narrowed with signed saturating packs, which keep -1 and 0, and then
 * select the ROI label with an AND. Remainders go to the scalar kernels. */
#include "threshold_kernels.h"

#ifdef BMEQ_THR_HAVE_X86
#include <immintrin.h>

#define TARGET __attribute__((target("sse2")))

TARGET static __m128i cmp16_bytes(const float *v, __m128 tv)
{
	__m128 c0 = _mm_cmpgt_ps(_mm_loadu_ps(v), tv);
	__m128 c1 = _mm_cmpgt_ps(_mm_loadu_ps(v + 4), tv);
	__m128 c2 = _mm_cmpgt_ps(_mm_loadu_ps(v + 8), tv);
	__m128 c3 = _mm_cmpgt_ps(_mm_loadu_ps(v + 12), tv);
	__m128i lo = _mm_packs_epi32(_mm_castps_si128(c0), _mm_castps_si128(c1));
	__m128i hi = _mm_packs_epi32(_mm_castps_si128(c2), _mm_castps_si128(c3));

	return _mm_packs_epi16(lo, hi);
}

TARGET static void roi16_sse2(const float *restrict v, const uint16_t *restrict roi, size_t n,
			      float t, uint16_t *restrict out)
{
	const __m128 tv = _mm_set1_ps(t);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128 c0 = _mm_cmpgt_ps(_mm_loadu_ps(v + i), tv);
		__m128 c1 = _mm_cmpgt_ps(_mm_loadu_ps(v + i + 4), tv);
		__m128i m = _mm_packs_epi32(_mm_castps_si128(c0), _mm_castps_si128(c1));
		__m128i r = _mm_loadu_si128((const __m128i *)(const void *)(roi + i));

		_mm_storeu_si128((__m128i *)(void *)(out + i), _mm_and_si128(m, r));
	}
	bmeq_thr_scalar.roi16(v + i, roi + i, n - i, t, out + i);
}

TARGET static void roi8_sse2(const float *restrict v, const uint8_t *restrict roi, size_t n,
			     float t, uint8_t *restrict out)
{
	const __m128 tv = _mm_set1_ps(t);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i m = cmp16_bytes(v + i, tv);
		__m128i r = _mm_loadu_si128((const __m128i *)(const void *)(roi + i));

		_mm_storeu_si128((__m128i *)(void *)(out + i), _mm_and_si128(m, r));
	}
	bmeq_thr_scalar.roi8(v + i, roi + i, n - i, t, out + i);
}

TARGET static void mask_sse2(const float *restrict v, size_t n, float t, uint8_t *restrict out)
{
	const __m128 tv = _mm_set1_ps(t);
	const __m128i one = _mm_set1_epi8(1);
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm_storeu_si128((__m128i *)(void *)(out + i), _mm_and_si128(cmp16_bytes(v + i, tv), one));
	bmeq_thr_scalar.mask(v + i, n - i, t, out + i);
}

const bmeq_thr_kernels bmeq_thr_sse2 = { roi16_sse2, roi8_sse2, mask_sse2 };
#endif
