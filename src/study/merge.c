/* merge.c - the shards of one study joined into one batch output. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_internal.h"
#include "bmeq/config.h"
#include "bmeq/csv.h"
#include "bmeq/hash.h"
#include "bmeq/report.h"
#include "bmeq/shard.h"

/* What a shard's shard.csv says. */
typedef struct shard_info {
	const char *dir;
	int k, n, jobs;
	char study_sha[65];
	char params[1024], rule[BMEQ_RESPONSE_RULE_TEXT_MAX], host[256];
	char *config;
	size_t failed, reused, comparisons, comparisons_failed, comparisons_reused;
	double seconds;
} shard_info;

static size_t to_size(const char *v)
{
	return (size_t)strtoull(v, NULL, 10);
}

static bmeq_status read_marker(const char *dir, shard_info *si)
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv_table *t = NULL;
	bmeq_status st;
	int have_format = 0;

	memset(si, 0, sizeof(*si));
	si->dir = dir;
	if ((st = bmeq_out_path(dir, BMEQ_OUT_SHARD, path, sizeof(path))) != BMEQ_OK)
		return bmeq_fail(BMEQ_E_IO, "%s", bmeq_last_error());
	if (access(path, F_OK) != 0)
		return bmeq_fail(BMEQ_E_IO,
				 "%s: not a finished shard (no %s: the shard is still running, failed, "
				 "was interrupted, or this is not a `bmeq batch --shard` folder)",
				 dir, bmeq_out_name(BMEQ_OUT_SHARD));
	if ((st = bmeq_csv_read_file(path, &t)) != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", path, bmeq_last_error());
	for (size_t r = 0; t->ncols == 2 && r < t->nrows; r++) {
		const char *k = bmeq_csv_cell(t, r, 0), *v = bmeq_csv_cell(t, r, 1);
		if (strcmp(k, "format") == 0)
			have_format = strcmp(v, BMEQ_SHARD_FORMAT) == 0;
		else if (strcmp(k, "shard") == 0)
			si->k = atoi(v);
		else if (strcmp(k, "shards") == 0)
			si->n = atoi(v);
		else if (strcmp(k, "jobs") == 0)
			si->jobs = atoi(v);
		else if (strcmp(k, "study_sha256") == 0)
			snprintf(si->study_sha, sizeof(si->study_sha), "%s", v);
		else if (strcmp(k, "params") == 0)
			snprintf(si->params, sizeof(si->params), "%s", v);
		else if (strcmp(k, "response_rule") == 0)
			snprintf(si->rule, sizeof(si->rule), "%s", v);
		else if (strcmp(k, "host") == 0)
			snprintf(si->host, sizeof(si->host), "%s", v);
		else if (strcmp(k, "configuration") == 0 && !si->config)
			si->config = strdup(v);
		else if (strcmp(k, "failed") == 0)
			si->failed = to_size(v);
		else if (strcmp(k, "reused") == 0)
			si->reused = to_size(v);
		else if (strcmp(k, "comparisons") == 0)
			si->comparisons = to_size(v);
		else if (strcmp(k, "comparisons_failed") == 0)
			si->comparisons_failed = to_size(v);
		else if (strcmp(k, "comparisons_reused") == 0)
			si->comparisons_reused = to_size(v);
		else if (strcmp(k, "seconds") == 0)
			si->seconds = atof(v);
	}
	bmeq_csv_table_destroy(t);
	if (!have_format || si->n < 1 || si->n > BMEQ_SHARDS_MAX || si->k < 1 || si->k > si->n ||
	    strlen(si->study_sha) != 64 || !si->params[0])
		return bmeq_fail(BMEQ_E_FORMAT, "%s: not a bmeq shard record (format %s expected)", path,
				 BMEQ_SHARD_FORMAT);
	if (!si->config && !(si->config = strdup("")))
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	return BMEQ_OK;
}

