/* import.c - a manifest from a tree of DICOM exports (bmeq/import.h). */
#define _GNU_SOURCE /* strcasestr, FNM_CASEFOLD */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmeq/csv.h"
#include "bmeq/dicom.h"
#include "bmeq/files.h"
#include "bmeq/import.h"
#include "bmeq/path.h"
#include "bmeq/strbuf.h"
#include "bmeq/study.h"

void bmeq_import_rules_init(bmeq_import_rules *r)
{
	r->stir = BMEQ_IMPORT_STIR_DEFAULT;
	r->t1 = BMEQ_IMPORT_T1_DEFAULT;
	r->subject_level = 1;
	r->session_level = 0;
	r->ir_fallback = 1;
}

/* One series found in the tree. */
typedef struct entry {
	char *folder;       /* absolute */
	char *subject;      /* "" when the folder is above the subject level */
	char *session;      /* the folder at the session level, or "" */
	char ref[PATH_MAX + 80]; /* what the manifest's path holds */
	bmeq_dicom_series s;
	int usable;         /* a readable image series */
} entry;

/* A folder whose series could not be listed: unreadable, or the DICOM reader
 * failed or crashed on one of its files. It may hold a visit's series, so it
 * goes to the review table for a person, never silently dropped. */
typedef struct unread {
	char *folder;       /* absolute */
	char *subject;      /* as for an entry; "" above the subject level */
	char *session;      /* the folder at the session level, or "" */
	char *reason;       /* one line */
} unread;

typedef struct entries {
	entry *e;
	size_t n, cap;
	size_t folders;
	unread *u;
	size_t nu, ucap;
} entries;

/* A visit and what the rules made of it. */
typedef struct visit {
	const char *subject;
	char session[BMEQ_DICOM_TEXT];
	char date[16];
	const char *study;  /* study UID, or the session folder */
	size_t *members;    /* indices into entries */
	size_t nmembers;
	const entry *stir, *t1;
	bmeq_strbuf problem, candidates, note;
} visit;

