/* rng.c - the phantom's own random numbers: xoshiro256** seeded by splitmix64,
 * so that a seed gives the same study on every machine and C library. */
#include <math.h>

#include "phantom_internal.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void bmeq_ph_rng_seed(bmeq_ph_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	/* Mix the stream numbers through splitmix so that neighbouring streams
	 * (subject 1 and 2, say) start far apart in the generator's sequence. */
	uint64_t x = seed;
	uint64_t h = splitmix64(&x);

	x = h ^ (a * 0xd1342543de82ef95ull);
	h = splitmix64(&x);
	x = h ^ (b * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1; /* the all-zero state is a fixed point */
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t bmeq_ph_rng_next(bmeq_ph_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double bmeq_ph_rng_uniform(bmeq_ph_rng *r)
{
	/* 53 random bits: exact in a double, identical everywhere. */
	return (double)(bmeq_ph_rng_next(r) >> 11) * 0x1.0p-53;
}

double bmeq_ph_rng_range(bmeq_ph_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * bmeq_ph_rng_uniform(r);
}

double bmeq_ph_rng_normal(bmeq_ph_rng *r)
{
	/* Box-Muller; 1 - u keeps the logarithm finite. */
	double u = 1.0 - bmeq_ph_rng_uniform(r);
	double v = bmeq_ph_rng_uniform(r);

	return sqrt(-2.0 * bmeq_ph_log(u)) * bmeq_ph_cos(6.283185307179586 * v);
}

void bmeq_ph_rng_normal2(bmeq_ph_rng *r, double *a, double *b)
{
	/* Marsaglia's polar method: two normals for one logarithm and no
	 * trigonometry. */
	for (;;) {
		double u = 2.0 * bmeq_ph_rng_uniform(r) - 1.0;
		double v = 2.0 * bmeq_ph_rng_uniform(r) - 1.0;
		double s = u * u + v * v;
		if (s > 0.0 && s < 1.0) {
			double f = sqrt(-2.0 * bmeq_ph_log(s) / s);
			*a = u * f;
			*b = v * f;
			return;
		}
	}
}
