/* settings.c - the table of every setting (see bmeq/settings.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/json.h"
#include "bmeq/settings.h"
#include "bmeq/strbuf.h"

typedef enum setting_kind {
	K_REAL,   /* double */
	K_COUNT,  /* size_t, whole number */
	K_LONG,   /* long, whole number (may be negative) */
	K_INT,    /* int, whole number */
	K_YESNO,  /* int 1/0 */
	K_CHOICE, /* int: the value of one of the listed words */
	K_RULE,   /* bmeq_rule */
	K_N4      /* bmeq_n4_params (fixed) */
} setting_kind;

typedef enum where { W_MEASURE, W_RESPONSE, W_JOBS } where;

typedef struct choice {
	const char *word;
	int value;
} choice;

/* Bounds: lo <= v <= hi unless the open bits say < or >. */
enum { LO_OPEN = 1u, HI_OPEN = 2u };

struct bmeq_setting {
	const char *key;
	setting_kind type;
	where in;
	size_t offset;             /* of the field in its struct */
	double lo, hi;
	unsigned open;
	int (*also)(double v);     /* a further condition on a number (NULL: none) */
	const choice *choices;     /* K_CHOICE: NULL-terminated */
	const char *what;          /* errors say "needs <what>" ("a depth in mm, 0 to 50") */
	const char *range;         /* "0 to 50"; for words "6, 18 or 26" */
	const char *unit;
	const char *help;
	const char *flag;          /* command-line flag taking a value, or NULL */
	const char *flag_alias;    /* a second spelling of it, or NULL */
	const char *metavar;
	const char *no_flag;       /* K_YESNO: a flag alone that sets "no" */
	const char *token;         /* name in the --resume key; rows with the same token
				      in a row share it, their values joined by '/' */
	const char *example;       /* a valid value other than the default (tests) */
	const char *default_text;  /* when the default is not a constant (NULL: from
				      the init functions) */
	bmeq_setting_effect effect;
	unsigned how;
	const char *yes_flag;      /* K_YESNO: a flag alone that sets "yes" */
};

static const choice connectivity_words[] = {{"6", 6}, {"18", 18}, {"26", 26}, {NULL, 0}};
static const choice level_words[] = {{"region", 1}, {"mask", 0}, {NULL, 0}};
static const choice protocol_words[] = {{"warn", BMEQ_PROTOCOL_CHECK_WARN},
					{"refuse", BMEQ_PROTOCOL_CHECK_REFUSE},
					{"off", BMEQ_PROTOCOL_CHECK_OFF},
					{NULL, 0}};

static int zero_or_ratio(double v)
{
	return v == 0.0 || v >= 1.0;
}

#define M(field) W_MEASURE, offsetof(bmeq_measure_opts, field)
#define R(field) W_RESPONSE, offsetof(bmeq_response_rule, field)
#define C BMEQ_SETTING_CONFIG
#define SCAN BMEQ_EFFECT_SCAN
#define RESP BMEQ_EFFECT_RESPONSE

/* Every setting, in the order of the --resume key (which must not change for
 * the rows already in it: a changed key measures every finished scan again). */