static char *dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* Path components of rel ("a/b/c"): the level-th one (1-based) into out. */
static int component(const char *rel, int level, char *out, size_t cap)
{
	const char *p = rel;
	for (int l = 1; *p; l++) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (l == level) {
			if (n >= cap)
				return 0;
			memcpy(out, p, n);
			out[n] = '\0';
			return 1;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

/* Records dir as a folder that could not be listed, for the review table. */
static bmeq_status add_unread(entries *es, const char *dir, const char *rel,
			      const bmeq_import_rules *r, const char *reason)
{
	if (es->nu == es->ucap) {
		size_t cap = es->ucap ? es->ucap * 2 : 8;
		unread *nu = realloc(es->u, cap * sizeof(*nu));
		if (!nu)
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		es->u = nu;
		es->ucap = cap;
	}
	char sub[256] = "", ses[256] = "";
	component(rel, r->subject_level, sub, sizeof(sub));
	if (r->session_level > 0)
		component(rel, r->session_level, ses, sizeof(ses));
	unread *u = &es->u[es->nu];
	u->folder = dup(dir);
	u->subject = dup(sub);
	u->session = dup(ses);
	u->reason = dup(reason);
	if (!u->folder || !u->subject || !u->session || !u->reason) {
		free(u->folder);
		free(u->subject);
		free(u->session);
		free(u->reason);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	es->nu++;
	return BMEQ_OK;
}

static bmeq_status add_folder(entries *es, const char *dir, const char *rel,
			      const bmeq_import_rules *r)
{
	bmeq_dicom_series *s = NULL;
	size_t n = 0, images = 0;
	bmeq_status st = bmeq_dicom_list(dir, &s, &n, NULL);

	if (st != BMEQ_OK) {
		bmeq_dicom_series_free(s);
		if (st == BMEQ_E_NOMEM)
			return st;
		/* Unreadable, or the reader failed or crashed on one of its
		 * files: its series are unknown, so a person decides. */
		char reason[1024];
		snprintf(reason, sizeof(reason), "%s", bmeq_last_error());
		return add_unread(es, dir, rel, r, reason);
	}
	if (n == 0) {
		bmeq_dicom_series_free(s);
		return BMEQ_OK; /* no DICOM file: not a series folder */
	}
	es->folders++;
	for (size_t i = 0; i < n; i++)
		images += s[i].rows > 0;
	for (size_t i = 0; i < n; i++) {
		if (es->n == es->cap) {
			size_t cap = es->cap ? es->cap * 2 : 64;
			entry *ne = realloc(es->e, cap * sizeof(*ne));
			if (!ne) {
				bmeq_dicom_series_free(s);
				return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			}
			es->e = ne;
			es->cap = cap;
		}
		entry *e = &es->e[es->n];
		memset(e, 0, sizeof(*e));
		char sub[256] = "", ses[256] = "";
		component(rel, r->subject_level, sub, sizeof(sub));
		if (r->session_level > 0)
			component(rel, r->session_level, ses, sizeof(ses));
		e->folder = dup(dir);
		e->subject = dup(sub);
		e->session = dup(ses);
		if (!e->folder || !e->subject || !e->session) {
			free(e->folder);
			free(e->subject);
			free(e->session);
			bmeq_dicom_series_free(s);
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		}
		e->s = s[i];
		e->usable = s[i].rows > 0 && !s[i].problem[0];
		/* The folder alone when it holds one image series; else the series
		 * number when no other series of the folder shares it; else the UID. */
		int unique = s[i].number >= 0;
		for (size_t j = 0; j < n; j++)
			if (j != i && s[j].number == s[i].number)
				unique = 0;
		if (images == 1 && s[i].rows > 0)
			snprintf(e->ref, sizeof(e->ref), "%s", dir);
		else if (unique)
			snprintf(e->ref, sizeof(e->ref), "%s#%ld", dir, s[i].number);
		else
			snprintf(e->ref, sizeof(e->ref), "%s#%s", dir, s[i].uid);
		es->n++;
	}
	bmeq_dicom_series_free(s);
	return BMEQ_OK;
}

/* Depth-first walk; symbolic links to folders are not followed (no loops). */
static bmeq_status walk(entries *es, const char *dir, const char *rel, const bmeq_import_rules *r,
			int depth)
{
	size_t nu = es->nu;
	bmeq_status st = add_folder(es, dir, rel, r);
	if (st != BMEQ_OK)
		return st;
	if (depth > 32)
		return BMEQ_OK;
	DIR *d = opendir(dir);
	if (!d) {
		/* Its subfolders are unknown too; listed once (the listing above
		 * usually failed for the same reason). */
		if (es->nu > nu)
			return BMEQ_OK;
		char reason[600];
		snprintf(reason, sizeof(reason), "cannot read the folder: %s", strerror(errno));
		return add_unread(es, dir, rel, r, reason);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
				break;
			}
			names = nn;
		}
		if (!(names[n] = dup(de->d_name))) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	/* Sorted, so the manifest does not depend on the file system's order. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < n && st == BMEQ_OK; i++) {
		char path[PATH_MAX], sub[PATH_MAX];
		struct stat sb;
		int a = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int b = snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
		int err = 0;
		if (a < 0 || (size_t)a >= sizeof(path) || b < 0 || (size_t)b >= sizeof(sub))
			err = ENAMETOOLONG;
		else if (lstat(path, &sb) != 0)
			err = errno; /* e.g. a folder listed without search permission */
		else if (S_ISDIR(sb.st_mode))
			st = walk(es, path, sub, r, depth + 1);
		if (err && err != ENOENT) {
			/* What it holds, folders or series, cannot be seen. */
			char reason[600];
			snprintf(reason, sizeof(reason), "cannot read %.300s: %s", names[i], strerror(err));
			st = add_unread(es, dir, rel, r, reason);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return st;
}

static int matches(const char *desc, const char *pat)
{
	if (strpbrk(pat, "*?["))
		return fnmatch(pat, desc, FNM_CASEFOLD) == 0;
	return strcasestr(desc, pat) != NULL;
}

/* The next pattern of a comma-separated list into out; 0 at the end. */
static int next_pattern(const char **list, char *out, size_t cap)
{
	const char *p = *list;
	while (*p == ',' || *p == ' ')
		p++;
	if (!*p)
		return 0;
	const char *end = strchr(p, ',');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	*list = end ? end + 1 : p + strlen(p);
	return 1;
}

static void describe(bmeq_strbuf *b, const entry *e)
{
	bmeq_strbuf_printf(b, "%s%ld \"%s\"%s%s%s (%s)", b->len ? "; " : "", e->s.number,
			   e->s.description, e->s.problem[0] ? " [" : "", e->s.problem,
			   e->s.problem[0] ? "]" : "", e->ref);
}

/* Applies one list of patterns to the visit; *out the chosen series. kind
 * names it in the problem text. Returns 1 when the visit needs a person. */
static int choose(const entries *es, visit *v, const char *patterns, const entry *exclude,
		  const char *kind, const entry **out)
{
	char pat[256];
	const char *list = patterns;

	*out = NULL;
	while (next_pattern(&list, pat, sizeof(pat))) {
		const entry *hit = NULL;
		size_t usable = 0, any = 0;
		bmeq_strbuf names = BMEQ_STRBUF_INIT;
		for (size_t i = 0; i < v->nmembers; i++) {
			const entry *e = &es->e[v->members[i]];
			if (e == exclude || e->s.rows == 0 || !matches(e->s.description, pat))
				continue;
			any++;
			describe(&names, e);
			if (e->usable) {
				usable++;
				hit = e;
			}
		}
		if (any == 0) {
			bmeq_strbuf_free(&names);
			continue;
		}
		if (usable == 1 && any == 1) {
			*out = hit;
			bmeq_strbuf_free(&names);
			return 0;
		}
		bmeq_strbuf_printf(&v->problem, "%s%s: %zu series match \"%s\"%s",
				   v->problem.len ? "; " : "", kind, any, pat,
				   usable == any ? "" : " (some cannot be read)");
		bmeq_strbuf_printf(&v->candidates, "%s%s", v->candidates.len ? "; " : "",
				   names.s ? names.s : "");
		bmeq_strbuf_free(&names);
		return 1;
	}
	return 0;
}

static int short_ti_ir(const entry *e)
{
	return e->usable && strstr(e->s.scanning_sequence, "IR") &&
	       e->s.inversion_time_ms >= 80.0 && e->s.inversion_time_ms <= 300.0;
}

static void decide(const entries *es, visit *v, const bmeq_import_rules *r)
{
	if (choose(es, v, r->stir, NULL, "STIR", &v->stir))
		return;
	if (!v->stir && r->ir_fallback) {
		const entry *hit = NULL;
		size_t n = 0;
		bmeq_strbuf names = BMEQ_STRBUF_INIT;
		for (size_t i = 0; i < v->nmembers; i++) {
			const entry *e = &es->e[v->members[i]];
			if (short_ti_ir(e)) {
				n++;
				hit = e;
				describe(&names, e);
			}
		}
		if (n == 1) {
			v->stir = hit;
			bmeq_strbuf_printf(&v->note, "STIR by its sequence (IR, TI %.0f ms)",
					   hit->s.inversion_time_ms);
		} else if (n > 1) {
			bmeq_strbuf_printf(&v->problem,
					   "STIR: no description matches; %zu short-TI inversion-"
					   "recovery series",
					   n);
			bmeq_strbuf_printf(&v->candidates, "%s", names.s ? names.s : "");
			bmeq_strbuf_free(&names);
			return;
		}
		bmeq_strbuf_free(&names);
	}
	if (!v->stir) {
		bmeq_strbuf_printf(&v->problem, "no STIR series (patterns \"%s\"%s)", r->stir,
				   r->ir_fallback ? ", nor a short-TI inversion recovery" : "");
		for (size_t i = 0; i < v->nmembers; i++)
			describe(&v->candidates, &es->e[v->members[i]]);
		return;
	}
	if (r->t1 && r->t1[0])
		choose(es, v, r->t1, v->stir, "T1", &v->t1);
}

static int visit_order(const void *pa, const void *pb)
{
	const visit *a = pa, *b = pb;
	int c = bmeq_natural_compare(a->subject, b->subject);
	return c ? c : bmeq_natural_compare(a->session, b->session);
}

static bmeq_status write_tables(const char *manifest_path, visit *v, size_t nv,
				const entries *es, bmeq_import_summary *sum)
{
	bmeq_csv *m = NULL, *rv = NULL;
	bmeq_status st;
	char review[PATH_MAX];
	size_t len = strlen(manifest_path);

	if (len > 4 && strcmp(manifest_path + len - 4, ".csv") == 0)
		st = bmeq_path(review, sizeof(review), "%.*s_review.csv", (int)(len - 4), manifest_path);
	else
		st = bmeq_path(review, sizeof(review), "%s_review.csv", manifest_path);
	if (st != BMEQ_OK)
		return st;
	if ((st = bmeq_csv_create(&m)) != BMEQ_OK || (st = bmeq_csv_create(&rv)) != BMEQ_OK)
		goto done;
	static const char *const mh[] = {"subject", "session", "path", "date", "t1"};
	static const char *const rh[] = {"subject", "session", "date", "problem", "candidates"};
	if ((st = bmeq_csv_row(m, mh, 5)) != BMEQ_OK || (st = bmeq_csv_row(rv, rh, 5)) != BMEQ_OK)
		goto done;
	for (size_t i = 0; i < nv && st == BMEQ_OK; i++) {
		if (v[i].problem.len) {
			const char *row[] = {v[i].subject, v[i].session, v[i].date, v[i].problem.s,
					     v[i].candidates.s ? v[i].candidates.s : ""};
			st = bmeq_csv_row(rv, row, 5);
			sum->review++;
		} else {
			const char *row[] = {v[i].subject, v[i].session, v[i].stir->ref, v[i].date,
					     v[i].t1 ? v[i].t1->ref : ""};
			st = bmeq_csv_row(m, row, 5);
			sum->written++;
		}
	}
	/* Folders not read, after the visits, in the walk's (sorted) order. */
	for (size_t i = 0; i < es->nu && st == BMEQ_OK; i++) {
		bmeq_strbuf problem = BMEQ_STRBUF_INIT;
		bmeq_strbuf_printf(&problem, "folder not read (its series are unknown): %s",
				   es->u[i].reason);
		if (problem.oom) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		} else {
			const char *row[] = {es->u[i].subject, es->u[i].session, "", problem.s,
					     es->u[i].folder};
			st = bmeq_csv_row(rv, row, 5);
		}
		bmeq_strbuf_free(&problem);
	}
	if (st != BMEQ_OK)
		goto done;
	if ((st = bmeq_csv_write_file(m, manifest_path)) != BMEQ_OK)
		goto done;
	st = bmeq_csv_write_file(rv, review);
done:
	bmeq_csv_destroy(m);
	bmeq_csv_destroy(rv);
	return st;
}

static int safe_label(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

bmeq_status bmeq_import(const char *root, const bmeq_import_rules *rules,
			const char *manifest_path, bmeq_import_summary *sum)
{
	bmeq_import_rules defaults;
	entries es = {0};
	visit *v = NULL;
	size_t nv = 0;
	char abs_root[PATH_MAX];
	bmeq_status st;

	memset(sum, 0, sizeof(*sum));
	if (!rules) {
		bmeq_import_rules_init(&defaults);
		rules = &defaults;
	}
	if (!rules->stir || !rules->stir[0] || rules->subject_level < 1 || rules->session_level < 0)
		return bmeq_fail(BMEQ_E_ARG, "import: STIR patterns must not be empty and folder "
				 "levels start at 1");
	struct stat sb;
	if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode) || !realpath(root, abs_root))
		return bmeq_fail(BMEQ_E_IO, "%s: not a readable folder", root);
	DIR *rd = opendir(abs_root);
	if (!rd)
		return bmeq_fail(BMEQ_E_IO, "%s: cannot read the folder: %s", root, strerror(errno));
	closedir(rd);
	if ((st = walk(&es, abs_root, "", rules, 0)) != BMEQ_OK)
		goto done;
	sum->folders = es.folders;
	sum->series = es.n;
	sum->unreadable = es.nu;
	if (es.nu > 0 && !(sum->unreadable_folders = calloc(es.nu, sizeof(char *)))) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < es.nu; i++) {
		bmeq_strbuf line = BMEQ_STRBUF_INIT;
		bmeq_strbuf_printf(&line, "%s: %s", es.u[i].folder, es.u[i].reason);
		if (line.oom) {
			bmeq_strbuf_free(&line);
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto done;
		}
		sum->unreadable_folders[i] = line.s;
	}
	if (es.n == 0) {
		if (es.nu > 0)
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "%s: no DICOM series in the tree (%zu folder(s) not read; the "
				       "first: %s: %s)",
				       root, es.nu, es.u[0].folder, es.u[0].reason);
		else
			st = bmeq_fail(BMEQ_E_FORMAT, "%s: no DICOM series in the tree", root);
		goto done;
	}
	v = calloc(es.n, sizeof(*v));
	if (!v) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	/* Visits: one subject's study (or session folder). */
	for (size_t i = 0; i < es.n; i++) {
		const entry *e = &es.e[i];
		const char *study = rules->session_level ? e->session : e->s.study_uid;
		size_t k = 0;
		while (k < nv && !(strcmp(v[k].subject, e->subject) == 0 && strcmp(v[k].study, study) == 0))
			k++;
		if (k == nv) {
			v[nv].subject = e->subject;
			v[nv].study = study;
			v[nv].members = calloc(es.n, sizeof(size_t));
			if (!v[nv].members) {
				st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
				goto done;
			}
			const char *d = e->s.study_date;
			if (strlen(d) == 8 && strspn(d, "0123456789") == 8)
				snprintf(v[nv].date, sizeof(v[nv].date), "%.4s-%.2s-%.2s", d, d + 4, d + 6);
			snprintf(v[nv].session, sizeof(v[nv].session), "%s",
				 rules->session_level ? e->session : e->s.study_date);
			nv++;
		}
		v[k].members[v[k].nmembers++] = i;
	}
	sum->visits = nv;
	for (size_t k = 0; k < nv; k++) {
		if (!safe_label(v[k].subject)) {
			bmeq_strbuf_printf(&v[k].problem,
					   v[k].subject[0] ? "subject folder name is not a safe name "
							     "(letters, digits, - _ .)"
							   : "no folder at the subject level (%d) above "
							     "the series",
					   rules->subject_level);
			for (size_t i = 0; i < v[k].nmembers; i++)
				describe(&v[k].candidates, &es.e[v[k].members[i]]);
			continue;
		}
		if (!safe_label(v[k].session)) {
			bmeq_strbuf_printf(&v[k].problem, rules->session_level
								  ? "no safe session folder name at level %d"
								  : "no study date%.0d",
					   rules->session_level);
			for (size_t i = 0; i < v[k].nmembers; i++)
				describe(&v[k].candidates, &es.e[v[k].members[i]]);
			continue;
		}
		/* Two studies of one subject on one date would share a session. */
		for (size_t j = 0; j < nv; j++)
			if (j != k && strcmp(v[j].subject, v[k].subject) == 0 &&
			    strcmp(v[j].session, v[k].session) == 0) {
				bmeq_strbuf_printf(&v[k].problem, "two studies share session %s",
						   v[k].session);
				break;
			}
		if (v[k].problem.len) {
			for (size_t i = 0; i < v[k].nmembers; i++)
				describe(&v[k].candidates, &es.e[v[k].members[i]]);
			continue;
		}
		decide(&es, &v[k], rules);
	}
	qsort(v, nv, sizeof(*v), visit_order);
	st = write_tables(manifest_path, v, nv, &es, sum);
done:
	for (size_t k = 0; k < nv; k++) {
		free(v[k].members);
		bmeq_strbuf_free(&v[k].problem);
		bmeq_strbuf_free(&v[k].candidates);
		bmeq_strbuf_free(&v[k].note);
	}
	free(v);
	for (size_t i = 0; i < es.n; i++) {
		free(es.e[i].folder);
		free(es.e[i].subject);
		free(es.e[i].session);
	}
	free(es.e);
	for (size_t i = 0; i < es.nu; i++) {
		free(es.u[i].folder);
		free(es.u[i].subject);
		free(es.u[i].session);
		free(es.u[i].reason);
	}
	free(es.u);
	return st;
}

void bmeq_import_summary_free(bmeq_import_summary *sum)
{
	if (!sum)
		return;
	for (size_t i = 0; sum->unreadable_folders && i < sum->unreadable; i++)
		free(sum->unreadable_folders[i]);
	free(sum->unreadable_folders);
	sum->unreadable_folders = NULL;
	sum->unreadable = 0;
}
