/* csv.c - RFC 4180 writer and strict reader. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/csv.h"
#include "bmeq/files.h"
#include "bmeq/strbuf.h"

struct bmeq_csv {
	bmeq_strbuf b;
	int row_open; /* a field was written in the current row */
	int lost;     /* an append failed: the text is incomplete */
};

bmeq_status bmeq_csv_create(bmeq_csv **out)
{
	bmeq_csv *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
	/* The text is "" (not NULL) from the start. */
	if (bmeq_strbuf_add(&w->b, "", 0) != BMEQ_OK) {
		free(w);
		return bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
	}
	*out = w;
	return BMEQ_OK;
}

void bmeq_csv_destroy(bmeq_csv *w)
{
	if (!w)
		return;
	bmeq_strbuf_free(&w->b);
	free(w);
}

static bmeq_status append(bmeq_csv *w, const char *s, size_t n)
{
	if (bmeq_strbuf_add(&w->b, s, n) != BMEQ_OK) {
		w->lost = 1;
		return bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
	}
	return BMEQ_OK;
}

static int needs_quotes(const char *s)
{
	size_t n = strlen(s);

	if (n && (s[0] == ' ' || s[n - 1] == ' '))
		return 1;
	return strpbrk(s, ",\"\r\n") != NULL;
}

bmeq_status bmeq_csv_field(bmeq_csv *w, const char *s)
{
	bmeq_status st;

	if (!s)
		s = "";
	if (w->row_open && (st = append(w, ",", 1)) != BMEQ_OK)
		return st;
	w->row_open = 1;
	if (!needs_quotes(s))
		return append(w, s, strlen(s));
	if ((st = append(w, "\"", 1)) != BMEQ_OK)
		return st;
	for (const char *p = s; *p; p++) {
		if (*p == '"' && (st = append(w, "\"", 1)) != BMEQ_OK)
			return st;
		if ((st = append(w, p, 1)) != BMEQ_OK)
			return st;
	}
	return append(w, "\"", 1);
}

bmeq_status bmeq_csv_number(bmeq_csv *w, double v, int decimals)
{
	char tmp[64];

	if (!isfinite(v))
		return bmeq_csv_field(w, "");
	if (decimals < 0)
		decimals = 0;
	if (decimals > 12)
		decimals = 12;
	snprintf(tmp, sizeof(tmp), "%.*f", decimals, v);
	/* "-0.000" and "0.000" are the same number: write one form. */
	if (tmp[0] == '-' && strspn(tmp + 1, "0.") == strlen(tmp + 1))
		memmove(tmp, tmp + 1, strlen(tmp));
	return bmeq_csv_field(w, tmp);
}

bmeq_status bmeq_csv_int(bmeq_csv *w, long long v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%lld", v);
	return bmeq_csv_field(w, tmp);
}

bmeq_status bmeq_csv_end_row(bmeq_csv *w)
{
	w->row_open = 0;
	return append(w, "\r\n", 2);
}

bmeq_status bmeq_csv_row(bmeq_csv *w, const char *const *fields, size_t n)
{
	bmeq_status st;

	for (size_t i = 0; i < n; i++)
		if ((st = bmeq_csv_field(w, fields[i])) != BMEQ_OK)
			return st;
	return bmeq_csv_end_row(w);
}

const char *bmeq_csv_text(const bmeq_csv *w, size_t *len)
{
	if (len)
		*len = w->b.len;
	return w->b.s;
}

bmeq_status bmeq_csv_write_file(const bmeq_csv *w, const char *path)
{
	if (w->lost)
		return bmeq_fail(BMEQ_E_NOMEM, "%s: out of memory while the table was built; not written",
				 path);
	return bmeq_write_file_atomic(path, w->b.s, w->b.len);
}

/* ---- reading ---- */

typedef struct parser {
	const char *s;
	size_t n, i;
	size_t line;
	/* fields of the current row, as offsets into the `text` arena */
	char *text;
	size_t text_len, text_cap;
	size_t *starts;
	size_t nfields, fields_cap;
} parser;