static const bmeq_setting table[] = {
	{"threshold.rule", K_RULE, M(edema.rule), 0, 0, 0, NULL, NULL, NULL,
	 "median*K, mean+Ksd, q3+Kiqr or median+Krsd", "",
	 "edema = (smoothed) intensity above this rule over the normal-marrow reference",
	 "--rule", NULL, "RULE", NULL, "rule", "median*1.6", NULL, SCAN, C, NULL},
	{"lesion.connectivity", K_CHOICE, M(edema.connectivity), 0, 0, 0, NULL, connectivity_words,
	 NULL, "6, 18 or 26", "", "voxel neighbourhood that joins edema into one 3D lesion",
	 "--connectivity", NULL, "C", NULL, "connectivity", "6", NULL, SCAN, C, NULL},
	{"lesion.min_voxels", K_COUNT, M(edema.min_lesion_voxels), 1, 2147483648.0, 0, NULL, NULL,
	 "an integer >= 1", ">= 1", "voxels", "lesions with fewer voxels are dropped",
	 "--min-lesion-voxels", NULL, "N", NULL, "min_lesion_voxels", "20", NULL, SCAN, C, NULL},
	{"lesion.min_ml", K_REAL, M(edema.min_lesion_ml), 0, HUGE_VAL, 0, NULL, NULL,
	 "a volume in mL >= 0", ">= 0", "mL", "lesions smaller than this are dropped",
	 "--min-lesion-ml", NULL, "V", NULL, "min_lesion_ml", "0.05", NULL, SCAN, C, NULL},
	{"reference.reject_k", K_REAL, M(edema.reference_reject_k), 0, HUGE_VAL, 0, NULL, NULL,
	 "a number >= 0", ">= 0", "robust SD",
	 "with --reference and reference.level = mask: the mask's bright tail beyond K robust SD is dropped",
	 NULL, NULL, NULL, NULL, "reference_reject_k", "2.5", NULL, SCAN, C, NULL},
	{"reference.min_voxels", K_COUNT, M(edema.min_reference_voxels), 1, 2147483648.0, 0, NULL,
	 NULL, "an integer >= 1", ">= 1", "voxels",
	 "a scan with fewer normal-marrow reference voxels is an error row",
	 NULL, NULL, NULL, NULL, "reference_min_voxels", "100", NULL, SCAN, C, NULL},
	{"threshold.rim_mm", K_REAL, M(edema.rim_mm), 0, 50, 0, NULL, NULL, "a depth in mm, 0 to 50",
	 "0 to 50", "mm", "rim guard: edema this close to a region's edge counts only when joined to deeper edema (0: off)",
	 NULL, NULL, NULL, NULL, "rim_mm", "1.5", NULL, SCAN, C, NULL},
	{"threshold.halfmax", K_YESNO, M(edema.halfmax), 0, 0, 0, NULL, NULL, NULL, "yes or no", "",
	 "each lesion's edge at half its own contrast over the reference",
	 NULL, NULL, NULL, NULL, "halfmax", "no", NULL, SCAN, C, NULL},
	{"threshold.halfmax_floor", K_REAL, M(edema.halfmax_floor), 0, HUGE_VAL, 0, zero_or_ratio,
	 NULL, "0 (halfway to the rule's threshold) or a ratio >= 1", "0, or >= 1", "x reference",
	 "lesion edges never below this; 0: never below halfway to the rule's threshold",
	 NULL, NULL, NULL, NULL, "halfmax", "1.2", NULL, SCAN, C, NULL},
	{"threshold.band", K_REAL, M(edema.band), 0, 1, HI_OPEN, NULL, NULL, "a fraction, 0 <= band < 1",
	 "0 <= band < 1", "fraction",
	 "edema_ml_low/high: the rule's factor x (1 + band) and x (1 - band)",
	 NULL, NULL, NULL, NULL, "band", "0.25", NULL, SCAN, C, NULL},
	{"threshold.edge_band", K_REAL, M(edema.edge_band), 0, 0.5, HI_OPEN, NULL, NULL, "a fraction, 0 <= edge_band < 0.5",
	 "0 <= edge_band < 0.5", "fraction",
	 "... and each lesion's edge at 0.5 +- edge_band of its contrast",
	 NULL, NULL, NULL, NULL, "band", "0.2", NULL, SCAN, C, NULL},
	{"threshold.smooth_mm", K_REAL, M(edema.smooth_mm), 0, 10, 0, NULL, NULL,
	 "a Gaussian sigma in mm, 0 to 10", "0 to 10", "mm",
	 "Gaussian sigma of the image the reference and threshold see (0: voxelwise)",
	 NULL, NULL, NULL, NULL, "smooth", "1", NULL, SCAN, C, NULL},
	{"reference.level", K_CHOICE, M(edema.reference_from_region), 0, 0, 0, NULL, level_words,
	 NULL, "region or mask", "",
	 "with --reference: the regions' mode nearest the mask's median, or the mask's own median",
	 NULL, NULL, NULL, NULL, "reflevel", "mask", NULL, SCAN, C, NULL},
	{"bias.correct", K_YESNO, M(bias_correct), 0, 0, 0, NULL, NULL, NULL, "yes or no", "",
	 "N4 bias-field correction before segmentation and threshold",
	 NULL, NULL, NULL, "--no-bias-correction", "bias_correct", "no", NULL, SCAN, C, NULL},
	{"bias.n4", K_N4, M(n4), 0, 0, 0, NULL, NULL, NULL, "fixed", "",
	 "the N4 fit: shrink mm/levels/iterations/spline distance mm/convergence/bins",
	 NULL, NULL, NULL, NULL, "n4", "", NULL, SCAN, BMEQ_SETTING_FIXED, NULL},
	{"scan.volume", K_LONG, M(volume), 0, 1073741824.0, 0, NULL, NULL, "a volume index >= 0",
	 ">= 0", "", "which volume of a 4D file is measured (-1: the file must be 3D)",
	 "--volume", NULL, "N", NULL, "volume", "0", NULL, SCAN, 0, NULL},
	{"scan.max_mb", K_REAL, M(max_scan_mb), 1, 1048576, 0, NULL, NULL, "a size in MB, 1 to 1048576",
	 "1 to 1048576", "MB", "scans larger than this as float32 are refused (an error row, not a crash)",
	 "--max-scan-mb", NULL, "MB", NULL, "max_scan_mb", "512", NULL, SCAN, C, NULL},
	{"scan.dicom_timeout_s", K_REAL, M(dicom_timeout_s), 1, 86400, 0, NULL, NULL,
	 "a time in seconds, 1 to 86400", "1 to 86400", "s",
	 "the DICOM reader (a child process) not done within this for a folder or series is stopped: that scan's error row, or import's review row",
	 "--dicom-timeout", NULL, "S", NULL, NULL, "300", NULL, BMEQ_EFFECT_NONE, C, NULL},
	{"segment.measure_doubtful", K_YESNO, M(measure_doubtful), 0, 0, 0, NULL, NULL, NULL,
	 "yes or no", "",
	 "also measure femoral heads that are partial (cut by the field of view) or uncertain (weak edge support); their rows say so",
	 NULL, NULL, NULL, NULL, "doubtful", "yes", NULL, SCAN, C, "--measure-doubtful"},
	{"protocol.check", K_CHOICE, M(protocol_check), 0, 0, 0, NULL, protocol_words, NULL,
	 "warn, refuse or off", "",
	 "a scan whose DICOM header or dcm2niix sidecar says it is not a fluid-sensitive fat-suppressed image (STIR, FS T2/PD): a protocol warning in its rows, or an error row",
	 "--protocol-check", NULL, "MODE", NULL, "protocol", "refuse", NULL, SCAN, C, NULL},
	{"t1.gate", K_YESNO, M(edema.t1_gate), 0, 0, 0, NULL, NULL, NULL, "yes or no", "",
	 "with a T1 (--t1, the manifest's t1 column): edema only where the T1 is not brighter than normal marrow",
	 NULL, NULL, NULL, "--no-t1-gate", "t1gate", "no", NULL, SCAN, C, NULL},
	{"t1.gate_quantile", K_REAL, M(edema.t1_gate_quantile), 0.5, 1, 0, NULL, NULL,
	 "a quantile, 0.5 to 1", "0.5 to 1", "quantile",
	 "the T1 gate's limit: this quantile of normal marrow's T1 (0.975: the top of its 95% reference interval)",
	 NULL, NULL, NULL, NULL, "t1gate", "0.99", NULL, SCAN, C, NULL},
	{"t1.weight", K_REAL, M(edema.t1_weight), 0, 2, 0, NULL, NULL, "an exponent, 0 to 2",
	 "0 to 2", "",
	 "with a T1: the rule reads the smoothed STIR divided by (T1 / normal marrow's T1) to this power, so marrow dark on T1 counts as more edematous (0: the STIR alone)",
	 NULL, NULL, NULL, NULL, "t1weight", "0.5", NULL, SCAN, C, NULL},
	{"t1.fat_suppression_factor", K_REAL, M(fatsat_factor), 0, 100, 0, NULL, NULL,
	 "a factor, 0 to 100", "0 to 100", "",
	 "with a T1: a hip whose subcutaneous fat (found on the T1), against the muscle beneath it on the STIR, is brighter than this factor x the other hip's (or x 1.5) has a failed fat suppression and is not measured (0: not checked)",
	 NULL, NULL, NULL, NULL, "t1fat", "3", NULL, SCAN, C, NULL},
	{"t1.segment", K_YESNO, M(t1_segment), 0, 0, 0, NULL, NULL, NULL, "yes or no", "",
	 "with a T1 and no --roi: find the femoral regions on the T1 and carry them onto the STIR",
	 NULL, NULL, NULL, NULL, "t1seg", "yes", NULL, SCAN, C, "--t1-segment"},
	{"t1.register", K_YESNO, M(t1_register), 0, 0, 0, NULL, NULL, NULL, "yes or no", "",
	 "register the T1 to the STIR (rigid, mutual information); no: trust the two affines",
	 NULL, NULL, NULL, "--no-t1-register", "t1reg", "no", NULL, SCAN, C, NULL},
	{"response.measurable_ml", K_REAL, R(measurable_ml), 0, HUGE_VAL, 0, NULL, NULL,
	 "a volume >= 0 mL", ">= 0", "mL", "edema below this is not measurable",
	 NULL, NULL, NULL, NULL, NULL, "0.8", NULL, RESP, C, NULL},
	{"response.partial_pct", K_REAL, R(partial_pct), 0, 100, LO_OPEN, NULL, NULL, "0 < value <= 100",
	 "0 < value <= 100", "%", "partial response: a decrease of at least this much",
	 NULL, NULL, NULL, NULL, NULL, "40", NULL, RESP, C, NULL},
	{"response.progression_pct", K_REAL, R(progression_pct), 0, 1e6, LO_OPEN | HI_OPEN, NULL,
	 NULL, "a value > 0", "> 0", "%", "progression: an increase of at least this much ...",
	 NULL, NULL, NULL, NULL, NULL, "25", NULL, RESP, C, NULL},
	{"response.progression_ml", K_REAL, R(progression_ml), 0, 1e6, HI_OPEN, NULL, NULL,
	 "a volume >= 0 mL", ">= 0", "mL", "... and at least this many mL",
	 NULL, NULL, NULL, NULL, NULL, "2", NULL, RESP, C, NULL},
	{"jobs", K_INT, W_JOBS, 0, 1, 256, 0, NULL, NULL, "a number of workers 1..256", "1 to 256", "",
	 "scans measured in parallel (the numbers do not depend on it)",
	 "-j", "--jobs", "N", NULL, NULL, "1", "the number of cores", BMEQ_EFFECT_NONE, 0, NULL},
};

