/* json.c - bmeq's conventions on top of jansson (see bmeq/json.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/json.h"

/* Reals print with this many significant digits (JSON_REAL_PRECISION): every
 * number bmeq writes comes from a text of at most 15 significant digits
 * (number below), and 15 digits give such a value back exactly (DBL_DIG). */
#define REAL_DIGITS 15

/* The JSON value of a number printed as text: null when not finite, an
 * integer when the text is one, else the real the text spells. A text of
 * more than REAL_DIGITS significant digits is cut to them, so that what is
 * printed reads back as the value stored. */
static json_t *number(double v, const char *text)
{
	char buf[64];
	const char *p = text;
	size_t digits = 0;
	int integer = 1, leading = 1;

	if (!isfinite(v))
		return json_null();
	/* "-0", "-0.000": the same number as 0. */
	if (p[0] == '-' && strspn(p + 1, "0.") == strlen(p + 1))
		p++;
	for (const char *c = p; *c && *c != 'e' && *c != 'E'; c++) {
		if (*c == '.')
			integer = 0;
		if (*c < '0' || *c > '9')
			continue;
		leading = leading && *c == '0';
		digits += !leading;
	}
	if (strpbrk(p, "eE"))
		integer = 0;
	if (integer) {
		char *end;
		errno = 0;
		long long i = strtoll(p, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer((json_int_t)i);
	}
	if (digits > REAL_DIGITS) {
		snprintf(buf, sizeof(buf), "%.*g", REAL_DIGITS, v);
		p = buf;
	}
	return json_real(strtod(p, NULL));
}

json_t *bmeq_json_fixed(double v, int decimals)
{
	char text[400];

	decimals = decimals < 0 ? 0 : decimals > 17 ? 17 : decimals;
	if (isfinite(v))
		snprintf(text, sizeof(text), "%.*f", decimals, v);
	else
		text[0] = '\0';
	return number(v, text);
}

json_t *bmeq_json_sig(double v, int digits)
{
	char text[64];

	digits = digits < 1 ? 1 : digits > REAL_DIGITS ? REAL_DIGITS : digits;
	if (isfinite(v))
		snprintf(text, sizeof(text), "%.*g", digits, v);
	else
		text[0] = '\0';
	return number(v, text);
}

json_t *bmeq_json_fixed_array(const double *v, size_t n, int decimals)
{
	json_t *a = json_array();
	int ok = a != NULL;

	for (size_t i = 0; i < n && ok; i++)
		bmeq_json_push(a, bmeq_json_fixed(v[i], decimals), &ok);
	if (!ok) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s starts none
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

json_t *bmeq_json_str(const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)u), bad = 0;
	char *clean;
	json_t *j;

	for (size_t i = 0, n; i < len; i += n ? n : 1)
		bad += (n = utf8_seq(u + i)) == 0;
	if (!bad)
		return json_stringn_nocheck((const char *)u, len);
	/* Each invalid byte becomes U+FFFD (3 bytes). */
	if (!(clean = malloc(len + 2 * bad + 1)))
		return NULL;
	size_t o = 0;
	for (size_t i = 0, n; i < len; i += n ? n : 1) {
		if ((n = utf8_seq(u + i)) != 0) {
			memcpy(clean + o, u + i, n);
			o += n;
		} else {
			memcpy(clean + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	j = json_stringn_nocheck(clean, o);
	free(clean);
	return j;
}

void bmeq_json_put(json_t *obj, const char *key, json_t *v, int *ok)
{
	/* json_object_set_new releases v itself when it fails. */
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

void bmeq_json_push(json_t *arr, json_t *v, int *ok)
{
	if (!v || json_array_append_new(arr, v) != 0)
		*ok = 0;
}

char *bmeq_json_text(const json_t *doc, int indent)
{
	size_t flags = JSON_REAL_PRECISION(REAL_DIGITS);
	char *text, *out;
	size_t len;

	if (indent > 0)
		flags |= JSON_INDENT(indent > 31 ? 31 : indent);
	if (!(text = json_dumps(doc, flags)))
		return NULL;
	if (indent <= 0)
		return text;
	len = strlen(text);
	out = realloc(text, len + 2);
	if (!out) {
		free(text);
		return NULL;
	}
	out[len] = '\n';
	out[len + 1] = '\0';
	return out;
}
