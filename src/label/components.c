/* components.c - run-based 3D connected-component labelling.
 *
 * Lesion masks are sparse (a few percent foreground) and their components
 * small, so the work is organised around runs of foreground along x rather
 * than voxels: each row is turned into runs with a bit scan of 64 voxels at
 * a time, each new run is joined (union-find with path halving, always
 * linking to the smaller run index) to the runs it touches in the up to four
 * earlier rows that can hold neighbours, and a single pass in run order then
 * turns roots into labels. Because a root is always the lowest-numbered run
 * of its set and runs are numbered in raster order, labels come out in
 * raster order of each component's first voxel without any sorting.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bmeq/volume.h"
#include "cc_internal.h"

bmeq_status bmeq_cc_workspace_create(bmeq_cc_workspace **out)
{
	bmeq_cc_workspace *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate a workspace");
	*out = ws;
	return BMEQ_OK;
}

void bmeq_cc_workspace_destroy(bmeq_cc_workspace *ws)
{
	if (!ws)
		return;
	free(ws->xs);
	free(ws->lab);
	free(ws->row_first);
	free(ws->bits);
	free(ws->starts);
	free(ws->rowbuf);
	free(ws->before);
	free(ws->counts);
	free(ws->remap);
	free(ws);
}

uint32_t bmeq_components_count(const bmeq_cc_workspace *ws)
{
	return ws && ws->valid ? ws->ncomp : 0;
}

/* Grows the run buffers to hold at least need runs (amortised doubling). */
static bmeq_status reserve_runs(bmeq_cc_workspace *ws, size_t need)
{
	if (need <= ws->run_cap)
		return BMEQ_OK;
	size_t cap = ws->run_cap ? ws->run_cap : 4096;
	while (cap < need)
		cap *= 2;
	uint32_t *xs = realloc(ws->xs, cap * 2 * sizeof(*xs));
	if (!xs)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu runs", cap);
	ws->xs = xs;
	uint32_t *lab = realloc(ws->lab, cap * sizeof(*lab));
	if (!lab)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu runs", cap);
	ws->lab = lab;
	ws->run_cap = cap;
	return BMEQ_OK;
}

static bmeq_status reserve_rows(bmeq_cc_workspace *ws, size_t need)
{
	if (need <= ws->row_cap)
		return BMEQ_OK;
	uint32_t *rf = realloc(ws->row_first, need * sizeof(*rf));
	if (!rf)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu rows", need);
	ws->row_first = rf;
	ws->row_cap = need;
	return BMEQ_OK;
}

static bmeq_status reserve_bits(bmeq_cc_workspace *ws, size_t need)
{
	if (need <= ws->bits_cap)
		return BMEQ_OK;
	uint64_t *b = realloc(ws->bits, need * sizeof(*b));
	if (!b)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu bit words", need);
	ws->bits = b;
	uint64_t *st = realloc(ws->starts, need * sizeof(*st));
	if (!st)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu bit words", need);
	ws->starts = st;
	uint32_t *d = realloc(ws->before, need * sizeof(*d));
	if (!d)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu bit words", need);
	ws->before = d;
	ws->bits_cap = need;
	return BMEQ_OK;
}

static bmeq_status reserve_rowbuf(bmeq_cc_workspace *ws, size_t nx)
{
	if (nx <= ws->rowbuf_cap)
		return BMEQ_OK;
	uint32_t *b = realloc(ws->rowbuf, nx * sizeof(*b));
	if (!b)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate a row of %zu labels", nx);
	ws->rowbuf = b;
	ws->rowbuf_cap = nx;
	return BMEQ_OK;
}

static bmeq_status reserve_comps(bmeq_cc_workspace *ws, size_t need)
{
	if (need <= ws->comp_cap)
		return BMEQ_OK;
	uint64_t *c = realloc(ws->counts, need * sizeof(*c));
	if (!c)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu components", need);
	ws->counts = c;
	uint32_t *m = realloc(ws->remap, need * sizeof(*m));
	if (!m)
		return bmeq_fail(BMEQ_E_NOMEM, "components: cannot allocate %zu components", need);
	ws->remap = m;
	ws->comp_cap = need;
	return BMEQ_OK;
}

