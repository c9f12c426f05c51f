/* test_threshold.c - every CPU path gives the same edema masks; reference
 * statistics, quantiles and threshold rules. */
/* setenv */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/threshold.h"
#include "check.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Values around t = 100 with the awkward ones mixed in. */
static float rnd_value(void)
{
	static const float specials[] = { 100.0f, -0.0f, 0.0f, 1e-42f, -1e-42f, INFINITY, -INFINITY,
					  FLT_MAX, -FLT_MAX, 100.00001f, 99.99999f };
	uint32_t r = rnd() % 16;

	if (r == 0)
		return NAN;
	if (r == 1)
		return -NAN;
	if (r < 5)
		return specials[rnd() % (sizeof(specials) / sizeof(specials[0]))];
	return (float)(rnd() % 2000) / 10.0f;
}

static void check_paths(void)
{
	enum { N = 4099 };
	float *v = malloc((N + 16) * sizeof(float));
	uint16_t *roi16 = malloc((N + 16) * sizeof(uint16_t));
	uint8_t *roi8 = malloc(N + 16);
	uint16_t *o16 = malloc((N + 16) * sizeof(uint16_t)), *e16 = malloc(N * sizeof(uint16_t));
	uint8_t *o8 = malloc(N + 16), *e8 = malloc(N), *om = malloc(N + 16), *em = malloc(N);
	const float t = 100.0f;
	int paths_run = 0;

	CHECK(v && roi16 && roi8 && o16 && e16 && o8 && e8 && om && em);
	if (!(v && roi16 && roi8 && o16 && e16 && o8 && e8 && om && em))
		return;
	for (size_t i = 0; i < N + 16; i++) {
		v[i] = rnd_value();
		roi16[i] = (uint16_t)(rnd() % 3 == 0 ? 0 : (rnd() % 4 == 0 ? 65535u - rnd() % 3 : 1 + rnd() % 4));
		roi8[i] = (uint8_t)(rnd() % 3 == 0 ? 0 : (rnd() % 4 == 0 ? 255 : 1 + rnd() % 4));
	}
	for (bmeq_cpu_path p = BMEQ_CPU_SCALAR; p <= BMEQ_CPU_AVX512; p++) {
		if (!bmeq_cpu_path_available(p)) {
			CHECK(bmeq_threshold_force_path(p) == BMEQ_E_UNSUPPORTED);
			printf("path %s not available on this CPU\n", bmeq_cpu_path_name(p));
			continue;
		}
		CHECK(bmeq_threshold_force_path(p) == BMEQ_OK);
		CHECK(bmeq_threshold_active_path() == p);
		paths_run++;
		/* Every length up to a few vector widths, odd offsets (unaligned),
		 * and one long array; guard elements past n must stay untouched. */
		for (size_t n = 0; n <= N; n = n < 200 ? n + 1 : (n == 200 ? N : N + 1)) {
			size_t off = n % 7;
			const float *vv = v + off;
			for (size_t i = 0; i < n; i++) {
				e16[i] = vv[i] > t ? roi16[off + i] : 0;
				e8[i] = vv[i] > t ? roi8[off + i] : 0;
				em[i] = vv[i] > t;
			}
			memset(o16, 0xAB, (N + 16) * sizeof(uint16_t));
			memset(o8, 0xAB, N + 16);
			memset(om, 0xAB, N + 16);
			bmeq_threshold_roi16(vv, roi16 + off, n, t, o16 + off);
			bmeq_threshold_roi8(vv, roi8 + off, n, t, o8 + off);
			bmeq_threshold_mask(vv, n, t, om + off);
			int ok16 = memcmp(o16 + off, e16, n * sizeof(uint16_t)) == 0;
			int ok8 = memcmp(o8 + off, e8, n) == 0;
			int okm = memcmp(om + off, em, n) == 0;
			int guard = o16[off + n] == 0xABAB && o8[off + n] == 0xAB && om[off + n] == 0xAB;
			if (!(ok16 && ok8 && okm && guard)) {
				fprintf(stderr, "path %s n %zu: roi16 %d roi8 %d mask %d guard %d\n",
					bmeq_cpu_path_name(p), n, ok16, ok8, okm, guard);
				CHECK(0);
				break;
			}
		}
	}
	/* Threshold at +Inf: nothing is above; at -Inf: everything but NaN. */
	for (bmeq_cpu_path p = BMEQ_CPU_SCALAR; p <= BMEQ_CPU_AVX512; p++) {
		if (bmeq_threshold_force_path(p) != BMEQ_OK)
			continue;
		size_t above = 0, finite_or_inf = 0;
		bmeq_threshold_mask(v, N, INFINITY, om);
		for (size_t i = 0; i < N; i++)
			above += om[i];
		CHECK(above == 0);
		bmeq_threshold_mask(v, N, -INFINITY, om);
		above = 0;
		for (size_t i = 0; i < N; i++) {
			above += om[i];
			finite_or_inf += !isnan(v[i]) && v[i] != -INFINITY;
		}
		CHECK(above == finite_or_inf);
	}
	CHECK(paths_run >= 1);
	CHECK(bmeq_threshold_force_path(BMEQ_CPU_AUTO) == BMEQ_OK);
	CHECK(bmeq_threshold_active_path() != BMEQ_CPU_AUTO);
	CHECK(bmeq_threshold_force_path((bmeq_cpu_path)17) == BMEQ_E_ARG);
	free(v), free(roi16), free(roi8), free(o16), free(e16), free(o8), free(e8), free(om), free(em);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static void check_stats(void)
{
	float v[100];
	bmeq_refstats s;
	double q;

	for (int i = 0; i < 100; i++)
		v[99 - i] = (float)(i + 1);
	CHECK(bmeq_refstats_compute(v, 100, NULL, &s) == BMEQ_OK);
	CHECK(s.n == 100 && s.n_rejected == 0);
	CHECK_NEAR(s.median, 50.5, 1e-12);
	CHECK_NEAR(s.q1, 25.75, 1e-12);
	CHECK_NEAR(s.q3, 75.25, 1e-12);
	CHECK_NEAR(s.iqr, 49.5, 1e-12);
	CHECK_NEAR(s.mean, 50.5, 1e-12);
	CHECK_NEAR(s.sd, sqrt(100.0 * 101.0 / 12.0), 1e-9);
	CHECK_NEAR(s.mad, 25.0, 1e-12);
	CHECK_NEAR(s.robust_sd, 1.4826 * 25.0, 1e-9);
	CHECK(s.min == 1.0 && s.max == 100.0);

	/* Quantiles against a sorted copy, with many ties and non-finite values. */
	enum { M = 1001 };
	float *a = malloc(M * sizeof(float)), *sorted = malloc(M * sizeof(float));
	CHECK(a && sorted);
	if (!a || !sorted)
		return;
	for (int round = 0; round < 20; round++) {
		size_t n = 1 + rnd() % M, m = 0;
		for (size_t i = 0; i < n; i++) {
			a[i] = round % 2 ? (float)(rnd() % 7) : (float)(rnd() % 100000) / 7.0f;
			if (rnd() % 50 == 0)
				a[i] = rnd() % 2 ? NAN : INFINITY;
			if (isfinite(a[i]))
				sorted[m++] = a[i];
		}
		qsort(sorted, m, sizeof(float), cmp_float);
		for (int k = 0; k <= 20; k++) {
			double p = k / 20.0, h = (double)(m - 1) * p, want;
			size_t lo = (size_t)floor(h);
			want = lo + 1 < m ? sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]) : sorted[m - 1];
			CHECK(bmeq_quantile(a, n, p, &q) == BMEQ_OK);
			CHECK_NEAR(q, want, 1e-9 * (1.0 + fabs(want)));
		}
	}
	CHECK(bmeq_quantile(a, 10, 1.5, &q) == BMEQ_E_ARG);
	float nans[3] = { NAN, INFINITY, -INFINITY };
	CHECK(bmeq_quantile(nans, 3, 0.5, &q) == BMEQ_E_PROCESS);
	CHECK(bmeq_refstats_compute(nans, 3, NULL, &s) == BMEQ_E_PROCESS);
	CHECK(bmeq_refstats_compute(nans, 0, NULL, &s) == BMEQ_E_PROCESS);

	/* Bright tail: 900 values in 90..110 and 100 at 400 are rejected at k = 3. */
	for (int i = 0; i < 1000; i++)
		a[i] = i < 900 ? 90.0f + (float)(i % 21) : 400.0f;
	bmeq_refstats_opts o = { 3.0 };
	CHECK(bmeq_refstats_compute(a, 1000, &o, &s) == BMEQ_OK);
	CHECK(s.n == 900 && s.n_rejected == 100);
	CHECK(s.max == 110.0);
	CHECK_NEAR(s.median, 100.0, 1e-12);
	o.reject_k = -1.0;
	CHECK(bmeq_refstats_compute(a, 1000, &o, &s) == BMEQ_E_ARG);
	free(a);
	free(sorted);
}

