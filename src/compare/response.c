/* response.c - the response rule: defaults, canonical text and
 * classification of one side (its settings are rows of bmeq/settings.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/longitudinal.h"
#include "bmeq/strbuf.h"

/* Cut-offs are compared with this margin (mL or percentage points): volumes
 * come from voxel counts times a voxel volume, and percentages of them are
 * rarely exact in binary (10 -> 7 mL is -30.000000000000004 %). */
#define CUT_EPS 1e-9

const char *bmeq_response_name(bmeq_response r)
{
	switch (r) {
	case BMEQ_RESPONSE_COMPLETE: return "complete";
	case BMEQ_RESPONSE_PARTIAL: return "partial";
	case BMEQ_RESPONSE_STABLE: return "stable";
	case BMEQ_RESPONSE_PROGRESSION: return "progression";
	case BMEQ_RESPONSE_NEW: return "new";
	case BMEQ_RESPONSE_NONE: return "none";
	case BMEQ_RESPONSE_NOT_EVALUABLE: return "not_evaluable";
	}
	return "unknown";
}

void bmeq_response_rule_init(bmeq_response_rule *r)
{
	r->measurable_ml = 0.5;
	r->partial_pct = 30.0;
	r->progression_pct = 20.0;
	r->progression_ml = 1.0;
}

bmeq_status bmeq_response_rule_check(const bmeq_response_rule *r)
{
	if (!r)
		return bmeq_fail(BMEQ_E_ARG, "response rule: NULL");
	if (!(isfinite(r->measurable_ml) && r->measurable_ml >= 0.0))
		return bmeq_fail(BMEQ_E_ARG, "response.measurable_ml = %g: needs a volume >= 0 mL",
				 r->measurable_ml);
	if (!(isfinite(r->partial_pct) && r->partial_pct > 0.0 && r->partial_pct <= 100.0))
		return bmeq_fail(BMEQ_E_ARG, "response.partial_pct = %g: needs 0 < value <= 100",
				 r->partial_pct);
	if (!(isfinite(r->progression_pct) && r->progression_pct > 0.0 && r->progression_pct < 1e6))
		return bmeq_fail(BMEQ_E_ARG, "response.progression_pct = %g: needs a value > 0",
				 r->progression_pct);
	if (!(isfinite(r->progression_ml) && r->progression_ml >= 0.0 && r->progression_ml < 1e6))
		return bmeq_fail(BMEQ_E_ARG, "response.progression_ml = %g: needs a volume >= 0 mL",
				 r->progression_ml);
	return BMEQ_OK;
}

void bmeq_response_rule_text(const bmeq_response_rule *r, char *out, size_t cap)
{
	char m[32], pa[32], pp[32], pm[32];

	if (!out || cap == 0)
		return;
	bmeq_format_shortest(r->measurable_ml, m, sizeof(m));
	bmeq_format_shortest(r->partial_pct, pa, sizeof(pa));
	bmeq_format_shortest(r->progression_pct, pp, sizeof(pp));
	bmeq_format_shortest(r->progression_ml, pm, sizeof(pm));
	snprintf(out, cap, "measurable>=%sml;partial<=-%s%%;progression>=+%s%%&>=+%sml", m, pa, pp,
		 pm);
}

bmeq_response bmeq_response_classify(const bmeq_response_rule *r, int baseline_ok,
				     double baseline_ml, int followup_ok, double followup_ml)
{
	if (!baseline_ok || !followup_ok || !isfinite(baseline_ml) || !isfinite(followup_ml) ||
	    baseline_ml < 0.0 || followup_ml < 0.0)
		return BMEQ_RESPONSE_NOT_EVALUABLE;
	int bm = baseline_ml >= r->measurable_ml - CUT_EPS;
	int fm = followup_ml >= r->measurable_ml - CUT_EPS;
	if (!bm)
		return fm ? BMEQ_RESPONSE_NEW : BMEQ_RESPONSE_NONE;
	if (!fm)
		return BMEQ_RESPONSE_COMPLETE;
	double change = followup_ml - baseline_ml;
	/* baseline >= measurable > 0 here unless measurable_ml is 0: then a zero
	 * baseline with measurable follow-up can only be an increase. */
	double pct = baseline_ml > 0.0 ? 100.0 * change / baseline_ml : (change > 0 ? INFINITY : 0.0);
	if (pct <= -r->partial_pct + CUT_EPS)
		return BMEQ_RESPONSE_PARTIAL;
	if (pct >= r->progression_pct - CUT_EPS && change >= r->progression_ml - CUT_EPS)
		return BMEQ_RESPONSE_PROGRESSION;
	return BMEQ_RESPONSE_STABLE;
}

/* The range [lo, hi] of a visit widened to hold its point value; a
 * non-finite bound is no range. */
static void range_of(double ml, double lo, double hi, double out[2])
{
	out[0] = isfinite(lo) && lo < ml ? lo : ml;
	out[1] = isfinite(hi) && hi > ml ? hi : ml;
}

unsigned bmeq_response_classes_within(const bmeq_response_rule *r, double baseline_ml,
				      double baseline_lo, double baseline_hi, double followup_ml,
				      double followup_lo, double followup_hi)
{
	double rb[2], rf[2], b[4], f[4];
	int nb = 0, nf = 0;
	unsigned classes = 0;

	if (!r || !isfinite(baseline_ml) || !isfinite(followup_ml))
		return 1u << BMEQ_RESPONSE_NOT_EVALUABLE;
	range_of(baseline_ml, baseline_lo, baseline_hi, rb);
	range_of(followup_ml, followup_lo, followup_hi, rf);
	/* The class regions are bounded by the measurable cut-off on each axis
	 * (lines parallel to them), the partial and progression ratios (rays
	 * from the origin) and the progression difference (a diagonal): inside
	 * each measurable cell the ratio and the difference are extreme at the
	 * cell's corners, so its corners reach its classes. */
	b[nb++] = rb[0];
	b[nb++] = baseline_ml;
	b[nb++] = rb[1];
	if (r->measurable_ml > rb[0] && r->measurable_ml < rb[1])
		b[nb++] = r->measurable_ml;
	f[nf++] = rf[0];
	f[nf++] = followup_ml;
	f[nf++] = rf[1];
	if (r->measurable_ml > rf[0] && r->measurable_ml < rf[1])
		f[nf++] = r->measurable_ml;
	for (int i = 0; i < nb; i++)
		for (int j = 0; j < nf; j++)
			classes |= 1u << bmeq_response_classify(r, 1, b[i], 1, f[j]);
	/* Between a partial and a progression pair of volumes lies a stable one. */
	if ((classes & (1u << BMEQ_RESPONSE_PARTIAL)) && (classes & (1u << BMEQ_RESPONSE_PROGRESSION)))
		classes |= 1u << BMEQ_RESPONSE_STABLE;
	return classes;
}

int bmeq_response_uncertain(const bmeq_response_rule *r, double baseline_ml, double baseline_lo,
			    double baseline_hi, double followup_ml, double followup_lo,
			    double followup_hi)
{
	unsigned c = bmeq_response_classes_within(r, baseline_ml, baseline_lo, baseline_hi,
						  followup_ml, followup_lo, followup_hi);
	return (c & (c - 1)) != 0;
}