/* The shards must be exactly 1..N of one study, one configuration. */
static bmeq_status check_shards(shard_info *si, size_t nd, const shard_info **by_k)
{
	const shard_info *a = &si[0];

	for (size_t i = 1; i < nd; i++) {
		const shard_info *b = &si[i];
		if (b->n != a->n)
			return bmeq_fail(BMEQ_E_FORMAT, "%s is shard %d/%d but %s is shard %d/%d: "
				"not shards of one split", b->dir, b->k, b->n, a->dir, a->k, a->n);
		if (strcmp(b->study_sha, a->study_sha) != 0)
			return bmeq_fail(BMEQ_E_FORMAT, "%s and %s are shards of different studies "
				"(their subjects, sessions, scan paths or manifest columns differ)",
				a->dir, b->dir);
		if (strcmp(b->params, a->params) != 0 || strcmp(b->rule, a->rule) != 0 ||
		    strcmp(b->config, a->config) != 0)
			return bmeq_fail(BMEQ_E_FORMAT, "%s and %s were made with different parameters "
				"(configuration, rules or bmeq version): %s vs %s",
				a->dir, b->dir, a->params, b->params);
	}
	if (nd != (size_t)a->n) {
		for (int k = 1; k <= a->n; k++) {
			size_t i = 0;
			while (i < nd && si[i].k != k)
				i++;
			if (i == nd)
				return bmeq_fail(BMEQ_E_FORMAT, "shard %d/%d is missing (%zu of %d shard "
					"folders given)", k, a->n, nd, a->n);
		}
	}
	for (size_t i = 0; i < nd; i++) {
		if (by_k[si[i].k - 1])
			return bmeq_fail(BMEQ_E_FORMAT, "%s and %s are both shard %d/%d",
					 by_k[si[i].k - 1]->dir, si[i].dir, si[i].k, si[i].n);
		by_k[si[i].k - 1] = &si[i];
	}
	return BMEQ_OK;
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

/* Rebuilds the study from shard_study.csv (it was written from a study, so
 * it is in study order already), after checking it is the one the shard
 * records name. */
static bmeq_status read_study(const shard_info *si, bmeq_study **out)
{
	char path[BMEQ_PATH_MAX], sha[65];
	bmeq_csv_table *t = NULL;
	bmeq_study *s = NULL;
	bmeq_status st;
	int oom = 0;

	*out = NULL;
	if ((st = bmeq_out_path(si->dir, BMEQ_OUT_SHARD_STUDY, path, sizeof(path))) != BMEQ_OK)
		return bmeq_fail(BMEQ_E_IO, "%s", bmeq_last_error());
	if ((st = bmeq_sha256_file(path, sha)) != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", path, bmeq_last_error());
	if (strcmp(sha, si->study_sha) != 0)
		return bmeq_fail(BMEQ_E_FORMAT, "%s: changed since the shard finished (SHA-256 differs)",
				 path);
	if ((st = bmeq_csv_read_file(path, &t)) != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", path, bmeq_last_error());
	if (t->ncols < 7 || strcmp(t->header[0], "subject") || strcmp(t->header[5], "reference") ||
	    strcmp(t->header[6], "threshold_factor")) {
		bmeq_csv_table_destroy(t);
		return bmeq_fail(BMEQ_E_FORMAT, "%s: not a shard study table", path);
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->items = calloc(t->nrows ? t->nrows : 1, sizeof(*s->items))) ||
	    !(s->extra_names = calloc(t->ncols - 7 + 1, sizeof(char *)))) {
		oom = 1;
		goto done;
	}
	s->nextra = t->ncols - 7;
	for (size_t e = 0; e < s->nextra; e++)
		s->extra_names[e] = dup_or_null(t->header[7 + e], &oom);
	for (size_t r = 0; r < t->nrows && !oom; r++) {
		bmeq_scan_item *it = &s->items[s->n++];
		it->subject = dup_or_null(bmeq_csv_cell(t, r, 0), &oom);
		it->session = dup_or_null(bmeq_csv_cell(t, r, 1), &oom);
		it->path = dup_or_null(bmeq_csv_cell(t, r, 2), &oom);
		it->date = dup_or_null(bmeq_csv_cell(t, r, 3), &oom);
		it->roi = dup_or_null(bmeq_csv_cell(t, r, 4), &oom);
		it->reference = dup_or_null(bmeq_csv_cell(t, r, 5), &oom);
		/* Written by shard.c as "" or %.17g of a factor the manifest's
		 * check accepted. */
		const char *factor = bmeq_csv_cell(t, r, 6);
		it->threshold_factor = factor[0] ? strtod(factor, NULL) : 0.0;
		if (!(it->extra = calloc(s->nextra + 1, sizeof(char *)))) {
			oom = 1;
			break;
		}
		for (size_t e = 0; e < s->nextra; e++)
			it->extra[e] = dup_or_null(bmeq_csv_cell(t, r, (long)(7 + e)), &oom);
	}
done:
	bmeq_csv_table_destroy(t);
	if (oom) {
		bmeq_study_destroy(s);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	*out = s;
	return BMEQ_OK;
}

/* ---- per-scan folders ------------------------------------------------------ */

static bmeq_status copy_file(const char *src, const char *dst)
{
	char *buf;
	size_t len;
	bmeq_status st = bmeq_read_file(src, 0, &buf, &len);

	if (st != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", src, bmeq_last_error());
	st = bmeq_write_file_atomic(dst, buf, len);
	free(buf);
	return st;
}

/* A hard link when the shard folder is on the same file system (no copy of
 * the maps), else a copy. Shard files are only ever replaced by rename, never
 * rewritten in place, so a linked file cannot change under the merged OUT. */
static bmeq_status link_file(const char *src, const char *dst)
{
	if (unlink(dst) != 0 && errno != ENOENT)
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot replace: %s", dst, strerror(errno));
	if (link(src, dst) == 0)
		return BMEQ_OK;
	return copy_file(src, dst);
}

/* Every file of one scan's folder; the record last, as the batch does. */
static bmeq_status link_scan(const char *src, const char *dst)
{
	char a[BMEQ_PATH_MAX], b[BMEQ_PATH_MAX];
	bmeq_status st = BMEQ_OK;

	if (bmeq_mkdirs(dst) != 0)
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create folder: %s", dst, strerror(errno));
	DIR *d = opendir(src);
	if (!d)
		return bmeq_fail(BMEQ_E_IO, "%s: %s", src, strerror(errno));
	struct dirent *e;
	while (st == BMEQ_OK && (e = readdir(d)) != NULL) {
		struct stat sb;
		/* Dot files are temporaries of an interrupted write. */
		if (e->d_name[0] == '.' || strcmp(e->d_name, bmeq_scan_file_name(BMEQ_SCAN_RECORD)) == 0)
			continue;
		if ((st = bmeq_path(a, sizeof(a), "%s/%s", src, e->d_name)) != BMEQ_OK)
			break;
		if (stat(a, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue; /* a subject folder holds its session folders */
		if ((st = bmeq_path(b, sizeof(b), "%s/%s", dst, e->d_name)) == BMEQ_OK)
			st = link_file(a, b);
	}
	closedir(d);
	if (st != BMEQ_OK)
		return st;
	/* Last, as in the batch: the record marks the scan complete. */
	if ((st = bmeq_scan_path(src, "", BMEQ_SCAN_RECORD, a, sizeof(a))) != BMEQ_OK ||
	    (st = bmeq_scan_path(dst, "", BMEQ_SCAN_RECORD, b, sizeof(b))) != BMEQ_OK)
		return st;
	return link_file(a, b);
}

/* ---- tables ---------------------------------------------------------------- */

/* Joins one table: for each subject in study order, its rows from the shard
 * that ran it. A shard's rows are its subjects' rows in study order, so a
 * cursor per shard walks each shard table once; rows left over mean the
 * table does not belong to this study. */
static bmeq_status merge_table(const bmeq_study *s, const int *of, const shard_info **by_k, int n,
			       const char *outdir, bmeq_out_file table)
{
	bmeq_csv_table **t = calloc((size_t)n, sizeof(*t));
	size_t *cur = calloc((size_t)n, sizeof(*cur));
	bmeq_csv *w = NULL;
	const char *name = bmeq_out_name(table);
	char path[BMEQ_PATH_MAX];
	bmeq_status st = BMEQ_OK;

	if (!t || !cur || (st = bmeq_csv_create(&w)) != BMEQ_OK) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (int k = 0; k < n && st == BMEQ_OK; k++) {
		if ((st = bmeq_out_path(by_k[k]->dir, table, path, sizeof(path))) != BMEQ_OK)
			break;
		if ((st = bmeq_csv_read_file(path, &t[k])) != BMEQ_OK) {
			st = bmeq_fail(st, "%s: %s", path, bmeq_last_error());
			break;
		}
		int same = t[k]->ncols == t[0]->ncols;
		for (size_t c = 0; same && c < t[k]->ncols; c++)
			same = strcmp(t[k]->header[c], t[0]->header[c]) == 0;
		if (!same || strcmp(t[k]->header[0], "subject") != 0)
			st = bmeq_fail(BMEQ_E_FORMAT, "%s: columns differ from %s/%s", path,
				       by_k[0]->dir, name);
	}
	for (size_t c = 0; st == BMEQ_OK && c < t[0]->ncols; c++)
		st = bmeq_csv_field(w, t[0]->header[c]);
	if (st == BMEQ_OK)
		st = bmeq_csv_end_row(w);
	for (size_t i = 0; i < s->n && st == BMEQ_OK;) {
		const char *subj = s->items[i].subject;
		int k = of[i] - 1;
		while (cur[k] < t[k]->nrows && strcmp(bmeq_csv_cell(t[k], cur[k], 0), subj) == 0 &&
		       st == BMEQ_OK) {
			for (size_t c = 0; c < t[k]->ncols; c++)
				bmeq_csv_field(w, bmeq_csv_cell(t[k], cur[k], (long)c));
			st = bmeq_csv_end_row(w);
			cur[k]++;
		}
		while (i < s->n && strcmp(s->items[i].subject, subj) == 0)
			i++;
	}
	for (int k = 0; k < n && st == BMEQ_OK; k++)
		if (cur[k] != t[k]->nrows)
			st = bmeq_fail(BMEQ_E_FORMAT, "%s/%s: row %zu (subject %s) is not in the order of "
				       "the shard's study", by_k[k]->dir, name, cur[k] + 1,
				       bmeq_csv_cell(t[k], cur[k], 0));
	if (st == BMEQ_OK) {
		if ((st = bmeq_out_path(outdir, table, path, sizeof(path))) == BMEQ_OK)
			st = bmeq_csv_write_file(w, path);
	}
done:
	if (t)
		for (int k = 0; k < n; k++)
			bmeq_csv_table_destroy(t[k]);
	free(t);
	free(cur);
	bmeq_csv_destroy(w);
	return st;
}

/* ---- the merge ------------------------------------------------------------- */

/* The distinct shard hosts in shard order, joined by ", ". */
static void join_hosts(const shard_info **by_k, int n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int k = 0; k < n; k++) {
		int seen = 0;
		for (int j = 0; j < k && !seen; j++)
			seen = strcmp(by_k[j]->host, by_k[k]->host) == 0;
		if (seen || len + strlen(by_k[k]->host) + 3 >= cap)
			continue;
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", by_k[k]->host);
	}
}

static int same_folder(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

void bmeq_merge_opts_init(bmeq_merge_opts *o)
{
	o->jobs = 1;
	o->pictures = 1;
}

bmeq_status bmeq_merge_run(const char *const *dirs, size_t ndirs, const char *outdir,
			   const bmeq_merge_opts *mopts, bmeq_batch_summary *summary)
{
	shard_info *si = NULL;
	const shard_info **by_k = NULL;
	bmeq_study *study = NULL;
	bmeq_batch_opts opts;
	bmeq_settings_target t = {&opts.measure, &opts.response_rule, NULL};
	int *of = NULL, n;
	char params[1024], rtext[BMEQ_RESPONSE_RULE_TEXT_MAX], hosts[1024];
	char src[BMEQ_PATH_MAX], dst[BMEQ_PATH_MAX];
	bmeq_status st = BMEQ_OK;
	static const bmeq_out_file tables[] = {BMEQ_OUT_SCANS, BMEQ_OUT_LESIONS, BMEQ_OUT_RESPONSE,
					       BMEQ_OUT_RESPONSE_INTERVAL};

	memset(summary, 0, sizeof(*summary));
	if (ndirs < 1 || ndirs > BMEQ_SHARDS_MAX)
		return bmeq_fail(BMEQ_E_ARG, "need 1..%d shard folders", BMEQ_SHARDS_MAX);
	si = calloc(ndirs, sizeof(*si));
	if (!si)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (size_t i = 0; i < ndirs && st == BMEQ_OK; i++)
		st = read_marker(dirs[i], &si[i]);
	if (st != BMEQ_OK)
		goto done;
	n = si[0].n;
	if (!(by_k = calloc((size_t)n, sizeof(*by_k)))) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	if ((st = check_shards(si, ndirs, by_k)) != BMEQ_OK || (st = read_study(&si[0], &study)) != BMEQ_OK)
		goto done;

	/* The merge writes provenance with the shards' settings: rebuilt from
	 * their configuration text, and checked against their parameter line,
	 * which also names the bmeq version (another version may measure
	 * differently, and its shards' numbers must not be merged as ours). */
	bmeq_batch_opts_init(&opts);
	opts.config_text = si[0].config;
	opts.jobs = si[0].jobs > 0 ? si[0].jobs : 1;
	if (si[0].config[0] &&
	    (st = bmeq_config_apply(si[0].config, strlen(si[0].config), &t)) != BMEQ_OK) {
		st = bmeq_fail(BMEQ_E_FORMAT, "%s: configuration: %s", si[0].dir, bmeq_last_error());
		goto done;
	}
	bmeq_settings_resume_key(&opts.measure, params, sizeof(params));
	bmeq_response_rule_text(&opts.response_rule, rtext, sizeof(rtext));
	if (strcmp(params, si[0].params) != 0 || strcmp(rtext, si[0].rule) != 0) {
		st = bmeq_fail(BMEQ_E_FORMAT, "the shards were made with other parameters or another "
			       "bmeq version than this one (shards: %s; this bmeq: %s)",
			       si[0].params, params);
		goto done;
	}

	if (bmeq_mkdirs(outdir) != 0) {
		st = bmeq_fail(BMEQ_E_WRITE, "%s: cannot create the output folder: %s", outdir,
			       strerror(errno));
		goto done;
	}
	for (size_t i = 0; i < ndirs; i++)
		if (same_folder(outdir, si[i].dir)) {
			st = bmeq_fail(BMEQ_E_ARG, "%s: the output folder is one of the shard folders",
				       outdir);
			goto done;
		}
	if (!(of = malloc((study->n ? study->n : 1) * sizeof(*of)))) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	if ((st = bmeq_shard_assign(study, n, of)) != BMEQ_OK)
		goto done;

	for (size_t i = 0; i < study->n && st == BMEQ_OK; i++) {
		const bmeq_scan_item *it = &study->items[i];
		bmeq_scan_record rec;
		if ((st = bmeq_batch_scan_dir(by_k[of[i] - 1]->dir, it, src, sizeof(src))) != BMEQ_OK)
			break;
		if (bmeq_record_read(src, &rec) != BMEQ_OK) {
			st = bmeq_fail(BMEQ_E_IO, "%s: scan %s/%s has no complete record in its shard "
				       "(%d/%d)", src, it->subject, it->session, of[i], n);
			break;
		}
		if ((st = bmeq_batch_scan_dir(outdir, it, dst, sizeof(dst))) == BMEQ_OK)
			st = link_scan(src, dst);
	}
	for (size_t k = 0; k < 4 && st == BMEQ_OK; k++)
		st = merge_table(study, of, by_k, n, outdir, tables[k]);
	if (st != BMEQ_OK)
		goto done;

	summary->scans = study->n;
	for (int k = 0; k < n; k++) {
		summary->failed += by_k[k]->failed;
		summary->skipped += by_k[k]->reused;
		summary->comparisons += by_k[k]->comparisons;
		summary->comparisons_failed += by_k[k]->comparisons_failed;
		summary->comparisons_reused += by_k[k]->comparisons_reused;
		summary->seconds += by_k[k]->seconds;
	}
	summary->measured = summary->scans - summary->skipped;
	join_hosts(by_k, n, hosts, sizeof(hosts));
	st = bmeq_batch_provenance_host(study, outdir, &opts, params, summary, hosts);
	if (st == BMEQ_OK) {
		/* Last, as in the batch: the page reads the finished tables. */
		bmeq_report_opts ro;
		bmeq_report_opts_init(&ro);
		if (mopts) {
			ro.jobs = mopts->jobs;
			ro.pictures = mopts->pictures;
		}
		st = bmeq_report_write(study, outdir, &ro, NULL);
	}
done:
	if (si)
		for (size_t i = 0; i < ndirs; i++)
			free(si[i].config);
	free(si);
	free(by_k);
	free(of);
	bmeq_study_destroy(study);
	return st;
}
