/* review.c - a reader's sign-off read back from review.csv (bmeq/review.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/csv.h"
#include "bmeq/hip.h"
#include "bmeq/review.h"

struct bmeq_review {
	size_t n;
	bmeq_review_entry *e;
};

static const char *const decision_names[] = {"", "accepted", "needs_correction", "excluded"};

const char *bmeq_review_decision_name(bmeq_review_decision d)
{
	return (unsigned)d < sizeof(decision_names) / sizeof(decision_names[0]) ? decision_names[d]
										: "";
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static void entry_free(bmeq_review_entry *e)
{
	free(e->subject);
	free(e->session);
	free(e->comment);
	free(e->reader);
	free(e->time);
}

void bmeq_review_destroy(bmeq_review *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		entry_free(&r->e[i]);
	free(r->e);
	free(r);
}

size_t bmeq_review_count(const bmeq_review *r)
{
	return r ? r->n : 0;
}

/* YYYY-MM-DDThh:mm, then anything (seconds, zone): what the report's export
 * writes (toISOString) and what a person types. */
static int iso_time(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd";

	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != shape[i])
			return 0;
	}
	return 1;
}

static int in_study(const bmeq_study *s, const char *subject, const char *session)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].subject, subject) == 0 &&
		    strcmp(s->items[i].session, session) == 0)
			return 1;
	return 0;
}

const bmeq_review_entry *bmeq_review_find(const bmeq_review *r, const char *subject,
					  const char *session, int side)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].side == side && strcmp(r->e[i].subject, subject) == 0 &&
		    strcmp(r->e[i].session, session) == 0)
			return &r->e[i];
	return NULL;
}

void bmeq_review_reason(const bmeq_review_entry *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "excluded by reader %s%s%s", e->reader, e->comment[0] ? ": " : "",
		 e->comment);
}

bmeq_status bmeq_review_read(const char *path, const bmeq_study *study, bmeq_review **out)
{
	static const char *const cols[] = {"subject", "session", "side", "decision",
					   "comment", "reader", "time"};
	enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
	bmeq_csv_table *t = NULL;
	bmeq_review *r = NULL;
	long col[NCOLS];
	bmeq_status st;

	*out = NULL;
	if ((st = bmeq_csv_read_file(path, &t)) != BMEQ_OK)
		return bmeq_fail(st, "review %s: %s", path, bmeq_last_error());
	for (int k = 0; k < NCOLS; k++)
		if ((col[k] = bmeq_csv_column(t, cols[k])) < 0) {
			bmeq_csv_table_destroy(t);
			return bmeq_fail(BMEQ_E_FORMAT,
					 "review %s: column \"%s\" is missing (need subject, session, "
					 "side, decision, comment, reader, time)",
					 path, cols[k]);
		}
	if (!(r = calloc(1, sizeof(*r))) || !(r->e = calloc(t->nrows ? t->nrows : 1, sizeof(*r->e)))) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t row = 0; row < t->nrows; row++) {
		const char *v[NCOLS];
		size_t line = t->lines[row];
		for (int k = 0; k < NCOLS; k++)
			v[k] = bmeq_csv_cell(t, row, col[k]);
		int side = bmeq_side_parse(v[2]);
		bmeq_review_decision d = BMEQ_REVIEW_NONE;
		for (int k = 1; k < 4; k++)
			if (strcmp(v[3], decision_names[k]) == 0)
				d = (bmeq_review_decision)k;
		if (!in_study(study, v[0], v[1]))
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "review %s line %zu: subject \"%s\" session \"%s\" is not a scan "
				       "of this study",
				       path, line, v[0], v[1]);
		else if (side == BMEQ_SIDE_NONE)
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "review %s line %zu: side \"%s\" is neither right nor left", path,
				       line, v[2]);
		else if (d == BMEQ_REVIEW_NONE)
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "review %s line %zu: decision \"%s\" is not accepted, "
				       "needs_correction or excluded",
				       path, line, v[3]);
		else if (!v[5][0])
			st = bmeq_fail(BMEQ_E_FORMAT, "review %s line %zu: reader initials are empty",
				       path, line);
		else if (!iso_time(v[6]))
			st = bmeq_fail(BMEQ_E_FORMAT,
				       "review %s line %zu: time \"%s\" is not YYYY-MM-DDThh:mm...", path,
				       line, v[6]);
		if (st != BMEQ_OK)
			goto fail;
		bmeq_review_entry *old = (bmeq_review_entry *)bmeq_review_find(r, v[0], v[1], side);
		if (old) {
			int c = strcmp(v[6], old->time);
			if (c == 0 && d != old->decision) {
				st = bmeq_fail(BMEQ_E_FORMAT,
					       "review %s lines %zu and %zu: %s %s %s has two decisions at "
					       "the same time",
					       path, old->line, line, v[0], v[1], v[2]);
				goto fail;
			}
			if (c <= 0)
				continue; /* the later decision stands */
			entry_free(old);
		} else {
			old = &r->e[r->n++];
		}
		memset(old, 0, sizeof(*old));
		old->side = side;
		old->decision = d;
		old->line = line;
		old->subject = dup_str(v[0]);
		old->session = dup_str(v[1]);
		old->comment = dup_str(v[4]);
		old->reader = dup_str(v[5]);
		old->time = dup_str(v[6]);
		if (!old->subject || !old->session || !old->comment || !old->reader || !old->time) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	bmeq_csv_table_destroy(t);
	*out = r;
	return BMEQ_OK;
fail:
	bmeq_csv_table_destroy(t);
	bmeq_review_destroy(r);
	return st;
}
