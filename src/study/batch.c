/* batch.c - measure a study in parallel and resumably, then assemble the tables. */
#define _DEFAULT_SOURCE
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
#include <time.h>
#include <unistd.h>

#include "batch_internal.h"
#include "bmeq/batch.h"
#include "bmeq/csv.h"
#include "bmeq/workers.h"
#include "bmeq/hash.h"
#include "bmeq/report.h"
#include "bmeq/tables.h"

void bmeq_batch_opts_init(bmeq_batch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 1;
	bmeq_measure_opts_init(&o->measure);
	bmeq_response_rule_init(&o->response_rule);
}

double bmeq_batch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


void bmeq_batch_scan_dir(const char *outdir, const bmeq_scan_item *it, char *buf, size_t cap)
{
	if (it->session[0])
		snprintf(buf, cap, "%s/%s/%s", outdir, it->subject, it->session);
	else
		snprintf(buf, cap, "%s/%s", outdir, it->subject);
}

/* ---- per-scan record (key,value CSV) ------------------------------------ */

static bmeq_status kv(bmeq_csv *w, const char *key, const char *fmt, ...)
{
	char val[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	bmeq_csv_field(w, key);
	bmeq_csv_field(w, val);
	return bmeq_csv_end_row(w);
}

static bmeq_status write_csv(const char *path, const bmeq_csv *w)
{
	size_t len;
	const char *t = bmeq_csv_text(w, &len);
	return bmeq_write_file_atomic(path, t, len);
}

bmeq_status bmeq_record_read(const char *dir, bmeq_scan_record *rec)
{
	char path[4200];
	bmeq_csv_table *t = NULL;
	bmeq_status st;

	memset(rec, 0, sizeof(*rec));
	for (int s = 0; s < 2; s++)
		rec->edema_ml_low[s] = rec->edema_ml_high[s] = NAN;
	snprintf(path, sizeof(path), "%s/scan_record.csv", dir);
	if ((st = bmeq_csv_read_file(path, &t)) != BMEQ_OK)
		return st;
	if (t->ncols != 2) {
		bmeq_csv_table_destroy(t);
		return bmeq_fail(BMEQ_E_FORMAT, "%s: not a scan record", path);
	}
	for (size_t r = 0; r < t->nrows; r++) {
		const char *k = bmeq_csv_cell(t, r, 0), *v = bmeq_csv_cell(t, r, 1);
#define STR(name)                                                                          \
	if (strcmp(k, #name) == 0)                                                         \
		snprintf(rec->name, sizeof(rec->name), "%s", v);
		STR(status)
		STR(message)
		STR(sha256)
		STR(roi_sha256)
		STR(reference_sha256)
		STR(params)
		STR(stem)
#undef STR
		for (int s = 0; s < 2; s++) {
			char key[32];
			const char *side = s ? "left" : "right";
			snprintf(key, sizeof(key), "%s_found", side);
			if (strcmp(k, key) == 0)
				rec->geom[s].found = atoi(v);
			snprintf(key, sizeof(key), "%s_centre", side);
			if (strcmp(k, key) == 0)
				sscanf(v, "%lf %lf %lf", &rec->geom[s].centre[0], &rec->geom[s].centre[1],
				       &rec->geom[s].centre[2]);
			snprintf(key, sizeof(key), "%s_radius", side);
			if (strcmp(k, key) == 0)
				rec->geom[s].radius = atof(v);
			snprintf(key, sizeof(key), "%s_reason", side);
			if (strcmp(k, key) == 0)
				snprintf(rec->geom[s].reason, sizeof(rec->geom[s].reason), "%s", v);
			snprintf(key, sizeof(key), "%s_status", side);
			if (strcmp(k, key) == 0)
				snprintf(rec->side_status[s], sizeof(rec->side_status[s]), "%s", v);
			snprintf(key, sizeof(key), "%s_edema_ml", side);
			if (strcmp(k, key) == 0)
				rec->edema_ml[s] = v[0] ? atof(v) : NAN;
			snprintf(key, sizeof(key), "%s_edema_ml_low", side);
			if (strcmp(k, key) == 0)
				rec->edema_ml_low[s] = v[0] ? atof(v) : NAN;
			snprintf(key, sizeof(key), "%s_edema_ml_high", side);
			if (strcmp(k, key) == 0)
				rec->edema_ml_high[s] = v[0] ? atof(v) : NAN;
		}
		if (strcmp(k, "seconds") == 0)
			rec->seconds = atof(v);
	}
	bmeq_csv_table_destroy(t);
	if (!rec->status[0] || !rec->sha256[0])
		return bmeq_fail(BMEQ_E_FORMAT, "%s: incomplete scan record", path);
	return BMEQ_OK;
}

static bmeq_status record_write(const char *dir, const bmeq_scan_record *rec)
{
	char path[4200];
	bmeq_csv *w = NULL;
	bmeq_status st;

	if ((st = bmeq_csv_create(&w)) != BMEQ_OK)
		return st;
	kv(w, "key", "value");
	kv(w, "status", "%s", rec->status);
	kv(w, "message", "%s", rec->message);
	kv(w, "sha256", "%s", rec->sha256);
	kv(w, "roi_sha256", "%s", rec->roi_sha256);
	kv(w, "reference_sha256", "%s", rec->reference_sha256);
	kv(w, "params", "%s", rec->params);
	kv(w, "stem", "%s", rec->stem);
	for (int s = 0; s < 2; s++) {
		char key[32];
		const char *side = s ? "left" : "right";
		snprintf(key, sizeof(key), "%s_found", side);
		kv(w, key, "%d", rec->geom[s].found);
		snprintf(key, sizeof(key), "%s_centre", side);
		kv(w, key, "%.4f %.4f %.4f", rec->geom[s].centre[0], rec->geom[s].centre[1],
		   rec->geom[s].centre[2]);
		snprintf(key, sizeof(key), "%s_radius", side);
		kv(w, key, "%.4f", rec->geom[s].radius);
		snprintf(key, sizeof(key), "%s_reason", side);
		kv(w, key, "%s", rec->geom[s].reason);
		snprintf(key, sizeof(key), "%s_status", side);
		kv(w, key, "%s", rec->side_status[s]);
		const double *ml[3] = {rec->edema_ml, rec->edema_ml_low, rec->edema_ml_high};
		static const char *const suffix[3] = {"", "_low", "_high"};
		for (int q = 0; q < 3; q++) {
			snprintf(key, sizeof(key), "%s_edema_ml%s", side, suffix[q]);
			if (isfinite(ml[q][s]))
				kv(w, key, "%.6f", ml[q][s]);
			else
				kv(w, key, "");
		}
	}
	kv(w, "seconds", "%.3f", rec->seconds);
	snprintf(path, sizeof(path), "%s/scan_record.csv", dir);
	st = write_csv(path, w);
	bmeq_csv_destroy(w);
	return st;
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

static int file_exists(const char *dir, const char *stem, const char *suffix)
{
	char path[4400];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s%s", dir, stem, suffix);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A record is reusable when it matches the inputs and parameters and the
 * outputs it promises are there. */
static int reusable(const char *dir, const bmeq_scan_record *old, const bmeq_scan_record *now)
{
	if (strcmp(old->sha256, now->sha256) || strcmp(old->roi_sha256, now->roi_sha256) ||
	    strcmp(old->reference_sha256, now->reference_sha256) || strcmp(old->params, now->params))
		return 0;
	if (!file_exists(dir, "scans.part", ".csv") || !file_exists(dir, "lesions.part", ".csv"))
		return 0;
	if (strcmp(old->status, "ok") == 0)
		return file_exists(dir, old->stem, "_roi.nii.gz") &&
		       file_exists(dir, old->stem, "_edema.nii.gz");
	return 1;
}

/* Writes dir/lesions<suffix>, then dir/scans<suffix>: a scans table on disk
 * means its lesions table is complete too. */
static bmeq_status write_tables(const char *dir, const char *suffix, const bmeq_csv *scans,
				const bmeq_csv *lesions)
{
	char path[4200];
	bmeq_status st;

	snprintf(path, sizeof(path), "%s/lesions%s", dir, suffix);
	if ((st = write_csv(path, lesions)) != BMEQ_OK)
		return st;
	snprintf(path, sizeof(path), "%s/scans%s", dir, suffix);
	return write_csv(path, scans);
}

static bmeq_status write_parts(const char *dir, const bmeq_scan_item *it, const char *message,
			       const bmeq_scan_result *r)
{
	bmeq_csv *scans = NULL, *lesions = NULL;
	bmeq_status st;

	if ((st = bmeq_csv_create(&scans)) != BMEQ_OK || (st = bmeq_csv_create(&lesions)) != BMEQ_OK)
		goto done;
	bmeq_scans_header(scans, NULL);
	bmeq_lesions_header(lesions, NULL);
	if (r) {
		bmeq_scans_rows(scans, it->subject, it->session, it->path, r->edema, NULL);
		bmeq_lesions_rows(lesions, it->subject, it->session, r->edema, NULL);
	} else {
		bmeq_scans_error_rows(scans, it->subject, it->session, it->path, message, NULL);
	}
	st = write_tables(dir, ".part.csv", scans, lesions);
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
	*m = c->opts->measure;
	if (it->threshold_factor > 0.0) {
		m->edema.rule.k = it->threshold_factor;
		m->edema.factor_from_reader = 1;
		snprintf(key, cap, "%.900s;reader_factor=%.17g", c->params, it->threshold_factor);
	} else {
		snprintf(key, cap, "%s", c->params);
	}
}

/* Processes one scan. Returns BMEQ_OK when its outputs are complete (the scan
 * itself may have failed: *failed says so); an output error is fatal for the
 * batch and returned. */
static bmeq_status process_item(batch_ctx *c, const bmeq_scan_item *it, int *failed, int *skipped)
{
	char dir[4096];
	bmeq_scan_record rec, old;
	bmeq_scan_result *r = NULL;
	bmeq_measure_opts mopts;
	bmeq_status st;
	double t0 = bmeq_batch_now();

	*failed = *skipped = 0;
	memset(&rec, 0, sizeof(rec));
	bmeq_batch_scan_dir(c->outdir, it, dir, sizeof(dir));
	if (bmeq_mkdirs(dir) != 0)
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create folder: %s", dir, strerror(errno));
	scan_settings(c, it, &mopts, rec.params, sizeof(rec.params));
	bmeq_scan_stem(it->path, rec.stem, sizeof(rec.stem));
	for (int s = 0; s < 2; s++)
		rec.edema_ml[s] = rec.edema_ml_low[s] = rec.edema_ml_high[s] = NAN;

	st = file_sha(it->path, rec.sha256);
	if (st == BMEQ_OK && (st = file_sha(it->roi, rec.roi_sha256)) != BMEQ_OK)
		bmeq_fail(st, "roi %s: %s", it->roi, bmeq_last_error());
	if (st == BMEQ_OK && (st = file_sha(it->reference, rec.reference_sha256)) != BMEQ_OK)
		bmeq_fail(st, "reference %s: %s", it->reference, bmeq_last_error());
	if (st == BMEQ_OK && c->opts->resume && bmeq_record_read(dir, &old) == BMEQ_OK &&
	    reusable(dir, &old, &rec)) {
		*skipped = 1;
		*failed = strcmp(old.status, "ok") != 0;
		return BMEQ_OK;
	}
	if (st == BMEQ_OK)
		st = bmeq_measure_scan(it->path, it->roi[0] ? it->roi : NULL,
				       it->reference[0] ? it->reference : NULL, &mopts, &r);
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
		for (int s = 0; s < 2; s++) {
			rec.geom[s] = r->geom[s];
			if (s < (int)r->edema->nregions &&
			    strcmp(r->edema->regions[s].side, s ? "left" : "right") == 0) {
				snprintf(rec.side_status[s], sizeof(rec.side_status[s]), "%s",
					 r->edema->regions[s].status);
				rec.edema_ml[s] = r->edema->regions[s].edema_ml;
				rec.edema_ml_low[s] = r->edema->regions[s].edema_ml_low;
				rec.edema_ml_high[s] = r->edema->regions[s].edema_ml_high;
			}
		}
		if ((st = bmeq_scan_write_maps(r, dir, rec.stem)) != BMEQ_OK) {
			bmeq_scan_result_destroy(r);
			return st;
		}
	}
	st = write_parts(dir, it, rec.message, st == BMEQ_OK ? r : NULL);
	bmeq_scan_result_destroy(r);
	if (st != BMEQ_OK)
		return st;
	rec.seconds = bmeq_batch_now() - t0;
	/* Last: the record marks the scan complete. */
	return record_write(dir, &rec);
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
					  bmeq_batch_now() - c->t0);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

/* ---- the study tables ----------------------------------------------------- */

/* Appends the data rows of a part file to w, with the item's extra columns. */
static bmeq_status append_part(bmeq_csv *w, const char *path, const bmeq_study *s,
			       const bmeq_scan_item *it, size_t expect_cols)
{
	bmeq_csv_table *t = NULL;
	bmeq_status st = bmeq_csv_read_file(path, &t);

	if (st != BMEQ_OK)
		return bmeq_fail(st, "%s: %s", path, bmeq_last_error());
	if (t->ncols != expect_cols) {
		bmeq_csv_table_destroy(t);
		return bmeq_fail(BMEQ_E_FORMAT, "%s: unexpected columns", path);
	}
	for (size_t r = 0; r < t->nrows && st == BMEQ_OK; r++) {
		for (size_t col = 0; col < t->ncols; col++)
			bmeq_csv_field(w, bmeq_csv_cell(t, r, (long)col));
		for (size_t e = 0; e < s->nextra; e++)
			bmeq_csv_field(w, it->extra[e]);
		st = bmeq_csv_end_row(w);
	}
	bmeq_csv_table_destroy(t);
	return st;
}

static bmeq_status assemble_tables(const bmeq_study *s, const char *outdir)
{
	bmeq_csv *scans = NULL, *lesions = NULL;
	bmeq_extra_cols ex = {s->nextra, (const char *const *)s->extra_names, NULL};
	char dir[4096], path[4200];
	bmeq_status st;

	if ((st = bmeq_csv_create(&scans)) != BMEQ_OK || (st = bmeq_csv_create(&lesions)) != BMEQ_OK)
		goto done;
	bmeq_scans_header(scans, &ex);
	bmeq_lesions_header(lesions, &ex);
	for (size_t i = 0; i < s->n && st == BMEQ_OK; i++) {
		const bmeq_scan_item *it = &s->items[i];
		bmeq_batch_scan_dir(outdir, it, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/scans.part.csv", dir);
		st = append_part(scans, path, s, it, BMEQ_SCANS_NCOLUMNS);
		if (st == BMEQ_OK) {
			snprintf(path, sizeof(path), "%s/lesions.part.csv", dir);
			st = append_part(lesions, path, s, it, BMEQ_LESIONS_NCOLUMNS);
		}
	}
	if (st != BMEQ_OK)
		goto done;
	st = write_tables(outdir, ".csv", scans, lesions);
done:
	bmeq_csv_destroy(scans);
	bmeq_csv_destroy(lesions);
	return st;
}

/* ---- the run ------------------------------------------------------------ */

static int lock_outdir(const char *outdir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/.bmeq-batch.lock", outdir);
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
	c.t0 = bmeq_batch_now();
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
	if ((st = assemble_tables(study, outdir)) != BMEQ_OK)
		goto done;
	if ((st = bmeq_batch_compare(study, outdir, opts, summary)) != BMEQ_OK)
		goto done;
	summary->seconds = bmeq_batch_now() - c.t0;
	st = bmeq_batch_provenance(study, outdir, opts, c.params, summary);
	if (st == BMEQ_OK) {
		/* Last: the QC pictures and report.html read the finished tables. */
		bmeq_report_opts ro;
		bmeq_report_opts_init(&ro);
		ro.jobs = opts->jobs;
		st = bmeq_report_write(study, outdir, &ro, NULL);
	}
done:
	summary->seconds = bmeq_batch_now() - c.t0;
	pthread_mutex_destroy(&c.lock);
	free(c.todo);
	close(lock_fd);
	return st;
}
