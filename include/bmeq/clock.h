/* bmeq/clock.h - the one clock bmeq times its stages with. Thread-safe. */
#ifndef BMEQ_CLOCK_H
#define BMEQ_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on the monotonic clock (CLOCK_MONOTONIC: not moved by changes of
 * the wall clock), from an arbitrary origin: only differences mean anything. */
double bmeq_clock_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
