/* study.c - the scans of a study from a manifest or a BIDS-like folder. */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmeq/outdir.h"
#include "bmeq/path.h"
#include "bmeq/csv.h"
#include "bmeq/study.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static void item_free(bmeq_scan_item *it, size_t nextra)
{
	free(it->subject);
	free(it->session);
	free(it->path);
	free(it->date);
	free(it->roi);
	free(it->reference);
	free(it->t1);
	if (it->extra)
		for (size_t e = 0; e < nextra; e++)
			free(it->extra[e]);
	free(it->extra);
}

void bmeq_study_destroy(bmeq_study *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		item_free(&s->items[i], s->nextra);
	free(s->items);
	for (size_t e = 0; e < s->nextra; e++)
		free(s->extra_names[e]);
	free(s->extra_names);
	for (size_t w = 0; w < s->nwarnings; w++)
		free(s->warnings[w]);
	free(s->warnings);
	free(s);
}

int bmeq_natural_compare(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			/* Compare digit runs by value: skip leading zeros, then length. */
			const char *a0 = a, *b0 = b;
			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			const char *as = a, *bs = b;
			while (isdigit((unsigned char)*a))
				a++;
			while (isdigit((unsigned char)*b))
				b++;
			size_t la = (size_t)(a - as), lb = (size_t)(b - bs);
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = memcmp(as, bs, la);
			if (c)
				return c;
			/* "01" and "1" are equal in value: order by run length for a total order. */
			if ((a - a0) != (b - b0))
				return (a - a0) < (b - b0) ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int bmeq_visit_compare(const bmeq_scan_item *a, const bmeq_scan_item *b)
{
	if (a->date[0] && b->date[0]) {
		int c = strcmp(a->date, b->date);
		if (c)
			return c;
	}
	return bmeq_natural_compare(a->session, b->session);
}

static int item_order(const void *pa, const void *pb)
{
	const bmeq_scan_item *a = pa, *b = pb;
	int c = bmeq_natural_compare(a->subject, b->subject);

	if (c)
		return c;
	c = bmeq_visit_compare(a, b);
	if (c)
		return c;
	return strcmp(a->path, b->path);
}

static bmeq_status add_warning(bmeq_study *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	char **w;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w = realloc(s->warnings, (s->nwarnings + 1) * sizeof(*w));
	if (!w)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	s->warnings = w;
	if (!(w[s->nwarnings] = dup_str(buf)))
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	s->nwarnings++;
	return BMEQ_OK;
}

/* A subject or session label, kept exactly as given (tables never change
 * one; bmeq_out_label_folder names its folder): at most 64 bytes, no control
 * characters. */
static int label_ok(const char *s, int allow_empty)
{
	size_t n = strlen(s);

	if (n == 0)
		return allow_empty;
	if (n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Two labels that name one output folder ("HIP 7" and "HIP_7") would write
 * into each other's folder: refused, naming both. Subjects study-wide,
 * sessions within their subject; items are sorted by subject. */
static int folder_of(const char *label, char *buf, size_t cap)
{
	return bmeq_out_label_folder(label, buf, cap) == BMEQ_OK;
}

static bmeq_status folder_clash(const bmeq_scan_item *a, const bmeq_scan_item *b, int sessions)
{
	const char *what = sessions ? "session" : "subject";
	const char *la = sessions ? a->session : a->subject, *lb = sessions ? b->session : b->subject;

	if (a->line && b->line)
		return bmeq_fail(BMEQ_E_FORMAT,
				 "lines %zu and %zu: %s \"%s\" and \"%s\" would share one output "
				 "folder; rename one",
				 a->line < b->line ? a->line : b->line,
				 a->line < b->line ? b->line : a->line, what, la, lb);
	return bmeq_fail(BMEQ_E_FORMAT, "%s \"%s\" and \"%s\" would share one output folder", what,
			 la, lb);
}

static int first_of_subject(const bmeq_study *s, size_t i)
{
	return i == 0 || strcmp(s->items[i].subject, s->items[i - 1].subject) != 0;
}

static bmeq_status check_folders(const bmeq_study *s)
{
	char fa[80], fb[80]; /* labels are at most 64 bytes */

	for (size_t i = 0; i < s->n; i++) {
		const bmeq_scan_item *a = &s->items[i];
		/* Subjects pairwise (a study's subjects are few next to the
		 * work of measuring one scan), sessions within their subject. */
		if (first_of_subject(s, i) && folder_of(a->subject, fa, sizeof(fa)))
			for (size_t j = i + 1; j < s->n; j++)
				if (first_of_subject(s, j) &&
				    folder_of(s->items[j].subject, fb, sizeof(fb)) && strcmp(fa, fb) == 0)
					return folder_clash(a, &s->items[j], 0);
		if (!folder_of(a->session, fa, sizeof(fa)))
			continue;
		for (size_t j = i + 1; j < s->n && !first_of_subject(s, j); j++)
			if (strcmp(a->session, s->items[j].session) != 0 &&
			    folder_of(s->items[j].session, fb, sizeof(fb)) && strcmp(fa, fb) == 0)
				return folder_clash(a, &s->items[j], 1);
	}
	return BMEQ_OK;
}

static bmeq_status check_duplicates(const bmeq_study *s)
{
	for (size_t i = 1; i < s->n; i++) {
		const bmeq_scan_item *a = &s->items[i - 1], *b = &s->items[i];
		if (strcmp(a->subject, b->subject) == 0 && strcmp(a->session, b->session) == 0) {
			if (a->line && b->line)
				return bmeq_fail(BMEQ_E_FORMAT,
						 "lines %zu and %zu: subject %s session %s appears twice",
						 a->line < b->line ? a->line : b->line,
						 a->line < b->line ? b->line : a->line, a->subject,
						 a->session);
			return bmeq_fail(BMEQ_E_FORMAT,
					 "subject %s session %s has two scans (%s and %s): choose one "
					 "with --pattern",
					 a->subject, a->session, a->path, b->path);
		}
	}
	return BMEQ_OK;
}

/* A study path that does not fit is an input error (exit 3), with
 * bmeq_path's message. */
static bmeq_status input_path_error(void)
{
	return bmeq_fail(BMEQ_E_IO, "%s", bmeq_last_error());
}

static char *resolve(const char *base_dir, const char *p)
{
	if (p[0] == '/' || !base_dir[0])
		return dup_str(p);
	size_t n = strlen(base_dir) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", base_dir, p);
	return r;
}

bmeq_status bmeq_threshold_factor_parse(const char *text, double *k)
{
	char *end;
	double v;

	if (!text || !k)
		return bmeq_fail(BMEQ_E_ARG, "threshold factor: NULL argument");
	while (isspace((unsigned char)*text))
		text++;
	errno = 0;
	v = strtod(text, &end);
	if (end == text)
		return bmeq_fail(BMEQ_E_ARG, "\"%s\" is not a number", text);
	while (isspace((unsigned char)*end))
		end++;
	if (*end || errno == ERANGE || !isfinite(v))
		return bmeq_fail(BMEQ_E_ARG, "\"%s\" is not a number", text);
	if (!(v > 0.0 && v <= BMEQ_THRESHOLD_FACTOR_MAX))
		return bmeq_fail(BMEQ_E_ARG, "%s is out of range (needs 0 < factor <= %g)", text,
				 BMEQ_THRESHOLD_FACTOR_MAX);
	*k = v;
	return BMEQ_OK;
}

bmeq_status bmeq_study_from_manifest(const char *csv_path, bmeq_study **out)
{
	static const char *const known[] = {"subject", "session", "path", "date",
					    "roi", "reference", "threshold_factor", "t1"};
	enum { NKNOWN = sizeof(known) / sizeof(known[0]) };
	bmeq_csv_table *t = NULL;
	bmeq_study *s = NULL;
	long col[NKNOWN];
	char *base_dir = NULL;
	bmeq_status st;

	*out = NULL;
	if ((st = bmeq_csv_read_file(csv_path, &t)) != BMEQ_OK)
		return bmeq_fail(st, "manifest: %s", bmeq_last_error());
	for (int k = 0; k < NKNOWN; k++)
		col[k] = bmeq_csv_column(t, known[k]);
	for (int k = 0; k < 3; k++)
		if (col[k] < 0) {
			bmeq_csv_table_destroy(t);
			return bmeq_fail(BMEQ_E_FORMAT,
					 "manifest: required column \"%s\" is missing (need subject, "
					 "session, path)",
					 known[k]);
		}
	s = calloc(1, sizeof(*s));
	base_dir = dup_str(csv_path);
	if (!s || !base_dir) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	char *slash = strrchr(base_dir, '/');
	if (slash)
		*slash = '\0';
	else
		base_dir[0] = '\0';
	for (size_t c = 0; c < t->ncols; c++) {
		int is_known = 0;
		for (int k = 0; k < NKNOWN; k++)
			is_known |= col[k] == (long)c;
		if (!is_known)
			s->nextra++;
	}
	s->extra_names = calloc(s->nextra ? s->nextra : 1, sizeof(char *));
	s->items = calloc(t->nrows ? t->nrows : 1, sizeof(*s->items));
	if (!s->extra_names || !s->items) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	long *extra_cols = calloc(s->nextra ? s->nextra : 1, sizeof(long));
	if (!extra_cols) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t c = 0, e = 0; c < t->ncols; c++) {
		int is_known = 0;
		for (int k = 0; k < NKNOWN; k++)
			is_known |= col[k] == (long)c;
		if (!is_known) {
			extra_cols[e] = (long)c;
			s->extra_names[e++] = dup_str(t->header[c]);
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		bmeq_scan_item *it = &s->items[s->n];
		const char *subject = bmeq_csv_cell(t, r, col[0]);
		const char *session = bmeq_csv_cell(t, r, col[1]);
		const char *path = bmeq_csv_cell(t, r, col[2]);
		s->n++;
		it->line = t->lines[r];
		if (!label_ok(subject, 0)) {
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "manifest line %zu: subject \"%s\" is empty, longer than 64 "
				       "bytes or holds a control character",
				       it->line, subject);
			break;
		}
		if (!label_ok(session, 1)) {
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "manifest line %zu: session \"%s\" is longer than 64 bytes or "
				       "holds a control character",
				       it->line, session);
			break;
		}
		if (!path[0]) {
			st = bmeq_fail(BMEQ_E_FORMAT, "manifest line %zu: path is empty", it->line);
			break;
		}
		const char *roi = col[4] >= 0 ? bmeq_csv_cell(t, r, col[4]) : "";
		const char *ref = col[5] >= 0 ? bmeq_csv_cell(t, r, col[5]) : "";
		const char *factor = col[6] >= 0 ? bmeq_csv_cell(t, r, col[6]) : "";
		const char *t1 = col[7] >= 0 ? bmeq_csv_cell(t, r, col[7]) : "";
		/* Empty (or blank) means automatic; anything else must be a
		 * factor, so a typo never silently falls back to the automatic
		 * threshold. */
		it->threshold_factor = 0.0;
		if (strspn(factor, " \t") < strlen(factor) &&
		    bmeq_threshold_factor_parse(factor, &it->threshold_factor) != BMEQ_OK) {
			st = bmeq_fail(BMEQ_E_FORMAT, "manifest line %zu: threshold_factor %s", it->line,
				       bmeq_last_error());
			break;
		}
		it->subject = dup_str(subject);
		it->session = dup_str(session);
		it->path = resolve(base_dir, path);
		it->date = dup_str(col[3] >= 0 ? bmeq_csv_cell(t, r, col[3]) : "");
		it->roi = roi[0] ? resolve(base_dir, roi) : dup_str("");
		it->reference = ref[0] ? resolve(base_dir, ref) : dup_str("");
		it->t1 = t1[0] ? resolve(base_dir, t1) : dup_str("");
		it->extra = calloc(s->nextra ? s->nextra : 1, sizeof(char *));
		if (!it->subject || !it->session || !it->path || !it->date || !it->roi ||
		    !it->reference || !it->t1 || !it->extra) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			break;
		}
		for (size_t e = 0; e < s->nextra; e++)
			if (!(it->extra[e] = dup_str(bmeq_csv_cell(t, r, extra_cols[e])))) {
				st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
				break;
			}
		if (st != BMEQ_OK)
			break;
	}
	free(extra_cols);
	if (st == BMEQ_OK && s->n == 0)
		st = bmeq_fail(BMEQ_E_FORMAT, "manifest lists no scans");
	if (st != BMEQ_OK)
		goto fail;
	qsort(s->items, s->n, sizeof(*s->items), item_order);
	if ((st = check_duplicates(s)) != BMEQ_OK || (st = check_folders(s)) != BMEQ_OK)
		goto fail;
	bmeq_csv_table_destroy(t);
	free(base_dir);
	*out = s;
	return BMEQ_OK;
fail:
	bmeq_csv_table_destroy(t);
	free(base_dir);
	bmeq_study_destroy(s);
	return st;
}

