/* bmeq/cpu.h - the one probe of CPU features, capped by BMEQ_CPU_FEATURES.
 *
 * Every vectorised kernel of bmeq (the threshold kernels, the labeller's
 * POPCNT/BMI2 scan) asks here which instruction sets it may use. A generic
 * path is always built, and all paths give identical output. The environment
 * variable BMEQ_CPU_FEATURES=scalar|sse2|avx2|avx512 caps what is used (read
 * once, at the first question, and cached), so tests run every path: with
 * sse2, no AVX or AVX-era (BMI2) code runs anywhere. An unknown word means no
 * cap (the library cannot report it). Thread-safe.
 */
#ifndef BMEQ_CPU_H
#define BMEQ_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set levels, in increasing order of vector width. Values are
 * stable. BMEQ_CPU_AUTO means "the best the CPU and environment allow". */
typedef enum bmeq_cpu_path {
	BMEQ_CPU_AUTO = 0,
	BMEQ_CPU_SCALAR = 1,
	BMEQ_CPU_SSE2 = 2,
	BMEQ_CPU_AVX2 = 3,    /* with the POPCNT and BMI2 of the same generation (x86-64-v3) */
	BMEQ_CPU_AVX512 = 4
} bmeq_cpu_path;

/* Short name of a path ("auto", "scalar", "sse2", "avx2", "avx512"); never NULL. */
const char *bmeq_cpu_path_name(bmeq_cpu_path p);

/* Non-zero when path p was compiled in and this CPU (and OS) can run it,
 * whatever BMEQ_CPU_FEATURES says. BMEQ_CPU_SCALAR and BMEQ_CPU_AUTO are
 * always available. For BMEQ_CPU_AVX2 the CPU needs AVX2 (the threshold
 * kernels); POPCNT and BMI2 are asked separately (bmeq_cpu_bitops). */
int bmeq_cpu_path_available(bmeq_cpu_path p);

/* The widest path the CPU runs and BMEQ_CPU_FEATURES allows; never
 * BMEQ_CPU_AUTO. */
bmeq_cpu_path bmeq_cpu_best_path(void);

/* Non-zero when the POPCNT and BMI2 instructions may be used: the CPU has
 * them and BMEQ_CPU_FEATURES allows the AVX2 generation they came with. */
int bmeq_cpu_bitops(void);

#ifdef __cplusplus
}
#endif
#endif
