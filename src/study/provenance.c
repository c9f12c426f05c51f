/* provenance.c - OUT/provenance.json: what was run, on what, with which rules. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch_internal.h"
#include "bmeq/csv.h"
#include "bmeq/json.h"
#include "bmeq/tables.h"

/* Numbers as provenance.json has always given them: 6 significant digits. */
static json_t *num(double v)
{
	return bmeq_json_sig(v, 6);
}

/* The sequence facts of a scan as its scans.part.csv gives them (the table is
 * their one record, in a batch and in a merge's linked scan folders): the
 * columns from protocol_source to model under the same names, numbers as
 * numbers (null when unknown), text as text ("" when unknown). Nothing is
 * read that the table does not hold, so no identifying header value. */
static json_t *protocol_json(const char *dir, int *ok)
{
	/* key in provenance.json, column of scans.csv, 1 for a number */
	static const struct {
		const char *key, *column;
		int number;
	} facts[] = {
		{"source", "protocol_source", 0},
		{"fluid_fat_suppressed", "fluid_fat_suppressed", 0},
		{"series_description", "series_description", 0},
		{"scanning_sequence", "scanning_sequence", 0},
		{"sequence_variant", "sequence_variant", 0},
		{"scan_options", "scan_options", 0},
		{"inversion_time_ms", "inversion_time_ms", 1},
		{"echo_time_ms", "echo_time_ms", 1},
		{"repetition_time_ms", "repetition_time_ms", 1},
		{"field_strength_t", "field_strength_t", 1},
		{"slice_thickness_mm", "slice_thickness_mm", 1},
		{"slice_spacing_mm", "slice_spacing_mm", 1},
		{"manufacturer", "manufacturer", 0},
		{"model", "model", 0},
	};
	char path[BMEQ_PATH_MAX];
	bmeq_csv_table *t = NULL;
	json_t *o = json_object();

	if (!dir || bmeq_scan_path(dir, "", BMEQ_SCAN_SCANS_PART, path, sizeof(path)) != BMEQ_OK ||
	    bmeq_csv_read_file(path, &t) != BMEQ_OK) {
		bmeq_csv_table_destroy(t);
		t = NULL;
	}
	for (size_t i = 0; i < sizeof(facts) / sizeof(*facts); i++) {
		/* Every row of a scan holds the same facts: the first row's. */
		long c = t && t->nrows ? bmeq_csv_column(t, facts[i].column) : -1;
		const char *cell = c >= 0 ? bmeq_csv_cell(t, 0, c) : "";
		json_t *v = facts[i].number
				    ? bmeq_json_fixed(cell[0] ? strtod(cell, NULL) : NAN, 2)
				    : bmeq_json_str(cell);
		bmeq_json_put(o, facts[i].key, v, ok);
	}
	bmeq_csv_table_destroy(t);
	return o;
}

/* One input: what it was, its hashes, how it was thresholded, how it went. */
static json_t *input_json(const bmeq_scan_item *it, const bmeq_batch_opts *opts, const char *outdir,
			  int *ok)
{
	json_t *o = json_object();
	bmeq_scan_record rec;
	char dir[BMEQ_PATH_MAX];

	int have_dir = bmeq_batch_scan_dir(outdir, it, dir, sizeof(dir)) == BMEQ_OK;
	int have = have_dir && bmeq_record_read(dir, &rec) == BMEQ_OK;
	bmeq_json_put(o, "subject", bmeq_json_str(it->subject), ok);
	bmeq_json_put(o, "session", bmeq_json_str(it->session), ok);
	bmeq_json_put(o, "path", bmeq_json_str(it->path), ok);
	bmeq_json_put(o, "sha256", bmeq_json_str(have ? rec.sha256 : ""), ok);
	/* Which regions a reader drew: a correction under OUT/corrections/,
	 * else the manifest's roi, else none (bmeq found them). */
	char corr[BMEQ_PATH_MAX];
	int has_corr = bmeq_batch_correction(outdir, it, corr, sizeof(corr)) > 0;
	bmeq_json_put(o, "regions",
		      bmeq_json_str(has_corr ? "reader (correction)"
				    : it->roi[0] ? "reader (manifest roi)"
						 : "bmeq"),
		      ok);
	if (has_corr) {
		bmeq_json_put(o, "correction", bmeq_json_str(corr), ok);
		bmeq_json_put(o, "roi_sha256", bmeq_json_str(have ? rec.roi_sha256 : ""), ok);
	} else if (it->roi[0]) {
		bmeq_json_put(o, "roi", bmeq_json_str(it->roi), ok);
		bmeq_json_put(o, "roi_sha256", bmeq_json_str(have ? rec.roi_sha256 : ""), ok);
	}
	if (it->reference[0]) {
		bmeq_json_put(o, "reference", bmeq_json_str(it->reference), ok);
		bmeq_json_put(o, "reference_sha256", bmeq_json_str(have ? rec.reference_sha256 : ""), ok);
	}
	if (it->t1 && it->t1[0]) {
		bmeq_json_put(o, "t1", bmeq_json_str(it->t1), ok);
		bmeq_json_put(o, "t1_sha256", bmeq_json_str(have ? rec.t1_sha256 : ""), ok);
	}
	/* A reader's factor replaces the rule's for this scan alone. */
	bmeq_json_put(o, "threshold_source",
		      bmeq_json_str(bmeq_threshold_source_name(it->threshold_factor > 0.0)), ok);
	if (it->threshold_factor > 0.0) {
		bmeq_rule scan_rule = opts->measure.edema.rule;
		char scan_text[BMEQ_RULE_TEXT_MAX] = "";
		scan_rule.k = it->threshold_factor;
		bmeq_rule_format(&scan_rule, scan_text, sizeof(scan_text));
		bmeq_json_put(o, "threshold_factor", num(it->threshold_factor), ok);
		bmeq_json_put(o, "threshold_rule", bmeq_json_str(scan_text), ok);
	}
	/* How it was acquired, from its table rows ("source" "" when unknown). */
	bmeq_json_put(o, "protocol", protocol_json(have_dir ? dir : NULL, ok), ok);
	bmeq_json_put(o, "status", bmeq_json_str(have ? rec.status : "missing"), ok);
	if (have && rec.message[0])
		bmeq_json_put(o, "message", bmeq_json_str(rec.message), ok);
	bmeq_json_put(o, "seconds", num(have ? rec.seconds : NAN), ok);
	return o;
}

