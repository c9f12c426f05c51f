/* fuzz_manifest.c - libFuzzer target for the strict CSV reader that parses study manifests
 * (bmeq_csv_parse): any bytes either give a table whose every row has the header's width, or a
 * BMEQ_E_FORMAT with a one-line reason; never a crash, a leak or a half-built table. */
#include <stdlib.h>
#include <string.h>

#include "bmeq/csv.h"
#include "fuzz_nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bmeq_csv_table *t = NULL;
	bmeq_status st = bmeq_csv_parse((const char *)data, size, &t);

	if (st == BMEQ_OK) {
		if (!t || t->ncols == 0)
			abort();
		for (size_t r = 0; r < t->nrows; r++)
			for (size_t c = 0; c < t->ncols; c++)
				if (!bmeq_csv_cell(t, r, (long)c))
					abort();
		/* What the reader accepted, the writer must write back readably, except
		 * a first name that begins with a byte order mark: at the start of a
		 * file the reader takes that for the mark itself (found by this target). */
		bmeq_csv *w = NULL;
		if (strncmp(t->header[0], "\xEF\xBB\xBF", 3) != 0 && bmeq_csv_create(&w) == BMEQ_OK) {
			bmeq_csv_row(w, (const char *const *)t->header, t->ncols);
			size_t len;
			const char *text = bmeq_csv_text(w, &len);
			bmeq_csv_table *back = NULL;
			if (bmeq_csv_parse(text, len, &back) != BMEQ_OK || back->ncols != t->ncols)
				abort();
			bmeq_csv_table_destroy(back);
		}
		bmeq_csv_destroy(w);
	} else if (t != NULL || strchr(bmeq_last_error(), '\n') || !bmeq_last_error()[0]) {
		abort();
	}
	bmeq_csv_table_destroy(t);
	return 0;
}
