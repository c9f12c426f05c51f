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

/* Writes the runs of one row as start/end pairs into xs and returns their
 * number. Every change between background and foreground is a bit of
 * m ^ (m << 1 | carry); the boundaries alternate start, end, start ... so
 * they are stored in order without branching on which one they are. */
static size_t row_runs(const uint8_t *row, size_t nx, uint32_t *xs)
{
	size_t k = 0;
	uint64_t carry = 0;

	for (size_t base = 0; base < nx; base += 64) {
		uint64_t m;

		if (nx - base >= 64) {
			m = fg_bits(row + base);
		} else {
			uint8_t tail[64] = { 0 };
			memcpy(tail, row + base, nx - base);
			m = fg_bits(tail);
		}
		uint64_t t = m ^ ((m << 1) | carry);
		carry = m >> 63;
		while (t) {
			xs[k++] = (uint32_t)(base + (size_t)__builtin_ctzll(t));
			t &= t - 1;
		}
	}
	if (k & 1)
		xs[k++] = (uint32_t)nx;
	return k / 2;
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

/* Joins runs [c0, c1) of the current row with runs [n0, n1) of an earlier
 * row. d = 1 when voxels diagonal along x touch (their x differ by one), 0
 * when only runs sharing an x do. Both lists are sorted, so one merge-like
 * sweep finds every touching pair: the run that ends first cannot touch
 * anything further along the other row. */
static void join_rows(const uint32_t *xs, uint32_t *lab, uint32_t c0, uint32_t c1, uint32_t n0,
		      uint32_t n1, uint32_t d)
{
	uint32_t i = c0, j = n0;

	while (i < c1 && j < n1) {
		uint32_t a0 = xs[2 * i], a1 = xs[2 * i + 1], b0 = xs[2 * j], b1 = xs[2 * j + 1];

		if (b1 + d <= a0) {
			j++;
		} else if (a1 + d <= b0) {
			i++;
		} else {
			uint32_t ra = find_root(lab, i), rb = find_root(lab, j);
			if (ra < rb)
				lab[rb] = ra;
			else
				lab[ra] = rb;
			if (b1 < a1)
				j++;
			else
				i++;
		}
	}
}

/* Earlier rows that can hold neighbours of row (y, z), as offsets in rows
 * and the x tolerance; dy = +1 rows only exist in the previous slice. */
typedef struct nb_row {
	int dy, dz;
	uint32_t d;
} nb_row;

static const nb_row nb26[] = { { -1, 0, 1 }, { -1, -1, 1 }, { 0, -1, 1 }, { 1, -1, 1 } };
static const nb_row nb18[] = { { -1, 0, 1 }, { -1, -1, 0 }, { 0, -1, 1 }, { 1, -1, 0 } };
static const nb_row nb6[] = { { -1, 0, 0 }, { 0, -1, 0 } };

/* Collects runs and joins them; returns the number of runs in *nruns. */
static bmeq_status scan_and_join(bmeq_cc_workspace *ws, const uint8_t *mask, size_t nx, size_t ny,
				 size_t nz, int conn, size_t *nruns)
{
	const nb_row *nb = conn == 26 ? nb26 : conn == 18 ? nb18 : nb6;
	const size_t nnb = conn == 6 ? 2 : 4;
	const size_t row_max = nx / 2 + 1;
	size_t k = 0;
	bmeq_status st;

	for (size_t z = 0; z < nz; z++) {
		for (size_t y = 0; y < ny; y++) {
			size_t r = z * ny + y;

			if ((st = reserve_runs(ws, k + row_max)) != BMEQ_OK)
				return st;
			ws->row_first[r] = (uint32_t)k;
			size_t n = row_runs(mask + r * nx, nx, ws->xs + 2 * k);
			if (!n)
				continue;
			for (size_t i = k; i < k + n; i++)
				ws->lab[i] = (uint32_t)i;
			for (size_t q = 0; q < nnb; q++) {
				if ((nb[q].dz < 0 && z == 0) || (nb[q].dy < 0 && y == 0) ||
				    (nb[q].dy > 0 && y + 1 == ny))
					continue;
				size_t rn = (size_t)((ptrdiff_t)r + nb[q].dy + nb[q].dz * (ptrdiff_t)ny);
				/* row rn + 1 has started, so its first run bounds row rn */
				uint32_t n0 = ws->row_first[rn], n1 = ws->row_first[rn + 1];
				if (n0 < n1)
					join_rows(ws->xs, ws->lab, (uint32_t)k, (uint32_t)(k + n), n0, n1, nb[q].d);
			}
			k += n;
		}
	}
	ws->row_first[ny * nz] = (uint32_t)k;
	*nruns = k;
	return BMEQ_OK;
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

/* Writes the label volume row by row: zero the row (it is in L1), then the runs. */
static void write_labels(const bmeq_cc_workspace *ws, size_t nx, size_t nrows, uint32_t *labels)
{
	for (size_t r = 0; r < nrows; r++) {
		uint32_t *out = labels + r * nx;
		uint32_t i0 = ws->row_first[r], i1 = ws->row_first[r + 1];

		memset(out, 0, nx * sizeof(*out));
		for (uint32_t i = i0; i < i1; i++) {
			uint32_t l = ws->lab[i];
			for (uint32_t x = ws->xs[2 * i]; x < ws->xs[2 * i + 1]; x++)
				out[x] = l;
		}
	}
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
	write_labels(ws, nx, ny * nz, labels);
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
