/* threshold_kernels.h - private: the per-ISA threshold kernels.
 *
 * Every variant computes exactly the scalar definition (v > t as an ordered
 * IEEE single comparison), so all paths give identical bytes. The x86
 * variants are compiled per function with target attributes and must only
 * be called after the dispatcher has checked the CPU.
 */
#ifndef BMEQ_THRESHOLD_KERNELS_H
#define BMEQ_THRESHOLD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef void (*bmeq_thr_roi16_fn)(const float *restrict v, const uint16_t *restrict roi, size_t n,
				  float t, uint16_t *restrict out);
typedef void (*bmeq_thr_roi8_fn)(const float *restrict v, const uint8_t *restrict roi, size_t n,
				 float t, uint8_t *restrict out);
typedef void (*bmeq_thr_mask_fn)(const float *restrict v, size_t n, float t,
				 uint8_t *restrict out);

/* One complete set of kernels for one path. */
typedef struct bmeq_thr_kernels {
	bmeq_thr_roi16_fn roi16;
	bmeq_thr_roi8_fn roi8;
	bmeq_thr_mask_fn mask;
} bmeq_thr_kernels;

extern const bmeq_thr_kernels bmeq_thr_scalar;
#if defined(__x86_64__) || defined(__i386__)
#define BMEQ_THR_HAVE_X86 1
extern const bmeq_thr_kernels bmeq_thr_sse2;
extern const bmeq_thr_kernels bmeq_thr_avx2;
extern const bmeq_thr_kernels bmeq_thr_avx512;
#endif

#endif
