/* test_components.c - the run-based labeller against a brute-force
 * breadth-first labeller for 6/18/26 connectivity on many shapes, plus size
 * filtering, statistics and argument errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/components.h"
#include "check.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Reference: visit voxels in raster order, flood each unlabelled foreground
 * voxel's component with an explicit queue. Numbering is then raster order
 * of first voxel by construction. Returns the count. */
static uint32_t bfs_label(const uint8_t *m, const size_t d[3], int conn, uint32_t *lab,
			  size_t *queue)
{
	size_t n = d[0] * d[1] * d[2];
	uint32_t count = 0;

	memset(lab, 0, n * sizeof(*lab));
	for (size_t s = 0; s < n; s++) {
		if (!m[s] || lab[s])
			continue;
		size_t head = 0, tail = 0;
		lab[s] = ++count;
		queue[tail++] = s;
		while (head < tail) {
			size_t v = queue[head++];
			long x = (long)(v % d[0]), y = (long)(v / d[0] % d[1]), z = (long)(v / (d[0] * d[1]));
			for (int dz = -1; dz <= 1; dz++)
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						int k = abs(dx) + abs(dy) + abs(dz);
						if (k == 0 || (conn == 6 && k > 1) || (conn == 18 && k > 2))
							continue;
						long X = x + dx, Y = y + dy, Z = z + dz;
						if (X < 0 || Y < 0 || Z < 0 || X >= (long)d[0] ||
						    Y >= (long)d[1] || Z >= (long)d[2])
							continue;
						size_t w = (size_t)X + d[0] * ((size_t)Y + d[1] * (size_t)Z);
						if (m[w] && !lab[w]) {
							lab[w] = count;
							queue[tail++] = w;
						}
					}
		}
	}
	return count;
}

/* Random mask: i.i.d. voxels at a density, sometimes with small boxes. */
static void make_mask(uint8_t *m, const size_t d[3], unsigned density_pct, int boxes)
{
	size_t n = d[0] * d[1] * d[2];

	for (size_t i = 0; i < n; i++)
		m[i] = (rnd() % 100) < density_pct ? (uint8_t)(1 + rnd() % 255) : 0;
	for (int b = 0; b < boxes; b++) {
		size_t x0 = rnd() % d[0], y0 = rnd() % d[1], z0 = rnd() % d[2];
		size_t w = 1 + rnd() % 5, h = 1 + rnd() % 4, t = 1 + rnd() % 3;
		for (size_t z = z0; z < z0 + t && z < d[2]; z++)
			for (size_t y = y0; y < y0 + h && y < d[1]; y++)
				for (size_t x = x0; x < x0 + w && x < d[0]; x++)
					m[x + d[0] * (y + d[1] * z)] = 1;
	}
}

static void check_against_bfs(bmeq_cc_workspace *ws)
{
	static const size_t shapes[][3] = {
		{ 1, 1, 1 }, { 1, 1, 9 }, { 9, 1, 1 }, { 1, 9, 1 }, { 1, 7, 9 }, { 7, 1, 9 }, { 9, 7, 1 },
		{ 64, 3, 3 }, { 63, 4, 2 }, { 65, 5, 3 }, { 128, 2, 2 }, { 130, 3, 4 }, { 200, 1, 1 },
		{ 17, 13, 11 }, { 33, 17, 9 }, { 5, 40, 6 }, { 2, 2, 2 }, { 3, 3, 60 }, { 70, 30, 1 },
	};
	static const unsigned dens[] = { 0, 3, 10, 25, 45, 60, 85, 100 };
	static const int conns[] = { 6, 18, 26 };
	size_t max = 200 * 40 * 60;
	uint8_t *m = malloc(max);
	uint32_t *got = malloc(max * sizeof(uint32_t)), *want = malloc(max * sizeof(uint32_t));
	size_t *queue = malloc(max * sizeof(size_t));
	int cases = 0, mismatches = 0;

	CHECK(m && got && want && queue);
	if (!(m && got && want && queue))
		return;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		for (size_t di = 0; di < sizeof(dens) / sizeof(dens[0]); di++) {
			const size_t *d = shapes[s];
			size_t n = d[0] * d[1] * d[2];
			make_mask(m, d, dens[di], (int)(di % 3) * 3);
			for (size_t c = 0; c < 3; c++) {
				bmeq_cc_options o = { conns[c], 0, 0.0, 0.0 };
				uint32_t cnt = 0, wcnt = bfs_label(m, d, conns[c], want, queue);

				memset(got, 0xCD, n * sizeof(uint32_t));
				CHECK(bmeq_components_label(ws, m, d, &o, got, &cnt) == BMEQ_OK);
				cases++;
				if (cnt != wcnt || memcmp(got, want, n * sizeof(uint32_t)) != 0) {
					if (mismatches++ < 5)
						fprintf(stderr, "mismatch %zux%zux%zu dens %u conn %d: %u vs %u\n",
							d[0], d[1], d[2], dens[di], conns[c], cnt, wcnt);
				}
				CHECK(bmeq_components_count(ws) == cnt);
			}
		}
	}
	CHECK(mismatches == 0);
	CHECK(cases == 19 * 8 * 3);

	/* Larger volumes with rows spanning several 64-voxel blocks. */
	for (int round = 0; round < 6; round++) {
		size_t d[3] = { 60 + rnd() % 140, 10 + rnd() % 30, 5 + rnd() % 55 };
		size_t n = d[0] * d[1] * d[2];
		int conn = conns[round % 3];
		bmeq_cc_options o = { conn, 0, 0.0, 0.0 };
		uint32_t cnt = 0, wcnt;

		make_mask(m, d, round < 3 ? 4 : 30, 200);
		wcnt = bfs_label(m, d, conn, want, queue);
		CHECK(bmeq_components_label(ws, m, d, &o, got, &cnt) == BMEQ_OK);
		CHECK(cnt == wcnt);
		CHECK(memcmp(got, want, n * sizeof(uint32_t)) == 0);
	}
	/* Default options and a NULL workspace agree with 26-connectivity. */
	{
		size_t d[3] = { 37, 21, 13 }, n = 37 * 21 * 13;
		uint32_t cnt = 0, wcnt;
		make_mask(m, d, 8, 20);
		wcnt = bfs_label(m, d, 26, want, queue);
		CHECK(bmeq_components_label(NULL, m, d, NULL, got, &cnt) == BMEQ_OK);
		CHECK(cnt == wcnt && memcmp(got, want, n * sizeof(uint32_t)) == 0);
	}
	free(m), free(got), free(want), free(queue);
}

