/* batch.c - measure a study in parallel and resumably, then assemble the tables. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_internal.h"
#include "bmeq/batch.h"
#include "bmeq/clock.h"
#include "bmeq/csv.h"
#include "bmeq/workers.h"
#include "bmeq/hash.h"
#include "bmeq/longitudinal.h"
#include "bmeq/nifti_io.h"
#include "bmeq/outdir.h"
#include "bmeq/scan.h"
#include "bmeq/report.h"
#include "bmeq/tables.h"

void bmeq_batch_opts_init(bmeq_batch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	bmeq_measure_opts_init(&o->measure);
	bmeq_response_rule_init(&o->response_rule);
}

bmeq_status bmeq_batch_scan_dir(const char *outdir, const bmeq_scan_item *it, char *buf, size_t cap)
{
	return bmeq_out_scan_dir(outdir, it->subject, it->session, buf, cap);
}

bmeq_status bmeq_batch_extra_header(const bmeq_study *s, const bmeq_review *review,
				    bmeq_extra_cols *ex, const char ***names)
{
	size_t k = 0;

	*names = malloc((s->nextra + 1) * sizeof(**names));
	if (!*names)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	if (review)
		(*names)[k++] = "review";
	for (size_t e = 0; e < s->nextra; e++)
		(*names)[k++] = s->extra_names[e];
	ex->n = k;
	ex->names = *names;
	ex->values = NULL;
	return BMEQ_OK;
}

const char *bmeq_batch_review_word(const bmeq_review *review, const bmeq_scan_item *it,
				   const char *side)
{
	const bmeq_review_entry *e =
		bmeq_review_find(review, it->subject, it->session, bmeq_side_parse(side));
	return e ? bmeq_review_decision_name(e->decision) : "";
}

/* ---- one scan ------------------------------------------------------------ */

typedef struct batch_ctx {
	const bmeq_study *study;
	const char *outdir;
	const bmeq_batch_opts *opts;
	char params[1024];
	size_t *todo;           /* indices of the items this run processes */
	size_t ntodo;
	size_t next;            /* next index into todo (under lock) */
	size_t done, failed, skipped;
	double t0;
	pthread_mutex_t lock;
	bmeq_status fatal;      /* first output failure: stops the batch */
	char fatal_msg[1024];
} batch_ctx;

static bmeq_status file_sha(const char *path, char hex[65])
{
	if (!path[0]) {
		hex[0] = '\0';
		return BMEQ_OK;
	}
	return bmeq_sha256_file(path, hex);
}

/* A record is reusable when it matches the inputs and parameters and the
 * outputs it promises are there. */
static int reusable(const char *dir, const bmeq_scan_record *old, const bmeq_scan_record *now)
{
	if (strcmp(old->sha256, now->sha256) || strcmp(old->roi_sha256, now->roi_sha256) ||
	    strcmp(old->reference_sha256, now->reference_sha256) ||
	    strcmp(old->t1_sha256, now->t1_sha256) || strcmp(old->params, now->params))
		return 0;
	if (!bmeq_scan_file_exists(dir, "", BMEQ_SCAN_SCANS_PART) ||
	    !bmeq_scan_file_exists(dir, "", BMEQ_SCAN_LESIONS_PART))
		return 0;
	if (strcmp(old->status, "ok") == 0)
		return bmeq_scan_file_exists(dir, old->stem, BMEQ_SCAN_ROI) &&
		       bmeq_scan_file_exists(dir, old->stem, BMEQ_SCAN_EDEMA);
	return 1;
}

/* Writes the lesions table, then the scans table: a scans table on disk
 * means its lesions table is complete too. */
static bmeq_status write_tables(const char *scans_path, const char *lesions_path,
				const bmeq_csv *scans, const bmeq_csv *lesions)
{
	bmeq_status st = bmeq_csv_write_file(lesions, lesions_path);

	return st == BMEQ_OK ? bmeq_csv_write_file(scans, scans_path) : st;
}