#undef M
#undef R
#undef C
#undef SCAN
#undef RESP

#define NROWS (sizeof(table) / sizeof(table[0]))

size_t bmeq_settings_count(void)
{
	return NROWS;
}

const bmeq_setting *bmeq_setting_at(size_t i)
{
	return i < NROWS ? &table[i] : NULL;
}

const bmeq_setting *bmeq_setting_find(const char *key)
{
	for (size_t i = 0; key && i < NROWS; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

const char *bmeq_setting_key(const bmeq_setting *s)
{
	return s->key;
}

const char *bmeq_setting_type_name(const bmeq_setting *s)
{
	static const char *const names[] = {"number", "integer", "integer", "integer",
					    "yes/no", "choice",  "rule",    "fixed"};
	return names[s->type];
}

const char *bmeq_setting_range(const bmeq_setting *s)
{
	return s->range;
}

const char *bmeq_setting_unit(const bmeq_setting *s)
{
	return s->unit;
}

const char *bmeq_setting_help(const bmeq_setting *s)
{
	return s->help;
}

const char *bmeq_setting_flag(const bmeq_setting *s)
{
	return s->flag ? s->flag : s->no_flag ? s->no_flag : s->yes_flag ? s->yes_flag : "";
}

const char *bmeq_setting_example(const bmeq_setting *s)
{
	return s->example;
}

bmeq_setting_effect bmeq_setting_effect_of(const bmeq_setting *s)
{
	return s->effect;
}

unsigned bmeq_setting_flags(const bmeq_setting *s)
{
	return s->how;
}

/* The row's field in t, or NULL when t lacks its struct. */
static void *field(const bmeq_setting *s, const bmeq_settings_target *t)
{
	switch (s->in) {
	case W_MEASURE:
		return t->measure ? (char *)t->measure + s->offset : NULL;
	case W_RESPONSE:
		return t->response ? (char *)t->response + s->offset : NULL;
	case W_JOBS:
		return t->jobs;
	}
	return NULL;
}

static int yes_no(const char *v)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		return 1;
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		return 0;
	return -1;
}

static int in_bounds(const bmeq_setting *s, double v)
{
	if (!isfinite(v))
		return 0;
	if ((s->open & LO_OPEN) ? !(v > s->lo) : !(v >= s->lo))
		return 0;
	if ((s->open & HI_OPEN) ? !(v < s->hi) : !(v <= s->hi))
		return 0;
	return !s->also || s->also(v);
}

static bmeq_status refuse(const bmeq_setting *s)
{
	if (s->what)
		return bmeq_fail(BMEQ_E_ARG, "needs %s", s->what);
	return bmeq_fail(BMEQ_E_ARG, "must be %s", s->range);
}

/* Parses value for row s into the scratch value *v (a copy of the field). */
static bmeq_status parse(const bmeq_setting *s, const char *value, void *v)
{
	char *end;

	switch (s->type) {
	case K_RULE:
		return bmeq_rule_parse(value, v);
	case K_YESNO: {
		int b = yes_no(value);
		if (b < 0)
			return refuse(s);
		*(int *)v = b;
		return BMEQ_OK;
	}
	case K_CHOICE:
		for (const choice *c = s->choices; c->word; c++)
			if (strcmp(value, c->word) == 0) {
				*(int *)v = c->value;
				return BMEQ_OK;
			}
		return refuse(s);
	case K_REAL: {
		errno = 0;
		double d = strtod(value, &end);
		if (errno || end == value || *end || !in_bounds(s, d))
			return refuse(s);
		*(double *)v = d;
		return BMEQ_OK;
	}
	case K_COUNT:
	case K_LONG:
	case K_INT: {
		const char *digits = value[0] == '-' ? value + 1 : value;
		errno = 0;
		long long x = strtoll(value, &end, 10);
		if (errno || *end || !isdigit((unsigned char)digits[0]) || !in_bounds(s, (double)x))
			return refuse(s);
		if (s->type == K_COUNT)
			*(size_t *)v = (size_t)x;
		else if (s->type == K_LONG)
			*(long *)v = (long)x;
		else
			*(int *)v = (int)x;
		return BMEQ_OK;
	}
	case K_N4:
		return bmeq_fail(BMEQ_E_ARG, "is fixed (not a setting one can change)");
	}
	return bmeq_fail(BMEQ_E_ARG, "unknown type");
}

static size_t field_size(const bmeq_setting *s)
{
	switch (s->type) {
	case K_REAL: return sizeof(double);
	case K_COUNT: return sizeof(size_t);
	case K_LONG: return sizeof(long);
	case K_RULE: return sizeof(bmeq_rule);
	case K_N4: return sizeof(bmeq_n4_params);
	default: return sizeof(int);
	}
}

static bmeq_status set_row(const bmeq_setting *s, const bmeq_settings_target *t, const char *value)
{
	union {
		double d;
		size_t z;
		long l;
		int i;
		bmeq_rule r;
		bmeq_n4_params n4;
	} v;
	void *f = field(s, t);
	bmeq_status st;

	memset(&v, 0, sizeof(v));
	if (f)
		memcpy(&v, f, field_size(s));
	if ((st = parse(s, value, &v)) != BMEQ_OK)
		return st;
	if (f)
		memcpy(f, &v, field_size(s));
	return BMEQ_OK;
}

bmeq_status bmeq_settings_set(const bmeq_settings_target *t, const char *key, const char *value)
{
	const bmeq_setting *s = bmeq_setting_find(key);

	if (!s || !(s->how & BMEQ_SETTING_CONFIG))
		return bmeq_fail(BMEQ_E_ARG, "unknown setting");
	return set_row(s, t, value);
}

static void n4_text(const bmeq_n4_params *n, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.6g/%d/%d,%d,%d,%d/%.6g/%.6g/%d", n->shrink_mm, n->levels,
		 n->iterations[0], n->iterations[1], n->iterations[2], n->iterations[3],
		 n->spline_distance_mm, n->convergence, n->histogram_bins);
}

