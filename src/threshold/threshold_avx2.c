/* threshold_avx2.c - AVX2 threshold kernels. As in the SSE2 variant the
 * comparison lanes are narrowed with saturating packs; AVX2 packs work per
 * 128-bit lane, so a cross-lane permute restores voxel order afterwards.
 * Remainders go to the scalar kernels. */
#include "threshold_kernels.h"

#ifdef BMEQ_THR_HAVE_X86
#include <immintrin.h>

#define TARGET __attribute__((target("avx2")))

/* 16 comparisons as 16 x int16 (-1 or 0) in voxel order. */
TARGET static __m256i cmp16_words(const float *v, __m256 tv)
{
	__m256 a = _mm256_cmp_ps(_mm256_loadu_ps(v), tv, _CMP_GT_OQ);
	__m256 b = _mm256_cmp_ps(_mm256_loadu_ps(v + 8), tv, _CMP_GT_OQ);
	__m256i m = _mm256_packs_epi32(_mm256_castps_si256(a), _mm256_castps_si256(b));

	/* packs left the 64-bit groups as a0-3 b0-3 | a4-7 b4-7. */
	return _mm256_permute4x64_epi64(m, 0xD8);
}

/* 32 comparisons as 32 bytes (0xff or 0) in voxel order. */
TARGET static __m256i cmp32_bytes(const float *v, __m256 tv)
{
	__m256 c0 = _mm256_cmp_ps(_mm256_loadu_ps(v), tv, _CMP_GT_OQ);
	__m256 c1 = _mm256_cmp_ps(_mm256_loadu_ps(v + 8), tv, _CMP_GT_OQ);
	__m256 c2 = _mm256_cmp_ps(_mm256_loadu_ps(v + 16), tv, _CMP_GT_OQ);
	__m256 c3 = _mm256_cmp_ps(_mm256_loadu_ps(v + 24), tv, _CMP_GT_OQ);
	__m256i w01 = _mm256_packs_epi32(_mm256_castps_si256(c0), _mm256_castps_si256(c1));
	__m256i w23 = _mm256_packs_epi32(_mm256_castps_si256(c2), _mm256_castps_si256(c3));
	__m256i b = _mm256_packs_epi16(w01, w23);

	/* Each 4-byte group now holds 4 voxels; groups come as
	 * c0lo c1lo c2lo c3lo | c0hi c1hi c2hi c3hi. */
	return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

TARGET static void roi16_avx2(const float *restrict v, const uint16_t *restrict roi, size_t n,
			      float t, uint16_t *restrict out)
{
	const __m256 tv = _mm256_set1_ps(t);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m256i r = _mm256_loadu_si256((const __m256i *)(const void *)(roi + i));

		_mm256_storeu_si256((__m256i *)(void *)(out + i),
				    _mm256_and_si256(cmp16_words(v + i, tv), r));
	}
	bmeq_thr_scalar.roi16(v + i, roi + i, n - i, t, out + i);
}

TARGET static void roi8_avx2(const float *restrict v, const uint8_t *restrict roi, size_t n,
			     float t, uint8_t *restrict out)
{
	const __m256 tv = _mm256_set1_ps(t);
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__m256i r = _mm256_loadu_si256((const __m256i *)(const void *)(roi + i));

		_mm256_storeu_si256((__m256i *)(void *)(out + i),
				    _mm256_and_si256(cmp32_bytes(v + i, tv), r));
	}
	bmeq_thr_scalar.roi8(v + i, roi + i, n - i, t, out + i);
}

TARGET static void mask_avx2(const float *restrict v, size_t n, float t, uint8_t *restrict out)
{
	const __m256 tv = _mm256_set1_ps(t);
	const __m256i one = _mm256_set1_epi8(1);
	size_t i = 0;

	for (; i + 32 <= n; i += 32)
		_mm256_storeu_si256((__m256i *)(void *)(out + i),
				    _mm256_and_si256(cmp32_bytes(v + i, tv), one));
	bmeq_thr_scalar.mask(v + i, n - i, t, out + i);
}

const bmeq_thr_kernels bmeq_thr_avx2 = { roi16_avx2, roi8_avx2, mask_avx2 };
#endif
