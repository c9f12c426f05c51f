/* outdir.c - the output folder's names and the per-scan record (bmeq/outdir.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmeq/csv.h"
#include "bmeq/hip.h"
#include "bmeq/outdir.h"

static const char *const out_names[] = {
	"scans.csv",       "lesions.csv", "response.csv", "response_interval.csv",
	"provenance.json", "report.html", ".bmeq-batch.lock", "shard.csv",
	"shard_study.csv", "study_summary.csv", "figures", "corrections",
};

/* A scan's files: with the stem in front when has_stem. */
static const struct {
	const char *name;
	int has_stem;
} scan_names[] = {
	{"scan_record.csv", 0},
	{"scans.part.csv", 0},
	{"lesions.part.csv", 0},
	{"_roi.nii.gz", 1},
	{"_edema.nii.gz", 1},
	{"_change.nii.gz", 1},
	{"_change_previous.nii.gz", 1},
	{"_qc.png", 1},
	{"_change_qc.png", 1},
	{"_segment.csv", 1},
	{"_candidates.csv", 1},
	{"_slices.png", 1},
	{"_slices_roi.png", 1},
	{"_slices_edema.png", 1},
	{"_slices.csv", 1},
	{"_change_slices.png", 1},
	{"_change_slices_base.png", 1},
	{"_change_slices_fu.png", 1},
	{"_slices_t1.png", 1},
	{"change_record.csv", 0},
	{"change_previous_record.csv", 0},
	{"pictures_record.csv", 0},
};

const char *bmeq_out_name(bmeq_out_file f)
{
	return (unsigned)f < sizeof(out_names) / sizeof(out_names[0]) ? out_names[f] : "";
}

const char *bmeq_scan_file_name(bmeq_scan_file f)
{
	return (unsigned)f < sizeof(scan_names) / sizeof(scan_names[0]) ? scan_names[f].name : "";
}

bmeq_status bmeq_out_path(const char *outdir, bmeq_out_file f, char *buf, size_t cap)
{
	return bmeq_path(buf, cap, "%s/%s", outdir, bmeq_out_name(f));
}

bmeq_status bmeq_out_figure_path(const char *outdir, bmeq_out_figure f, int visit, const char *ext,
				 char *buf, size_t cap, char *name, size_t namecap)
{
	char n[64];

	switch (f) {
	case BMEQ_FIG_WATERFALL: snprintf(n, sizeof(n), "waterfall_visit%d.%s", visit, ext); break;
	case BMEQ_FIG_EDEMA_COURSE: snprintf(n, sizeof(n), "edema_course.%s", ext); break;
	default: snprintf(n, sizeof(n), "response_counts.%s", ext); break;
	}
	if (name)
		snprintf(name, namecap, "%s", n);
	return bmeq_path(buf, cap, "%s/%s/%s", outdir, bmeq_out_name(BMEQ_OUT_FIGURES), n);
}

bmeq_status bmeq_out_label_folder(const char *label, char *buf, size_t cap)
{
	size_t n = strlen(label);

	if (n >= cap)
		return bmeq_fail(BMEQ_E_WRITE, "label \"%.40s...\" is too long for a folder name",
				 label);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)label[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 c == '-' || c == '_' || (c == '.' && i > 0);
		buf[i] = ok ? (char)c : '_';
	}
	buf[n] = '\0';
	return BMEQ_OK;
}

bmeq_status bmeq_out_scan_dir(const char *outdir, const char *subject, const char *session,
			      char *buf, size_t cap)
{
	char sub[BMEQ_PATH_MAX], ses[BMEQ_PATH_MAX];
	bmeq_status st;

	if ((st = bmeq_out_label_folder(subject, sub, sizeof(sub))) != BMEQ_OK ||
	    (st = bmeq_out_label_folder(session, ses, sizeof(ses))) != BMEQ_OK)
		return st;
	if (ses[0])
		return bmeq_path(buf, cap, "%s/%s/%s", outdir, sub, ses);
	return bmeq_path(buf, cap, "%s/%s", outdir, sub);
}

