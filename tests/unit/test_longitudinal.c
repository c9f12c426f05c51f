/* test_longitudinal.c - response rule, classification boundaries, response
 * tables, and registered comparison of two visits on synthetic hips. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/longitudinal.h"
#include "../../src/itk/itk_internal.h"
#include "bmeq/nifti_io.h"
#include "bmeq/phantom.h"
#include "check.h"

static bmeq_response cls(const bmeq_response_rule *r, double b, double f)
{
	return bmeq_response_classify(r, 1, b, 1, f);
}

static void test_rule_text_and_settings(void)
{
	bmeq_response_rule r, d;
	char text[BMEQ_RESPONSE_RULE_TEXT_MAX];

	bmeq_response_rule_init(&r);
	CHECK(r.measurable_ml == 0.5 && r.partial_pct == 30.0);
	CHECK(r.progression_pct == 20.0 && r.progression_ml == 1.0);
	bmeq_response_rule_text(&r, text, sizeof(text));
	CHECK(strcmp(text, "measurable>=0.5ml;partial<=-30%;progression>=+20%&>=+1ml") == 0);

	r.partial_pct = 50.0;
	r.measurable_ml = 0.1;
	bmeq_response_rule_text(&r, text, sizeof(text));
	CHECK(strcmp(text, "measurable>=0.1ml;partial<=-50%;progression>=+20%&>=+1ml") == 0);
	/* Setting them from text is the settings table's (test_study). */
	d = r;
	d.partial_pct = 0.0;
	CHECK(bmeq_response_rule_check(&d) == BMEQ_E_ARG);
}

static void test_classify_boundaries(void)
{
	bmeq_response_rule r;

	bmeq_response_rule_init(&r);
	/* not evaluable: a failed scan or head not found on either visit */
	CHECK(bmeq_response_classify(&r, 0, 5, 1, 5) == BMEQ_RESPONSE_NOT_EVALUABLE);
	CHECK(bmeq_response_classify(&r, 1, 5, 0, 5) == BMEQ_RESPONSE_NOT_EVALUABLE);
	CHECK(bmeq_response_classify(&r, 1, NAN, 1, 5) == BMEQ_RESPONSE_NOT_EVALUABLE);
	CHECK(bmeq_response_classify(&r, 1, 5, 1, INFINITY) == BMEQ_RESPONSE_NOT_EVALUABLE);
	/* measurable at exactly 0.5 mL */
	CHECK(cls(&r, 0.0, 0.0) == BMEQ_RESPONSE_NONE);
	CHECK(cls(&r, 0.499, 0.499) == BMEQ_RESPONSE_NONE);
	CHECK(cls(&r, 0.499, 0.5) == BMEQ_RESPONSE_NEW);
	CHECK(cls(&r, 0.0, 12.0) == BMEQ_RESPONSE_NEW);
	CHECK(cls(&r, 0.5, 0.499) == BMEQ_RESPONSE_COMPLETE);
	CHECK(cls(&r, 10.0, 0.0) == BMEQ_RESPONSE_COMPLETE);
	CHECK(cls(&r, 10.0, 0.49) == BMEQ_RESPONSE_COMPLETE);
	/* partial: decrease of at least 30 % (10 -> 7 is -30.000000000000004 %) */
	CHECK(cls(&r, 10.0, 7.0) == BMEQ_RESPONSE_PARTIAL);
	CHECK(cls(&r, 10.0, 7.001) == BMEQ_RESPONSE_STABLE);
	CHECK(cls(&r, 10.0, 6.999) == BMEQ_RESPONSE_PARTIAL);
	CHECK(cls(&r, 10.0, 0.5) == BMEQ_RESPONSE_PARTIAL);
	CHECK(cls(&r, 1.0, 0.7) == BMEQ_RESPONSE_PARTIAL);
	CHECK(cls(&r, 0.3 * 3, 0.63) == BMEQ_RESPONSE_PARTIAL);
	/* progression: at least +20 % and at least +1 mL */
	CHECK(cls(&r, 5.0, 6.0) == BMEQ_RESPONSE_PROGRESSION);    /* +20 %, +1 mL exactly */
	CHECK(cls(&r, 5.0, 5.999) == BMEQ_RESPONSE_STABLE);       /* +19.98 %, +0.999 mL */
	CHECK(cls(&r, 10.0, 11.99) == BMEQ_RESPONSE_STABLE);      /* +19.9 %, +1.99 mL */
	CHECK(cls(&r, 10.0, 12.0) == BMEQ_RESPONSE_PROGRESSION);  /* +20 %, +2 mL */
	CHECK(cls(&r, 2.0, 2.999) == BMEQ_RESPONSE_STABLE);       /* +50 % but +0.999 mL */
	CHECK(cls(&r, 2.0, 3.0) == BMEQ_RESPONSE_PROGRESSION);    /* +50 %, +1 mL */
	CHECK(cls(&r, 0.7, 1.7) == BMEQ_RESPONSE_PROGRESSION);
	CHECK(cls(&r, 0.1 + 0.2 + 0.2, 1.5) == BMEQ_RESPONSE_PROGRESSION); /* 0.5000000000000001 */
	/* stable */
	CHECK(cls(&r, 10.0, 10.0) == BMEQ_RESPONSE_STABLE);
	CHECK(cls(&r, 10.0, 8.0) == BMEQ_RESPONSE_STABLE);
	CHECK(cls(&r, 0.5, 0.5) == BMEQ_RESPONSE_STABLE);
	/* a configured rule moves the cut-offs */
	r.partial_pct = 50.0;
	r.progression_ml = 0.0;
	r.measurable_ml = 1.0;
	CHECK(cls(&r, 10.0, 6.0) == BMEQ_RESPONSE_STABLE);
	CHECK(cls(&r, 10.0, 5.0) == BMEQ_RESPONSE_PARTIAL);
	CHECK(cls(&r, 2.0, 2.4) == BMEQ_RESPONSE_PROGRESSION);
	CHECK(cls(&r, 2.0, 0.9) == BMEQ_RESPONSE_COMPLETE);
	CHECK(cls(&r, 0.9, 0.9) == BMEQ_RESPONSE_NONE);
	/* names */
	CHECK(strcmp(bmeq_response_name(BMEQ_RESPONSE_NOT_EVALUABLE), "not_evaluable") == 0);
	CHECK(strcmp(bmeq_response_name(BMEQ_RESPONSE_PROGRESSION), "progression") == 0);
	CHECK(strcmp(bmeq_response_name((bmeq_response)99), "unknown") == 0);
}

