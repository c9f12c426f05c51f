/* workers.c - start n threads on one worker function and wait for them. */
#include <pthread.h>
#include <stdlib.h>

#include "bmeq/workers.h"

void bmeq_run_workers(int nthreads, void *(*fn)(void *), void *ctx)
{
	pthread_t *threads;
	int started = 0;

	if (nthreads < 1)
		nthreads = 1;
	threads = nthreads > 1 ? calloc((size_t)nthreads, sizeof(*threads)) : NULL;
	if (threads)
		for (; started < nthreads; started++)
			if (pthread_create(&threads[started], NULL, fn, ctx) != 0)
				break;
	if (started == 0)
		fn(ctx);
	for (int t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	free(threads);
}
