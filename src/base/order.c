/* order.c - order statistics of float arrays by selection.
 *
 * Hoare partitioning around a median-of-three pivot: a reference region holds
 * up to millions of voxels and only a few order statistics are needed, so a
 * full sort would waste most of its work.
 */
#include <stddef.h>

#include "bmeq/order.h"

/* Rearranges a[0..n-1] so that a[k] holds the k-th smallest value, with
 * nothing larger before it and nothing smaller after it. Hoare's scheme
 * stops on equal keys, so long runs of identical values (integer-valued
 * scanner data) still split evenly. */
void bmeq_select_float(float *a, size_t n, size_t k)
{
	ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

	while (l < r) {
		float x = a[l], y = a[l + (r - l) / 2], z = a[r], piv;

		/* median of three as the pivot value */
		if (x > y) {
			float s = x;
			x = y;
			y = s;
		}
		y = y < z ? y : z;
		piv = x > y ? x : y;

		/* The pivot is one of the values, so both scans stop inside [l, r]. */
		ptrdiff_t i = l, j = r;
		do {
			while (a[i] < piv)
				i++;
			while (piv < a[j])
				j--;
			if (i <= j) {
				float s = a[i];
				a[i] = a[j];
				a[j] = s;
				i++;
				j--;
			}
		} while (i <= j);
		/* a[l..j] <= piv, a[i..r] >= piv, and anything between equals piv. */
		if (j < kk)
			l = i;
		if (kk < i)
			r = j;
	}
}

float bmeq_min_float(const float *a, size_t n)
{
	float m = a[0];
	for (size_t i = 1; i < n; i++)
		m = a[i] < m ? a[i] : m;
	return m;
}