/* Bit i set when p[i] != 0, for 64 bytes. */
static inline uint64_t fg_bits(const uint8_t *p)
{
#if defined(__SSE2__)
	const __m128i z = _mm_setzero_si128();
	uint64_t m0 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), z));
	uint64_t m1 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), z));
	uint64_t m2 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), z));
	uint64_t m3 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), z));

	return ~(m0 | (m1 << 16) | (m2 << 32) | (m3 << 48));
#else
	uint64_t m = 0, w[8];

	memcpy(w, p, 64);
	if (!(w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]))
		return 0;
	for (int i = 0; i < 64; i++)
		m |= (uint64_t)(p[i] != 0) << i;
	return m;
#endif
}

/* Root of run x; halves the path on the way (every node then points to its
 * grandparent), which keeps later finds short. */
static inline uint32_t find_root(uint32_t *lab, uint32_t x)
{
	while (lab[x] != x) {
		uint32_t g = lab[lab[x]];
		lab[x] = g;
		x = g;
	}
	return x;
}

/* Links the sets of runs a and b; the root stays the lower run index.
 * b < a here (b lies in an earlier row); a run of the current row that is
 * still alone, the common case, just joins b's set. */
static inline void unite(uint32_t *lab, uint32_t a, uint32_t b)
{
	if (lab[a] == a) {
		lab[a] = find_root(lab, b);
		return;
	}
	a = find_root(lab, a);
	b = find_root(lab, b);
	lab[a > b ? a : b] = a < b ? a : b;
}

/* Foreground bit of x in a padded bit row (x may be -1 or nx: padding). */
static inline int bit_at(const uint64_t *bits, ptrdiff_t x)
{
	size_t q = (size_t)(x + 64);
	return (int)((bits[(q >> 6) - 1] >> (q & 63)) & 1);
}

/* One row as the joiner sees it (pointers into the bit ring). */
typedef struct bit_row {
	const uint64_t *bits;    /* foreground, padded by a zero word on each side */
	const uint64_t *starts;  /* run starts */
	const uint32_t *before;  /* runs starting before each word */
	uint32_t first;          /* index of the row's first run */
} bit_row;

/* Number of set bits, without branches and without relying on the POPCNT
 * instruction, which the portable build may not assume. */
static inline uint32_t popcount64(uint64_t v)
{
	v = v - ((v >> 1) & 0x5555555555555555ull);
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
	return (uint32_t)((v * 0x0101010101010101ull) >> 56);
}

/* Earlier rows that can hold neighbours of row (y, z), as offsets in rows
 * and the x tolerance; dy = +1 rows only exist in the previous slice. */
typedef struct nb_row {
	int dy, dz;
	int d;
} nb_row;

static const nb_row nb26[] = { { -1, 0, 1 }, { -1, -1, 1 }, { 0, -1, 1 }, { 1, -1, 1 } };
static const nb_row nb18[] = { { -1, 0, 1 }, { -1, -1, 0 }, { 0, -1, 1 }, { 1, -1, 0 } };
static const nb_row nb6[] = { { -1, 0, 0 }, { 0, -1, 0 } };

#define CC_FN(name) name##_generic
#define CC_ATTR
#define CC_POPCOUNT(v) popcount64(v)
#include "cc_scan.h"
#undef CC_FN
#undef CC_ATTR
#undef CC_POPCOUNT

#if defined(__x86_64__) && defined(__GNUC__)
#define CC_HAVE_POPCNT 1
#define CC_FN(name) name##_popcnt
#define CC_ATTR __attribute__((target("popcnt,bmi,bmi2")))
#define CC_POPCOUNT(v) ((uint32_t)__builtin_popcountll(v))
#include "cc_scan.h"
#undef CC_FN
#undef CC_ATTR
#undef CC_POPCOUNT
#endif

bmeq_cpu_path bmeq_components_path(void)
{
#ifdef CC_HAVE_POPCNT
	if (bmeq_cpu_bitops())
		return BMEQ_CPU_AVX2;
#endif
	return BMEQ_CPU_SCALAR;
}