bmeq_status bmeq_scan_path(const char *dir, const char *stem, bmeq_scan_file f, char *buf,
			   size_t cap)
{
	if ((unsigned)f < sizeof(scan_names) / sizeof(scan_names[0]) && scan_names[f].has_stem)
		return bmeq_path(buf, cap, "%s/%s%s", dir, stem, scan_names[f].name);
	return bmeq_path(buf, cap, "%s/%s", dir, bmeq_scan_file_name(f));
}

int bmeq_scan_file_exists(const char *dir, const char *stem, bmeq_scan_file f)
{
	char path[BMEQ_PATH_MAX];
	struct stat sb;

	return bmeq_scan_path(dir, stem, f, path, sizeof(path)) == BMEQ_OK && stat(path, &sb) == 0 &&
	       S_ISREG(sb.st_mode);
}

/* ---- the record ------------------------------------------------------------ */

void bmeq_record_init(bmeq_scan_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	for (int s = 0; s < 2; s++)
		rec->side[s].edema_ml = rec->side[s].edema_ml_low = rec->side[s].edema_ml_high = NAN;
}

/* The record's per-side keys: <side>_<suffix>. */
enum { K_FOUND, K_CENTRE, K_RADIUS, K_REASON, K_STATUS, K_ML, K_ML_LOW, K_ML_HIGH, K_SIDE_KEYS };
static const char *const side_keys[K_SIDE_KEYS] = {
	"found", "centre", "radius", "reason", "status", "edema_ml", "edema_ml_low", "edema_ml_high",
};

static double volume_of(const char *v)
{
	return v[0] ? atof(v) : NAN;
}

static void read_side(bmeq_record_side *d, int key, const char *v)
{
	switch (key) {
	case K_FOUND: d->found = atoi(v); break;
	case K_CENTRE:
		/* A centre that does not read back is no head to draw around. */
		if (sscanf(v, "%lf %lf %lf", &d->centre[0], &d->centre[1], &d->centre[2]) != 3)
			d->found = 0;
		break;
	case K_RADIUS: d->radius = atof(v); break;
	case K_REASON: snprintf(d->reason, sizeof(d->reason), "%s", v); break;
	case K_STATUS: d->status = bmeq_hip_status_parse(v); break;
	case K_ML: d->edema_ml = volume_of(v); break;
	case K_ML_LOW: d->edema_ml_low = volume_of(v); break;
	case K_ML_HIGH: d->edema_ml_high = volume_of(v); break;
	}
}

/* Twelve numbers, rows of [R | d]; 1 when all read and finite. */
static int read_transform(const char *v, double m[3][4])
{
	char *end;

	for (int k = 0; k < 12; k++) {
		m[k / 4][k % 4] = strtod(v, &end);
		if (end == v || !isfinite(m[k / 4][k % 4]))
			return 0;
		v = end;
	}
	while (*v == ' ')
		v++;
	return *v == '\0';
}

bmeq_status bmeq_record_read(const char *dir, bmeq_scan_record *rec)
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv_table *t = NULL;
	bmeq_status st;

	bmeq_record_init(rec);
	if ((st = bmeq_scan_path(dir, "", BMEQ_SCAN_RECORD, path, sizeof(path))) != BMEQ_OK)
		return st;
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
		STR(t1_sha256)
		STR(params)
		STR(stem)
#undef STR
		if (strcmp(k, "seconds") == 0)
			rec->seconds = atof(v);
		if (strcmp(k, "t1") == 0)
			snprintf(rec->t1, sizeof(rec->t1), "%s", v);
		if (strcmp(k, "t1_transform") == 0)
			rec->t1_placed = read_transform(v, rec->t1_transform);
		for (int s = 0; s < 2; s++) {
			size_t n = strlen(bmeq_side_name((bmeq_side)s));
			if (strncmp(k, bmeq_side_name((bmeq_side)s), n) != 0 || k[n] != '_')
				continue;
			for (int q = 0; q < K_SIDE_KEYS; q++)
				if (strcmp(k + n + 1, side_keys[q]) == 0)
					read_side(&rec->side[s], q, v);
		}
	}
	bmeq_csv_table_destroy(t);
	if (!rec->status[0] || !rec->sha256[0])
		return bmeq_fail(BMEQ_E_FORMAT, "%s: incomplete scan record", path);
	return BMEQ_OK;
}

