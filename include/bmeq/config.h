/* bmeq/config.h - the configuration file (`bmeq batch --config FILE`,
 * `bmeq measure --config FILE`).
 *
 * One setting per line, `key = value`; '#' starts a comment; blank lines are
 * ignored. The keys, their values and ranges are those of the settings table
 * (bmeq/settings.h; `bmeq settings` prints them with their defaults).
 * An unknown key, a bad value or a malformed line is refused with its line
 * number: a configuration is never half-applied silently.
 */
#ifndef BMEQ_CONFIG_H
#define BMEQ_CONFIG_H

#include <stddef.h>

#include "bmeq/settings.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Applies the settings in text (n bytes) to t (see bmeq_settings_set: keys
 * whose member of t is NULL are checked and dropped). BMEQ_E_FORMAT with
 * "line N: key: reason" for anything wrong; t may then hold the lines before
 * the wrong one. */
bmeq_status bmeq_config_apply(const char *text, size_t n, const bmeq_settings_target *t);

#ifdef __cplusplus
}
#endif
#endif
