/* bmeq/strbuf.h - a growing byte buffer, kept NUL-terminated: the text of a
 * CSV table, an HTML page, the bytes of a PNG.
 *
 * Start from BMEQ_STRBUF_INIT (all zero). An allocation failure makes the
 * buffer sticky-failed: later appends do nothing, and oom says so, so a
 * writer can append freely and check once at the end. Not thread-safe (one
 * buffer, one writer).
 */
#ifndef BMEQ_STRBUF_H
#define BMEQ_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "bmeq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmeq_strbuf {
	char *s;       /* the bytes, NUL-terminated once anything was appended */
	size_t len;    /* bytes appended (without the NUL) */
	size_t cap;    /* bytes allocated */
	int oom;       /* 1 after an allocation failure */
} bmeq_strbuf;

#define BMEQ_STRBUF_INIT { NULL, 0, 0, 0 }

/* Appends n bytes of p. BMEQ_E_NOMEM (and oom set) when memory runs out. */
bmeq_status bmeq_strbuf_add(bmeq_strbuf *b, const void *p, size_t n);

/* Appends the string s. */
bmeq_status bmeq_strbuf_puts(bmeq_strbuf *b, const char *s);

/* Appends printf-formatted text (C locale numbers: bmeq never calls setlocale). */
bmeq_status bmeq_strbuf_printf(bmeq_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* The same with a va_list (for a writer's own printf-like helper). */
bmeq_status bmeq_strbuf_vprintf(bmeq_strbuf *b, const char *fmt, va_list ap);

/* The shortest %g form of v that reads back to the same double, without an
 * exponent ("0.15", "30", not 0.14999999999999999 or 3e+01): canonical and
 * exact text for settings and rules. %.17g when no shorter form fits. */
void bmeq_format_shortest(double v, char *out, size_t cap);

/* Frees the bytes and resets b to BMEQ_STRBUF_INIT. */
void bmeq_strbuf_free(bmeq_strbuf *b);

#ifdef __cplusplus
}
#endif
#endif
