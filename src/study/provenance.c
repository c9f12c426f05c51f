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
#include "bmeq/tables.h"

typedef struct jbuf {
	char *p;
	size_t len, cap;
	int oom;
} jbuf;

static void jraw(jbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void jputs(jbuf *b, const char *s)
{
	jraw(b, s, strlen(s));
}

static void jstr(jbuf *b, const char *s)
{
	jputs(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jraw(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jputs(b, esc);
		} else {
			jraw(b, (const char *)&c, 1);
		}
	}
	jputs(b, "\"");
}

static void jkey(jbuf *b, const char *indent, const char *key)
{
	jputs(b, indent);
	jstr(b, key);
	jputs(b, ": ");
}

static void jnum(jbuf *b, double v)
{
	char t[64];
	if (isfinite(v))
		snprintf(t, sizeof(t), "%.6g", v);
	else
		snprintf(t, sizeof(t), "null");
	jputs(b, t);
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
	jbuf b = {0};
	char host[256] = "", when[64], path[BMEQ_PATH_MAX], dir[BMEQ_PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;
	char rule[BMEQ_RULE_TEXT_MAX] = "";
	bmeq_status st;

	if (host_name)
		snprintf(host, sizeof(host), "%s", host_name);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bmeq_rule_format(&opts->measure.edema.rule, rule, sizeof(rule));

	jputs(&b, "{\n");
	jkey(&b, "  ", "bmeq_version");
	jstr(&b, bmeq_version());
	jputs(&b, ",\n");
	jkey(&b, "  ", "finished_utc");
	jstr(&b, when);
	jputs(&b, ",\n");
	jkey(&b, "  ", "host");
	jstr(&b, host);
	jputs(&b, ",\n");
	jkey(&b, "  ", "threshold_rule");
	jstr(&b, rule);
	jputs(&b, ",\n");
	{
		char method[512];
		bmeq_edema_method_text(&opts->measure.edema, method, sizeof(method));
		jkey(&b, "  ", "threshold_method");
		jstr(&b, method);
		jputs(&b, ",\n");
	}
	/* edema_ml_low/high: the rule's factor x (1 + band) and x (1 - band). */
	jkey(&b, "  ", "threshold_band");
	jnum(&b, opts->measure.edema.band);
	jputs(&b, ",\n");
	{
		char rtext[BMEQ_RESPONSE_RULE_TEXT_MAX];
		bmeq_response_rule_text(&opts->response_rule, rtext, sizeof(rtext));
		jkey(&b, "  ", "response_rule");
		jstr(&b, rtext);
		jputs(&b, ",\n");
	}
	jkey(&b, "  ", "parameters");
	jstr(&b, params);
	jputs(&b, ",\n");
	{
		/* Every setting by its key (bmeq/settings.h). */
		bmeq_batch_opts o = *opts;
		bmeq_settings_target t = {&o.measure, &o.response_rule, NULL};
		char *settings = NULL;
		if ((st = bmeq_settings_json(&t, &settings)) != BMEQ_OK) {
			free(b.p);
			return st;
		}
		jkey(&b, "  ", "settings");
		jputs(&b, settings);
		jputs(&b, ",\n");
		free(settings);
	}
	jkey(&b, "  ", "configuration");
	jstr(&b, opts->config_text ? opts->config_text : "");
	jputs(&b, ",\n");
	jkey(&b, "  ", "jobs");
	jnum(&b, opts->jobs);
	jputs(&b, ",\n");
	jkey(&b, "  ", "summary");
	jputs(&b, "{\"scans\": ");
	jnum(&b, (double)s->n);
	jputs(&b, ", \"failed\": ");
	jnum(&b, (double)summary->failed);
	jputs(&b, ", \"reused_by_resume\": ");
	jnum(&b, (double)summary->skipped);
	jputs(&b, ", \"comparisons\": ");
	jnum(&b, (double)summary->comparisons);
	jputs(&b, ", \"comparisons_failed\": ");
	jnum(&b, (double)summary->comparisons_failed);
	jputs(&b, ", \"seconds\": ");
	jnum(&b, summary->seconds);
	jputs(&b, "},\n");
	jkey(&b, "  ", "inputs");
	jputs(&b, "[\n");
	for (size_t i = 0; i < s->n; i++) {
		const bmeq_scan_item *it = &s->items[i];
		bmeq_scan_record rec;
		int have = bmeq_batch_scan_dir(outdir, it, dir, sizeof(dir)) == BMEQ_OK &&
			   bmeq_record_read(dir, &rec) == BMEQ_OK;
		jputs(&b, "    {\"subject\": ");
		jstr(&b, it->subject);
		jputs(&b, ", \"session\": ");
		jstr(&b, it->session);
		jputs(&b, ", \"path\": ");
		jstr(&b, it->path);
		jputs(&b, ", \"sha256\": ");
		jstr(&b, have ? rec.sha256 : "");
		if (it->roi[0]) {
			jputs(&b, ", \"roi\": ");
			jstr(&b, it->roi);
			jputs(&b, ", \"roi_sha256\": ");
			jstr(&b, have ? rec.roi_sha256 : "");
		}
		if (it->reference[0]) {
			jputs(&b, ", \"reference\": ");
			jstr(&b, it->reference);
			jputs(&b, ", \"reference_sha256\": ");
			jstr(&b, have ? rec.reference_sha256 : "");
		}
		/* A reader's factor replaces the rule's for this scan alone. */
		jputs(&b, ", \"threshold_source\": ");
		jstr(&b, bmeq_threshold_source_name(it->threshold_factor > 0.0));
		if (it->threshold_factor > 0.0) {
			bmeq_rule scan_rule = opts->measure.edema.rule;
			char scan_text[BMEQ_RULE_TEXT_MAX] = "";
			scan_rule.k = it->threshold_factor;
			bmeq_rule_format(&scan_rule, scan_text, sizeof(scan_text));
			jputs(&b, ", \"threshold_factor\": ");
			jnum(&b, it->threshold_factor);
			jputs(&b, ", \"threshold_rule\": ");
			jstr(&b, scan_text);
		}
		jputs(&b, ", \"status\": ");
		jstr(&b, have ? rec.status : "missing");
		if (have && rec.message[0]) {
			jputs(&b, ", \"message\": ");
			jstr(&b, rec.message);
		}
		jputs(&b, ", \"seconds\": ");
		jnum(&b, have ? rec.seconds : NAN);
		jputs(&b, i + 1 < s->n ? "},\n" : "}\n");
	}
	jputs(&b, "  ]\n}\n");
	if (b.oom) {
		free(b.p);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	st = bmeq_out_path(outdir, BMEQ_OUT_PROVENANCE, path, sizeof(path));
	if (st == BMEQ_OK)
		st = bmeq_write_file_atomic(path, b.p, b.len);
	free(b.p);
	return st;
}
