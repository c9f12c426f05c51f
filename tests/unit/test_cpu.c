/* test_cpu.c - the one CPU-feature probe and the kernels that obey it. Run
 * three times by ctest: without BMEQ_CPU_FEATURES, and with it set to sse2
 * and to scalar, where no AVX-generation code (AVX2, AVX-512, BMI2) may run:
 * neither the threshold kernels nor the labeller's scan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/components.h"
#include "bmeq/cpu.h"
#include "bmeq/threshold.h"
#include "check.h"

int main(void)
{
	const char *env = getenv("BMEQ_CPU_FEATURES");
	bmeq_cpu_path cap = BMEQ_CPU_AVX512;

	if (env && strcmp(env, "sse2") == 0)
		cap = BMEQ_CPU_SSE2;
	else if (env && strcmp(env, "scalar") == 0)
		cap = BMEQ_CPU_SCALAR;

	/* Names and availability. */
	CHECK(strcmp(bmeq_cpu_path_name(BMEQ_CPU_SSE2), "sse2") == 0);
	CHECK(strcmp(bmeq_cpu_path_name((bmeq_cpu_path)99), "unknown") == 0);
	CHECK(bmeq_cpu_path_available(BMEQ_CPU_SCALAR));

	/* The probe: the best path is available and within the cap; without a
	 * cap it is the widest available one. */
	bmeq_cpu_path best = bmeq_cpu_best_path();
	CHECK(best >= BMEQ_CPU_SCALAR && best <= cap);
	CHECK(bmeq_cpu_path_available(best));
	if (cap == BMEQ_CPU_AVX512)
		for (bmeq_cpu_path p = best + 1; p <= BMEQ_CPU_AVX512; p++)
			CHECK(!bmeq_cpu_path_available(p));
	if (cap < BMEQ_CPU_AVX2)
		CHECK(!bmeq_cpu_bitops());

	/* Run the kernels, then ask which paths they took. */
	enum { NX = 40, NY = 30, NZ = 7, N = NX * NY * NZ };
	static float v[N];
	static uint8_t mask[N];
	static uint32_t labels[N];
	for (size_t i = 0; i < N; i++)
		v[i] = (float)((i * 2654435761u) % 1000u);
	bmeq_threshold_mask(v, N, 700.0f, mask);
	bmeq_cc_workspace *ws = NULL;
	CHECK(bmeq_cc_workspace_create(&ws) == BMEQ_OK);
	bmeq_cc_options o;
	memset(&o, 0, sizeof(o));
	o.connectivity = 26;
	o.min_voxels = 1;
	const size_t dim[3] = {NX, NY, NZ};
	uint32_t count = 0;
	CHECK(bmeq_components_label(ws, mask, dim, &o, labels, &count) == BMEQ_OK);
	CHECK(count > 0);
	bmeq_cc_workspace_destroy(ws);

	CHECK(bmeq_threshold_active_path() == best);
	CHECK(bmeq_threshold_active_path() <= cap);
	CHECK(bmeq_components_path() == (bmeq_cpu_bitops() ? BMEQ_CPU_AVX2 : BMEQ_CPU_SCALAR));
	if (cap < BMEQ_CPU_AVX2) {
		/* The point of BMEQ_CPU_FEATURES=sse2: nothing of the AVX generation ran. */
		CHECK(bmeq_threshold_active_path() < BMEQ_CPU_AVX2);
		CHECK(bmeq_components_path() < BMEQ_CPU_AVX2);
	}
	CHECK_DONE();
}