/* The value of field f of row s, as a configuration file writes it. */
static void value_text(const bmeq_setting *s, const void *f, char *buf, size_t cap)
{
	switch (s->type) {
	case K_RULE:
		if (bmeq_rule_format(f, buf, cap) != BMEQ_OK)
			snprintf(buf, cap, "?");
		return;
	case K_YESNO:
		snprintf(buf, cap, "%s", *(const int *)f ? "yes" : "no");
		return;
	case K_CHOICE:
		for (const choice *c = s->choices; c->word; c++)
			if (c->value == *(const int *)f) {
				snprintf(buf, cap, "%s", c->word);
				return;
			}
		snprintf(buf, cap, "%d", *(const int *)f);
		return;
	case K_REAL:
		bmeq_format_shortest(*(const double *)f, buf, cap);
		return;
	case K_COUNT:
		snprintf(buf, cap, "%zu", *(const size_t *)f);
		return;
	case K_LONG:
		snprintf(buf, cap, "%ld", *(const long *)f);
		return;
	case K_INT:
		snprintf(buf, cap, "%d", *(const int *)f);
		return;
	case K_N4:
		n4_text(f, buf, cap);
		return;
	}
}

bmeq_status bmeq_setting_value_text(const bmeq_setting *s, const bmeq_settings_target *t,
				    char *buf, size_t cap)
{
	const void *f = field(s, t);

	if (!f)
		return bmeq_fail(BMEQ_E_ARG, "%s: not a setting of this command", s->key);
	value_text(s, f, buf, cap);
	return BMEQ_OK;
}

