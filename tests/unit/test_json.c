/* test_json.c - bmeq's JSON conventions over jansson (bmeq/json.h): numbers
 * keep the value of the text bmeq prints for them, integers stay integers,
 * no NaN or -0, strings are valid UTF-8, keys keep their order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/json.h"
#include "check.h"

/* The one-line text of v (released). */
static int text_is(json_t *v, const char *want)
{
	json_t *a = json_array();
	int ok = 1;
	bmeq_json_push(a, v, &ok);
	char *t = ok ? bmeq_json_text(a, 0) : NULL;
	size_t n = t ? strlen(t) : 0;
	/* Strip the array's brackets. */
	int same = t && n >= 2 && strlen(want) == n - 2 && strncmp(t + 1, want, n - 2) == 0;
	if (!same)
		fprintf(stderr, "got %s, want [%s]\n", t ? t : "(null)", want);
	free(t);
	json_decref(a);
	return same;
}

int main(void)
{
	/* Fixed decimals: the value of "%.3f", printed in its short form. */
	CHECK(text_is(bmeq_json_fixed(1.23456, 3), "1.235"));
	CHECK(text_is(bmeq_json_fixed(0.1 + 0.2, 3), "0.3"));
	CHECK(text_is(bmeq_json_fixed(2.0, 3), "2.0"));
	CHECK(text_is(bmeq_json_fixed(-0.0001, 3), "0.0"));
	CHECK(text_is(bmeq_json_fixed(320.0, 0), "320"));
	CHECK(text_is(bmeq_json_fixed(-0.2, 0), "0"));
	CHECK(text_is(bmeq_json_fixed(0.000123456789, 9), "0.000123457"));
	CHECK(text_is(bmeq_json_fixed(NAN, 3), "null"));
	CHECK(text_is(bmeq_json_fixed(INFINITY, 3), "null"));
	/* Significant digits: integers stay integers. */
	CHECK(text_is(bmeq_json_sig(2.0, 6), "2"));
	CHECK(text_is(bmeq_json_sig(1234567.0, 6), "1234570.0"));
	CHECK(text_is(bmeq_json_sig(0.15, 6), "0.15"));
	CHECK(text_is(bmeq_json_sig(1.0 / 3.0, 10), "0.3333333333"));
	CHECK(text_is(bmeq_json_sig(-0.0, 6), "0"));
	CHECK(text_is(bmeq_json_sig(1e-7, 6), "1e-7"));
	CHECK(text_is(bmeq_json_sig(NAN, 6), "null"));
	/* The value read back is the value of bmeq's text. */
	json_t *r = bmeq_json_fixed(26.11834, 4);
	CHECK(json_is_real(r) && json_real_value(r) == strtod("26.1183", NULL));
	json_decref(r);
	r = bmeq_json_fixed(1e300, 3); /* more digits than a double holds */
	CHECK(json_is_real(r) && fabs(json_real_value(r) / 1e300 - 1.0) < 1e-14);
	json_decref(r);
	r = bmeq_json_fixed_array((const double[]){1.0, 2.5, NAN}, 3, 2);
	CHECK(text_is(r, "[1.0, 2.5, null]"));

	/* Strings: escaped as JSON wants; bytes that are not UTF-8 become U+FFFD. */
	CHECK(text_is(bmeq_json_str("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\""));
	CHECK(text_is(bmeq_json_str("caf\xc3\xa9"), "\"caf\xc3\xa9\""));
	CHECK(text_is(bmeq_json_str("caf\xe9/x"), "\"caf\xef\xbf\xbd/x\""));
	CHECK(text_is(bmeq_json_str("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""));
	CHECK(text_is(bmeq_json_str(NULL), "\"\""));

	/* Objects keep the order keys were added in; pretty text ends in a newline. */
	json_t *o = json_object();
	int ok = 1;
	bmeq_json_put(o, "zeta", json_integer(1), &ok);
	bmeq_json_put(o, "alpha", bmeq_json_str("x"), &ok);
	bmeq_json_put(o, "mid", json_null(), &ok);
	CHECK(ok);
	char *t = bmeq_json_text(o, 0);
	CHECK(t && strcmp(t, "{\"zeta\": 1, \"alpha\": \"x\", \"mid\": null}") == 0);
	free(t);
	t = bmeq_json_text(o, 2);
	CHECK(t && strcmp(t, "{\n  \"zeta\": 1,\n  \"alpha\": \"x\",\n  \"mid\": null\n}\n") == 0);
	free(t);
	/* A failed value is remembered. */
	bmeq_json_put(o, "bad", NULL, &ok);
	CHECK(!ok);
	ok = 1;
	bmeq_json_push(NULL, json_integer(3), &ok);
	CHECK(!ok);
	json_decref(o);
	CHECK_DONE();
}
