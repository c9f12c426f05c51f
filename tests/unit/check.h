/* check.h - the tiny assertion layer shared by the unit tests. */
#ifndef BMEQ_TEST_CHECK_H
#define BMEQ_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                  \
		}                                                                          \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
	do {                                                                               \
		double check_a_ = (double)(a), check_b_ = (double)(b);                     \
		if (!(fabs(check_a_ - check_b_) <= (tol))) {                                \
			fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n", \
				__FILE__, __LINE__, #a, check_a_, #b, check_b_, (double)(tol));  \
			check_failures++;                                                  \
		}                                                                          \
	} while (0)

#define CHECK_DONE()                                                                       \
	do {                                                                               \
		if (check_failures) {                                                      \
			fprintf(stderr, "%d check(s) failed\n", check_failures);           \
			return 1;                                                          \
		}                                                                          \
		printf("all checks passed\n");                                             \
		return 0;                                                                  \
	} while (0)

#endif