static void kv(bmeq_csv *w, const char *key, const char *fmt, ...)
{
	char val[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	bmeq_csv_field(w, key);
	bmeq_csv_field(w, val);
	bmeq_csv_end_row(w);
}

bmeq_status bmeq_record_write(const char *dir, const bmeq_scan_record *rec)
{
	char path[BMEQ_PATH_MAX];
	bmeq_csv *w = NULL;
	bmeq_status st;

	if ((st = bmeq_scan_path(dir, "", BMEQ_SCAN_RECORD, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_csv_create(&w)) != BMEQ_OK)
		return st;
	kv(w, "key", "value");
	kv(w, "status", "%s", rec->status);
	kv(w, "message", "%s", rec->message);
	kv(w, "sha256", "%s", rec->sha256);
	kv(w, "roi_sha256", "%s", rec->roi_sha256);
	kv(w, "reference_sha256", "%s", rec->reference_sha256);
	if (rec->t1_sha256[0])
		kv(w, "t1_sha256", "%s", rec->t1_sha256);
	kv(w, "params", "%s", rec->params);
	kv(w, "stem", "%s", rec->stem);
	for (int s = 0; s < 2; s++) {
		const bmeq_record_side *d = &rec->side[s];
		const double ml[3] = {d->edema_ml, d->edema_ml_low, d->edema_ml_high};
		char key[32];
		for (int q = 0; q < K_SIDE_KEYS; q++) {
			snprintf(key, sizeof(key), "%s_%s", bmeq_side_name((bmeq_side)s), side_keys[q]);
			switch (q) {
			case K_FOUND: kv(w, key, "%d", d->found); break;
			case K_CENTRE:
				kv(w, key, "%.4f %.4f %.4f", d->centre[0], d->centre[1], d->centre[2]);
				break;
			case K_RADIUS: kv(w, key, "%.4f", d->radius); break;
			case K_REASON: kv(w, key, "%s", d->reason); break;
			case K_STATUS: kv(w, key, "%s", bmeq_hip_status_name(d->status)); break;
			default:
				if (isfinite(ml[q - K_ML]))
					kv(w, key, "%.6f", ml[q - K_ML]);
				else
					kv(w, key, "%s", "");
				break;
			}
		}
	}
	kv(w, "seconds", "%.3f", rec->seconds);
	if (rec->t1_placed) {
		const double(*m)[4] = rec->t1_transform;
		bmeq_csv_field(w, "t1"); /* a path may be longer than kv's buffer */
		bmeq_csv_field(w, rec->t1);
		bmeq_csv_end_row(w);
		kv(w, "t1_transform", "%.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g",
		   m[0][0], m[0][1], m[0][2], m[0][3], m[1][0], m[1][1], m[1][2], m[1][3], m[2][0],
		   m[2][1], m[2][2], m[2][3]);
	}
	st = bmeq_csv_write_file(w, path);
	bmeq_csv_destroy(w);
	return st;
}

bmeq_status bmeq_record_param(const bmeq_scan_record *rec, const char *name, char *buf,
			      size_t cap)
{
	size_t n = strlen(name);

	if (cap)
		buf[0] = '\0';
	for (const char *p = rec->params; *p;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			snprintf(buf, cap, "%.*s", (int)(len - n - 1), p + n + 1);
			return BMEQ_OK;
		}
		p += len + (end ? 1 : 0);
	}
	return bmeq_fail(BMEQ_E_FORMAT, "the scan's parameters have no %s", name);
}