static void check_filter_and_stats(bmeq_cc_workspace *ws)
{
	size_t d[3] = { 90, 40, 30 }, n = 90 * 40 * 30;
	uint8_t *m = malloc(n);
	uint32_t *got = malloc(n * sizeof(uint32_t)), *want = malloc(n * sizeof(uint32_t));
	size_t *queue = malloc(n * sizeof(size_t));
	float *inten = malloc(n * sizeof(float));

	CHECK(m && got && want && queue && inten);
	if (!(m && got && want && queue && inten))
		return;
	make_mask(m, d, 6, 150);
	for (size_t i = 0; i < n; i++)
		inten[i] = (float)(rnd() % 1000) / 8.0f;
	uint32_t wcnt = bfs_label(m, d, 26, want, queue);

	/* Reference sizes, statistics and filtered numbering. */
	uint64_t *size = calloc(wcnt + 1, sizeof(uint64_t));
	double *sum = calloc((size_t)(wcnt + 1) * 4, sizeof(double));
	uint32_t *bb = malloc((size_t)(wcnt + 1) * 6 * sizeof(uint32_t));
	uint32_t *remap = calloc(wcnt + 1, sizeof(uint32_t));
	CHECK(size && sum && bb && remap);
	if (!(size && sum && bb && remap))
		return;
	for (uint32_t l = 0; l <= wcnt; l++)
		for (int a = 0; a < 3; a++)
			bb[6 * l + a] = UINT32_MAX, bb[6 * l + 3 + a] = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t l = want[i], c[3] = { (uint32_t)(i % d[0]), (uint32_t)(i / d[0] % d[1]),
					      (uint32_t)(i / (d[0] * d[1])) };
		if (!l)
			continue;
		size[l]++;
		for (int a = 0; a < 3; a++) {
			sum[4 * l + a] += c[a];
			bb[6 * l + a] = c[a] < bb[6 * l + a] ? c[a] : bb[6 * l + a];
			bb[6 * l + 3 + a] = c[a] > bb[6 * l + 3 + a] ? c[a] : bb[6 * l + 3 + a];
		}
		sum[4 * l + 3] += inten[i];
	}

	uint32_t cnt = 0;
	bmeq_component *st = malloc((wcnt + 1) * sizeof(*st));
	CHECK(st != NULL);
	if (!st)
		return;
	CHECK(bmeq_components_label(ws, m, d, NULL, got, &cnt) == BMEQ_OK && cnt == wcnt);
	CHECK(bmeq_components_stats(ws, inten, st) == BMEQ_OK);
	int bad = 0;
	for (uint32_t l = 1; l <= wcnt; l++) {
		const bmeq_component *c = &st[l - 1];
		bad += c->label != l || c->voxels != size[l];
		for (int a = 0; a < 3; a++) {
			bad += fabs(c->centroid[a] - sum[4 * l + a] / (double)size[l]) > 1e-9;
			bad += c->bbox_min[a] != bb[6 * l + a] || c->bbox_max[a] != bb[6 * l + 3 + a];
		}
		bad += fabs(c->intensity_sum - sum[4 * l + 3]) > 1e-6 * (1.0 + sum[4 * l + 3]);
	}
	CHECK(bad == 0);
	CHECK(bmeq_components_stats(ws, NULL, st) == BMEQ_OK && st[0].intensity_sum == 0.0);

	/* Size filter by voxels, then by volume (0.2 mL voxels: 1 mL = 5 voxels). */
	for (int mode = 0; mode < 2; mode++) {
		bmeq_cc_options o = { 26, mode == 0 ? 4 : 0, mode == 1 ? 1.0 : 0.0, 0.2 };
		uint32_t kept = 0;
		uint64_t limit = mode == 0 ? 4 : 5;
		for (uint32_t l = 1; l <= wcnt; l++)
			remap[l] = size[l] >= limit ? ++kept : 0;
		CHECK(kept > 0 && kept < wcnt);
		CHECK(bmeq_components_label(ws, m, d, &o, got, &cnt) == BMEQ_OK);
		CHECK(cnt == kept);
		size_t wrong = 0;
		for (size_t i = 0; i < n; i++)
			wrong += got[i] != remap[want[i]];
		CHECK(wrong == 0);
		CHECK(bmeq_components_stats(ws, NULL, st) == BMEQ_OK);
		uint32_t l = 1;
		for (uint32_t old = 1; old <= wcnt; old++)
			if (remap[old]) {
				CHECK(st[l - 1].voxels == size[old]);
				l++;
			}
	}
	/* Everything filtered away. */
	bmeq_cc_options all = { 26, 1000000, 0.0, 0.0 };
	CHECK(bmeq_components_label(ws, m, d, &all, got, &cnt) == BMEQ_OK && cnt == 0);
	size_t nz = 0;
	for (size_t i = 0; i < n; i++)
		nz += got[i] != 0;
	CHECK(nz == 0);

	free(st), free(size), free(sum), free(bb), free(remap);
	free(m), free(got), free(want), free(queue), free(inten);
}