/* Volumes only, with each visit's range (right side; the left has none). */
static void with_ranges(const double b[3], const double f[3], bmeq_comparison *c)
{
	bmeq_timepoint tb, tf;
	bmeq_compare_opts o;

	memset(&tb, 0, sizeof(tb));
	memset(&tf, 0, sizeof(tf));
	tb.has_range = tf.has_range = 1;
	tb.edema_ml[0] = b[0], tb.edema_ml_low[0] = b[1], tb.edema_ml_high[0] = b[2];
	tf.edema_ml[0] = f[0], tf.edema_ml_low[0] = f[1], tf.edema_ml_high[0] = f[2];
	tb.edema_ml[1] = tf.edema_ml[1] = 0.0;
	tb.edema_ml_low[1] = tb.edema_ml_high[1] = tf.edema_ml_low[1] = tf.edema_ml_high[1] = NAN;
	bmeq_compare_opts_init(&o);
	o.spatial = 0;
	CHECK(bmeq_compare_timepoints(&tb, &tf, &o, c, NULL) == BMEQ_OK);
}

#define BIT(k) (1u << (k))

static void test_uncertain(void)
{
	bmeq_response_rule r;
	bmeq_comparison c;

	bmeq_response_rule_init(&r);
	/* Ranges that stay clear of every cut-off: one class. 10 -> 5 mL is -50 %;
	 * at the corners -40 % (9 -> 5.4) to -58 % (11 -> 4.6): partial throughout. */
	CHECK(bmeq_response_classes_within(&r, 10.0, 9.0, 11.0, 5.0, 4.6, 5.4) ==
	      BIT(BMEQ_RESPONSE_PARTIAL));
	CHECK(!bmeq_response_uncertain(&r, 10.0, 9.0, 11.0, 5.0, 4.6, 5.4));
	/* Stable at the points (-25 %) but partial at baseline high / follow-up low
	 * (4.4 -> 2.8 is -36 %) and stable at the other corner: uncertain. */
	CHECK(bmeq_response_classes_within(&r, 4.0, 3.6, 4.4, 3.0, 2.8, 3.2) ==
	      (BIT(BMEQ_RESPONSE_PARTIAL) | BIT(BMEQ_RESPONSE_STABLE)));
	CHECK(bmeq_response_uncertain(&r, 4.0, 3.6, 4.4, 3.0, 2.8, 3.2));
	/* Crossing the measurable cut-off (0.5 mL) on the follow-up: complete or
	 * partial. */
	CHECK(bmeq_response_classes_within(&r, 3.0, 2.8, 3.2, 0.55, 0.45, 0.6) ==
	      (BIT(BMEQ_RESPONSE_PARTIAL) | BIT(BMEQ_RESPONSE_COMPLETE)));
	/* ... and not crossing it: complete throughout. */
	CHECK(bmeq_response_classes_within(&r, 3.0, 2.8, 3.2, 0.3, 0.25, 0.4) ==
	      BIT(BMEQ_RESPONSE_COMPLETE));
	/* Both near the cut-off: none, new, complete and stable (0.5 -> 0.5). */
	CHECK(bmeq_response_classes_within(&r, 0.5, 0.45, 0.55, 0.5, 0.45, 0.55) ==
	      (BIT(BMEQ_RESPONSE_NONE) | BIT(BMEQ_RESPONSE_NEW) | BIT(BMEQ_RESPONSE_COMPLETE) |
	       BIT(BMEQ_RESPONSE_STABLE)));
	/* Progression needs +20 % and +1 mL: 4 -> 5.2 (+30 %, +1.2 mL) is
	 * progression, but at baseline high / follow-up low (4.4 -> 4.9: +0.5 mL)
	 * it is stable. */
	CHECK(bmeq_response_classes_within(&r, 4.0, 3.6, 4.4, 5.2, 4.9, 5.5) ==
	      (BIT(BMEQ_RESPONSE_PROGRESSION) | BIT(BMEQ_RESPONSE_STABLE)));
	/* Ranges wide enough to reach partial and progression: stable lies between. */
	CHECK(bmeq_response_classes_within(&r, 4.0, 2.0, 6.0, 4.0, 2.0, 6.0) ==
	      (BIT(BMEQ_RESPONSE_PARTIAL) | BIT(BMEQ_RESPONSE_STABLE) | BIT(BMEQ_RESPONSE_PROGRESSION)));
	/* The point value counts even outside its range; no range is the point. */
	CHECK(bmeq_response_classes_within(&r, 10.0, NAN, NAN, 6.0, NAN, NAN) ==
	      BIT(BMEQ_RESPONSE_PARTIAL));
	CHECK(bmeq_response_uncertain(&r, 10.0, 10.0, 10.0, 7.5, 6.0, 6.5));
	/* A cut-off met exactly at a corner keeps its class (the 1e-9 margin):
	 * 10 -> 7 is partial; 10 -> 7.0 with range 7.0-7.0 is not uncertain. */
	CHECK(!bmeq_response_uncertain(&r, 10.0, 10.0, 10.0, 7.0, 7.0, 7.0));

	/* Through the comparison: the row says why. */
	with_ranges((const double[3]){4.0, 3.6, 4.4}, (const double[3]){3.0, 2.8, 3.2}, &c);
	CHECK(c.side[0].response == BMEQ_RESPONSE_STABLE && c.side[0].uncertain);
	CHECK(strncmp(c.side[0].message, "uncertain: class could be stable or partial within the "
					 "visits' ranges (baseline 3.60-4.40 mL, follow-up "
					 "2.80-3.20 mL)", 200) == 0);
	CHECK(c.side[1].response == BMEQ_RESPONSE_NONE && !c.side[1].uncertain);
	CHECK(c.side[1].message[0] == '\0');
	CHECK_NEAR(c.side[0].baseline_ml_low, 3.6, 1e-12);
	CHECK_NEAR(c.side[0].followup_ml_high, 3.2, 1e-12);
	with_ranges((const double[3]){10.0, 9.0, 11.0}, (const double[3]){5.0, 4.6, 5.4}, &c);
	CHECK(c.side[0].response == BMEQ_RESPONSE_PARTIAL && !c.side[0].uncertain);
	CHECK(c.side[0].message[0] == '\0');
	/* Written as yes / no in the uncertain column. */
	bmeq_csv *w = NULL;
	bmeq_csv_table *t = NULL;
	size_t len;
	int early[2] = {0, 0};
	with_ranges((const double[3]){0.5, 0.45, 0.55}, (const double[3]){0.5, 0.45, 0.55}, &c);
	CHECK(strstr(c.side[0].message, "could be stable, complete, new or none") != NULL);
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	if (!w)
		return;
	CHECK(bmeq_response_header(w, NULL) == BMEQ_OK);
	CHECK(bmeq_response_rows(w, "01", "1", "2", &c, early, NULL) == BMEQ_OK);
	const char *text = bmeq_csv_text(w, &len);
	CHECK(bmeq_csv_parse(text, len, &t) == BMEQ_OK);
	if (t) {
		long u = bmeq_csv_column(t, "uncertain");
		CHECK(u == bmeq_csv_column(t, "response") + 1);
		CHECK(strcmp(bmeq_csv_cell(t, 0, u), "yes") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 1, u), "no") == 0);
		bmeq_csv_table_destroy(t);
	}
	bmeq_csv_destroy(w);
}

