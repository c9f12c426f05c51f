/* batch_compare.c - visits of each subject compared: response.csv and
 * response_interval.csv. (Being wired to src/compare: see issue 7.) */
#include "batch_internal.h"

bmeq_status bmeq_batch_compare(const bmeq_study *s, const char *outdir,
			       const bmeq_batch_opts *opts, bmeq_batch_summary *summary)
{
	(void)s;
	(void)outdir;
	(void)opts;
	(void)summary;
	return BMEQ_OK;
}
