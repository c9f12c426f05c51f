/* threshold_dispatch.c - picks the threshold kernels once per process.
 *
 * The chosen kernel table is cached in an atomic pointer: the first call
 * resolves it (bmeq_cpu_best_path: CPU features, capped by BMEQ_CPU_FEATURES) and every later
 * call is one relaxed load and an indirect call. Two threads resolving at the
 * same time compute the same table, so the race is benign.
 */
#include <stdatomic.h>

#include "bmeq/threshold.h"
#include "threshold_kernels.h"

static _Atomic(const bmeq_thr_kernels *) active_kernels;
static _Atomic(int) active_path;

static const bmeq_thr_kernels *kernels_of(bmeq_cpu_path p)
{
	switch (p) {
#ifdef BMEQ_THR_HAVE_X86
	case BMEQ_CPU_SSE2: return &bmeq_thr_sse2;
	case BMEQ_CPU_AVX2: return &bmeq_thr_avx2;
	case BMEQ_CPU_AVX512: return &bmeq_thr_avx512;
#endif
	default: return &bmeq_thr_scalar;
	}
}

static void set_path(bmeq_cpu_path p)
{
	atomic_store_explicit(&active_path, (int)p, memory_order_relaxed);
	atomic_store_explicit(&active_kernels, kernels_of(p), memory_order_release);
}

static const bmeq_thr_kernels *kernels(void)
{
	const bmeq_thr_kernels *k = atomic_load_explicit(&active_kernels, memory_order_acquire);

	if (!k) {
		set_path(bmeq_cpu_best_path());
		k = atomic_load_explicit(&active_kernels, memory_order_acquire);
	}
	return k;
}

bmeq_status bmeq_threshold_force_path(bmeq_cpu_path p)
{
	if (p < BMEQ_CPU_AUTO || p > BMEQ_CPU_AVX512)
		return bmeq_fail(BMEQ_E_ARG, "threshold: unknown CPU path %d", (int)p);
	if (!bmeq_cpu_path_available(p))
		return bmeq_fail(BMEQ_E_UNSUPPORTED, "threshold: CPU path %s not available here",
				 bmeq_cpu_path_name(p));
	set_path(p == BMEQ_CPU_AUTO ? bmeq_cpu_best_path() : p);
	return BMEQ_OK;
}

bmeq_cpu_path bmeq_threshold_active_path(void)
{
	kernels();
	return (bmeq_cpu_path)atomic_load_explicit(&active_path, memory_order_relaxed);
}

void bmeq_threshold_roi16(const float *v, const uint16_t *roi, size_t n, float t, uint16_t *out)
{
	kernels()->roi16(v, roi, n, t, out);
}

void bmeq_threshold_roi8(const float *v, const uint8_t *roi, size_t n, float t, uint8_t *out)
{
	kernels()->roi8(v, roi, n, t, out);
}

void bmeq_threshold_mask(const float *v, size_t n, float t, uint8_t *out)
{
	kernels()->mask(v, n, t, out);
}