void bmeq_setting_default_text(const bmeq_setting *s, char *buf, size_t cap)
{
	bmeq_measure_opts m;
	bmeq_response_rule r;
	int jobs = 1;
	bmeq_settings_target t = {&m, &r, &jobs};

	if (s->default_text) {
		snprintf(buf, cap, "%s", s->default_text);
		return;
	}
	bmeq_measure_opts_init(&m);
	bmeq_response_rule_init(&r);
	value_text(s, field(s, &t), buf, cap);
}

int bmeq_settings_flag(const bmeq_settings_target *t, const char *opt, const char *value)
{
	for (size_t i = 0; i < NROWS; i++) {
		const bmeq_setting *s = &table[i];
		void *f = field(s, t);
		if (!f)
			continue;
		if (s->no_flag && strcmp(opt, s->no_flag) == 0) {
			*(int *)f = 0;
			return 1;
		}
		if (s->yes_flag && strcmp(opt, s->yes_flag) == 0) {
			*(int *)f = 1;
			return 1;
		}
		if (!s->flag || (strcmp(opt, s->flag) != 0 &&
				 !(s->flag_alias && strcmp(opt, s->flag_alias) == 0)))
			continue;
		if (!value) {
			bmeq_fail(BMEQ_E_ARG, "needs a value");
			return -1;
		}
		return set_row(s, t, value) == BMEQ_OK ? 2 : -1;
	}
	return 0;
}

