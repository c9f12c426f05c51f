/* bmeq/config.h - the batch configuration file (`bmeq batch --config FILE`).
 *
 * One setting per line, `key = value`; '#' starts a comment; blank lines are
 * ignored. Keys:
 *   threshold.rule          median*1.8 | mean+3sd | q3+1.5iqr | median+4rsd ...
 *   threshold.halfmax       yes | no (each lesion's edge at half its own contrast)
 *   threshold.halfmax_floor ratio >= 1 (lesion thresholds never below it x reference)
 *   threshold.rim_mm        0-50 (rim guard depth; 0 disables)
 *   threshold.band          0 <= fraction < 1 (edema_ml_low/high: the rule's
 *                           factor x (1 +- band); default 0.15)
 *   threshold.smooth_mm     0-10 (Gaussian sigma the reference and threshold see)
 *   reference.level         region | mask (with a reference mask: the regions'
 *                           normal-marrow mode nearest its median, or its own median)
 *   lesion.connectivity     6 | 18 | 26
 *   lesion.min_voxels       integer >= 1
 *   lesion.min_ml           mL >= 0
 *   reference.reject_k      >= 0 (bright-tail rejection of a --reference mask)
 *   reference.min_voxels    integer >= 1
 *   bias.correct            yes | no
 *   response.*              handed to the response rule (see bmeq/longitudinal.h)
 * An unknown key, a bad value or a malformed line is refused with its line
 * number: a configuration is never half-applied silently.
 */
#ifndef BMEQ_CONFIG_H
#define BMEQ_CONFIG_H

#include <stddef.h>

#include "bmeq/measure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Handler for "response.*" keys: returns BMEQ_OK or BMEQ_E_ARG with a reason.
 * key excludes the "response." prefix. */
typedef bmeq_status (*bmeq_config_key_fn)(void *ctx, const char *key, const char *value);

/* Applies the settings in text (n bytes) to m; response.* keys go to
 * response_fn (NULL: such keys are refused). BMEQ_E_FORMAT with
 * "line N: reason" for anything wrong. */
bmeq_status bmeq_config_apply(const char *text, size_t n, bmeq_measure_opts *m,
			      bmeq_config_key_fn response_fn, void *response_ctx);

#ifdef __cplusplus
}
#endif
#endif