/* Comparisons built by hand (volumes only) for the table tests. */
static void volumes_only(const double b[2], const double f[2], bmeq_comparison *c)
{
	bmeq_timepoint tb, tf;
	bmeq_compare_opts o;

	memset(&tb, 0, sizeof(tb));
	memset(&tf, 0, sizeof(tf));
	for (int s = 0; s < 2; s++) {
		tb.edema_ml[s] = b[s];
		tf.edema_ml[s] = f[s];
		tb.side_status[s] = isnan(b[s]) ? BMEQ_SIDE_NOT_FOUND : BMEQ_SIDE_OK;
		tf.side_status[s] = isnan(f[s]) ? BMEQ_SIDE_NOT_FOUND : BMEQ_SIDE_OK;
	}
	bmeq_compare_opts_init(&o);
	o.spatial = 0;
	CHECK(bmeq_compare_timepoints(&tb, &tf, &o, c, NULL) == BMEQ_OK);
}

static void test_tables(void)
{
	bmeq_comparison c1, c2, c12;
	bmeq_csv *w = NULL, *wi = NULL;
	bmeq_csv_table *t = NULL;
	size_t len;

	/* right: 10 -> 6 (partial) -> 0 (complete); left: 0.2 -> 0.3 -> NaN (not found) */
	volumes_only((const double[2]){10.0, 0.2}, (const double[2]){6.0, 0.3}, &c1);
	volumes_only((const double[2]){10.0, 0.2}, (const double[2]){0.0, NAN}, &c2);
	volumes_only((const double[2]){6.0, 0.3}, (const double[2]){0.0, NAN}, &c12);
	CHECK(c1.side[0].response == BMEQ_RESPONSE_PARTIAL);
	CHECK(c1.side[1].response == BMEQ_RESPONSE_NONE);
	CHECK(c2.side[0].response == BMEQ_RESPONSE_COMPLETE);
	CHECK(c2.side[1].response == BMEQ_RESPONSE_NOT_EVALUABLE);
	CHECK(strstr(c2.side[1].message, "follow-up: femoral head not found") != NULL);
	CHECK_NEAR(c1.side[0].change_ml, -4.0, 1e-12);
	CHECK_NEAR(c1.side[0].change_pct, -40.0, 1e-9);
	CHECK(isnan(c1.side[0].resolved_ml) && !c1.side[0].registered);

	const char *sessions[3] = {"1", "2", "10"};
	const bmeq_comparison *vb[3] = {NULL, &c1, &c2};
	const bmeq_comparison *vp[3] = {NULL, &c1, &c12};
	const char *names[1] = {"cycle"};
	const char *vals[3][1] = {{"0"}, {"1"}, {"2, late"}};
	bmeq_extra_cols ex[3];
	for (int i = 0; i < 3; i++) {
		ex[i].n = 1;
		ex[i].names = names;
		ex[i].values = vals[i];
	}
	bmeq_subject_visits v = {"07", 3, sessions, vb, vp, ex};
	CHECK(bmeq_csv_create(&w) == BMEQ_OK && bmeq_csv_create(&wi) == BMEQ_OK);
	if (!w || !wi)
		return;
	CHECK(bmeq_response_header(w, &ex[0]) == BMEQ_OK);
	CHECK(bmeq_response_header(wi, &ex[0]) == BMEQ_OK);
	CHECK(bmeq_response_subject_rows(w, wi, &v) == BMEQ_OK);

	const char *text = bmeq_csv_text(w, &len);
	CHECK(strncmp(text, "subject,side,baseline_session,session,baseline_edema_ml,edema_ml,"
			    "change_ml,change_pct,resolved_ml,persistent_ml,new_ml,response,uncertain,"
			    "response_rule,early_retreatment,message,cycle\r\n", 170) == 0);
	CHECK(bmeq_csv_parse(text, len, &t) == BMEQ_OK);
	if (t) {
		CHECK(t->nrows == 4 && t->ncols == 17);
		long er = bmeq_csv_column(t, "early_retreatment");
		long rs = bmeq_csv_column(t, "response");
		CHECK(strcmp(bmeq_csv_cell(t, 0, 1), "right") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 0, 3), "2") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 0, 4), "10.000") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 0, 6), "-4.000") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 0, 7), "-40.0") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 0, 8), "") == 0); /* not registered */
		CHECK(strcmp(bmeq_csv_cell(t, 0, rs), "partial") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 0, 12), "no") == 0); /* no ranges: never uncertain */
		CHECK(strcmp(bmeq_csv_cell(t, 0, 13),
			     "measurable>=0.5ml;partial<=-30%;progression>=+20%&>=+1ml") == 0);
		/* yes on every right row (the first follow-up was partial), no on the left */
		CHECK(strcmp(bmeq_csv_cell(t, 0, er), "yes") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 2, er), "yes") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 1, er), "no") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 3, er), "no") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 2, rs), "complete") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 3, rs), "not_evaluable") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 3, 5), "") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 3, 16), "2, late") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 2, 2), "1") == 0);
		bmeq_csv_table_destroy(t);
		t = NULL;
	}
	text = bmeq_csv_text(wi, &len);
	CHECK(bmeq_csv_parse(text, len, &t) == BMEQ_OK);
	if (t) {
		CHECK(t->nrows == 4);
		/* the interval from session 2 to 10 starts at 2 */
		CHECK(strcmp(bmeq_csv_cell(t, 2, 2), "2") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 2, 4), "6.000") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 2, 7), "-100.0") == 0);
		CHECK(strcmp(bmeq_csv_cell(t, 2, bmeq_csv_column(t, "early_retreatment")), "yes") == 0);
		bmeq_csv_table_destroy(t);
	}
	bmeq_csv_destroy(w);
	bmeq_csv_destroy(wi);

	/* change_pct is empty when the baseline is 0 */
	volumes_only((const double[2]){0.0, 0.0}, (const double[2]){2.0, 0.0}, &c1);
	CHECK(isnan(c1.side[0].change_pct) && c1.side[0].change_ml == 2.0);
	CHECK(c1.side[0].response == BMEQ_RESPONSE_NEW);
	CHECK(c1.side[1].response == BMEQ_RESPONSE_NONE);
}

