/* cpu.c - what the CPU can run, capped by BMEQ_CPU_FEATURES; asked once. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/cpu.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define BMEQ_CPU_X86 1
#endif

const char *bmeq_cpu_path_name(bmeq_cpu_path p)
{
	switch (p) {
	case BMEQ_CPU_AUTO: return "auto";
	case BMEQ_CPU_SCALAR: return "scalar";
	case BMEQ_CPU_SSE2: return "sse2";
	case BMEQ_CPU_AVX2: return "avx2";
	case BMEQ_CPU_AVX512: return "avx512";
	}
	return "unknown";
}

int bmeq_cpu_path_available(bmeq_cpu_path p)
{
	switch (p) {
	case BMEQ_CPU_AUTO:
	case BMEQ_CPU_SCALAR:
		return 1;
#ifdef BMEQ_CPU_X86
	case BMEQ_CPU_SSE2:
		return __builtin_cpu_supports("sse2");
	case BMEQ_CPU_AVX2:
		return __builtin_cpu_supports("avx2");
	case BMEQ_CPU_AVX512:
		/* libgcc also checks that the OS saves the zmm state (XCR0). */
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl");
#else
	default:
		return 0;
#endif
	}
	return 0;
}

/* The widest path the environment allows. */
static bmeq_cpu_path env_cap(void)
{
	const char *e = getenv("BMEQ_CPU_FEATURES");

	if (!e || !*e)
		return BMEQ_CPU_AVX512;
	for (bmeq_cpu_path p = BMEQ_CPU_SCALAR; p <= BMEQ_CPU_AVX512; p++)
		if (strcmp(e, bmeq_cpu_path_name(p)) == 0)
			return p;
	return BMEQ_CPU_AVX512;
}

/* 0 until the first question; two threads asking at once compute the same
 * answer, so the race is benign. */
static atomic_int best;

bmeq_cpu_path bmeq_cpu_best_path(void)
{
	int b = atomic_load_explicit(&best, memory_order_relaxed);

	if (b == 0) {
		b = BMEQ_CPU_SCALAR;
		for (bmeq_cpu_path p = env_cap(); p > BMEQ_CPU_SCALAR; p--)
			if (bmeq_cpu_path_available(p)) {
				b = (int)p;
				break;
			}
		atomic_store_explicit(&best, b, memory_order_relaxed);
	}
	return (bmeq_cpu_path)b;
}

static atomic_int bitops; /* 0 not asked yet, 1 no, 2 yes */

int bmeq_cpu_bitops(void)
{
	int b = atomic_load_explicit(&bitops, memory_order_relaxed);

	if (b == 0) {
		b = 1;
#ifdef BMEQ_CPU_X86
		if (env_cap() >= BMEQ_CPU_AVX2 && __builtin_cpu_supports("popcnt") &&
		    __builtin_cpu_supports("bmi2"))
			b = 2;
#endif
		atomic_store_explicit(&bitops, b, memory_order_relaxed);
	}
	return b == 2;
}