static bmeq_status write_parts(const char *dir, const bmeq_scan_item *it, const char *message,
			       const bmeq_scan_result *r, int corrected)
{
	bmeq_csv *scans = NULL, *lesions = NULL;
	char scans_path[BMEQ_PATH_MAX], lesions_path[BMEQ_PATH_MAX];
	bmeq_status st;

	if ((st = bmeq_scan_path(dir, "", BMEQ_SCAN_SCANS_PART, scans_path, sizeof(scans_path))) !=
		    BMEQ_OK ||
	    (st = bmeq_scan_path(dir, "", BMEQ_SCAN_LESIONS_PART, lesions_path,
				 sizeof(lesions_path))) != BMEQ_OK)
		return st;
	if ((st = bmeq_csv_create(&scans)) != BMEQ_OK || (st = bmeq_csv_create(&lesions)) != BMEQ_OK)
		goto done;
	bmeq_scans_header(scans, NULL);
	bmeq_lesions_header(lesions, NULL);
	if (r) {
		bmeq_scan_facts facts;
		bmeq_scan_facts_of(r, &facts);
		/* The tables say which regions a reader drew: "user" (the
		 * manifest's roi, --roi) or "correction" (OUT/corrections/). */
		if (corrected) {
			facts.regions_from = BMEQ_REGIONS_FROM_CORRECTION;
			facts.side_regions_from[0] = facts.side_regions_from[1] = NULL;
		}
		bmeq_scans_rows(scans, it->subject, it->session, it->path, r->edema, &facts, NULL);
		bmeq_lesions_rows(lesions, it->subject, it->session, r->edema, NULL);
	} else {
		/* The sequence facts when the headers can be read: a scan refused
		 * as the wrong series says what it is. */
		bmeq_protocol proto;
		int have_proto = bmeq_scan_protocol(it->path, &proto) == BMEQ_OK;
		bmeq_scans_error_rows(scans, it->subject, it->session, it->path, message,
				      have_proto ? &proto : NULL, NULL);
	}
	st = write_tables(scans_path, lesions_path, scans, lesions);
done:
	bmeq_csv_destroy(scans);
	bmeq_csv_destroy(lesions);
	return st;
}

/* The scan's own settings and record key. A reader's factor (manifest
 * threshold_factor) replaces the rule's k for this scan alone; it is part of
 * this scan's key, not of the batch's, so --resume after a changed factor
 * measures this scan again and reuses the others. The batch's parameters stay
 * in the key: the factor means something only with the rule it multiplies. */
static void scan_settings(const batch_ctx *c, const bmeq_scan_item *it, bmeq_measure_opts *m,
			  char *key, size_t cap)
{
	char params[1024];

	*m = c->opts->measure;
	bmeq_settings_scan_key(m, it->t1[0] != '\0', params, sizeof(params));
	if (it->threshold_factor > 0.0) {
		m->edema.rule.k = it->threshold_factor;
		m->edema.factor_from_reader = 1;
		snprintf(key, cap, "%.900s;reader_factor=%.17g", params, it->threshold_factor);
	} else {
		snprintf(key, cap, "%s", params);
	}
}

/* ---- a reader's corrected regions --------------------------------------------- */

static int nifti_name(const char *n)
{
	size_t len = strlen(n);
	return (len > 4 && strcmp(n + len - 4, ".nii") == 0) ||
	       (len > 7 && strcmp(n + len - 7, ".nii.gz") == 0);
}

int bmeq_batch_correction(const char *outdir, const bmeq_scan_item *it, char *path, size_t cap)
{
	char base[BMEQ_PATH_MAX], dir[BMEQ_PATH_MAX], found[256] = "";
	struct dirent *e;
	DIR *d;

	path[0] = '\0';
	if (bmeq_out_path(outdir, BMEQ_OUT_CORRECTIONS, base, sizeof(base)) != BMEQ_OK ||
	    bmeq_out_scan_dir(base, it->subject, it->session, dir, sizeof(dir)) != BMEQ_OK)
		return -1;
	if (!(d = opendir(dir))) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		bmeq_fail(BMEQ_E_IO, "corrections %s: cannot read: %s", dir, strerror(errno));
		return -1;
	}
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !nifti_name(e->d_name))
			continue;
		if (n++ == 0) {
			snprintf(found, sizeof(found), "%s", e->d_name);
			continue;
		}
		bmeq_fail(BMEQ_E_FORMAT, "corrections %s: two label maps (%s and %s); keep one", dir,
			  found, e->d_name);
		closedir(d);
		return -1;
	}
	closedir(d);
	if (!n)
		return 0;
	if (bmeq_path(path, cap, "%s/%s", dir, found) != BMEQ_OK)
		return -1;
	return 1;
}

