/* config.c - `key = value` settings for the batch. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/config.h"

static char *trim(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_size(const char *v, size_t lo, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || !isdigit((unsigned char)v[0]) || x < lo || x > (1ull << 31))
		return -1;
	*out = (size_t)x;
	return 0;
}

static int parse_real(const char *v, double lo, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || *end || !v[0] || !isfinite(x) || x < lo)
		return -1;
	*out = x;
	return 0;
}

static bmeq_status apply_one(const char *key, const char *val, bmeq_measure_opts *m,
			     bmeq_config_key_fn response_fn, void *ctx)
{
	size_t z;
	double d;

	if (strcmp(key, "threshold.rule") == 0)
		return bmeq_rule_parse(val, &m->edema.rule);
	if (strcmp(key, "lesion.connectivity") == 0) {
		if (strcmp(val, "6") && strcmp(val, "18") && strcmp(val, "26"))
			return bmeq_fail(BMEQ_E_ARG, "must be 6, 18 or 26");
		m->edema.connectivity = atoi(val);
		return BMEQ_OK;
	}
	if (strcmp(key, "lesion.min_voxels") == 0) {
		if (parse_size(val, 1, &z))
			return bmeq_fail(BMEQ_E_ARG, "needs an integer >= 1");
		m->edema.min_lesion_voxels = z;
		return BMEQ_OK;
	}
	if (strcmp(key, "lesion.min_ml") == 0) {
		if (parse_real(val, 0.0, &d))
			return bmeq_fail(BMEQ_E_ARG, "needs a volume in mL >= 0");
		m->edema.min_lesion_ml = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "reference.reject_k") == 0) {
		if (parse_real(val, 0.0, &d))
			return bmeq_fail(BMEQ_E_ARG, "needs a number >= 0");
		m->edema.reference_reject_k = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "reference.min_voxels") == 0) {
		if (parse_size(val, 1, &z))
			return bmeq_fail(BMEQ_E_ARG, "needs an integer >= 1");
		m->edema.min_reference_voxels = z;
		return BMEQ_OK;
	}
	if (strcmp(key, "threshold.halfmax") == 0) {
		if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			m->edema.halfmax = 1;
		else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			m->edema.halfmax = 0;
		else
			return bmeq_fail(BMEQ_E_ARG, "must be yes or no");
		return BMEQ_OK;
	}
	if (strcmp(key, "threshold.halfmax_floor") == 0) {
		if (parse_real(val, 0.0, &d) || (d > 0.0 && d < 1.0))
			return bmeq_fail(BMEQ_E_ARG, "needs 0 (halfway to the rule's threshold) or a ratio >= 1");
		m->edema.halfmax_floor = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "threshold.rim_mm") == 0) {
		if (parse_real(val, 0.0, &d) || d > 50.0)
			return bmeq_fail(BMEQ_E_ARG, "needs a depth in mm, 0 to 50");
		m->edema.rim_mm = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "threshold.band") == 0) {
		/* A fraction of the rule's factor; 1 would put the lower
		 * threshold at zero. */
		if (parse_real(val, 0.0, &d) || !(d < 1.0))
			return bmeq_fail(BMEQ_E_ARG, "needs a fraction, 0 <= band < 1");
		m->edema.band = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "threshold.smooth_mm") == 0) {
		if (parse_real(val, 0.0, &d) || d > 10.0)
			return bmeq_fail(BMEQ_E_ARG, "needs a Gaussian sigma in mm, 0 to 10");
		m->edema.smooth_mm = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "threshold.edge_band") == 0) {
		if (parse_real(val, 0.0, &d) || !(d < 0.5))
			return bmeq_fail(BMEQ_E_ARG, "needs a fraction, 0 <= edge_band < 0.5");
		m->edema.edge_band = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "reference.level") == 0) {
		if (strcmp(val, "region") == 0)
			m->edema.reference_from_region = 1;
		else if (strcmp(val, "mask") == 0)
			m->edema.reference_from_region = 0;
		else
			return bmeq_fail(BMEQ_E_ARG, "must be region or mask");
		return BMEQ_OK;
	}
	if (strcmp(key, "scan.max_mb") == 0) {
		if (parse_real(val, 1.0, &d) || !bmeq_max_scan_mb_ok(d))
			return bmeq_fail(BMEQ_E_ARG, BMEQ_MAX_SCAN_MB_RANGE);
		m->max_scan_mb = d;
		return BMEQ_OK;
	}
	if (strcmp(key, "segment.measure_doubtful") == 0) {
		if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			m->measure_doubtful = 1;
		else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			m->measure_doubtful = 0;
		else
			return bmeq_fail(BMEQ_E_ARG, "must be yes or no");
		return BMEQ_OK;
	}
	if (strcmp(key, "bias.correct") == 0) {
		if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			m->bias_correct = 1;
		else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			m->bias_correct = 0;
		else
			return bmeq_fail(BMEQ_E_ARG, "must be yes or no");
		return BMEQ_OK;
	}
	if (strncmp(key, "response.", 9) == 0 && response_fn)
		return response_fn(ctx, key + 9, val);
	return bmeq_fail(BMEQ_E_ARG, "unknown setting");
}

bmeq_status bmeq_config_apply(const char *text, size_t n, bmeq_measure_opts *m,
			      bmeq_config_key_fn response_fn, void *response_ctx)
{
	size_t line = 0, i = 0;
	char buf[1024];

	while (i < n) {
		size_t start = i;
		while (i < n && text[i] != '\n')
			i++;
		size_t len = i - start;
		i++; /* past the newline */
		line++;
		if (len >= sizeof(buf))
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: too long", line);
		memcpy(buf, text + start, len);
		buf[len] = '\0';
		if (memchr(buf, '\0', len))
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: NUL byte", line);
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(buf);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: expected key = value", line);
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (!*key || !*val)
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: empty key or value", line);
		bmeq_status st = apply_one(key, val, m, response_fn, response_ctx);
		if (st != BMEQ_OK)
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: %s: %s", line, key, bmeq_last_error());
	}
	return BMEQ_OK;
}