static bmeq_status put_char(parser *p, char c)
{
	if (p->text_len + 1 >= p->text_cap) {
		size_t cap = p->text_cap ? p->text_cap * 2 : 1024;
		char *t = realloc(p->text, cap);
		if (!t)
			return bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
		p->text = t;
		p->text_cap = cap;
	}
	p->text[p->text_len++] = c;
	return BMEQ_OK;
}

static bmeq_status start_field(parser *p)
{
	if (p->nfields == p->fields_cap) {
		size_t cap = p->fields_cap ? p->fields_cap * 2 : 16;
		size_t *f = realloc(p->starts, cap * sizeof(*f));
		if (!f)
			return bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
		p->starts = f;
		p->fields_cap = cap;
	}
	p->starts[p->nfields++] = p->text_len;
	return BMEQ_OK;
}

/* Parses one record starting at p->i into the field arena. *eof set when the
 * input is exhausted before any character of a record. */
static bmeq_status parse_record(parser *p, int *eof)
{
	bmeq_status st;

	p->nfields = 0;
	p->text_len = 0;
	/* Skip blank lines. */
	while (p->i < p->n && (p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
		if (p->s[p->i] == '\n')
			p->line++;
		p->i++;
	}
	if (p->i >= p->n) {
		*eof = 1;
		return BMEQ_OK;
	}
	*eof = 0;
	for (;;) {
		if ((st = start_field(p)) != BMEQ_OK)
			return st;
		if (p->i < p->n && p->s[p->i] == '"') {
			size_t open_line = p->line;
			p->i++;
			for (;;) {
				if (p->i >= p->n)
					return bmeq_fail(BMEQ_E_FORMAT, "line %zu: unterminated quoted field",
							 open_line);
				char c = p->s[p->i++];
				if (c == '"') {
					if (p->i < p->n && p->s[p->i] == '"') {
						p->i++;
					} else {
						break;
					}
				} else if (c == '\0') {
					return bmeq_fail(BMEQ_E_FORMAT, "line %zu: NUL byte", p->line);
				} else if (c == '\n') {
					p->line++;
				}
				if ((st = put_char(p, c)) != BMEQ_OK)
					return st;
			}
			if (p->i < p->n && p->s[p->i] != ',' && p->s[p->i] != '\n' &&
			    p->s[p->i] != '\r')
				return bmeq_fail(BMEQ_E_FORMAT, "line %zu: text after a closing quote",
						 p->line);
		} else {
			while (p->i < p->n && p->s[p->i] != ',' && p->s[p->i] != '\n' &&
			       p->s[p->i] != '\r') {
				char c = p->s[p->i++];
				if (c == '"')
					return bmeq_fail(BMEQ_E_FORMAT,
							 "line %zu: quote inside an unquoted field", p->line);
				if (c == '\0')
					return bmeq_fail(BMEQ_E_FORMAT, "line %zu: NUL byte", p->line);
				if ((st = put_char(p, c)) != BMEQ_OK)
					return st;
			}
		}
		if ((st = put_char(p, '\0')) != BMEQ_OK)
			return st;
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		/* End of record: CRLF, LF, lone CR or end of input. */
		if (p->i < p->n && p->s[p->i] == '\r')
			p->i++;
		if (p->i < p->n && p->s[p->i] == '\n')
			p->i++;
		p->line++;
		return BMEQ_OK;
	}
}

static char *dup_trimmed(const char *s, int trim)
{
	size_t a = 0, b = strlen(s);
	char *d;

	if (trim) {
		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
	}
	d = malloc(b - a + 1);
	if (d) {
		memcpy(d, s + a, b - a);
		d[b - a] = '\0';
	}
	return d;
}

void bmeq_csv_table_destroy(bmeq_csv_table *t)
{
	if (!t)
		return;
	if (t->header)
		for (size_t c = 0; c < t->ncols; c++)
			free(t->header[c]);
	if (t->cells)
		for (size_t i = 0; i < t->nrows * t->ncols; i++)
			free(t->cells[i]);
	free(t->header);
	free(t->cells);
	free(t->lines);
	free(t);
}

bmeq_status bmeq_csv_parse(const char *text, size_t n, bmeq_csv_table **out)
{
	parser p = {0};
	bmeq_csv_table *t = NULL;
	size_t rows_cap = 0;
	bmeq_status st = BMEQ_OK;
	int eof;

	*out = NULL;
	p.s = text;
	p.n = n;
	p.line = 1;
	if (n >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
	    (unsigned char)text[2] == 0xBF)
		p.i = 3;
	t = calloc(1, sizeof(*t));
	if (!t)
		return bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
	st = parse_record(&p, &eof);
	if (st != BMEQ_OK)
		goto fail;
	if (eof) {
		st = bmeq_fail(BMEQ_E_FORMAT, "empty file (no header row)");
		goto fail;
	}
	t->ncols = p.nfields;
	t->header = calloc(t->ncols, sizeof(char *));
	if (!t->header) {
		st = bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
		goto fail;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		t->header[c] = dup_trimmed(p.text + p.starts[c], 1);
		if (!t->header[c]) {
			st = bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
			goto fail;
		}
		if (!t->header[c][0]) {
			st = bmeq_fail(BMEQ_E_FORMAT, "line 1: column %zu has an empty name", c + 1);
			goto fail;
		}
		for (size_t d = 0; d < c; d++)
			if (strcmp(t->header[c], t->header[d]) == 0) {
				st = bmeq_fail(BMEQ_E_FORMAT, "line 1: column \"%s\" appears twice",
					       t->header[c]);
				goto fail;
			}
	}
	for (;;) {
		size_t line = p.line;
		st = parse_record(&p, &eof);
		if (st != BMEQ_OK)
			goto fail;
		if (eof)
			break;
		/* parse_record skipped blank lines: the record began on the first
		 * non-blank line at or after `line`; recount from the text. */
		if (p.nfields != t->ncols) {
			st = bmeq_fail(BMEQ_E_FORMAT, "line %zu: %zu fields where the header has %zu",
				       p.line - 1, p.nfields, t->ncols);
			goto fail;
		}
		if (t->nrows == rows_cap) {
			size_t cap = rows_cap ? rows_cap * 2 : 64;
			char **cells = realloc(t->cells, cap * t->ncols * sizeof(char *));
			if (!cells) {
				st = bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
				goto fail;
			}
			t->cells = cells;
			size_t *lines = realloc(t->lines, cap * sizeof(size_t));
			if (!lines) {
				st = bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
				goto fail;
			}
			t->lines = lines;
			rows_cap = cap;
		}
		for (size_t c = 0; c < t->ncols; c++) {
			char *d = dup_trimmed(p.text + p.starts[c], 0);
			if (!d) {
				/* cells of this row that were set must be freed by destroy */
				for (size_t e = 0; e < c; e++)
					free(t->cells[t->nrows * t->ncols + e]);
				st = bmeq_fail(BMEQ_E_NOMEM, "csv: out of memory");
				goto fail;
			}
			t->cells[t->nrows * t->ncols + c] = d;
		}
		t->lines[t->nrows] = line;
		t->nrows++;
	}
	free(p.text);
	free(p.starts);
	*out = t;
	return BMEQ_OK;
fail:
	free(p.text);
	free(p.starts);
	bmeq_csv_table_destroy(t);
	return st;
}

bmeq_status bmeq_csv_read_file(const char *path, bmeq_csv_table **out)
{
	char *buf;
	size_t len;
	bmeq_status st;

	*out = NULL;
	if ((st = bmeq_read_file(path, 0, &buf, &len)) != BMEQ_OK)
		return st;
	st = bmeq_csv_parse(buf, len, out);
	free(buf);
	return st;
}

long bmeq_csv_column(const bmeq_csv_table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcmp(t->header[c], name) == 0)
			return (long)c;
	return -1;
}

const char *bmeq_csv_cell(const bmeq_csv_table *t, size_t r, long c)
{
	if (c < 0 || (size_t)c >= t->ncols || r >= t->nrows)
		return "";
	return t->cells[r * t->ncols + (size_t)c];
}
