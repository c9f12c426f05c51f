/* strbuf.c - the growing byte buffer every in-memory writer uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/strbuf.h"

/* Room for n more bytes and the NUL; doubles from 4 KiB. */
static bmeq_status reserve(bmeq_strbuf *b, size_t n)
{
	if (b->oom)
		return BMEQ_E_NOMEM;
	if (b->len + n + 1 <= b->cap)
		return BMEQ_OK;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1) {
		if (cap > (size_t)-1 / 2) {
			b->oom = 1;
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		}
		cap *= 2;
	}
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	b->s = s;
	b->cap = cap;
	return BMEQ_OK;
}

bmeq_status bmeq_strbuf_add(bmeq_strbuf *b, const void *p, size_t n)
{
	bmeq_status st = reserve(b, n);

	if (st != BMEQ_OK)
		return st;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return BMEQ_OK;
}

bmeq_status bmeq_strbuf_puts(bmeq_strbuf *b, const char *s)
{
	return bmeq_strbuf_add(b, s, strlen(s));
}

bmeq_status bmeq_strbuf_vprintf(bmeq_strbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return bmeq_fail(BMEQ_E_INTERNAL, "bad format");
	bmeq_status st = reserve(b, (size_t)n);
	if (st != BMEQ_OK)
		return st;
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return BMEQ_OK;
}

bmeq_status bmeq_strbuf_printf(bmeq_strbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bmeq_status st = bmeq_strbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return st;
}

void bmeq_strbuf_free(bmeq_strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void bmeq_format_shortest(double v, char *out, size_t cap)
{
	for (int p = 1; p <= 17; p++) {
		snprintf(out, cap, "%.*g", p, v);
		/* "3e+01" reads back too, but is not how anyone writes 30. */
		if (strtod(out, NULL) == v && !strchr(out, 'e'))
			return;
	}
	snprintf(out, cap, "%.17g", v);
}