bmeq_status bmeq_batch_provenance(const bmeq_study *s, const char *outdir,
				  const bmeq_batch_opts *opts, const char *params,
				  const bmeq_batch_summary *summary)
{
	return bmeq_batch_provenance_host(s, outdir, opts, params, summary, NULL);
}

bmeq_status bmeq_batch_provenance_host(const bmeq_study *s, const char *outdir,
				       const bmeq_batch_opts *opts, const char *params,
				       const bmeq_batch_summary *summary, const char *host_name)
{
	char host[256] = "", when[64], path[BMEQ_PATH_MAX];
	bmeq_batch_opts o = *opts;
	bmeq_settings_target settings = {&o.measure, &o.response_rule, NULL};
	time_t now = time(NULL);
	struct tm tm;
	char rule[BMEQ_RULE_TEXT_MAX] = "", method[1024], rtext[BMEQ_RESPONSE_RULE_TEXT_MAX];
	json_t *doc = json_object(), *sum = json_object(), *inputs = json_array();
	char *text;
	int ok = 1;
	bmeq_status st;

	if (host_name)
		snprintf(host, sizeof(host), "%s", host_name);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bmeq_rule_format(&opts->measure.edema.rule, rule, sizeof(rule));
	bmeq_edema_method_text_t1(&opts->measure.edema, method, sizeof(method));
	bmeq_response_rule_text(&opts->response_rule, rtext, sizeof(rtext));

	bmeq_json_put(doc, "bmeq_version", bmeq_json_str(bmeq_version()), &ok);
	bmeq_json_put(doc, "finished_utc", bmeq_json_str(when), &ok);
	bmeq_json_put(doc, "host", bmeq_json_str(host), &ok);
	bmeq_json_put(doc, "threshold_rule", bmeq_json_str(rule), &ok);
	bmeq_json_put(doc, "threshold_method", bmeq_json_str(method), &ok);
	/* edema_ml_low/high: the rule's factor x (1 + band) and x (1 - band). */
	bmeq_json_put(doc, "threshold_band", num(opts->measure.edema.band), &ok);
	bmeq_json_put(doc, "response_rule", bmeq_json_str(rtext), &ok);
	bmeq_json_put(doc, "parameters", bmeq_json_str(params), &ok);
	/* Every setting by its key (bmeq/settings.h). */
	bmeq_json_put(doc, "settings", bmeq_settings_json(&settings), &ok);
	bmeq_json_put(doc, "configuration", bmeq_json_str(opts->config_text ? opts->config_text : ""),
		      &ok);
	bmeq_json_put(doc, "jobs", num(opts->jobs), &ok);
	bmeq_json_put(sum, "scans", num((double)s->n), &ok);
	bmeq_json_put(sum, "failed", num((double)summary->failed), &ok);
	bmeq_json_put(sum, "reused_by_resume", num((double)summary->skipped), &ok);
	bmeq_json_put(sum, "comparisons", num((double)summary->comparisons), &ok);
	bmeq_json_put(sum, "comparisons_failed", num((double)summary->comparisons_failed), &ok);
	bmeq_json_put(sum, "comparisons_reused_by_resume", num((double)summary->comparisons_reused),
		      &ok);
	bmeq_json_put(sum, "seconds", num(summary->seconds), &ok);
	bmeq_json_put(doc, "summary", sum, &ok);
	for (size_t i = 0; i < s->n; i++)
		bmeq_json_push(inputs, input_json(&s->items[i], opts, outdir, &ok), &ok);
	bmeq_json_put(doc, "inputs", inputs, &ok);
	text = ok ? bmeq_json_text(doc, 2) : NULL;
	json_decref(doc);
	if (!text)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	st = bmeq_out_path(outdir, BMEQ_OUT_PROVENANCE, path, sizeof(path));
	if (st == BMEQ_OK)
		st = bmeq_write_file_atomic(path, text, strlen(text));
	free(text);
	return st;
}