/* ---- registered comparison on a synthetic pair of hips -------------------- */

/* A coarse analytic pelvis in RAS mm: femoral heads (marrow, cortex,
 * cartilage), acetabular roofs, necks, shafts, bladder, vessels and a smooth
 * muscle texture, with edema ellipsoids in the right head. Enough structure
 * for mutual information; the phantom tests the realistic case. */
typedef struct synth {
	double centre[2][3];   /* right (+x), left head centres */
	double radius;
	double edema_c[3], edema_r[3]; /* right-head edema ellipsoid; radii 0: none */
} synth;

static int in_edema(const synth *h, const double p[3])
{
	double q = 0.0, d = 0.0;

	if (!(h->edema_r[0] > 0.0))
		return 0;
	for (int k = 0; k < 3; k++) {
		double t = (p[k] - h->edema_c[k]) / h->edema_r[k];
		q += t * t;
		d += (p[k] - h->centre[0][k]) * (p[k] - h->centre[0][k]);
	}
	return q <= 1.0 && sqrt(d) < h->radius;
}

static double synth_value(const synth *h, const double p[3])
{
	double v = 60.0 + 12.0 * sin(p[0] / 17.0) * cos(p[2] / 23.0) + 6.0 * sin(p[1] / 11.0);
	double bl[3] = {(p[0]) / 35.0, (p[1] - 10.0) / 30.0, (p[2] + 25.0) / 30.0};

	if (bl[0] * bl[0] + bl[1] * bl[1] + bl[2] * bl[2] < 1.0)
		v = 200.0;
	for (int s = 0; s < 2; s++) {
		const double *c = h->centre[s];
		double lat = s == 0 ? 1.0 : -1.0;
		double d[3] = {p[0] - c[0], p[1] - c[1], p[2] - c[2]};
		double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
		/* vessels in front of each hip */
		double vx = p[0] - (c[0] - lat * 25.0), vy = p[1] - (c[1] + 30.0);
		if (vx * vx + vy * vy < 16.0)
			v = 180.0;
		/* neck towards inferolateral, shaft straight down from its end */
		double a[3] = {lat * 0.70710678, 0.0, -0.70710678};
		double t = d[0] * a[0] + d[1] * a[1] + d[2] * a[2];
		double q2 = r * r - t * t;
		double e[3] = {c[0] + 55.0 * a[0], c[1], c[2] + 55.0 * a[2]};
		double sx = p[0] - e[0], sy = p[1] - e[1];
		if (t > 0.0 && t < 55.0 && q2 < 14.0 * 14.0)
			v = q2 < 12.0 * 12.0 ? 30.0 : 5.0;
		if (p[2] < e[2] && sx * sx + sy * sy < 15.0 * 15.0)
			v = sx * sx + sy * sy < 12.5 * 12.5 ? 30.0 : 5.0;
		/* acetabular roof (medial and superior) */
		double u = (d[0] * -lat * 0.6 + d[2] * 0.8) / (r > 0 ? r : 1.0);
		if (r < h->radius + 11.0 && u > 0.1)
			v = 15.0;
		if (r < h->radius + 4.0)
			v = 110.0;
		if (r < h->radius + 1.5)
			v = 5.0;
		if (r < h->radius)
			v = s == 0 && in_edema(h, p) ? 150.0 : 30.0;
	}
	return v;
}

static void rigid_inverse_apply(const bmeq_rigid *t, const double y[3], double x[3])
{
	for (int r = 0; r < 3; r++) {
		x[r] = 0.0;
		for (int k = 0; k < 3; k++)
			x[r] += t->rotation[k][r] * (y[k] - t->translation[k]);
	}
}

static void rigid_apply_pt(const bmeq_rigid *t, const double x[3], double y[3])
{
	for (int r = 0; r < 3; r++)
		y[r] = t->rotation[r][0] * x[0] + t->rotation[r][1] * x[1] + t->rotation[r][2] * x[2] +
		       t->translation[r];
}

/* Samples the anatomy moved by `move` (anatomy point a lies at move(a) in the
 * scanner: voxel world y shows the anatomy at move^-1(y)) on grid g, with
 * noise; the edema map gets label 1 on right-head edema. */