/* ---- discovery --------------------------------------------------------- */

static int is_nifti_name(const char *n)
{
	static const char *const ext[] = {".nii", ".nii.gz", ".hdr", ".hdr.gz"};
	size_t len = strlen(n);

	for (size_t i = 0; i < 4; i++) {
		size_t e = strlen(ext[i]);
		if (len > e && strcmp(n + len - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

/* A real folder (not a symbolic link to one, so discovery cannot loop). */
static int is_real_dir(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bmeq_status add_item(bmeq_study *s, size_t *cap, const char *subject, const char *session,
			    const char *path)
{
	if (s->n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		bmeq_scan_item *it = realloc(s->items, c * sizeof(*it));
		if (!it)
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		s->items = it;
		*cap = c;
	}
	bmeq_scan_item *it = &s->items[s->n];
	memset(it, 0, sizeof(*it));
	s->n++;
	it->subject = dup_str(subject);
	it->session = dup_str(session);
	it->path = dup_str(path);
	it->date = dup_str("");
	it->roi = dup_str("");
	it->reference = dup_str("");
	it->t1 = dup_str("");
	it->extra = calloc(1, sizeof(char *));
	if (!it->subject || !it->session || !it->path || !it->date || !it->roi || !it->reference ||
	    !it->t1 || !it->extra)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	return BMEQ_OK;
}

/* Lists the entries of dir not starting with '.', in file-system order (the
 * study's items are sorted once found, so discovery order never depends on
 * the file system). A folder that cannot be opened gives no entries and
 * *err = errno (else 0); the caller decides what that means. */
static bmeq_status list_dir(const char *dir, char ***names, size_t *n, int *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	*err = d ? 0 : errno;
	if (!d)
		return BMEQ_OK;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(*names, cap * sizeof(char *));
			if (!nn) {
				closedir(d);
				return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			}
			*names = nn;
		}
		if (!((*names)[*n] = dup_str(e->d_name))) {
			closedir(d);
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		}
		(*n)++;
	}
	closedir(d);
	return BMEQ_OK;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A folder of the study that cannot be read may hide scans: it becomes an
 * item of its own whose path is the folder, so the batch gives it an error row
 * with the system's reason instead of leaving the visit out unnoticed. */
static bmeq_status unreadable(bmeq_study *s, size_t *cap, const char *subject, const char *session,
			      const char *dir, int err)
{
	bmeq_status st = add_warning(s, "%s: cannot read folder: %s", dir, strerror(err));
	return st != BMEQ_OK ? st : add_item(s, cap, subject, session, dir);
}

/* 1 when path exists (as anything), 0 when it does not, -1 (errno set) when
 * that cannot be told, e.g. a parent folder is not searchable. */
static int exists(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

/* The visit's T1 beside its STIR: the one file of the anat folder matching
 * t1_pattern. Several are ambiguous: a warning, and none is used. */
static bmeq_status find_t1(bmeq_study *s, const char *anat, char **names, size_t n,
			   const char *t1_pattern, char **t1)
{
	const char *found = NULL;
	size_t count = 0;

	*t1 = NULL;
	for (size_t i = 0; i < n; i++)
		if (is_nifti_name(names[i]) && fnmatch(t1_pattern, names[i], 0) == 0) {
			found = names[i];
			count++;
		}
	if (count > 1)
		return add_warning(s, "%s: %zu files match the T1 pattern \"%s\"; no T1 used for "
				      "this visit (name it in a manifest's t1 column)",
				   anat, count, t1_pattern);
	if (count == 1) {
		char path[BMEQ_PATH_MAX];
		if (bmeq_path(path, sizeof(path), "%s/%s", anat, found) != BMEQ_OK)
			return input_path_error();
		if (!(*t1 = dup_str(path)))
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	return BMEQ_OK;
}

static bmeq_status scan_anat(bmeq_study *s, size_t *cap, const char *anat, const char *subject,
			     const char *session, const char *pattern, const char *t1_pattern)
{
	char **names;
	size_t n;
	int err;
	bmeq_status st = list_dir(anat, &names, &n, &err);

	if (st != BMEQ_OK)
		return st;
	if (err)
		return unreadable(s, cap, subject, session, anat, err);
	for (size_t i = 0; i < n && st == BMEQ_OK; i++) {
		if (!is_nifti_name(names[i]) || fnmatch(pattern, names[i], 0) != 0)
			continue;
		/* The pattern picking the scans must not pick the T1 too. */
		if (t1_pattern && fnmatch(t1_pattern, names[i], 0) == 0)
			continue;
		char path[BMEQ_PATH_MAX], *t1 = NULL;
		if ((st = bmeq_path(path, sizeof(path), "%s/%s", anat, names[i])) != BMEQ_OK)
			st = input_path_error();
		else
			st = add_item(s, cap, subject, session, path);
		if (st == BMEQ_OK && t1_pattern)
			st = find_t1(s, anat, names, n, t1_pattern, &t1);
		if (t1) {
			free(s->items[s->n - 1].t1);
			s->items[s->n - 1].t1 = t1;
		}
	}
	free_names(names, n);
	return st;
}

bmeq_status bmeq_study_discover(const char *dir, const char *pattern, const char *t1_pattern,
				bmeq_study **out)
{
	bmeq_study *s = calloc(1, sizeof(*s));
	char **subs = NULL;
	size_t nsubs = 0, cap = 0;
	bmeq_status st;

	*out = NULL;
	if (!s)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	if (!pattern)
		pattern = "*acq-STIR*";
	if (!is_real_dir(dir)) {
		bmeq_study_destroy(s);
		return bmeq_fail(BMEQ_E_IO, "%s: not a folder", dir);
	}
	int err;
	st = list_dir(dir, &subs, &nsubs, &err);
	if (st == BMEQ_OK && err)
		st = add_warning(s, "%s: cannot read folder: %s", dir, strerror(err));
	for (size_t i = 0; i < nsubs && st == BMEQ_OK; i++) {
		char sub_dir[BMEQ_PATH_MAX];
		if (strncmp(subs[i], "sub-", 4) != 0 || !subs[i][4])
			continue;
		if (bmeq_path(sub_dir, sizeof(sub_dir), "%s/%s", dir, subs[i]) != BMEQ_OK) {
			st = input_path_error();
			break;
		}
		if (!is_real_dir(sub_dir))
			continue;
		if (!label_ok(subs[i], 0)) {
			st = add_warning(s, "%s: subject folder name is longer than 64 bytes or holds a "
					 "control character; skipped", sub_dir);
			continue;
		}
		char **sess;
		size_t nsess;
		if ((st = list_dir(sub_dir, &sess, &nsess, &err)) != BMEQ_OK)
			break;
		if (err) {
			st = unreadable(s, &cap, subs[i], "", sub_dir, err);
			continue;
		}
		for (size_t j = 0; j < nsess && st == BMEQ_OK; j++) {
			char path[BMEQ_PATH_MAX];
			if (bmeq_path(path, sizeof(path), "%s/%s", sub_dir, sess[j]) != BMEQ_OK) {
				st = input_path_error();
				break;
			}
			if (!is_real_dir(path))
				continue;
			if (strcmp(sess[j], "anat") == 0) {
				st = scan_anat(s, &cap, path, subs[i], "", pattern, t1_pattern);
			} else if (strncmp(sess[j], "ses-", 4) == 0 && sess[j][4] &&
				   label_ok(sess[j], 0)) {
				char anat[BMEQ_PATH_MAX];
				int e = bmeq_path(anat, sizeof(anat), "%s/anat", path) == BMEQ_OK ? exists(anat) : -2;
				if (e == -2)
					st = input_path_error();
				else if (e < 0)
					st = unreadable(s, &cap, subs[i], sess[j], path, errno);
				else if (e > 0 && is_real_dir(anat))
					st = scan_anat(s, &cap, anat, subs[i], sess[j], pattern,
						       t1_pattern);
			}
		}
		free_names(sess, nsess);
	}
	free_names(subs, nsubs);
	if (st == BMEQ_OK && s->n == 0)
		st = bmeq_fail(BMEQ_E_IO,
			       "%s: no scans found (expected sub-*/ses-*/anat/ files matching \"%s\")",
			       dir, pattern);
	if (st == BMEQ_OK) {
		qsort(s->items, s->n, sizeof(*s->items), item_order);
		if ((st = check_duplicates(s)) == BMEQ_OK)
			st = check_folders(s);
	}
	if (st != BMEQ_OK) {
		bmeq_study_destroy(s);
		return st;
	}
	*out = s;
	return BMEQ_OK;
}