/* A correction holds bmeq's regions only (0 background, 1 right head, 2
 * left head, 3 right neck, 4 left neck): a label a reader's tool added by
 * mistake would become a region of its own and its edema would go
 * unnoticed. */
static bmeq_status check_correction(const char *path)
{
	bmeq_read_opts ro;
	bmeq_volume *v = NULL;
	bmeq_status st;

	bmeq_read_opts_init(&ro);
	if ((st = bmeq_nifti_read(path, &ro, &v, NULL)) != BMEQ_OK)
		return st;
	size_t nvox = bmeq_grid_nvox(&v->grid);
	for (size_t i = 0; i < nvox; i++) {
		float x = v->data[i];
		if (!(x == 0.0f || x == 1.0f || x == 2.0f || x == 3.0f || x == 4.0f)) {
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "unknown label %g (a correction holds 1 right head, 2 left head, 3 "
				       "right neck, 4 left neck)",
				       (double)x);
			break;
		}
	}
	bmeq_volume_destroy(v);
	return st;
}

/* Processes one scan. Returns BMEQ_OK when its outputs are complete (the scan
 * itself may have failed: *failed says so); an output error is fatal for the
 * batch and returned. */
static bmeq_status process_item(batch_ctx *c, const bmeq_scan_item *it, int *failed, int *skipped)
{
	char dir[BMEQ_PATH_MAX];
	bmeq_scan_record rec, old;
	bmeq_scan_result *r = NULL;
	bmeq_measure_opts mopts;
	bmeq_status st;
	double t0 = bmeq_clock_seconds();

	*failed = *skipped = 0;
	bmeq_record_init(&rec);
	if ((st = bmeq_batch_scan_dir(c->outdir, it, dir, sizeof(dir))) != BMEQ_OK)
		return st;
	if (bmeq_mkdirs(dir) != 0)
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create folder: %s", dir, strerror(errno));
	scan_settings(c, it, &mopts, rec.params, sizeof(rec.params));
	bmeq_scan_stem(it->path, rec.stem, sizeof(rec.stem));

	/* A reader's corrected regions replace the manifest's roi and bmeq's
	 * own; their hash is the record's, so --resume measures this scan
	 * again (and only it) when one appears, changes or goes. */
	char corr[BMEQ_PATH_MAX];
	int has_corr = bmeq_batch_correction(c->outdir, it, corr, sizeof(corr));
	const char *roi = has_corr > 0 ? corr : it->roi;
	char corr_error[1024] = "";
	if (has_corr < 0)
		snprintf(corr_error, sizeof(corr_error), "%s", bmeq_last_error());

	st = bmeq_scan_sha256(it->path, rec.sha256);
	if (st == BMEQ_OK && (st = file_sha(roi, rec.roi_sha256)) != BMEQ_OK)
		bmeq_fail(st, "%s %s: %s", has_corr > 0 ? "correction" : "roi", roi, bmeq_last_error());
	/* A corrections folder that cannot be used (two maps, unreadable):
	 * an error row whose key no working folder has, so the scan is
	 * measured again once the folder is put right or removed. */
	if (st == BMEQ_OK && has_corr < 0) {
		snprintf(rec.roi_sha256, sizeof(rec.roi_sha256), "corrections-unusable");
		st = bmeq_fail(BMEQ_E_FORMAT, "%s", corr_error);
	}
	if (st == BMEQ_OK && (st = file_sha(it->reference, rec.reference_sha256)) != BMEQ_OK)
		bmeq_fail(st, "reference %s: %s", it->reference, bmeq_last_error());
	if (st == BMEQ_OK && it->t1[0] && (st = bmeq_scan_sha256(it->t1, rec.t1_sha256)) != BMEQ_OK)
		bmeq_fail(st, "T1 %s: %s", it->t1, bmeq_last_error());
	if (st == BMEQ_OK && c->opts->resume && bmeq_record_read(dir, &old) == BMEQ_OK &&
	    reusable(dir, &old, &rec)) {
		*skipped = 1;
		*failed = strcmp(old.status, "ok") != 0;
		return BMEQ_OK;
	}
	if (st == BMEQ_OK && has_corr > 0 && (st = check_correction(corr)) != BMEQ_OK)
		bmeq_fail(st, "correction %s: %s", corr, bmeq_last_error());
	if (st == BMEQ_OK) {
		st = bmeq_measure_scan(it->path, roi[0] ? roi : NULL,
				       it->reference[0] ? it->reference : NULL, it->t1[0] ? it->t1 : NULL,
				       &mopts, &r);
		if (st != BMEQ_OK && has_corr > 0)
			bmeq_fail(st, "correction %s: %s", corr, bmeq_last_error());
	}
	if (st != BMEQ_OK) {
		snprintf(rec.status, sizeof(rec.status), "error");
		snprintf(rec.message, sizeof(rec.message), "%s", bmeq_last_error());
		if (!rec.sha256[0])
			snprintf(rec.sha256, sizeof(rec.sha256), "unreadable");
		*failed = 1;
	} else {
		snprintf(rec.status, sizeof(rec.status), "ok");
		if (r->note[0])
			for (size_t k = 0; k < r->edema->nregions; k++)
				if (!r->edema->regions[k].message[0])
					snprintf(r->edema->regions[k].message,
						 sizeof(r->edema->regions[k].message), "%s", r->note);
		/* The heads' centres and radii, which place the registration
		 * of the comparisons: with regions a reader drew (manifest roi,
		 * a correction) no segmentation found them, and the timepoint
		 * takes each head label's centroid and ball radius, as
		 * bmeq compare does. */
		bmeq_timepoint tp;
		bmeq_timepoint_from_scan(&tp, r);
		for (int s = 0; s < 2; s++) {
			bmeq_record_side *d = &rec.side[s];
			d->found = tp.geom[s].found;
			memcpy(d->centre, tp.geom[s].centre, sizeof(d->centre));
			d->radius = tp.geom[s].radius;
			snprintf(d->reason, sizeof(d->reason), "%s", r->geom[s].reason);
			if (s < (int)r->edema->nregions &&
			    r->edema->regions[s].side == (bmeq_side)s) {
				d->status = r->edema->regions[s].status;
				d->edema_ml = r->edema->regions[s].edema_ml;
				d->edema_ml_low = r->edema->regions[s].edema_ml_low;
				d->edema_ml_high = r->edema->regions[s].edema_ml_high;
			}
		}
		if (r->t1.placed) {
			snprintf(rec.t1, sizeof(rec.t1), "%s", it->t1);
			memcpy(rec.t1_transform, r->t1.transform, sizeof(rec.t1_transform));
			rec.t1_placed = 1;
		}
		if ((st = bmeq_scan_write_maps(r, dir, rec.stem)) != BMEQ_OK) {
			bmeq_scan_result_destroy(r);
			return st;
		}
	}
	st = write_parts(dir, it, rec.message, st == BMEQ_OK ? r : NULL, has_corr > 0);
	bmeq_scan_result_destroy(r);
	if (st != BMEQ_OK)
		return st;
	rec.seconds = bmeq_clock_seconds() - t0;
	/* Last: the record marks the scan complete. */
	return bmeq_record_write(dir, &rec);
}