static bmeq_volume *synth_scan(const synth *h, const bmeq_grid *g, const bmeq_rigid *move,
			       uint16_t *edema, unsigned seed)
{
	bmeq_volume *v = NULL;
	uint32_t x = seed * 2654435761u + 12345u;

	if (bmeq_volume_create(g, &v) != BMEQ_OK)
		return NULL;
	size_t i = 0;
	for (size_t k = 0; k < g->dim[2]; k++)
		for (size_t j = 0; j < g->dim[1]; j++)
			for (size_t ii = 0; ii < g->dim[0]; ii++, i++) {
				double ijk[3] = {(double)ii, (double)j, (double)k}, w[3], a[3];
				bmeq_grid_voxel_to_world(g, ijk, w);
				if (move)
					rigid_inverse_apply(move, w, a);
				else
					memcpy(a, w, sizeof(a));
				double n = 0.0;
				for (int u = 0; u < 4; u++) {
					x = x * 1664525u + 1013904223u;
					n += (double)(x >> 8) / 16777216.0 - 0.5;
				}
				v->data[i] = (float)(synth_value(h, a) + 3.0 * n);
				if (edema)
					edema[i] = in_edema(h, a) ? BMEQ_LABEL_RIGHT_HEAD : 0;
			}
	return v;
}

static double max_error_at_head(const bmeq_rigid *est, const bmeq_rigid *truth, const double c[3],
				double radius)
{
	double worst = 0.0;

	for (int q = 0; q < 7; q++) {
		double p[3] = {c[0], c[1], c[2]}, a[3], b[3], e = 0.0;
		if (q > 0)
			p[(q - 1) / 2] += (q % 2 ? radius : -radius);
		rigid_apply_pt(est, p, a);
		rigid_apply_pt(truth, p, b);
		for (int k = 0; k < 3; k++)
			e += (a[k] - b[k]) * (a[k] - b[k]);
		worst = fmax(worst, sqrt(e));
	}
	return worst;
}

static void test_spatial(void)
{
	const size_t dim[3] = {160, 24, 150};
	const double sp[3] = {1.5, 4.0, 1.5}, org[3] = {-119.25, -46.0, -112.0};
	synth base = {{{88.0, 0.0, 10.0}, {-88.0, 0.0, 10.0}}, 24.0,
		      {88.0, 2.0, 15.0}, {13.0, 11.0, 13.0}};
	synth fol = base;
	bmeq_grid g;
	bmeq_rigid move, none;
	const double axis[3] = {0.3, 0.5, 0.8}, rc[3] = {0.0, 0.0, 0.0},
		     shift[3] = {5.0, -4.0, 4.5}; /* 7.9 mm, 5 degrees */

	/* Follow-up edema: smaller, moved up: part resolved, part persistent, a
	 * little new. */
	memcpy(fol.edema_c, (const double[3]){88.0, 0.0, 21.0}, sizeof(fol.edema_c));
	memcpy(fol.edema_r, (const double[3]){10.0, 9.0, 10.0}, sizeof(fol.edema_r));
	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	CHECK(bmeq_rigid_from_axis_angle(&move, axis, 5.0, rc, shift) == BMEQ_OK);
	bmeq_rigid_identity(&none);
	size_t n = bmeq_grid_nvox(&g);
	uint16_t *eb = calloc(n, sizeof(*eb)), *ef = calloc(n, sizeof(*ef));
	uint8_t *change = calloc(n, 1);
	bmeq_volume *vb = synth_scan(&base, &g, NULL, eb, 1);
	bmeq_volume *vf = synth_scan(&fol, &g, &move, ef, 2);
	CHECK(eb && ef && change && vb && vf);
	if (!eb || !ef || !change || !vb || !vf)
		goto done;

	/* Truth on the baseline grid: membership of each voxel centre. */
	double vml = sp[0] * sp[1] * sp[2] / 1000.0, t_res = 0, t_per = 0, t_new = 0, bml = 0,
	       fml = 0;
	for (size_t i = 0; i < n; i++) {
		double ijk[3] = {(double)(i % dim[0]), (double)(i / dim[0] % dim[1]),
				 (double)(i / (dim[0] * dim[1]))}, w[3];
		bmeq_grid_voxel_to_world(&g, ijk, w);
		int a = in_edema(&base, w), b = in_edema(&fol, w);
		t_res += a && !b;
		t_per += a && b;
		t_new += !a && b;
		bml += eb[i] != 0;
		fml += ef[i] != 0;
	}
	t_res *= vml, t_per *= vml, t_new *= vml, bml *= vml, fml *= vml;
	printf("synthetic truth: baseline %.2f mL, follow-up %.2f mL, resolved %.2f, "
	       "persistent %.2f, new %.2f\n", bml, fml, t_res, t_per, t_new);

	bmeq_timepoint tb, tf;
	memset(&tb, 0, sizeof(tb));
	memset(&tf, 0, sizeof(tf));
	tb.image = vb, tb.edema_map = eb;
	tf.image = vf, tf.edema_map = ef;
	for (int s = 0; s < 2; s++) {
		/* detected centres a little off, as segmentation gives them */
		double err_b[3] = {0.8, -0.5, 0.6}, err_f[3] = {-0.7, 0.6, 0.5}, m[3];
		rigid_apply_pt(&move, base.centre[s], m);
		tb.geom[s].found = tf.geom[s].found = 1;
		tb.geom[s].radius = tf.geom[s].radius = base.radius;
		for (int k = 0; k < 3; k++) {
			tb.geom[s].centre[k] = base.centre[s][k] + err_b[k];
			tf.geom[s].centre[k] = m[k] + err_f[k];
		}
		tb.side_status[s] = tf.side_status[s] = BMEQ_SIDE_OK;
	}
	tb.edema_ml[0] = bml, tf.edema_ml[0] = fml;
	tb.edema_ml[1] = tf.edema_ml[1] = 0.0;

	bmeq_comparison c;
	CHECK(bmeq_compare_timepoints(&tb, &tf, NULL, &c, change) == BMEQ_OK);
	for (int s = 0; s < 2; s++) {
		const bmeq_side_change *x = &c.side[s];
		double e = max_error_at_head(&x->transform, &move, base.centre[s], base.radius);
		printf("side %d: registered %d, error at head %.3f mm, centre check %.2f mm, "
		       "angle %.2f deg, %d iterations, %s\n", s, x->registered, e,
		       x->centre_error_mm, bmeq_rigid_angle_deg(&x->transform), x->transform.iterations,
		       x->message);
		CHECK(x->registered == 1);
		CHECK(e < 1.0);
	}
	const bmeq_side_change *r = &c.side[0];
	printf("measured: resolved %.2f, persistent %.2f, new %.2f\n", r->resolved_ml,
	       r->persistent_ml, r->new_ml);
	CHECK(r->response == BMEQ_RESPONSE_PARTIAL);
	CHECK_NEAR(r->resolved_ml + r->persistent_ml, bml, 1e-9);
	CHECK_NEAR(r->resolved_ml, t_res, 0.15 * t_res);
	CHECK_NEAR(r->persistent_ml, t_per, 0.15 * t_per);
	CHECK_NEAR(r->new_ml, t_new, 0.25 * t_new + 0.05);
	CHECK(c.side[1].response == BMEQ_RESPONSE_NONE);
	CHECK(c.side[1].resolved_ml == 0.0 && c.side[1].new_ml == 0.0);
	size_t cnt[4] = {0, 0, 0, 0};
	for (size_t i = 0; i < n; i++)
		cnt[change[i] < 4 ? change[i] : 0]++;
	/* The map is the majority of each voxel's samples, the volumes their
	 * fractions: close, not equal. */
	CHECK_NEAR((double)cnt[1] * vml, r->resolved_ml, 0.1 * r->resolved_ml);
	CHECK_NEAR((double)cnt[2] * vml, r->persistent_ml, 0.1 * r->persistent_ml);
	CHECK_NEAR((double)cnt[3] * vml, r->new_ml, 0.5 * r->new_ml);
	CHECK(cnt[1] + cnt[2] == (size_t)llround(bml / vml));

	/* A follow-up with nothing to register to: volumes and class stay, the
	 * spatial values go, the message says why. */
	for (size_t i = 0; i < n; i++)
		vf->data[i] = 50.0f;
	CHECK(bmeq_compare_timepoints(&tb, &tf, NULL, &c, change) == BMEQ_OK);
	printf("flat follow-up: %s\n", c.side[0].message);
	CHECK(!c.side[0].registered && isnan(c.side[0].resolved_ml) && isnan(c.side[0].new_ml));
	CHECK(c.side[0].response == BMEQ_RESPONSE_PARTIAL);
	CHECK(strstr(c.side[0].message, "regist") != NULL);
	CHECK_NEAR(c.side[0].followup_ml, fml, 1e-12);

	/* A side whose head was not found on the follow-up. */
	CHECK(bmeq_compare_timepoints(&tb, &tf, NULL, &c, NULL) == BMEQ_OK);
	tf.side_status[1] = BMEQ_SIDE_NOT_FOUND;
	tf.geom[1].found = 0;
	tf.message[1] = "no credible head";
	CHECK(bmeq_compare_timepoints(&tb, &tf, NULL, &c, NULL) == BMEQ_OK);
	CHECK(c.side[1].response == BMEQ_RESPONSE_NOT_EVALUABLE);
	CHECK(strcmp(c.side[1].message, "follow-up: no credible head") == 0);
	CHECK(isnan(c.side[1].followup_ml) && isnan(c.side[1].change_ml));
	CHECK(bmeq_compare_timepoints(NULL, &tf, NULL, &c, NULL) == BMEQ_E_ARG);
done:
	bmeq_volume_destroy(vb);
	bmeq_volume_destroy(vf);
	free(eb);
	free(ef);
	free(change);
}