/* The POPCNT/BMI2 variant when the one CPU probe allows it (bmeq/cpu.h: the
 * CPU has them and BMEQ_CPU_FEATURES allows their AVX2 generation). */
static bmeq_status scan_and_join(bmeq_cc_workspace *ws, const uint8_t *mask, size_t nx, size_t ny,
				 size_t nz, int conn, size_t *nruns)
{
#ifdef CC_HAVE_POPCNT
	if (bmeq_components_path() == BMEQ_CPU_AVX2)
		return scan_and_join_popcnt(ws, mask, nx, ny, nz, conn, nruns);
#endif
	return scan_and_join_generic(ws, mask, nx, ny, nz, conn, nruns);
}

/* Turns the union-find forest into labels 1..n in run order. A run's parent
 * has a lower index and so already holds its final label. */
static uint32_t flatten(uint32_t *lab, size_t nruns)
{
	uint32_t n = 0;

	for (size_t i = 0; i < nruns; i++) {
		uint32_t p = lab[i];
		lab[i] = p == (uint32_t)i ? ++n : lab[p];
	}
	return n;
}

/* Removes components below the size limits and renumbers the rest
 * consecutively, keeping their order. */
static bmeq_status filter(bmeq_cc_workspace *ws, size_t nruns, const bmeq_cc_options *o,
			  uint32_t *n)
{
	bmeq_status st;

	if ((st = reserve_comps(ws, (size_t)*n + 1)) != BMEQ_OK)
		return st;
	memset(ws->counts, 0, ((size_t)*n + 1) * sizeof(*ws->counts));
	for (size_t i = 0; i < nruns; i++)
		ws->counts[ws->lab[i]] += ws->xs[2 * i + 1] - ws->xs[2 * i];
	uint32_t kept = 0;
	ws->remap[0] = 0;
	for (uint32_t l = 1; l <= *n; l++) {
		uint64_t c = ws->counts[l];
		int keep = c >= o->min_voxels && !((double)c * o->voxel_ml < o->min_ml);
		ws->remap[l] = keep ? ++kept : 0;
	}
	for (size_t i = 0; i < nruns; i++)
		ws->lab[i] = ws->remap[ws->lab[i]];
	*n = kept;
	return BMEQ_OK;
}

#if defined(__SSE2__)
/* Copies n labels to dst with non-temporal stores from the first 16-byte
 * boundary on: the label volume is several times larger than the mask and
 * is not read back here, so bypassing the cache saves the read-for-ownership
 * of every output line (about a third of the labeller's memory traffic).
 * src == NULL writes zeros. */
static void stream_row(uint32_t *dst, const uint32_t *src, size_t n)
{
	size_t i = 0;

	while (i < n && ((uintptr_t)(dst + i) & 15) != 0) {
		dst[i] = src ? src[i] : 0;
		i++;
	}
	if (src) {
		for (; i + 4 <= n; i += 4)
			_mm_stream_si128((__m128i *)(void *)(dst + i),
					 _mm_loadu_si128((const __m128i *)(const void *)(src + i)));
	} else {
		const __m128i z = _mm_setzero_si128();
		for (; i + 4 <= n; i += 4)
			_mm_stream_si128((__m128i *)(void *)(dst + i), z);
	}
	for (; i < n; i++)
		dst[i] = src ? src[i] : 0;
}
#endif

/* Writes the label volume row by row. On x86 each row with runs is
 * assembled in a small buffer that stays in L1 and is all zero between rows
 * (only the run positions are cleared again), then streamed out. */