static void check_rules(void)
{
	static const struct { const char *in, *canon; bmeq_rule_kind kind; double k; } ok[] = {
		{ "q3+1.5iqr", "q3+1.5iqr", BMEQ_RULE_Q3_IQR, 1.5 },
		{ " Q3 + 1.5 * IQR ", "q3+1.5iqr", BMEQ_RULE_Q3_IQR, 1.5 },
		{ "mean+3sd", "mean+3sd", BMEQ_RULE_MEAN_SD, 3.0 },
		{ "mean+3.0*sd", "mean+3sd", BMEQ_RULE_MEAN_SD, 3.0 },
		{ "median*2.0", "median*2", BMEQ_RULE_MEDIAN_RATIO, 2.0 },
		{ "median*1.75", "median*1.75", BMEQ_RULE_MEDIAN_RATIO, 1.75 },
		{ "median+4rsd", "median+4rsd", BMEQ_RULE_MEDIAN_RSD, 4.0 },
		{ "mean+0.1sd", "mean+0.1sd", BMEQ_RULE_MEAN_SD, 0.1 },
		{ "mean+.5sd", "mean+0.5sd", BMEQ_RULE_MEAN_SD, 0.5 },
	};
	static const char *bad[] = { "", "mean", "mean+sd", "mean+3", "mean+3iqr", "q3+-1iqr",
				     "median*0", "median*inf", "median*nan", "mean+1e999sd", "median*2x",
				     "q3+0x10iqr", "mode+1sd" };
	bmeq_rule r;
	char buf[BMEQ_RULE_TEXT_MAX];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(bmeq_rule_parse(ok[i].in, &r) == BMEQ_OK);
		CHECK(r.kind == ok[i].kind && r.k == ok[i].k);
		CHECK(bmeq_rule_format(&r, buf, sizeof(buf)) == BMEQ_OK);
		CHECK(strcmp(buf, ok[i].canon) == 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(bmeq_rule_parse(bad[i], &r) == BMEQ_E_ARG);
	/* Any k survives a format/parse round trip. */
	r.kind = BMEQ_RULE_Q3_IQR;
	r.k = 0.1 + 0.2;
	CHECK(bmeq_rule_format(&r, buf, sizeof(buf)) == BMEQ_OK);
	bmeq_rule back;
	CHECK(bmeq_rule_parse(buf, &back) == BMEQ_OK && back.k == r.k);
	CHECK(bmeq_rule_format(&r, buf, 4) == BMEQ_E_ARG);

	bmeq_refstats s = { 0 };
	double t;
	s.n = 10, s.mean = 100, s.sd = 10, s.median = 98, s.q1 = 90, s.q3 = 110, s.iqr = 20, s.robust_sd = 12;
	r = (bmeq_rule){ BMEQ_RULE_MEAN_SD, 3.0 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_OK && t == 130.0);
	r = (bmeq_rule){ BMEQ_RULE_Q3_IQR, 1.5 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_OK && t == 140.0);
	r = (bmeq_rule){ BMEQ_RULE_MEDIAN_RATIO, 2.0 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_OK && t == 196.0);
	r = (bmeq_rule){ BMEQ_RULE_MEDIAN_RSD, 2.0 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_OK && t == 122.0);
	s.median = -1.0;
	r = (bmeq_rule){ BMEQ_RULE_MEDIAN_RATIO, 2.0 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_E_PROCESS);
	s.n = 1;
	r = (bmeq_rule){ BMEQ_RULE_MEAN_SD, 3.0 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_E_PROCESS);
	s.n = 0;
	r = (bmeq_rule){ BMEQ_RULE_Q3_IQR, 1.5 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_E_PROCESS);
	r = (bmeq_rule){ (bmeq_rule_kind)99, 1.5 };
	CHECK(bmeq_rule_apply(&r, &s, &t) == BMEQ_E_ARG);
}

int main(void)
{
	/* The environment cap is read at the first kernel use, so set it first. */
	if (bmeq_cpu_path_available(BMEQ_CPU_SSE2)) {
		setenv("BMEQ_CPU_FEATURES", "sse2", 1);
		CHECK(bmeq_threshold_active_path() == BMEQ_CPU_SSE2);
	}
	check_paths();
	check_stats();
	check_rules();
	CHECK_DONE();
}