/* ---- phantom visits -------------------------------------------------------- */

/* Edema of side s at 1 mm isotropic around the head, in the baseline's
 * world: the reference for resolved / persistent / new, independent of the
 * thick slices both visits were "acquired" with. counts: [0] baseline only,
 * [1] both, [2] follow-up only, in mL. */
static int fine_truth(const bmeq_phantom_params *pb, const bmeq_phantom_params *pf, int s,
		      const double centre[3], double ml[3])
{
	bmeq_phantom_params q[2] = {*pb, *pb};
	bmeq_phantom_scan *fs[2] = {NULL, NULL};
	double lat = s == 0 ? 1.0 : -1.0;
	int ok = 1;

	q[1].anat = pf->anat;
	for (int v = 0; v < 2 && ok; v++) {
		bmeq_phantom_acq *a = &q[v].acq;
		a->orient = BMEQ_PHANTOM_CORONAL;
		a->flip_lr = 0;
		a->inplane_mm = a->thickness_mm = 1.0;
		a->gap_mm = 0.0;
		a->fov_mm[0] = a->fov_mm[1] = 120.0;
		a->nslices = 120;
		/* centred a little towards the neck (lateral, inferior) */
		a->fov_centre[0] = centre[0] + lat * 15.0;
		a->fov_centre[1] = centre[1];
		a->fov_centre[2] = centre[2] - 15.0;
		a->snr = 0.0;
		a->supersample = 1;
		ok = bmeq_phantom_scan_make(&q[v], &fs[v]) == BMEQ_OK;
	}
	ml[0] = ml[1] = ml[2] = 0.0;
	if (ok) {
		size_t n = bmeq_grid_nvox(&fs[0]->image->grid);
		for (size_t i = 0; i < n; i++) {
			int a = fs[0]->edema[i] && (fs[0]->edema[i] - 1) % 2 == s;
			int b = fs[1]->edema[i] && (fs[1]->edema[i] - 1) % 2 == s;
			ml[0] += a && !b;
			ml[1] += a && b;
			ml[2] += b && !a;
		}
		for (int k = 0; k < 3; k++)
			ml[k] /= 1000.0;
	}
	bmeq_phantom_scan_destroy(fs[0]);
	bmeq_phantom_scan_destroy(fs[1]);
	return ok;
}

