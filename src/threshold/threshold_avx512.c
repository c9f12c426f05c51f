/* threshold_avx512.c - AVX-512 (F + BW + VL) threshold kernels. The
 * comparison yields a lane mask that directly selects the ROI labels with a
 * zero-masking move; the remainder uses masked loads and stores, which never
 * touch memory outside the arrays. */
#include "threshold_kernels.h"

#ifdef BMEQ_THR_HAVE_X86
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))

TARGET static void roi16_avx512(const float *restrict v, const uint16_t *restrict roi, size_t n,
				float t, uint16_t *restrict out)
{
	const __m512 tv = _mm512_set1_ps(t);
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__mmask16 k0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i), tv, _CMP_GT_OQ);
		__mmask16 k1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i + 16), tv, _CMP_GT_OQ);
		__m256i r0 = _mm256_loadu_si256((const __m256i *)(const void *)(roi + i));
		__m256i r1 = _mm256_loadu_si256((const __m256i *)(const void *)(roi + i + 16));

		_mm256_storeu_si256((__m256i *)(void *)(out + i), _mm256_maskz_mov_epi16(k0, r0));
		_mm256_storeu_si256((__m256i *)(void *)(out + i + 16), _mm256_maskz_mov_epi16(k1, r1));
	}
	for (; i < n; i += 16) {
		size_t left = n - i < 16 ? n - i : 16;
		__mmask16 lm = (__mmask16)((1u << left) - 1u);
		__m512 x = _mm512_maskz_loadu_ps(lm, v + i);
		__mmask16 k = _mm512_mask_cmp_ps_mask(lm, x, tv, _CMP_GT_OQ);
		__m256i r = _mm256_maskz_loadu_epi16(lm, roi + i);

		_mm256_mask_storeu_epi16(out + i, lm, _mm256_maskz_mov_epi16(k, r));
	}
}

TARGET static void roi8_avx512(const float *restrict v, const uint8_t *restrict roi, size_t n,
			       float t, uint8_t *restrict out)
{
	const __m512 tv = _mm512_set1_ps(t);
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__mmask16 k0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i), tv, _CMP_GT_OQ);
		__mmask16 k1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i + 16), tv, _CMP_GT_OQ);
		__mmask32 k = (__mmask32)k0 | ((__mmask32)k1 << 16);
		__m256i r = _mm256_loadu_si256((const __m256i *)(const void *)(roi + i));

		_mm256_storeu_si256((__m256i *)(void *)(out + i), _mm256_maskz_mov_epi8(k, r));
	}
	for (; i < n; i += 16) {
		size_t left = n - i < 16 ? n - i : 16;
		__mmask16 lm = (__mmask16)((1u << left) - 1u);
		__m512 x = _mm512_maskz_loadu_ps(lm, v + i);
		__mmask16 k = _mm512_mask_cmp_ps_mask(lm, x, tv, _CMP_GT_OQ);
		__m128i r = _mm_maskz_loadu_epi8(lm, roi + i);

		_mm_mask_storeu_epi8(out + i, lm, _mm_maskz_mov_epi8(k, r));
	}
}

TARGET static void mask_avx512(const float *restrict v, size_t n, float t, uint8_t *restrict out)
{
	const __m512 tv = _mm512_set1_ps(t);
	const __m256i one = _mm256_set1_epi8(1);
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__mmask16 k0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i), tv, _CMP_GT_OQ);
		__mmask16 k1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + i + 16), tv, _CMP_GT_OQ);
		__mmask32 k = (__mmask32)k0 | ((__mmask32)k1 << 16);

		_mm256_storeu_si256((__m256i *)(void *)(out + i), _mm256_maskz_mov_epi8(k, one));
	}
	for (; i < n; i += 16) {
		size_t left = n - i < 16 ? n - i : 16;
		__mmask16 lm = (__mmask16)((1u << left) - 1u);
		__m512 x = _mm512_maskz_loadu_ps(lm, v + i);
		__mmask16 k = _mm512_mask_cmp_ps_mask(lm, x, tv, _CMP_GT_OQ);

		_mm_mask_storeu_epi8(out + i, lm, _mm_maskz_mov_epi8(k, _mm_set1_epi8(1)));
	}
}

const bmeq_thr_kernels bmeq_thr_avx512 = { roi16_avx512, roi8_avx512, mask_avx512 };
#endif
