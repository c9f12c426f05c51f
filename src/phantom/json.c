/* json.c - a minimal JSON writer for truth.json (C-locale numbers, escaped
 * strings, stable key order as written). Failures are remembered and checked
 * once at the end. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phantom_internal.h"

void bmeq_ph_json_init(bmeq_ph_json *j)
{
	memset(j, 0, sizeof(*j));
}

void bmeq_ph_json_free(bmeq_ph_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static void put(bmeq_ph_json *j, const char *s, size_t n)
{
	if (j->failed)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;
		while (cap < j->len + n + 1)
			cap *= 2;
		char *b = realloc(j->buf, cap);
		if (!b) {
			j->failed = 1;
			return;
		}
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void putf(bmeq_ph_json *j, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void putf(bmeq_ph_json *j, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		j->failed = 1;
		return;
	}
	put(j, tmp, (size_t)n);
}

static void put_string(bmeq_ph_json *j, const char *s)
{
	put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(j, e, 2);
		} else if (c < 0x20) {
			putf(j, "\\u%04x", c);
		} else {
			put(j, (const char *)&c, 1);
		}
	}
	put(j, "\"", 1);
}

/* Comma, newline and indentation before a value, then its key if any. */
static void lead(bmeq_ph_json *j, const char *key)
{
	if (j->need_comma)
		put(j, ",", 1);
	if (j->depth > 0) {
		put(j, "\n", 1);
		for (int i = 0; i < j->depth; i++)
			put(j, "  ", 2);
	}
	if (key) {
		put_string(j, key);
		put(j, ": ", 2);
	}
	j->need_comma = 1;
}

void bmeq_ph_json_begin(bmeq_ph_json *j, const char *key, char bracket)
{
	lead(j, key);
	put(j, &bracket, 1);
	j->depth++;
	j->need_comma = 0;
}

void bmeq_ph_json_end(bmeq_ph_json *j, char bracket)
{
	j->depth--;
	put(j, "\n", 1);
	for (int i = 0; i < j->depth; i++)
		put(j, "  ", 2);
	put(j, &bracket, 1);
	j->need_comma = 1;
	if (j->depth == 0)
		put(j, "\n", 1);
}

void bmeq_ph_json_str(bmeq_ph_json *j, const char *key, const char *v)
{
	lead(j, key);
	put_string(j, v ? v : "");
}

static void number(bmeq_ph_json *j, double v, int decimals)
{
	if (!isfinite(v))
		put(j, "null", 4);
	else if (fabs(v) < 0.5 * pow(10.0, -decimals))
		putf(j, "%.*f", decimals, 0.0); /* never "-0.000" */
	else
		putf(j, "%.*f", decimals, v);
}

void bmeq_ph_json_num(bmeq_ph_json *j, const char *key, double v, int decimals)
{
	lead(j, key);
	number(j, v, decimals);
}

void bmeq_ph_json_int(bmeq_ph_json *j, const char *key, long long v)
{
	lead(j, key);
	putf(j, "%lld", v);
}

void bmeq_ph_json_u64(bmeq_ph_json *j, const char *key, uint64_t v)
{
	lead(j, key);
	putf(j, "%llu", (unsigned long long)v);
}

void bmeq_ph_json_bool(bmeq_ph_json *j, const char *key, int v)
{
	lead(j, key);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void bmeq_ph_json_vec(bmeq_ph_json *j, const char *key, const double *v, size_t n, int decimals)
{
	lead(j, key);
	put(j, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(j, ", ", 2);
		number(j, v[i], decimals);
	}
	put(j, "]", 1);
}