/* Baseline world -> follow-up world of two phantom sessions. */
static void true_transform(const bmeq_phantom_scan *b, const bmeq_phantom_scan *f, bmeq_rigid *t)
{
	double inv[16];

	bmeq_rigid_identity(t);
	bmeq_affine_invert(&b->world_from_body[0][0], inv);
	for (int r = 0; r < 3; r++) {
		for (int k = 0; k < 4; k++) {
			double v = 0.0;
			for (int q = 0; q < 4; q++)
				v += f->world_from_body[r][q] * inv[q * 4 + k];
			if (k < 3)
				t->rotation[r][k] = v;
			else
				t->translation[r] = v;
		}
	}
}

/* The expected class from the analytic volumes, or -1 when the change lies
 * within 10 points (or 10 % of a cut-off volume) of a cut-off. */
static int clear_class(const bmeq_response_rule *r, double b, double f)
{
	if (b < r->measurable_ml && f < r->measurable_ml)
		return fabs(b - r->measurable_ml) > 0.1 * r->measurable_ml &&
		       fabs(f - r->measurable_ml) > 0.1 * r->measurable_ml ? BMEQ_RESPONSE_NONE : -1;
	if (fabs(b - r->measurable_ml) < 0.1 * r->measurable_ml ||
	    fabs(f - r->measurable_ml) < 0.1 * r->measurable_ml)
		return -1;
	if (b < r->measurable_ml)
		return BMEQ_RESPONSE_NEW;
	if (f < r->measurable_ml)
		return BMEQ_RESPONSE_COMPLETE;
	double pct = 100.0 * (f - b) / b;
	if (fabs(pct + r->partial_pct) < 10.0 || fabs(pct - r->progression_pct) < 10.0 ||
	    fabs((f - b) - r->progression_ml) < 0.1 * r->progression_ml)
		return -1;
	return (int)bmeq_response_classify(r, 1, b, 1, f);
}

/* One pair of visits of phantom subject `subject`; move_deg/move_mm > 0
 * replace the follow-up's repositioning by a larger one. */
static void phantom_pair(unsigned subject, unsigned s0, unsigned s1, double move_deg,
			 double move_mm)
{
	bmeq_phantom_subject sub;
	bmeq_phantom_params pb, pf;
	bmeq_phantom_scan *B = NULL, *F = NULL;
	uint16_t *eb = NULL, *ef = NULL;
	bmeq_response_rule rule;

	bmeq_response_rule_init(&rule);
	bmeq_phantom_subject_make(1, subject, &sub);
	bmeq_phantom_session_params(1, &sub, subject, s0, 3, &pb);
	bmeq_phantom_session_params(1, &sub, subject, s1, 3, &pf);
	if (move_deg > 0.0) {
		/* 5 degrees about a general axis, 8 mm in a general direction */
		const double ax[3] = {0.6, -0.6, 0.53}, dir[3] = {0.6, -0.48, 0.64};
		double na = sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
		for (int k = 0; k < 3; k++) {
			pf.acq.rotation_deg[k] = move_deg * ax[k] / na;
			pf.acq.translation_mm[k] = move_mm * dir[k];
		}
	}
	CHECK(bmeq_phantom_scan_make(&pb, &B) == BMEQ_OK);
	CHECK(bmeq_phantom_scan_make(&pf, &F) == BMEQ_OK);
	if (!B || !F)
		goto done;
	size_t nb = bmeq_grid_nvox(&B->image->grid), nf = bmeq_grid_nvox(&F->image->grid);
	eb = malloc(nb * sizeof(*eb));
	ef = malloc(nf * sizeof(*ef));
	CHECK(eb && ef);
	if (!eb || !ef)
		goto done;
	for (size_t i = 0; i < nb; i++)
		eb[i] = B->edema[i];
	for (size_t i = 0; i < nf; i++)
		ef[i] = F->edema[i];

	bmeq_timepoint tb, tf;
	memset(&tb, 0, sizeof(tb));
	memset(&tf, 0, sizeof(tf));
	tb.image = B->image, tb.edema_map = eb;
	tf.image = F->image, tf.edema_map = ef;
	for (int s = 0; s < 2; s++) {
		/* detected centres about 1.5 mm off, as segmentation finds them */
		const double eb3[3] = {1.0, -0.7, -0.7}, ef3[3] = {0.6, 1.0, 0.6};
		const bmeq_phantom_side_truth *xb = &B->truth[s], *xf = &F->truth[s];
		for (int k = 0; k < 3; k++) {
			tb.geom[s].centre[k] = xb->head_centre_ras[k] + eb3[k];
			tf.geom[s].centre[k] = xf->head_centre_ras[k] + ef3[k];
		}
		tb.geom[s].found = tf.geom[s].found = 1;
		tb.geom[s].radius = xb->head_radius_mm;
		tf.geom[s].radius = xf->head_radius_mm;
		tb.side_status[s] = tf.side_status[s] = BMEQ_SIDE_OK;
		tb.edema_ml[s] = xb->edema_head_grid_ml + xb->edema_neck_grid_ml;
		tf.edema_ml[s] = xf->edema_head_grid_ml + xf->edema_neck_grid_ml;
	}
	bmeq_comparison c;
	bmeq_rigid truth;
	true_transform(B, F, &truth);
	CHECK(bmeq_compare_timepoints(&tb, &tf, NULL, &c, NULL) == BMEQ_OK);
	for (int s = 0; s < 2; s++) {
		const bmeq_side_change *x = &c.side[s];
		const bmeq_phantom_side_truth *xb = &B->truth[s], *xf = &F->truth[s];
		double err = max_error_at_head(&x->transform, &truth, xb->head_centre_ras,
					       xb->head_radius_mm);
		double mb = xb->edema_head_ml + xb->edema_neck_ml;
		double mf = xf->edema_head_ml + xf->edema_neck_ml;
		printf("phantom %u ses %u->%u side %d (moved %.1f deg %.1f mm): error at head %.3f mm, "
		       "true angle %.2f deg; edema %.2f -> %.2f mL (truth %.2f -> %.2f) %s\n",
		       subject, s0, s1, s, move_deg, move_mm, err, bmeq_rigid_angle_deg(&truth),
		       x->baseline_ml, x->followup_ml, mb, mf, bmeq_response_name(x->response));
		CHECK(x->registered == 1);
		CHECK(err < 1.0);
		int want = clear_class(&rule, mb, mf);
		if (want >= 0)
			CHECK((int)x->response == want);
		if (!(mb >= 2.0 || mf >= 2.0))
			continue;
		double ml[3];
		CHECK(fine_truth(&pb, &pf, s, xb->head_centre_ras, ml));
		printf("  resolved %.2f (truth %.2f), persistent %.2f (%.2f), new %.2f (%.2f) mL\n",
		       x->resolved_ml, ml[0], x->persistent_ml, ml[1], x->new_ml, ml[2]);
		/* within 15 % for volumes of 2 mL and more (the requirement); smaller
		 * ones, mostly thick-slice edges of a shared boundary, within 0.5 mL */
		const double got[3] = {x->resolved_ml, x->persistent_ml, x->new_ml};
		for (int k = 0; k < 3; k++)
			CHECK_NEAR(got[k], ml[k], ml[k] >= 2.0 ? 0.15 * ml[k] : 0.5);
	}
done:
	bmeq_phantom_scan_destroy(B);
	bmeq_phantom_scan_destroy(F);
	free(eb);
	free(ef);
}

