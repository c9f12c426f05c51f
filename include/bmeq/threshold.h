/* bmeq/threshold.h - vectorised thresholding inside an ROI, reference
 * statistics, and the threshold rule that links them.
 *
 * The measure stage estimates robust statistics of normal-appearing marrow
 * (bmeq_refstats_compute), turns them into one intensity threshold with a
 * rule (bmeq_rule_apply: mean+k*SD, Q3+k*IQR, median*k, median+k*robust SD)
 * and writes the edema map with bmeq_threshold_roi16: every ROI voxel brighter
 * than the threshold keeps its ROI label, everything else becomes 0.
 *
 * Kernels exist as a scalar path (always built) and SSE2, AVX2 and AVX-512
 * variants compiled per function with target attributes. The best path the
 * CPU supports is chosen once, on first use, and cached (bmeq/cpu.h: the
 * environment variable BMEQ_CPU_FEATURES=scalar|sse2|avx2|avx512 caps the
 * path chosen automatically), and bmeq_threshold_force_path()
 * selects one explicitly, so that tests can run every path. All paths give
 * byte-identical output: a voxel is "above" when v > t in IEEE single
 * precision, so NaN never is and +Inf is unless t is +Inf.
 */
#ifndef BMEQ_THRESHOLD_H
#define BMEQ_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/cpu.h"
#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Selects the kernels every later bmeq_threshold_* call uses: a specific
 * path, or BMEQ_CPU_AUTO to return to automatic choice (which honours
 * BMEQ_CPU_FEATURES). BMEQ_E_UNSUPPORTED when p is not available here (the
 * selection is then unchanged), BMEQ_E_ARG for an unknown value. Meant for
 * tests and benchmarks: call it while no other thread is thresholding. */
bmeq_status bmeq_threshold_force_path(bmeq_cpu_path p);

/* The path the bmeq_threshold_* calls currently use (never BMEQ_CPU_AUTO).
 * Resolves the automatic choice if that has not happened yet. Thread-safe. */
bmeq_cpu_path bmeq_threshold_active_path(void);

/* Edema map from a uint16 ROI label map: out[i] = (v[i] > t) ? roi[i] : 0,
 * so ROI label 0 (outside) always gives 0 and an edema voxel carries the
 * label of its ROI region. n elements each; the arrays must not overlap.
 * Never fails. Thread-safe. */
void bmeq_threshold_roi16(const float *v, const uint16_t *roi, size_t n, float t, uint16_t *out);

/* The same for a uint8 ROI (mask or labels up to 255) and uint8 output. */
void bmeq_threshold_roi8(const float *v, const uint8_t *roi, size_t n, float t, uint8_t *out);

/* Plain mask: out[i] = (v[i] > t) ? 1 : 0. */
void bmeq_threshold_mask(const float *v, size_t n, float t, uint8_t *out);

/* Robust summary of reference intensities (normal-appearing marrow).
 * Quantiles use linear interpolation between order statistics
 * (Hyndman and Fan type 7, numpy's default): for sorted x[0..n-1] the
 * p-quantile is x[h] + (h - floor h) (x[h+1] - x[h]) with h = (n - 1) p. */
typedef struct bmeq_refstats {
	size_t n;              /* finite values used (after tail rejection) */
	size_t n_rejected;     /* finite values dropped as bright tail */
	double mean, sd;       /* sd with n - 1 in the denominator (0 when n = 1) */
	double median, q1, q3, iqr;
	double mad;            /* median absolute deviation from the median */
	double robust_sd;      /* 1.4826 * mad: the SD for Gaussian data */
	double min, max;
} bmeq_refstats;

/* How bmeq_refstats_compute treats the bright tail. reject_k > 0 drops,
 * before the statistics are computed, every value above
 * median + reject_k * robust_sd of all finite values (one pass; when the
 * robust SD is 0 nothing is dropped). 0 keeps everything. */
typedef struct bmeq_refstats_opts {
	double reject_k;
} bmeq_refstats_opts;

/* Computes statistics of the finite values among v[0..n-1] (NaN and +-Inf
 * are ignored). opts may be NULL (no rejection). Runs in O(n) expected time
 * (selection, no full sort) and allocates a scratch copy of the values.
 * BMEQ_E_PROCESS when no finite value remains, BMEQ_E_ARG for a bad option,
 * BMEQ_E_NOMEM. Thread-safe. */
bmeq_status bmeq_refstats_compute(const float *v, size_t n, const bmeq_refstats_opts *opts,
				  bmeq_refstats *out);

/* The p-quantile (0 <= p <= 1, type 7 as above) of the finite values of
 * v[0..n-1], O(n) expected. BMEQ_E_ARG for p outside [0, 1], BMEQ_E_PROCESS
 * when there is no finite value, BMEQ_E_NOMEM. Thread-safe. */
bmeq_status bmeq_quantile(const float *v, size_t n, double p, double *out);

/* Threshold rules. Values are stable. */
typedef enum bmeq_rule_kind {
	BMEQ_RULE_MEAN_SD = 1,      /* mean + k * sd          text "mean+<k>sd"   */
	BMEQ_RULE_Q3_IQR = 2,       /* q3 + k * iqr           text "q3+<k>iqr"    */
	BMEQ_RULE_MEDIAN_RATIO = 3, /* median * k             text "median*<k>"   */
	BMEQ_RULE_MEDIAN_RSD = 4    /* median + k * robust_sd text "median+<k>rsd" */
} bmeq_rule_kind;

typedef struct bmeq_rule {
	bmeq_rule_kind kind;
	double k;                   /* finite; >= 0, and > 0 for a ratio */
} bmeq_rule;

/* Longest canonical rule text including the terminator. */
#define BMEQ_RULE_TEXT_MAX 48

/* Parses a rule text as written by bmeq_rule_format, case-insensitively,
 * also accepting spaces and a '*' between k and the unit ("q3 + 1.5*IQR").
 * BMEQ_E_ARG with a reason for anything else or an out-of-range k. */
bmeq_status bmeq_rule_parse(const char *text, bmeq_rule *out);

/* Writes the canonical text of r (lower case, no spaces, k as the shortest
 * decimal that reads back to the same double, e.g. "q3+1.5iqr", "mean+3sd",
 * "median*2") into buf of size cap (>= BMEQ_RULE_TEXT_MAX suffices).
 * BMEQ_E_ARG for an invalid rule or a too-small buffer. */
bmeq_status bmeq_rule_format(const bmeq_rule *r, char *buf, size_t cap);

/* Applies rule r to statistics s: *threshold receives the intensity above
 * which a voxel counts as edema. BMEQ_E_PROCESS when the statistics cannot
 * support the rule (n == 0, a mean/SD rule with n < 2, a ratio with a
 * non-positive median, or a non-finite result), BMEQ_E_ARG for a bad rule. */
bmeq_status bmeq_rule_apply(const bmeq_rule *r, const bmeq_refstats *s, double *threshold);

#ifdef __cplusplus
}
#endif
#endif
