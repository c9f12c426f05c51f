/* bmeq/csv.h - RFC 4180 CSV: a writer for the trial tables and a strict
 * reader for manifests. Files are written with bmeq_write_file_atomic
 * (bmeq/files.h, included here for the callers that write tables).
 *
 * Numbers are written in the C locale (bmeq never calls setlocale) with a
 * fixed number of decimals, so the same result always gives the same bytes.
 * Rows end in CRLF, as RFC 4180 specifies; fields are quoted only when they
 * hold a comma, a double quote, CR or LF, or leading or trailing spaces.
 */
#ifndef BMEQ_CSV_H
#define BMEQ_CSV_H

#include <stddef.h>

#include "bmeq/files.h"
#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- writing ---- */

typedef struct bmeq_csv bmeq_csv;

/* Creates an empty in-memory CSV text. *out owned by the caller. */
bmeq_status bmeq_csv_create(bmeq_csv **out);

/* Frees w. Accepts NULL. */
void bmeq_csv_destroy(bmeq_csv *w);

/* Appends one text field (NULL is written as an empty field). */
bmeq_status bmeq_csv_field(bmeq_csv *w, const char *s);

/* Appends a number with `decimals` digits after the point (C locale);
 * a non-finite value is written as an empty field. */
bmeq_status bmeq_csv_number(bmeq_csv *w, double v, int decimals);

/* Appends an integer. */
bmeq_status bmeq_csv_int(bmeq_csv *w, long long v);

/* Ends the current row. */
bmeq_status bmeq_csv_end_row(bmeq_csv *w);

/* Appends a whole row of text fields. */
bmeq_status bmeq_csv_row(bmeq_csv *w, const char *const *fields, size_t n);

/* The text so far (NUL-terminated) and its length. Valid until the next
 * append or destroy. */
const char *bmeq_csv_text(const bmeq_csv *w, size_t *len);

/* Writes the text to path atomically (bmeq_write_file_atomic): every table
 * bmeq writes goes through here. BMEQ_E_NOMEM, writing nothing, when any
 * append since bmeq_csv_create failed, so a table that lost a field is never
 * written, whether or not its writer checked each append. */
bmeq_status bmeq_csv_write_file(const bmeq_csv *w, const char *path);

/* ---- reading ---- */

typedef struct bmeq_csv_table {
	size_t nrows;      /* data rows (the header row excluded) */
	size_t ncols;      /* columns of the header row */
	char **header;     /* ncols names, surrounding spaces trimmed */
	char **cells;      /* nrows * ncols fields, row-major */
	size_t *lines;     /* nrows: the 1-based line each data row starts on */
} bmeq_csv_table;

/* Parses CSV text strictly: a header row, then rows with exactly as many
 * fields; quoted fields may hold commas, doubled quotes and line breaks; a
 * UTF-8 byte order mark is skipped; blank lines are ignored; CRLF or LF.
 * BMEQ_E_FORMAT with "line N: reason" for an unterminated quote, text after a
 * closing quote, a quote inside an unquoted field, a ragged row, an empty or
 * duplicate column name, or a NUL byte. *out owned by the caller. */
bmeq_status bmeq_csv_parse(const char *text, size_t n, bmeq_csv_table **out);

/* Reads and parses the file at path (BMEQ_E_IO when unreadable). */
bmeq_status bmeq_csv_read_file(const char *path, bmeq_csv_table **out);

/* Index of column name (exact match), or -1. */
long bmeq_csv_column(const bmeq_csv_table *t, const char *name);

/* Cell (row r, column c); "" for c < 0. */
const char *bmeq_csv_cell(const bmeq_csv_table *t, size_t r, long c);

/* Frees t. Accepts NULL. */
void bmeq_csv_table_destroy(bmeq_csv_table *t);

#ifdef __cplusplus
}
#endif
#endif
