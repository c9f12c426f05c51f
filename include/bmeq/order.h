/* bmeq/order.h - order statistics of float arrays by selection (no sort).
 *
 * One owner for "the k-th smallest value": the reference statistics of the
 * analysis (bmeq/threshold.h) and the report's grey window both use it.
 */
#ifndef BMEQ_ORDER_H
#define BMEQ_ORDER_H

#include <stddef.h>

/* Rearranges a[0..n-1] (k < n) so that a[k] holds the k-th smallest value
 * (0-based), with nothing larger before it and nothing smaller after it.
 * O(n) on average; the values must be comparable (no NaN). */
void bmeq_select_float(float *a, size_t n, size_t k);

/* Smallest value of a[0..n-1]; n >= 1. */
float bmeq_min_float(const float *a, size_t n);

#endif