static void *worker(void *arg)
{
	batch_ctx *c = arg;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		int stop = c->fatal != BMEQ_OK || (c->opts->cancel && *c->opts->cancel) ||
			   c->next >= c->ntodo;
		size_t k = stop ? 0 : c->next++;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		const bmeq_scan_item *it = &c->study->items[c->todo[k]];
		int failed = 0, skipped = 0;
		bmeq_status st = process_item(c, it, &failed, &skipped);
		pthread_mutex_lock(&c->lock);
		if (st != BMEQ_OK && c->fatal == BMEQ_OK) {
			c->fatal = st;
			snprintf(c->fatal_msg, sizeof(c->fatal_msg), "%s", bmeq_last_error());
		}
		c->done++;
		c->failed += failed;
		c->skipped += skipped;
		if (c->opts->progress)
			c->opts->progress(c->opts->progress_ctx, c->done, c->ntodo, c->failed, c->skipped,
					  bmeq_clock_seconds() - c->t0);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

/* ---- the study tables ----------------------------------------------------- */

/* Appends the data rows of a part file to w, with the reader's decision on
 * the row's side when review is given, then the item's extra columns. */
static bmeq_status append_part(bmeq_csv *w, const char *path, const bmeq_study *s,
			       const bmeq_scan_item *it, size_t expect_cols,
			       const bmeq_review *review)
{
	bmeq_csv_table *t = NULL;
	bmeq_status st = bmeq_csv_read_file(path, &t);

	if (st != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", path, bmeq_last_error());
	long side = bmeq_csv_column(t, "side");
	if (t->ncols != expect_cols || side < 0) {
		bmeq_csv_table_destroy(t);
		return bmeq_fail(BMEQ_E_FORMAT, "%s: unexpected columns", path);
	}
	for (size_t r = 0; r < t->nrows && st == BMEQ_OK; r++) {
		for (size_t col = 0; col < t->ncols; col++)
			bmeq_csv_field(w, bmeq_csv_cell(t, r, (long)col));
		if (review)
			bmeq_csv_field(w, bmeq_batch_review_word(review, it, bmeq_csv_cell(t, r, side)));
		for (size_t e = 0; e < s->nextra; e++)
			bmeq_csv_field(w, it->extra[e]);
		st = bmeq_csv_end_row(w);
	}
	bmeq_csv_table_destroy(t);
	return st;
}

static bmeq_status assemble_tables(const bmeq_study *s, const char *outdir,
				   const bmeq_review *review)
{
	bmeq_csv *scans = NULL, *lesions = NULL;
	bmeq_extra_cols ex = {s->nextra, (const char *const *)s->extra_names, NULL}, rex;
	const char **names = NULL;
	char dir[BMEQ_PATH_MAX], path[BMEQ_PATH_MAX], lesions_path[BMEQ_PATH_MAX];
	bmeq_status st;

	if ((st = bmeq_batch_extra_header(s, review, &rex, &names)) != BMEQ_OK ||
	    (st = bmeq_csv_create(&scans)) != BMEQ_OK || (st = bmeq_csv_create(&lesions)) != BMEQ_OK)
		goto done;
	/* The reader's decision is per scan and side: scans.csv has it, the
	 * lesions (of a side already in scans.csv) do not repeat it. */
	bmeq_scans_header(scans, &rex);
	bmeq_lesions_header(lesions, &ex);
	for (size_t i = 0; i < s->n && st == BMEQ_OK; i++) {
		const bmeq_scan_item *it = &s->items[i];
		if ((st = bmeq_batch_scan_dir(outdir, it, dir, sizeof(dir))) != BMEQ_OK ||
		    (st = bmeq_scan_path(dir, "", BMEQ_SCAN_SCANS_PART, path, sizeof(path))) != BMEQ_OK)
			break;
		st = append_part(scans, path, s, it, BMEQ_SCANS_NCOLUMNS, review);
		if (st == BMEQ_OK &&
		    (st = bmeq_scan_path(dir, "", BMEQ_SCAN_LESIONS_PART, path, sizeof(path))) == BMEQ_OK)
			st = append_part(lesions, path, s, it, BMEQ_LESIONS_NCOLUMNS, NULL);
	}
	if (st != BMEQ_OK)
		goto done;
	if ((st = bmeq_out_path(outdir, BMEQ_OUT_SCANS, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_out_path(outdir, BMEQ_OUT_LESIONS, lesions_path, sizeof(lesions_path))) != BMEQ_OK)
		goto done;
	st = write_tables(path, lesions_path, scans, lesions);
done:
	free(names);
	bmeq_csv_destroy(scans);
	bmeq_csv_destroy(lesions);
	return st;
}

/* ---- the run ------------------------------------------------------------ */

static int lock_outdir(const char *outdir)
{
	char path[BMEQ_PATH_MAX];
	int fd;

	if (bmeq_out_path(outdir, BMEQ_OUT_LOCK, path, sizeof(path)) != BMEQ_OK)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		bmeq_fail(BMEQ_E_WRITE, "%s: cannot create the lock file: %s", outdir, strerror(errno));
		return -1;
	}
	/* flock is released by the kernel when the process dies, even by SIGKILL,
	 * so a killed batch never leaves a stale lock behind. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			bmeq_fail(BMEQ_E_WRITE,
				  "%s: another bmeq batch is writing to this folder (locked)", outdir);
		else
			bmeq_fail(BMEQ_E_WRITE, "%s: cannot lock: %s", outdir, strerror(e));
		return -1;
	}
	return fd;
}

bmeq_status bmeq_batch_run(const bmeq_study *study, const char *outdir,
			   const bmeq_batch_opts *opts, bmeq_batch_summary *summary)
{
	batch_ctx c;
	int lock_fd, nthreads;
	bmeq_status st = BMEQ_OK;

	memset(summary, 0, sizeof(*summary));
	if (opts->jobs < 1 || opts->jobs > 256)
		return bmeq_fail(BMEQ_E_ARG, "jobs must be 1..256");
	if (bmeq_mkdirs(outdir) != 0)
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create the output folder: %s", outdir,
				 strerror(errno));
	if (access(outdir, W_OK) != 0)
		return bmeq_fail(BMEQ_E_WRITE, "%s: output folder is not writable", outdir);
	if ((lock_fd = lock_outdir(outdir)) < 0)
		return BMEQ_E_WRITE;

	memset(&c, 0, sizeof(c));
	c.study = study;
	c.outdir = outdir;
	c.opts = opts;
	c.t0 = bmeq_clock_seconds();
	/* Everything that changes a scan's numbers: a record made with other
	 * settings is not reused by --resume. */
	bmeq_settings_resume_key(&opts->measure, c.params, sizeof(c.params));
	pthread_mutex_init(&c.lock, NULL);
	c.todo = malloc((study->n ? study->n : 1) * sizeof(size_t));
	if (!c.todo) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < study->n; i++)
		c.todo[c.ntodo++] = i;

	/* One level of parallelism: scans run in parallel and ITK, whose
	 * threaded reductions could change the last bits of a result with the
	 * thread count, runs single-threaded (the CLI sets it once), so the
	 * numbers do not depend on -j. */
	nthreads = opts->jobs < (int)c.ntodo ? opts->jobs : (int)(c.ntodo ? c.ntodo : 1);
	bmeq_run_workers(nthreads, worker, &c);
	if (c.fatal != BMEQ_OK) {
		st = bmeq_fail(c.fatal, "%s", c.fatal_msg);
		goto done;
	}
	summary->cancelled = opts->cancel && *opts->cancel && c.done < c.ntodo;
	summary->scans = c.done;
	summary->failed = c.failed;
	summary->skipped = c.skipped;
	summary->measured = c.done - c.skipped;
	if (summary->cancelled)
		goto done; /* the tables are assembled when every scan is complete */
	if ((st = assemble_tables(study, outdir, opts->review)) != BMEQ_OK)
		goto done;
	if ((st = bmeq_batch_compare(study, outdir, opts, summary)) != BMEQ_OK)
		goto done;
	summary->seconds = bmeq_clock_seconds() - c.t0;
	st = bmeq_batch_provenance(study, outdir, opts, c.params, summary);
	if (st == BMEQ_OK) {
		/* Last: the QC pictures and report.html read the finished tables. */
		bmeq_report_opts ro;
		bmeq_report_opts_init(&ro);
		ro.jobs = opts->jobs;
		st = bmeq_report_write(study, outdir, &ro, NULL);
	}
done:
	summary->seconds = bmeq_clock_seconds() - c.t0;
	pthread_mutex_destroy(&c.lock);
	free(c.todo);
	close(lock_fd);
	return st;
}
