/* cc_scan.h - private: the row scan and run joining of the labeller, as a
 * template that components.c includes once per instruction set (the
 * generic build, and one with POPCNT/BMI2 for the bit counting that maps
 * voxels to runs), in the manner of per-function SIMD variants.
 *
 * Before including, define CC_FN(name) (the variant's function name),
 * CC_ATTR (its target attribute or nothing) and CC_POPCOUNT(v).
 */

/* Writes the runs of one row as start/end pairs into xs and returns their
 * number; also stores the row's foreground bits, its run-start bits and,
 * per word, the number of runs starting before the word, so that the run
 * holding any voxel is found by counting bits. Every change between
 * background and foreground is a bit of m ^ (m << 1 | carry); the
 * boundaries alternate start, end, start ... so they are stored in order
 * without branching on which one they are. */
CC_ATTR static size_t CC_FN(row_runs)(const uint8_t *row, size_t nx, uint32_t *xs, uint64_t *bits, uint64_t *starts,
		       uint32_t *before)
{
	size_t k = 0, w = 0;
	uint64_t carry = 0;

	for (size_t base = 0; base < nx; base += 64, w++) {
		uint64_t m;

		if (nx - base >= 64) {
			m = fg_bits(row + base);
		} else {
			uint8_t tail[64] = { 0 };
			memcpy(tail, row + base, nx - base);
			m = fg_bits(tail);
		}
		uint64_t t = m ^ ((m << 1) | carry);
		bits[w] = m;
		starts[w] = m & t;
		before[w] = (uint32_t)((k + 1) / 2);
		carry = m >> 63;
		/* Most words hold at most four boundaries: store four
		 * unconditionally (the spare slots are overwritten later; the
		 * caller reserves room) so that the loop branch is predictable. */
		uint32_t nt = CC_POPCOUNT(t), *o = xs + k;
		for (int q = 0; q < 4; q++) {
			o[q] = (uint32_t)(base + (size_t)__builtin_ctzll(t | (1ull << 63)));
			t &= t - 1;
		}
		for (uint32_t q = 4; q < nt; q++) {
			o[q] = (uint32_t)(base + (size_t)__builtin_ctzll(t));
			t &= t - 1;
		}
		k += nt;
	}
	if (k & 1)
		xs[k++] = (uint32_t)nx;
	return k / 2;
}

/* Index of the run holding foreground voxel x of row r: the runs that
 * start at or before x, counted from the row's first. */
CC_ATTR static inline uint32_t CC_FN(run_of)(const bit_row *r, uint32_t x)
{
	size_t w = x >> 6;
	uint64_t upto = ~0ull >> (63 - (x & 63));

	return r->first + r->before[w] + CC_POPCOUNT(r->starts[w] & upto) - 1;
}

/* Joins the runs of the current row c that hold the contact voxels o (bits
 * of word w) with the touching runs of an earlier row n. d = 1 when voxels
 * diagonal along x touch. Each contact voxel is mapped to its run and to the
 * touching run of the other row by bit counting (no searching), and the
 * voxels that could only repeat the same pair of runs are skipped. */
CC_ATTR static void CC_FN(join_word)(const uint32_t *xs, uint32_t *lab, const bit_row *c, const bit_row *n,
		      size_t w, uint64_t o, int d)
{
	const uint64_t *nb = n->bits;
	uint32_t last_c = UINT32_MAX, last_n = UINT32_MAX;

	while (o) {
		uint32_t x = (uint32_t)(64 * w + (size_t)__builtin_ctzll(o));
		uint32_t ci = CC_FN(run_of)(c, x);
		/* The other row's voxel x, else the diagonal ones (x - 1 and
		 * x + 1 then lie in two different runs). */
		int hx = bit_at(nb, (ptrdiff_t)x);
		int hl = d & bit_at(nb, (ptrdiff_t)x - 1);
		int hr = d & bit_at(nb, (ptrdiff_t)x + 1);
		uint32_t p = hx ? x : hl ? x - 1 : x + 1;
		uint32_t ni = CC_FN(run_of)(n, p);

		if (ci != last_c || ni != last_n) {
			unite(lab, ci, ni);
			last_c = ci;
			last_n = ni;
		}
		if (!hx && hl && hr) {
			ni = CC_FN(run_of)(n, x + 1);
			unite(lab, ci, ni);
			last_n = ni;
		}
		/* Voxels before both run ends touch the same runs again. */
		uint32_t cend = xs[2 * ci + 1], nend = xs[2 * last_n + 1];
		uint32_t sh = (cend < nend ? cend : nend) - (uint32_t)(64 * w);
		o &= o - 1;
		o &= sh >= 64 ? 0 : ~0ull << sh;
	}
}

