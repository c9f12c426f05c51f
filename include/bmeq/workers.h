/* bmeq/workers.h - run one worker function on several threads.
 *
 * The batch, its comparisons and the report each hand out work from a shared
 * queue inside ctx; this starts the threads and waits for them.
 */
#ifndef BMEQ_WORKERS_H
#define BMEQ_WORKERS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Runs fn(ctx) on nthreads threads (at least 1) and returns when all have
 * returned. fn must take its work from ctx until none is left, so fewer
 * threads only mean less parallelism: when no thread can be started, fn runs
 * on the calling thread; when only some can, the rest of the work is shared
 * among those. Never fails. */
void bmeq_run_workers(int nthreads, void *(*fn)(void *), void *ctx);

#ifdef __cplusplus
}
#endif
#endif