/* Prints text wrapped at 79 columns, continuation lines indented by indent. */
static void wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *p = text;

	while (*p) {
		const char *w = p;
		while (*w && *w != ' ')
			w++;
		size_t len = (size_t)(w - p);
		if (col + 1 + len > 79 && col > indent) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (p != text) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, len, f);
		col += len;
		p = *w ? w + 1 : w;
	}
	fputc('\n', f);
}

void bmeq_settings_flags_help(const bmeq_settings_target *t, FILE *f)
{
	for (size_t i = 0; i < NROWS; i++) {
		const bmeq_setting *s = &table[i];
		char def[96], head[64], text[400];
		const char *alone = s->no_flag ? s->no_flag : s->yes_flag;
		if (!field(s, t) || (!s->flag && !alone))
			continue;
		bmeq_setting_default_text(s, def, sizeof(def));
		if (s->flag)
			snprintf(head, sizeof(head), "%s %s", s->flag, s->metavar);
		else
			snprintf(head, sizeof(head), "%s", alone);
		if (alone && !s->flag)
			snprintf(text, sizeof(text), "%s = %s: %s", s->key, s->no_flag ? "no" : "yes",
				 s->help);
		else
			snprintf(text, sizeof(text), "%s%s%s (%s; default %s)", s->help,
				 s->unit[0] ? ", " : "", s->unit, s->range, def);
		fprintf(f, "  %-22s ", head);
		if (strlen(head) > 22)
			fprintf(f, "\n%25s", "");
		wrap(f, text, 25, 25);
	}
}

void bmeq_settings_resume_key(const bmeq_measure_opts *m, char *buf, size_t cap)
{
	bmeq_settings_scan_key(m, 1, buf, cap);
}

