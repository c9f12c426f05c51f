/* response_table.c - response.csv and response_interval.csv rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bmeq/longitudinal.h"

const char *const bmeq_response_columns[BMEQ_RESPONSE_NCOLUMNS] = {
	"subject", "side", "baseline_session", "session", "baseline_edema_ml", "edema_ml",
	"change_ml", "change_pct", "resolved_ml", "persistent_ml", "new_ml", "response",
	"uncertain", "response_rule", "early_retreatment", "message",
};

bmeq_status bmeq_response_header(bmeq_csv *w, const bmeq_extra_cols *extras)
{
	bmeq_status st;

	if (!w)
		return bmeq_fail(BMEQ_E_ARG, "response table: NULL writer");
	for (size_t i = 0; i < BMEQ_RESPONSE_NCOLUMNS; i++)
		if ((st = bmeq_csv_field(w, bmeq_response_columns[i])) != BMEQ_OK)
			return st;
	for (size_t i = 0; extras && i < extras->n; i++)
		if ((st = bmeq_csv_field(w, extras->names[i])) != BMEQ_OK)
			return st;
	return bmeq_csv_end_row(w);
}

bmeq_status bmeq_response_rows(bmeq_csv *w, const char *subject, const char *baseline_session,
			       const char *session, const bmeq_comparison *c, const int early[2],
			       const bmeq_extra_cols *extras)
{
	bmeq_status st = BMEQ_OK;

	if (!w || !c)
		return bmeq_fail(BMEQ_E_ARG, "response table: NULL argument");
	for (int s = 0; s < 2 && st == BMEQ_OK; s++) {
		const bmeq_side_change *x = &c->side[s];
		/* The writer has no sticky error: stop at the first failed field so
		 * a row is never written with a field missing. */
#define F(call) (st = (st == BMEQ_OK ? (call) : st))
		F(bmeq_csv_field(w, subject));
		F(bmeq_csv_field(w, bmeq_side_name((bmeq_side)s)));
		F(bmeq_csv_field(w, baseline_session));
		F(bmeq_csv_field(w, session));
		F(bmeq_csv_number(w, x->baseline_ml, 3));
		F(bmeq_csv_number(w, x->followup_ml, 3));
		F(bmeq_csv_number(w, x->change_ml, 3));
		F(bmeq_csv_number(w, x->change_pct, 1));
		F(bmeq_csv_number(w, x->registered ? x->resolved_ml : NAN, 3));
		F(bmeq_csv_number(w, x->registered ? x->persistent_ml : NAN, 3));
		F(bmeq_csv_number(w, x->registered ? x->new_ml : NAN, 3));
		F(bmeq_csv_field(w, bmeq_response_name(x->response)));
		F(bmeq_csv_field(w, x->uncertain ? "yes" : "no"));
		F(bmeq_csv_field(w, c->rule_text));
		F(bmeq_csv_field(w, early && early[s] ? "yes" : "no"));
		F(bmeq_csv_field(w, x->message));
#undef F
		for (size_t i = 0; st == BMEQ_OK && extras && i < extras->n; i++)
			st = bmeq_csv_field(w, extras->values[i]);
		if (st == BMEQ_OK)
			st = bmeq_csv_end_row(w);
	}
	return st;
}

bmeq_status bmeq_response_subject_rows(bmeq_csv *response, bmeq_csv *interval,
				       const bmeq_subject_visits *v)
{
	int early[2] = {0, 0};
	bmeq_status st = BMEQ_OK;

	if (!v || (v->n > 0 && (!v->sessions || !v->vs_baseline)))
		return bmeq_fail(BMEQ_E_ARG, "response table: NULL argument");
	/* Early retreatment is decided once per subject and side, by the first
	 * follow-up, and repeated on every row of that side. */
	if (v->n > 1 && v->vs_baseline[1])
		for (int s = 0; s < 2; s++)
			early[s] = v->vs_baseline[1]->side[s].response == BMEQ_RESPONSE_PARTIAL;
	for (size_t i = 1; i < v->n && st == BMEQ_OK; i++) {
		const bmeq_extra_cols *ex = v->extras ? &v->extras[i] : NULL;
		if (response && v->vs_baseline[i])
			st = bmeq_response_rows(response, v->subject, v->sessions[0], v->sessions[i],
						v->vs_baseline[i], early, ex);
		if (st == BMEQ_OK && interval && v->vs_previous && v->vs_previous[i])
			st = bmeq_response_rows(interval, v->subject, v->sessions[i - 1],
						v->sessions[i], v->vs_previous[i], early, ex);
	}
	return st;
}
