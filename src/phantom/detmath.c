/* detmath.c - the few transcendental functions the phantom needs, written
 * with + - * / and sqrt only (all correctly rounded in IEEE 754), so that a
 * seed gives bit-identical voxels whatever libm a machine has: C libraries
 * (and glibc's FMA and non-FMA variants) may differ in the last bit of exp,
 * log, sin or cos. Accuracy is a few ulp, far beyond what a phantom needs. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "phantom_internal.h"

#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define PIO2_1 1.57079632673412561417e+00 /* first 33 bits of pi/2 */
#define PIO2_2 6.07710050630396597660e-11
#define PIO2_3 2.02226624879595063154e-21
#define PI_D 3.14159265358979311600e+00

double bmeq_ph_exp(double x)
{
	if (x > 709.0)
		return HUGE_VAL;
	if (x < -745.0)
		return 0.0;
	double k = floor(x * 1.44269504088896338700 + 0.5);
	double r = (x - k * LN2_HI) - k * LN2_LO; /* |r| <= 0.35 */
	/* Horner on the Taylor series to r^16/16!: error < 1e-18 for |r| <= 0.35.
	 * The reciprocals are constant expressions, folded exactly at compile time. */
	static const double inv[17] = {0.0,	   1.0,	       1.0 / 2,	 1.0 / 3,  1.0 / 4,
				       1.0 / 5,	   1.0 / 6,    1.0 / 7,	 1.0 / 8,  1.0 / 9,
				       1.0 / 10,   1.0 / 11,   1.0 / 12, 1.0 / 13, 1.0 / 14,
				       1.0 / 15,   1.0 / 16};
	double t = 1.0;
	for (int n = 16; n >= 1; n--)
		t = 1.0 + t * r * inv[n];
	if (k < -1020.0 || k > 1020.0)
		return ldexp(t, (int)k);
	/* 2^k built from its bits: exact, and much cheaper than ldexp. */
	uint64_t bits = (uint64_t)((int64_t)k + 1023) << 52;
	double p2;
	memcpy(&p2, &bits, sizeof(p2));
	return t * p2;
}

double bmeq_ph_log(double x)
{
	int e;
	double m;

	if (!(x > 0.0))
		return x == 0.0 ? -HUGE_VAL : NAN;
	if (isinf(x))
		return x;
	m = frexp(x, &e); /* x = m 2^e, m in [0.5, 1) */
	if (m < 0.70710678118654752440) {
		m *= 2.0;
		e--;
	}
	/* log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172 */
	static const double inv[26] = {
		[3] = 1.0 / 3,	 [5] = 1.0 / 5,	  [7] = 1.0 / 7,   [9] = 1.0 / 9,   [11] = 1.0 / 11,
		[13] = 1.0 / 13, [15] = 1.0 / 15, [17] = 1.0 / 17, [19] = 1.0 / 19, [21] = 1.0 / 21,
		[23] = 1.0 / 23, [25] = 1.0 / 25};
	double s = (m - 1.0) / (m + 1.0), s2 = s * s, t = 0.0;
	for (int n = 25; n >= 3; n -= 2)
		t = (inv[n] + t) * s2;
	double lm = 2.0 * s * (1.0 + t);
	return (double)e * LN2_HI + ((double)e * LN2_LO + lm);
}

/* 1 / (n (n - 1)) for the sine and cosine series. */
static const double inv_nn[21] = {
	[2] = 1.0 / 2,	   [3] = 1.0 / 6,     [4] = 1.0 / 12,	[5] = 1.0 / 20,	  [6] = 1.0 / 30,
	[7] = 1.0 / 42,	   [8] = 1.0 / 56,    [9] = 1.0 / 72,	[10] = 1.0 / 90,  [11] = 1.0 / 110,
	[12] = 1.0 / 132,  [13] = 1.0 / 156,  [14] = 1.0 / 182, [15] = 1.0 / 210, [16] = 1.0 / 240,
	[17] = 1.0 / 272,  [18] = 1.0 / 306,  [19] = 1.0 / 342, [20] = 1.0 / 380};

/* sin and cos of r with |r| <= pi/4, Taylor series to r^19 / r^20. */
static double sin_kernel(double r)
{
	double r2 = r * r, t = 1.0;
	for (int n = 19; n >= 3; n -= 2)
		t = 1.0 - t * r2 * inv_nn[n];
	return r * t;
}

static double cos_kernel(double r)
{
	double r2 = r * r, t = 1.0;
	for (int n = 20; n >= 2; n -= 2)
		t = 1.0 - t * r2 * inv_nn[n];
	return t;
}

/* Reduces x to r in [-pi/4, pi/4] and the quadrant. Exact enough for the
 * phantom's arguments (|x| < 1e5). */
static double reduce(double x, long *q)
{
	double k = floor(x * 0.63661977236758134308 + 0.5);
	*q = (long)k;
	return ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;
}

double bmeq_ph_sin(double x)
{
	long q;
	double r = reduce(x, &q);

	switch (q & 3) {
	case 0: return sin_kernel(r);
	case 1: return cos_kernel(r);
	case 2: return -sin_kernel(r);
	default: return -cos_kernel(r);
	}
}

double bmeq_ph_cos(double x)
{
	long q;
	double r = reduce(x, &q);

	switch (q & 3) {
	case 0: return cos_kernel(r);
	case 1: return -sin_kernel(r);
	case 2: return -cos_kernel(r);
	default: return sin_kernel(r);
	}
}

/* atan for x >= 0. */
static double atan_pos(double x)
{
	double off = 0.0;

	if (x > 1.0) {
		/* atan x = pi/2 - atan(1/x) */
		return 2.0 * (PIO2_1 * 0.5) + (PIO2_2 - atan_pos(1.0 / x)) + PIO2_3;
	}
	if (x > 0.41421356237309504880) {
		/* atan x = pi/4 + atan((x - 1) / (x + 1)) */
		off = 0.5 * PIO2_1 + 0.5 * PIO2_2;
		x = (x - 1.0) / (x + 1.0);
	}
	/* |x| <= tan(pi/8) = 0.414: series to x^61 (error < 1e-24 ... 1e-17). */
	double x2 = x * x, t = 0.0;
	for (int n = 61; n >= 3; n -= 2)
		t = (1.0 / (double)n - t) * x2;
	return off + x * (1.0 - t);
}

double bmeq_ph_atan2(double y, double x)
{
	if (x == 0.0 && y == 0.0)
		return 0.0;
	if (x == 0.0)
		return y > 0.0 ? 2.0 * (PIO2_1 * 0.5) + PIO2_2 : -(2.0 * (PIO2_1 * 0.5) + PIO2_2);
	double a = atan_pos(fabs(y / x));
	if (x < 0.0)
		a = PI_D - a;
	return y < 0.0 ? -a : a;
}

double bmeq_ph_acos(double c)
{
	c = c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
	return bmeq_ph_atan2(sqrt((1.0 - c) * (1.0 + c)), c);
}

double bmeq_ph_cbrt(double v)
{
	if (v == 0.0)
		return 0.0;
	double r = bmeq_ph_exp(bmeq_ph_log(fabs(v)) / 3.0);
	/* One Newton step polishes the last bits. */
	r = r - (r * r * r - fabs(v)) / (3.0 * r * r);
	return v < 0.0 ? -r : r;
}