static void write_labels(const bmeq_cc_workspace *ws, size_t nx, size_t nrows, uint32_t *labels,
			 uint32_t *rowbuf)
{
#if defined(__SSE2__)
	memset(rowbuf, 0, nx * sizeof(*rowbuf));
#endif
	for (size_t r = 0; r < nrows; r++) {
		uint32_t *out = labels + r * nx;
		uint32_t i0 = ws->row_first[r], i1 = ws->row_first[r + 1];
#if defined(__SSE2__)
		if (i0 == i1) {
			stream_row(out, NULL, nx);
			continue;
		}
		uint32_t *row = rowbuf;
#else
		uint32_t *row = out;
		(void)rowbuf;
		memset(row, 0, nx * sizeof(*row));
#endif
		for (uint32_t i = i0; i < i1; i++) {
			uint32_t l = ws->lab[i];
			for (uint32_t x = ws->xs[2 * i]; x < ws->xs[2 * i + 1]; x++)
				row[x] = l;
		}
#if defined(__SSE2__)
		stream_row(out, row, nx);
		for (uint32_t i = i0; i < i1; i++)
			for (uint32_t x = ws->xs[2 * i]; x < ws->xs[2 * i + 1]; x++)
				row[x] = 0;
#endif
	}
#if defined(__SSE2__)
	_mm_sfence();
#endif
}

static bmeq_status check_args(const uint8_t *mask, const size_t dim[3], const bmeq_cc_options *o,
			      const uint32_t *labels, const uint32_t *count)
{
	if (!mask || !dim || !labels || !count)
		return bmeq_fail(BMEQ_E_ARG, "components: missing argument");
	if (dim[0] == 0 || dim[1] == 0 || dim[2] == 0)
		return bmeq_fail(BMEQ_E_ARG, "components: empty dimension %zu x %zu x %zu", dim[0], dim[1],
				 dim[2]);
	if (dim[0] > BMEQ_MAX_VOXELS / dim[1] || dim[0] * dim[1] > BMEQ_MAX_VOXELS / dim[2])
		return bmeq_fail(BMEQ_E_ARG, "components: %zu x %zu x %zu voxels is too large", dim[0],
				 dim[1], dim[2]);
	if (o->connectivity != 0 && o->connectivity != 6 && o->connectivity != 18 &&
	    o->connectivity != 26)
		return bmeq_fail(BMEQ_E_ARG, "components: connectivity %d is not 6, 18 or 26",
				 o->connectivity);
	if (!(o->min_ml >= 0.0) || o->min_ml > 1e300)
		return bmeq_fail(BMEQ_E_ARG, "components: minimum volume %g mL is invalid", o->min_ml);
	if (o->min_ml > 0.0 && !(o->voxel_ml > 0.0 && o->voxel_ml < 1e300))
		return bmeq_fail(BMEQ_E_ARG, "components: voxel volume %g mL is invalid", o->voxel_ml);
	return BMEQ_OK;
}

bmeq_status bmeq_components_label(bmeq_cc_workspace *ws, const uint8_t *mask, const size_t dim[3],
				  const bmeq_cc_options *opts, uint32_t *labels, uint32_t *count)
{
	static const bmeq_cc_options defaults = { 26, 0, 0.0, 0.0 };
	const bmeq_cc_options *o = opts ? opts : &defaults;
	bmeq_cc_workspace *tmp = NULL;
	bmeq_status st;

	if ((st = check_args(mask, dim, o, labels, count)) != BMEQ_OK)
		return st;
	if (!ws) {
		if ((st = bmeq_cc_workspace_create(&tmp)) != BMEQ_OK)
			return st;
		ws = tmp;
	}
	ws->valid = 0;

	size_t nx = dim[0], ny = dim[1], nz = dim[2], nruns = 0;
	int conn = o->connectivity ? o->connectivity : 26;
	uint32_t n = 0;

	if ((st = reserve_rows(ws, ny * nz + 1)) != BMEQ_OK)
		goto out;
	if ((st = scan_and_join(ws, mask, nx, ny, nz, conn, &nruns)) != BMEQ_OK)
		goto out;
	n = flatten(ws->lab, nruns);
	if (o->min_voxels > 1 || o->min_ml > 0.0) {
		if ((st = filter(ws, nruns, o, &n)) != BMEQ_OK)
			goto out;
	}
	if ((st = reserve_rowbuf(ws, nx)) != BMEQ_OK)
		goto out;
	write_labels(ws, nx, ny * nz, labels, ws->rowbuf);
	ws->dim[0] = nx;
	ws->dim[1] = ny;
	ws->dim[2] = nz;
	ws->nruns = nruns;
	ws->ncomp = n;
	ws->valid = 1;
	*count = n;
out:
	bmeq_cc_workspace_destroy(tmp);
	return st;
}
