/* clock.c - the monotonic clock behind every `seconds` bmeq reports. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "bmeq/clock.h"

double bmeq_clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