/* Joins the current row c with its nq earlier neighbouring rows n[] (x
 * tolerance d[]). The contact words are found without branching, 64 words
 * at a time, so the common case (nothing touches) costs a few bit
 * operations per word and row pair. */
CC_ATTR static void CC_FN(join_rows)(const uint32_t *xs, uint32_t *lab, const bit_row *c, const bit_row *n,
		      const int *d, size_t nq, size_t nw)
{
	uint64_t ow[64];

	for (size_t q = 0; q < nq; q++) {
		const uint64_t *nb = n[q].bits;
		for (size_t g = 0; g < nw; g += 64) {
			size_t gn = nw - g < 64 ? nw - g : 64;
			uint64_t live = 0;

			for (size_t j = 0; j < gn; j++) {
				size_t w = g + j;
				uint64_t n0 = nb[w], reach = n0;
				if (d[q])
					reach |= (n0 << 1) | (nb[w - 1] >> 63) | (n0 >> 1) | (nb[w + 1] << 63);
				ow[j] = c->bits[w] & reach;
				live |= (uint64_t)(ow[j] != 0) << j;
			}
			while (live) {
				size_t j = (size_t)__builtin_ctzll(live);
				live &= live - 1;
				CC_FN(join_word)(xs, lab, c, &n[q], g + j, ow[j], d[q]);
			}
		}
	}
}

/* Collects runs and joins them; returns the number of runs in *nruns. */
CC_ATTR static bmeq_status CC_FN(scan_and_join)(bmeq_cc_workspace *ws, const uint8_t *mask, size_t nx, size_t ny,
				 size_t nz, int conn, size_t *nruns)
{
	const nb_row *nb = conn == 26 ? nb26 : conn == 18 ? nb18 : nb6;
	const size_t nnb = conn == 6 ? 2 : 4;
	/* runs of one row, plus the spare boundary slots row_runs may write */
	const size_t row_max = nx / 2 + 4;
	/* A bit row is nw words plus one zero word on each side. */
	const size_t nw = (nx + 63) / 64, stride = nw + 2;
	size_t k = 0;
	bmeq_status st;

	if ((st = reserve_bits(ws, 2 * ny * stride)) != BMEQ_OK)
		return st;
	memset(ws->bits, 0, 2 * ny * stride * sizeof(*ws->bits));
	for (size_t z = 0; z < nz; z++) {
		for (size_t y = 0; y < ny; y++) {
			size_t r = z * ny + y, slot = ((z & 1) * ny + y) * stride + 1;
			uint64_t *bits = ws->bits + slot, *starts = ws->starts + slot;
			uint32_t *before = ws->before + slot;

			if ((st = reserve_runs(ws, k + row_max)) != BMEQ_OK)
				return st;
			ws->row_first[r] = (uint32_t)k;
			size_t n = CC_FN(row_runs)(mask + r * nx, nx, ws->xs + 2 * k, bits, starts, before);
			if (!n)
				continue;
			for (size_t i = k; i < k + n; i++)
				ws->lab[i] = (uint32_t)i;
			bit_row cur = { bits, starts, before, (uint32_t)k }, other[4];
			int dq[4];
			size_t nq = 0;
			for (size_t q = 0; q < nnb; q++) {
				if ((nb[q].dz < 0 && z == 0) || (nb[q].dy < 0 && y == 0) ||
				    (nb[q].dy > 0 && y + 1 == ny))
					continue;
				size_t yn = (size_t)((ptrdiff_t)y + nb[q].dy), zn = (size_t)((ptrdiff_t)z + nb[q].dz);
				size_t rn = zn * ny + yn, nslot = ((zn & 1) * ny + yn) * stride + 1;
				/* row rn + 1 has started, so its first run bounds row rn */
				uint32_t n0 = ws->row_first[rn], n1 = ws->row_first[rn + 1];
				if (n0 == n1)
					continue;
				other[nq] = (bit_row){ ws->bits + nslot, ws->starts + nslot, ws->before + nslot, n0 };
				dq[nq++] = nb[q].d;
			}
			if (nq)
				CC_FN(join_rows)(ws->xs, ws->lab, &cur, other, dq, nq, nw);
			k += n;
		}
	}
	ws->row_first[ny * nz] = (uint32_t)k;
	*nruns = k;
	return BMEQ_OK;
}