static void test_phantom(void)
{
	/* subject 0: left hip partial (23 -> 13 mL), follow-up moved 5 deg, 8 mm */
	phantom_pair(0, 0, 1, 5.0, 8.0);
	/* subject 1: right hip 41 -> 19 mL, the phantom's own repositioning */
	phantom_pair(1, 0, 2, 0.0, 0.0);
}

/* A timepoint from a measured scan (as bmeq compare and the batch build it). */
static void test_timepoint_from_scan(void)
{
	const size_t dim[3] = {40, 40, 40};
	const double sp[3] = {1.0, 1.0, 1.0}, org[3] = {-20.0, -20.0, -20.0};
	bmeq_volume *v = NULL;
	bmeq_grid g;
	bmeq_edema_region reg[3];
	bmeq_edema_result er;
	bmeq_scan_result r;
	bmeq_timepoint tp;

	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_OK);
	if (!v)
		return;
	size_t n = bmeq_grid_nvox(&g);
	uint16_t *roi = calloc(n, sizeof(*roi)), *em = calloc(n, sizeof(*em));
	CHECK(roi && em);
	if (!roi || !em)
		goto done;
	memset(reg, 0, sizeof(reg));
	reg[0].side = BMEQ_SIDE_RIGHT;
	reg[0].status = BMEQ_HIP_OK;
	reg[0].edema_ml = 3.25;
	reg[0].edema_ml_low = 3.0;
	reg[0].edema_ml_high = 3.5;
	reg[1].side = BMEQ_SIDE_LEFT;
	reg[1].status = BMEQ_HIP_NOT_FOUND;
	strcpy(reg[1].message, "no credible head");
	reg[2].side = BMEQ_SIDE_NONE;
	reg[2].label = 7;
	reg[2].status = BMEQ_HIP_OK;
	memset(&er, 0, sizeof(er));
	er.nregions = 3;
	er.regions = reg;
	er.edema_map = em;
	memset(&r, 0, sizeof(r));
	r.image = v;
	r.roi = roi;
	r.edema = &er;
	r.geom[0].found = 1;
	r.geom[0].radius = 24.0;
	r.geom[0].centre[0] = 5.0;

	bmeq_timepoint_from_scan(&tp, &r);
	CHECK(tp.image == v && tp.edema_map == em);
	CHECK(tp.side_status[0] == BMEQ_SIDE_OK && tp.edema_ml[0] == 3.25 && !tp.message[0]);
	CHECK(tp.side_status[1] == BMEQ_SIDE_NOT_FOUND && isnan(tp.edema_ml[1]));
	CHECK(tp.message[1] && strcmp(tp.message[1], "no credible head") == 0);
	/* each visit's range goes with it (bmeq compare) */
	CHECK(tp.has_range && tp.edema_ml_low[0] == 3.0 && tp.edema_ml_high[0] == 3.5);
	CHECK(isnan(tp.edema_ml_low[1]) && isnan(tp.edema_ml_high[1]));
	CHECK(tp.geom[0].found && tp.geom[0].radius == 24.0 && tp.geom[0].centre[0] == 5.0);

	/* A user ROI: the head centre is the label's centroid, the radius that
	 * of a ball of its volume. A 10x10x10 cube of label 2 at voxels 5..14. */
	for (size_t k = 5; k < 15; k++)
		for (size_t j = 5; j < 15; j++)
			for (size_t i = 5; i < 15; i++)
				roi[i + dim[0] * (j + dim[1] * k)] = BMEQ_LABEL_LEFT_HEAD;
	r.roi_from_user = 1;
	bmeq_timepoint_from_scan(&tp, &r);
	CHECK(!tp.geom[0].found && tp.geom[1].found);
	for (int c = 0; c < 3; c++)
		CHECK_NEAR(tp.geom[1].centre[c], -20.0 + 9.5, 1e-9);
	CHECK_NEAR(tp.geom[1].radius, cbrt(3.0 * 1000.0 / (4.0 * 3.14159265358979)), 1e-9);

	/* No edema result: both sides are errors. */
	r.edema = NULL;
	bmeq_timepoint_from_scan(&tp, &r);
	CHECK(tp.side_status[0] == BMEQ_SIDE_ERROR && tp.side_status[1] == BMEQ_SIDE_ERROR);
	bmeq_timepoint_failed(&tp, "unreadable");
	CHECK(!tp.image && tp.side_status[1] == BMEQ_SIDE_ERROR &&
	      strcmp(tp.message[0], "unreadable") == 0);
done:
	free(roi);
	free(em);
	bmeq_volume_destroy(v);
}

int main(void)
{
	test_rule_text_and_settings();
	test_classify_boundaries();
	test_tables();
	test_uncertain();
	test_timepoint_from_scan();
	test_spatial();
	test_phantom();
	CHECK_DONE();
}