void bmeq_settings_scan_key(const bmeq_measure_opts *m, int with_t1, char *buf, size_t cap)
{
	bmeq_settings_target t = {(bmeq_measure_opts *)m, NULL, NULL};
	size_t len;

	snprintf(buf, cap, "bmeq=%s", bmeq_version());
	for (size_t i = 0; i < NROWS; i++) {
		const bmeq_setting *s = &table[i];
		const void *f = field(s, &t);
		char v[128];
		if (s->effect != BMEQ_EFFECT_SCAN || !s->token || !f)
			continue;
		/* The T1's settings change nothing for a scan without one: its
		 * key stays as it was before they existed. */
		if (!with_t1 && strncmp(s->token, "t1", 2) == 0)
			continue;
		/* The key's own spelling, older than the table: yes/no and
		 * choices as numbers, other numbers to 6 digits. */
		switch (s->type) {
		case K_YESNO:
		case K_CHOICE:
		case K_INT:
			snprintf(v, sizeof(v), "%d", *(const int *)f);
			break;
		case K_REAL:
			snprintf(v, sizeof(v), "%.6g", *(const double *)f);
			break;
		default:
			value_text(s, f, v, sizeof(v));
			break;
		}
		int joined = i > 0 && table[i - 1].token && strcmp(table[i - 1].token, s->token) == 0;
		len = strlen(buf);
		if (len < cap)
			snprintf(buf + len, cap - len, joined ? "/%s" : ";%s=%s",
				 joined ? v : s->token, v);
	}
}

json_t *bmeq_settings_json(const bmeq_settings_target *t)
{
	json_t *o = json_object();
	int ok = 1;

	for (size_t i = 0; i < NROWS; i++) {
		const bmeq_setting *s = &table[i];
		const void *f = field(s, t);
		char v[128];
		json_t *j;
		if (!f)
			continue;
		switch (s->type) {
		case K_REAL:
			/* 15 significant digits give back the short form ("0.15"). */
			j = bmeq_json_sig(*(const double *)f, 15);
			break;
		case K_COUNT:
			j = json_integer((json_int_t)*(const size_t *)f);
			break;
		case K_LONG:
			j = json_integer((json_int_t)*(const long *)f);
			break;
		case K_INT:
			j = json_integer((json_int_t)*(const int *)f);
			break;
		default:
			value_text(s, f, v, sizeof(v));
			j = bmeq_json_str(v);
			break;
		}
		bmeq_json_put(o, s->key, j, &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void bmeq_settings_print(FILE *f, int kind)
{
	if (kind == 2)
		fputs("key\ttype\tchanges\tconfig\tflag\tdefault\texample\n", f);
	if (kind == 1) {
		fputs("| key | type | range | default | unit | changes | flag | what it does |\n"
		      "|---|---|---|---|---|---|---|---|\n",
		      f);
	}
	for (size_t i = 0; i < NROWS; i++) {
		const bmeq_setting *s = &table[i];
		char def[96];
		bmeq_setting_default_text(s, def, sizeof(def));
		if (kind == 1) {
			static const char *const changes[] = {"nothing", "scans (--resume key)",
							      "responses"};
			char key[64];
			snprintf(key, sizeof(key), "%s%s%s", (s->how & BMEQ_SETTING_CONFIG) ? "`" : "",
				 s->key, (s->how & BMEQ_SETTING_CONFIG) ? "`" : "");
			fprintf(f, "| %s | %s | %s | %s | %s | %s | %s%s%s | %s |\n", key,
				bmeq_setting_type_name(s), s->range, def, s->unit, changes[s->effect],
				bmeq_setting_flag(s)[0] ? "`" : "", bmeq_setting_flag(s),
				bmeq_setting_flag(s)[0] ? "`" : "", s->help);
		} else if (kind == 2) {
			static const char *const changes[] = {"none", "scan", "response"};
			fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s->key, bmeq_setting_type_name(s),
				changes[s->effect], (s->how & BMEQ_SETTING_CONFIG) ? "yes" : "no",
				bmeq_setting_flag(s), def, s->example);
		} else if (s->how & BMEQ_SETTING_CONFIG) {
			char line[160];
			snprintf(line, sizeof(line), "%s = %s", s->key, def);
			fprintf(f, "%-36s # %s%s%s\n", line, s->range, s->unit[0] ? " " : "", s->unit);
		}
	}
}
