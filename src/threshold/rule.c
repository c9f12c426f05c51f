/* rule.c - threshold rules: canonical text, parsing, and application. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/threshold.h"

/* Text around k for each rule: prefix<k>suffix. */
typedef struct rule_syntax {
	bmeq_rule_kind kind;
	const char *prefix, *suffix;
} rule_syntax;

static const rule_syntax syntaxes[] = {
	{ BMEQ_RULE_MEAN_SD, "mean+", "sd" },
	{ BMEQ_RULE_Q3_IQR, "q3+", "iqr" },
	{ BMEQ_RULE_MEDIAN_RATIO, "median*", "" },
	{ BMEQ_RULE_MEDIAN_RSD, "median+", "rsd" },
};

static const rule_syntax *syntax_of(bmeq_rule_kind kind)
{
	for (size_t i = 0; i < sizeof(syntaxes) / sizeof(syntaxes[0]); i++)
		if (syntaxes[i].kind == kind)
			return &syntaxes[i];
	return NULL;
}

static int k_valid(bmeq_rule_kind kind, double k)
{
	if (!isfinite(k) || k < 0.0)
		return 0;
	return kind != BMEQ_RULE_MEDIAN_RATIO || k > 0.0;
}

bmeq_status bmeq_rule_parse(const char *text, bmeq_rule *out)
{
	char buf[BMEQ_RULE_TEXT_MAX * 2];
	size_t n = 0;

	if (!text)
		return bmeq_fail(BMEQ_E_ARG, "threshold rule: missing text");
	for (const char *p = text; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (n + 1 >= sizeof(buf))
			return bmeq_fail(BMEQ_E_ARG, "threshold rule '%.40s...' is too long", text);
		buf[n++] = (char)tolower((unsigned char)*p);
	}
	buf[n] = '\0';

	for (size_t s = 0; s < sizeof(syntaxes) / sizeof(syntaxes[0]); s++) {
		const rule_syntax *sy = &syntaxes[s];
		size_t lp = strlen(sy->prefix);

		if (strncmp(buf, sy->prefix, lp) != 0)
			continue;
		const char *num = buf + lp;
		/* Only plain decimals: strtod would also take "inf", "nan" and hex. */
		if (!(isdigit((unsigned char)num[0]) || (num[0] == '.' && isdigit((unsigned char)num[1]))))
			continue;
		char *end;
		double k = strtod(num, &end);
		if (strspn(num, "0123456789.e+-") < (size_t)(end - num))
			continue; /* hex floats and the like */
		if (*sy->suffix && *end == '*')
			end++;
		if (strcmp(end, sy->suffix) != 0)
			continue;
		if (!k_valid(sy->kind, k))
			return bmeq_fail(BMEQ_E_ARG, "threshold rule '%s': factor %g is out of range", text, k);
		out->kind = sy->kind;
		out->k = k;
		return BMEQ_OK;
	}
	return bmeq_fail(BMEQ_E_ARG,
			 "threshold rule '%s' is not one of mean+<k>sd, q3+<k>iqr, median*<k>, median+<k>rsd",
			 text);
}

bmeq_status bmeq_rule_format(const bmeq_rule *r, char *buf, size_t cap)
{
	const rule_syntax *sy = syntax_of(r->kind);
	char num[32];

	if (!sy || !k_valid(r->kind, r->k))
		return bmeq_fail(BMEQ_E_ARG, "threshold rule: invalid kind %d or factor %g", (int)r->kind, r->k);
	/* Shortest %g form that reads back exactly, so the CSV shows "1.5"
	 * rather than "1.5000000000000000" and parsing it restores the rule. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(num, sizeof(num), "%.*g", prec, r->k);
		if (strtod(num, NULL) == r->k)
			break;
	}
	int w = snprintf(buf, cap, "%s%s%s", sy->prefix, num, sy->suffix);
	if (w < 0 || (size_t)w >= cap)
		return bmeq_fail(BMEQ_E_ARG, "threshold rule: buffer of %zu bytes is too small", cap);
	return BMEQ_OK;
}

bmeq_status bmeq_rule_apply(const bmeq_rule *r, const bmeq_refstats *s, double *threshold)
{
	double t;

	if (!syntax_of(r->kind) || !k_valid(r->kind, r->k))
		return bmeq_fail(BMEQ_E_ARG, "threshold rule: invalid kind %d or factor %g", (int)r->kind, r->k);
	if (s->n == 0)
		return bmeq_fail(BMEQ_E_PROCESS, "threshold rule: the reference is empty");
	switch (r->kind) {
	case BMEQ_RULE_MEAN_SD:
		if (s->n < 2)
			return bmeq_fail(BMEQ_E_PROCESS, "threshold rule: SD needs 2 reference voxels, got %zu",
					 s->n);
		t = s->mean + r->k * s->sd;
		break;
	case BMEQ_RULE_Q3_IQR:
		t = s->q3 + r->k * s->iqr;
		break;
	case BMEQ_RULE_MEDIAN_RATIO:
		if (!(s->median > 0.0))
			return bmeq_fail(BMEQ_E_PROCESS,
					 "threshold rule: a ratio needs a positive reference median, got %g",
					 s->median);
		t = s->median * r->k;
		break;
	case BMEQ_RULE_MEDIAN_RSD:
		t = s->median + r->k * s->robust_sd;
		break;
	default:
		return bmeq_fail(BMEQ_E_ARG, "threshold rule: invalid kind %d", (int)r->kind);
	}
	if (!isfinite(t))
		return bmeq_fail(BMEQ_E_PROCESS, "threshold rule: the threshold is not finite");
	*threshold = t;
	return BMEQ_OK;
}
