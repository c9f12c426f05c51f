/* cc_internal.h - private: the connected-components workspace, shared by
 * the labeller and the statistics. */
#ifndef BMEQ_CC_INTERNAL_H
#define BMEQ_CC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/components.h"

struct bmeq_cc_workspace {
	uint32_t *xs;           /* run r covers x in [xs[2r], xs[2r + 1]); raster order */
	uint32_t *lab;          /* per run: union-find parent, then final label (0 = removed) */
	size_t run_cap;
	uint32_t *row_first;    /* runs of row r are [row_first[r], row_first[r + 1]) */
	size_t row_cap;
	uint64_t *bits;         /* foreground bits of the rows of two slices (ring), padded */
	uint64_t *starts;       /* run-start bits, same layout */
	uint32_t *before;        /* per bit word: runs of its row starting before the word */
	size_t bits_cap;        /* words in bits and done */
	uint32_t *rowbuf;       /* one row of labels, assembled before it is stored */
	size_t rowbuf_cap;
	uint64_t *counts;       /* per provisional label: voxels (size filter) */
	uint32_t *remap;        /* provisional -> final label */
	size_t comp_cap;
	/* The last result, for bmeq_components_stats. */
	int valid;
	size_t dim[3];
	size_t nruns;
	uint32_t ncomp;
};

#endif