static void check_errors(void)
{
	uint8_t m[8] = { 1, 0, 1, 0, 0, 0, 0, 1 };
	uint32_t lab[8], cnt;
	size_t d[3] = { 2, 2, 2 }, d0[3] = { 2, 0, 2 }, huge[3] = { 100000, 100000, 100000 };
	bmeq_cc_options o = { 7, 0, 0.0, 0.0 };
	bmeq_cc_workspace *ws = NULL;
	bmeq_component c;

	CHECK(bmeq_cc_workspace_create(&ws) == BMEQ_OK);
	CHECK(bmeq_components_stats(ws, NULL, &c) == BMEQ_E_ARG);
	CHECK(bmeq_components_count(ws) == 0);
	CHECK(bmeq_components_label(ws, m, d, &o, lab, &cnt) == BMEQ_E_ARG);
	CHECK(bmeq_components_label(ws, m, d0, NULL, lab, &cnt) == BMEQ_E_ARG);
	CHECK(bmeq_components_label(ws, m, huge, NULL, lab, &cnt) == BMEQ_E_ARG);
	o = (bmeq_cc_options){ 26, 0, 1.0, 0.0 };
	CHECK(bmeq_components_label(ws, m, d, &o, lab, &cnt) == BMEQ_E_ARG);
	/* Voxels 0, 3, 6 of a 2x2x2 cube touch pairwise along edges only. */
	memset(m, 0, sizeof(m));
	m[0] = m[3] = m[6] = 1;
	o = (bmeq_cc_options){ 6, 0, 0.0, 0.0 };
	CHECK(bmeq_components_label(ws, m, d, &o, lab, &cnt) == BMEQ_OK && cnt == 3);
	CHECK(lab[0] == 1 && lab[3] == 2 && lab[6] == 3);
	o.connectivity = 18;
	CHECK(bmeq_components_label(ws, m, d, &o, lab, &cnt) == BMEQ_OK && cnt == 1);
	/* Opposite corners touch only with 26-connectivity. */
	memset(m, 0, sizeof(m));
	m[0] = m[7] = 1;
	CHECK(bmeq_components_label(ws, m, d, &o, lab, &cnt) == BMEQ_OK && cnt == 2);
	o.connectivity = 26;
	CHECK(bmeq_components_label(ws, m, d, &o, lab, &cnt) == BMEQ_OK && cnt == 1);
	CHECK(lab[0] == 1 && lab[1] == 0 && lab[7] == 1);
	bmeq_cc_workspace_destroy(ws);
	bmeq_cc_workspace_destroy(NULL);
}

int main(void)
{
	bmeq_cc_workspace *ws = NULL;

	CHECK(bmeq_cc_workspace_create(&ws) == BMEQ_OK);
	if (!ws)
		CHECK_DONE();
	check_against_bfs(ws);
	check_filter_and_stats(ws);
	check_errors();
	bmeq_cc_workspace_destroy(ws);
	CHECK_DONE();
}
