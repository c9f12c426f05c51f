/* bmeq/json.h - every JSON file and stream bmeq writes (truth.json,
 * provenance.json, `bmeq info --json`) is built and printed by jansson
 * (Debian's libjansson), with these few helpers for bmeq's conventions:
 *
 * - Numbers carry exactly the value of the text bmeq has always printed for
 *   them (a fixed number of decimals, or of significant digits), so a reader
 *   of the file gets the same numbers whatever prints them: an integer when
 *   that text is one, a real otherwise, null for NaN and infinities (JSON has
 *   none), never -0.
 * - Strings are UTF-8 as JSON requires: bytes that are not (a Latin-1 file
 *   name) become U+FFFD instead of making the file unreadable.
 * - Keys keep the order they were added in; reals are printed with up to 15
 *   significant digits, which gives back each value's short decimal form.
 *
 * Building a document: bmeq_json_put / bmeq_json_push take the value's
 * reference and remember a failure (out of memory) in *ok, so a document is
 * built call after call and checked once. Thread-safe (jansson is, for
 * separate documents).
 */
#ifndef BMEQ_JSON_H
#define BMEQ_JSON_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* v with `decimals` digits after the point ("%.*f"; 0..17). NULL on OOM. */
json_t *bmeq_json_fixed(double v, int decimals);

/* v with `digits` significant digits ("%.*g"; 1..15). NULL on OOM. */
json_t *bmeq_json_sig(double v, int digits);

/* An array of n numbers as bmeq_json_fixed. NULL on OOM. */
json_t *bmeq_json_fixed_array(const double *v, size_t n, int decimals);

/* A JSON string of s (NULL: ""), invalid UTF-8 bytes replaced by U+FFFD.
 * NULL on OOM. */
json_t *bmeq_json_str(const char *s);

/* obj[key] = v, taking v's reference. v NULL or a failed insertion sets
 * *ok to 0 (a NULL obj too: v is then released). */
void bmeq_json_put(json_t *obj, const char *key, json_t *v, int *ok);

/* Appends v to arr, taking v's reference; failures as bmeq_json_put. */
void bmeq_json_push(json_t *arr, json_t *v, int *ok);

/* The text of doc: with indent > 0 pretty-printed (indent spaces per level)
 * and ending in a newline; with indent 0 on one line with ", " and ": "
 * between items and no newline. malloc'ed (free()); NULL on OOM. */
char *bmeq_json_text(const json_t *doc, int indent);

#ifdef __cplusplus
}
#endif
#endif
