/* bmeq/settings.h - every setting of bmeq, declared once.
 *
 * One table (src/settings/settings.c) names each setting with its key, type,
 * accepted range, unit, one-line help, command-line flag and what it changes.
 * The configuration file (bmeq/config.h), the commands' flags, the settings
 * in provenance.json, the --resume key and the README's settings table
 * (`bmeq settings --markdown`) all come from it, so they cannot drift apart.
 * Defaults are not repeated here: they are the values the modules' own init
 * functions set (bmeq_measure_opts_init, bmeq_response_rule_init), read back
 * through the table.
 *
 * To add a setting: a field in the options struct it belongs to, its default
 * in that struct's init function, and one row in the table. A row that
 * changes a scan's numbers and has a resume token goes into the --resume key
 * by itself; tests/cli/test_settings.sh then proves that changing it makes
 * `bmeq batch --resume` measure again.
 *
 * Thread-safety: the table is constant; the functions touch only what they
 * are given.
 */
#ifndef BMEQ_SETTINGS_H
#define BMEQ_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

#include "bmeq/json.h"
#include "bmeq/longitudinal.h"
#include "bmeq/measure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a setting's value lives. A NULL member: the command has no such
 * settings (see bmeq_settings_set). */
typedef struct bmeq_settings_target {
	bmeq_measure_opts *measure;   /* threshold.*, lesion.*, reference.*, bias.*, scan.* */
	bmeq_response_rule *response; /* response.* */
	int *jobs;                    /* jobs (-j) */
} bmeq_settings_target;

/* What a setting changes. Values are stable. */
typedef enum bmeq_setting_effect {
	BMEQ_EFFECT_NONE = 0,     /* not the results (e.g. the number of workers) */
	BMEQ_EFFECT_SCAN = 1,     /* a scan's numbers: part of the --resume key */
	BMEQ_EFFECT_RESPONSE = 2  /* the response classes: comparisons are redone on
				     every run, so never part of the --resume key */
} bmeq_setting_effect;

/* How a setting can be given. Bits. */
enum {
	BMEQ_SETTING_CONFIG = 1u,   /* `key = value` in a configuration file */
	BMEQ_SETTING_FIXED = 2u     /* not settable: a constant of the method, listed
				       because it changes results (the N4 fit) */
};

typedef struct bmeq_setting bmeq_setting; /* a row of the table (opaque) */

/* The number of settings, and row i (0 <= i < bmeq_settings_count()), in
 * table order (the order of the --resume key); NULL past the end. */
size_t bmeq_settings_count(void);
const bmeq_setting *bmeq_setting_at(size_t i);

/* The row of a configuration key ("threshold.rule"), or NULL. */
const bmeq_setting *bmeq_setting_find(const char *key);

/* The row's fields: key, type name ("number", "integer", "yes/no", "choice",
 * "rule", "fixed"), accepted range in words, unit ("" when none), one-line
 * help, command-line flag ("" when none), a valid value other than the
 * default (tests; "" when fixed), what it changes and how it can be given. */
const char *bmeq_setting_key(const bmeq_setting *s);
const char *bmeq_setting_type_name(const bmeq_setting *s);
const char *bmeq_setting_range(const bmeq_setting *s);
const char *bmeq_setting_unit(const bmeq_setting *s);
const char *bmeq_setting_help(const bmeq_setting *s);
const char *bmeq_setting_flag(const bmeq_setting *s);
const char *bmeq_setting_example(const bmeq_setting *s);
bmeq_setting_effect bmeq_setting_effect_of(const bmeq_setting *s);
unsigned bmeq_setting_flags(const bmeq_setting *s);

/* Sets key to value (text as in a configuration file) in t. Values are
 * checked against the row's type and range; a row whose target member is
 * NULL is checked and then dropped (`bmeq measure --config` takes a study's
 * file with response.* keys it does not use). t's values are unchanged on
 * failure. BMEQ_E_ARG with a reason ("unknown setting", "needs a depth in mm,
 * 0 to 50") naming neither key nor line (the caller adds them). */
bmeq_status bmeq_settings_set(const bmeq_settings_target *t, const char *key, const char *value);

/* The value of s in t as a configuration file writes it ("median*1.46",
 * "yes", "region", "1.5"), into buf (cap bytes; 64 suffice). BMEQ_E_ARG when
 * t lacks the row's member. */
bmeq_status bmeq_setting_value_text(const bmeq_setting *s, const bmeq_settings_target *t,
				    char *buf, size_t cap);

/* The default of s, as a configuration file writes it (from the modules'
 * init functions). */
void bmeq_setting_default_text(const bmeq_setting *s, char *buf, size_t cap);

/* Command-line flags of the settings. When opt is a setting's flag that
 * applies to t (its member is not NULL), sets it from value (or from the flag
 * alone, e.g. --no-bias-correction) and returns the number of arguments used
 * (1 or 2); 0 when opt is no setting's flag; -1 for a missing or bad value,
 * with the reason in bmeq_last_error(). */
int bmeq_settings_flag(const bmeq_settings_target *t, const char *opt, const char *value);

/* Prints the help lines of the flags that apply to t ("  --connectivity C ...
 * (default 26)") to f. */
void bmeq_settings_flags_help(const bmeq_settings_target *t, FILE *f);

/* The --resume key of a scan's measurement: "bmeq=<version>;" then every row
 * with effect BMEQ_EFFECT_SCAN in table order ("rule=median*1.46;...").
 * Truncated to cap (1024 suffice). */
void bmeq_settings_resume_key(const bmeq_measure_opts *m, char *buf, size_t cap);

/* The key of one scan: as bmeq_settings_resume_key, without the T1's
 * settings (tokens t1*) when the scan has no T1 (with_t1 0), so that they
 * never make a finished scan without a T1 measure again. */
void bmeq_settings_scan_key(const bmeq_measure_opts *m, int with_t1, char *buf, size_t cap);

/* The settings of t as one JSON object (jansson, bmeq/json.h),
 * {"threshold.rule": "median*1.46", "threshold.smooth_mm": 1.5, ...}: every
 * row whose member t has, numbers as numbers, the rest as strings. The
 * caller owns the reference; NULL when out of memory. */
json_t *bmeq_settings_json(const bmeq_settings_target *t);

/* Writes the table: kind 0 a configuration file with every setting at its
 * default, one commented line each; kind 1 the README's Markdown table;
 * kind 2 tab-separated columns key, type, changes (none/scan/response),
 * config (yes/no), flag, default, example, with a header line (scripts). */
void bmeq_settings_print(FILE *f, int kind);

#ifdef __cplusplus
}
#endif
#endif
