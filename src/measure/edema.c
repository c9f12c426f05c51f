/* edema.c - reference estimation, thresholding, lesions and per-side volumes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/components.h"
#include "bmeq/edema.h"
#include "measure_internal.h"

/* What one pass over the labelled voxels gathers per component. */
typedef struct lesion_acc {
	size_t voxels, first, head, neck;
	double sum, sx, sy, sz;
	int region; /* region index of its first voxel */
	int keep;
	int depth_set;
	double depth;
} lesion_acc;

void bmeq_edema_params_init(bmeq_edema_params *p)
{
	memset(p, 0, sizeof(*p));
	p->rule.kind = BMEQ_RULE_MEDIAN_RATIO;
	p->rule.k = 1.46;
	p->connectivity = 26;
	p->min_lesion_voxels = 10;
	p->min_lesion_ml = 0.02;
	p->reference_reject_k = 3.0;
	p->min_reference_voxels = 200;
	p->rim_mm = 2.5;
	p->halfmax = 1;
	p->halfmax_floor = 0.0;
	p->edge_band = 0.15;
	p->band = 0.15;
	p->smooth_mm = 1.5;
	p->reference_from_region = 1;
	p->factor_from_reader = 0;
	p->t1_gate = 1;
	p->t1_gate_quantile = 0.975;
	p->t1_weight = 0.0;
}

void bmeq_edema_method_text(const bmeq_edema_params *p, char *buf, size_t cap)
{
	char rule[BMEQ_RULE_TEXT_MAX] = "?", edges[96];

	bmeq_rule_format(&p->rule, rule, sizeof(rule));
	if (p->halfmax_floor > 0.0)
		snprintf(edges, sizeof(edges), "at half contrast, never below %.3gx the reference",
			 p->halfmax_floor);
	else
		snprintf(edges, sizeof(edges), "at half contrast, never below halfway to the threshold");
	snprintf(buf, cap,
		 "%s over the normal-marrow level (%s) on the image smoothed at %.3g mm; "
		 "rim guard %.3g mm; lesion edges %s; lesions >= %zu voxels and >= %.3g mL, "
		 "%d-connected; range: factor x (1 +- %.3g), edges at 0.5 +- %.3g of their contrast",
		 rule,
		 p->reference_from_region
			 ? "the regions' lowest clear mode (at least 25% of the highest, dipping 10% "
			   "before any higher), or the clear mode nearest a reference mask's median"
			 : "a reference mask's median",
		 p->smooth_mm, p->rim_mm,
		 p->halfmax ? edges : "at the threshold",
		 p->min_lesion_voxels, p->min_lesion_ml, p->connectivity, p->band, p->edge_band);
}

void bmeq_edema_method_text_t1(const bmeq_edema_params *p, char *buf, size_t cap)
{
	size_t len;

	bmeq_edema_method_text(p, buf, cap);
	len = strlen(buf);
	if (p->t1_gate && len < cap)
		snprintf(buf + len, cap - len,
			 "; with a T1, a T1 gate: edema only where the T1 (smoothed alike) is not "
			 "brighter than the %.4g quantile of the normal marrow's T1",
			 p->t1_gate_quantile);
	else if (len < cap)
		snprintf(buf + len, cap - len, "; T1 gate off");
	len = strlen(buf);
	if (p->t1_weight > 0.0 && len < cap)
		snprintf(buf + len, cap - len,
			 "; T1 weighting: the rule reads the smoothed STIR divided by "
			 "(T1 / normal marrow's T1)^%.3g, the T1 ratio floored at 0.1",
			 p->t1_weight);
}

void bmeq_edema_result_destroy(bmeq_edema_result *r)
{
	if (!r)
		return;
	free(r->regions);
	free(r->lesions);
	free(r->edema_map);
	free(r);
}

static int is_femoral(uint16_t l)
{
	return bmeq_label_side(l) != BMEQ_SIDE_NONE;
}

/* Where normal marrow is sought (the automatic reference and the T1 gate's
 * reference): the femoral regions when the map has any, else every labelled
 * voxel (a user's ROI of other labels). */
static int femoral_only(const uint16_t *roi, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_femoral(roi[i]))
			return 1;
	return 0;
}

static int in_marrow_region(uint16_t l, int femoral)
{
	return femoral ? is_femoral(l) : l != 0;
}

/* ---- automatic reference ---------------------------------------------- */

/* The normal-marrow intensity is the lowest clear mode of the intensity
 * histogram of the femoral regions: normal fatty marrow is dark on STIR and
 * edema 1.4-6x brighter, so even when edema fills most of one hip the normal
 * population of the other hip (or of the spared neck) forms the lower mode.
 * A mode is clear when its smoothed height is at least 25% of the highest
 * mode and it stands out: on the way to any higher mode the histogram dips
 * at least 10% below it. A bump that does not is part of a higher mode's
 * plateau or shoulder, not a population of its own: on real STIR the marrow
 * mode is a broad plateau with bumps 0.3% apart (coil bias across the
 * region), and where a region reaches the bone's surface its edge voxels
 * (marrow mixed with cortex, fat and muscle) form a shoulder just below
 * marrow. Separate populations (marrow and edema, one hip and a brighter
 * other) dip by 20% or more; the smoothed histogram's noise is about 3% at
 * the smallest regions' counts. A plateau's mode is its highest bump. The
 * width is read off the lower flank (which edema does not reach) and the
 * reference is every value within 3 widths of the mode. */
#define HIST_BINS 128
#define MODE_MIN_HEIGHT 0.25
#define MODE_MIN_DIP 0.10

/* Whether the local maximum b of s stands out: on each side where a higher
 * bin lies, the lowest bin before it is at most (1 - MODE_MIN_DIP) of s[b]. */
static int mode_stands_out(const double *s, int b)
{
	for (int dir = -1; dir <= 1; dir += 2) {
		double low = s[b];
		for (int j = b + dir; j >= 0 && j < HIST_BINS; j += dir) {
			if (s[j] > s[b]) {
				if (low > (1.0 - MODE_MIN_DIP) * s[b])
					return 0;
				break;
			}
			low = s[j] < low ? s[j] : low;
		}
	}
	return 1;
}

bmeq_status bmeq_reference_window(const float *v, size_t n, double anchor, double *lo_out,
				  double *hi_out)
{
	double lo, hi, h[HIST_BINS] = {0}, s[HIST_BINS];
	bmeq_status st;

	if ((st = bmeq_quantile(v, n, 0.005, &lo)) != BMEQ_OK ||
	    (st = bmeq_quantile(v, n, 0.995, &hi)) != BMEQ_OK)
		return st;
	if (!(hi > lo))
		return bmeq_fail(BMEQ_E_PROCESS, "reference: the femoral regions have no contrast");
	double scale = HIST_BINS / (hi - lo);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]) || v[i] < lo || v[i] > hi)
			continue;
		int b = (int)((v[i] - lo) * scale);
		h[b < HIST_BINS ? b : HIST_BINS - 1] += 1.0;
	}
	/* Smooth with a 7-bin binomial kernel so that noise does not make modes. */
	static const double k[7] = {1, 6, 15, 20, 15, 6, 1};
	double maxs = 0.0;
	for (int b = 0; b < HIST_BINS; b++) {
		double acc = 0.0, w = 0.0;
		for (int d = -3; d <= 3; d++) {
			int j = b + d;
			if (j < 0 || j >= HIST_BINS)
				continue;
			acc += k[d + 3] * h[j];
			w += k[d + 3];
		}
		s[b] = acc / w;
		maxs = s[b] > maxs ? s[b] : maxs;
	}
	/* The lowest clear mode; with an anchor (a reader's reference mask) the
	 * clear mode nearest to it. */
	int peak = -1;
	double best = INFINITY;
	for (int b = 0; b < HIST_BINS; b++) {
		double left = b > 0 ? s[b - 1] : -1.0, right = b + 1 < HIST_BINS ? s[b + 1] : -1.0;
		if (s[b] >= left && s[b] > right && s[b] >= MODE_MIN_HEIGHT * maxs &&
		    mode_stands_out(s, b)) {
			double d = isfinite(anchor) ? fabs(lo + (b + 0.5) / scale - anchor) : 0.0;
			if (d < best) {
				peak = b;
				best = d;
			}
			if (!isfinite(anchor))
				break;
		}
	}
	if (peak < 0)
		return bmeq_fail(BMEQ_E_PROCESS, "reference: no normal-marrow mode in the femoral regions");
	/* Half width at half maximum on the lower flank. */
	int b = peak;
	while (b > 0 && s[b] > 0.5 * s[peak])
		b--;
	double hwhm = (peak - b + 0.5) / scale;
	double sigma = hwhm / 1.1774;
	double centre = lo + (peak + 0.5) / scale;
	if (!(sigma > 0.0))
		sigma = 1.0 / scale;
	*lo_out = centre - 3.0 * sigma;
	*hi_out = centre + 3.0 * sigma;
	return BMEQ_OK;
}

/* The finite values of scan inside the mask ref, or (ref NULL) inside the
 * marrow of roi's regions: counted first (the regions are a small part of a
 * large scan), then copied into a new *vals, only when there are at least
 * need of them (else *vals is NULL; *m is the count either way). */
static bmeq_status gather(const bmeq_volume *scan, const uint8_t *ref, const uint16_t *roi,
			  size_t need, float **vals, size_t *m)
{
	size_t n = bmeq_grid_nvox(&scan->grid), k = 0;
	int femoral = ref ? 0 : femoral_only(roi, n);

	*vals = NULL;
	for (size_t i = 0; i < n; i++)
		k += (ref ? ref[i] != 0 : in_marrow_region(roi[i], femoral)) &&
		     isfinite(scan->data[i]);
	*m = k;
	if (k < need)
		return BMEQ_OK;
	float *v = malloc((k ? k : 1) * sizeof(float));
	if (!v)
		return bmeq_fail(BMEQ_E_NOMEM, "reference: out of memory");
	k = 0;
	for (size_t i = 0; i < n; i++)
		if ((ref ? ref[i] != 0 : in_marrow_region(roi[i], femoral)) &&
		    isfinite(scan->data[i]))
			v[k++] = scan->data[i];
	*vals = v;
	return BMEQ_OK;
}

static bmeq_status auto_reference(const bmeq_volume *scan, const uint16_t *roi, double anchor,
				  const bmeq_edema_params *p, bmeq_refstats *rs, double window[2])
{
	size_t m;
	float *vals;
	bmeq_status st;

	if ((st = gather(scan, NULL, roi, p->min_reference_voxels, &vals, &m)) != BMEQ_OK)
		return st;
	if (!vals)
		return bmeq_fail(BMEQ_E_PROCESS,
				 "reference: only %zu marrow voxels in the regions (need %zu)", m,
				 p->min_reference_voxels);
	double lo, hi;
	st = bmeq_reference_window(vals, m, anchor, &lo, &hi);
	if (st == BMEQ_OK) {
		window[0] = lo;
		window[1] = hi;
		size_t k = 0;
		for (size_t i = 0; i < m; i++)
			if (vals[i] >= lo && vals[i] <= hi)
				vals[k++] = vals[i];
		if (k < p->min_reference_voxels)
			st = bmeq_fail(BMEQ_E_PROCESS,
				       "reference: only %zu voxels of normal-appearing marrow (need %zu)",
				       k, p->min_reference_voxels);
		else
			st = bmeq_refstats_compute(vals, k, NULL, rs);
	}
	free(vals);
	return st;
}

static bmeq_status mask_reference(const bmeq_volume *scan, const uint8_t *ref,
				  const bmeq_edema_params *p, bmeq_refstats *rs)
{
	size_t m;
	float *vals;
	bmeq_refstats_opts o = {p->reference_reject_k};
	bmeq_status st;

	if ((st = gather(scan, ref, NULL, p->min_reference_voxels, &vals, &m)) != BMEQ_OK)
		return st;
	if (!vals)
		return bmeq_fail(BMEQ_E_PROCESS,
				 "reference mask holds %zu usable voxels (need at least %zu)", m,
				 p->min_reference_voxels);
	st = bmeq_refstats_compute(vals, m, &o, rs);
	free(vals);
	return st;
}

/* ---- regions ----------------------------------------------------------- */

/* The region index a ROI label reports into: right (1, 3) -> 0, left (2, 4)
 * -> 1, a user label -> its own slot after those. */
typedef struct region_map {
	int index_of[65536];
} region_map;

static bmeq_status build_regions(const uint16_t *roi, size_t n, const bmeq_edema_side_geom *geom,
				 bmeq_edema_result *r, region_map *rm)
{
	uint8_t *present = calloc(65536, 1);
	size_t user = 0;

	(void)geom;
	if (!present)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		present[roi[i]] = 1;
	for (int l = 5; l < 65536; l++)
		user += present[l];
	/* Right and left, then the user's own labels; a user ROI without
	 * femoral labels has only its own regions. (Deciding this from the
	 * total count took a ROI of exactly two user labels for the sides and
	 * wrote past the regions.) */
	int any_femoral = present[1] | present[2] | present[3] | present[4];
	int sides = any_femoral || user == 0;
	size_t count = (sides ? 2 : 0) + user;
	r->regions = calloc(count, sizeof(*r->regions));
	if (!r->regions) {
		free(present);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	r->nregions = count;
	for (int l = 0; l < 65536; l++)
		rm->index_of[l] = -1;
	size_t k = 0;
	if (sides) {
		r->regions[0].side = BMEQ_SIDE_RIGHT;
		r->regions[1].side = BMEQ_SIDE_LEFT;
		rm->index_of[BMEQ_LABEL_RIGHT_HEAD] = rm->index_of[BMEQ_LABEL_RIGHT_NECK] = 0;
		rm->index_of[BMEQ_LABEL_LEFT_HEAD] = rm->index_of[BMEQ_LABEL_LEFT_NECK] = 1;
		k = 2;
	}
	for (int l = 5; l < 65536; l++)
		if (present[l]) {
			r->regions[k].side = BMEQ_SIDE_NONE;
			r->regions[k].label = (uint16_t)l;
			rm->index_of[l] = (int)k++;
		}
	free(present);
	return BMEQ_OK;
}

static int head_label(uint16_t l)
{
	return bmeq_label_part(l) == BMEQ_PART_HEAD;
}

static int neck_label(uint16_t l)
{
	return bmeq_label_part(l) == BMEQ_PART_NECK;
}

/* The reference level is that of the normal marrow of the regions measured.
 * A reader's reference mask says which population that is (the regions' mode
 * nearest to the mask's median); its own level can differ from the regions'
 * normal marrow by 10-15% (coil bias, another bone), which moves a mild
 * lesion's volume several-fold. With reference.level = mask the mask's own
 * statistics are used instead. Sets the reference, its level and the rule's
 * threshold; window gets the normal-marrow window (NaN with the mask's own
 * statistics). */
static bmeq_status estimate_reference(const bmeq_volume *view, const uint16_t *roi,
				      const uint8_t *reference, const bmeq_edema_params *params,
				      bmeq_edema_result *r, double window[2])
{
	bmeq_status st;

	if (reference) {
		st = mask_reference(view, reference, params, &r->reference);
		if (st == BMEQ_OK && params->reference_from_region) {
			bmeq_refstats mask_stats = r->reference;
			st = auto_reference(view, roi, mask_stats.median, params, &r->reference,
					    window);
		}
	} else {
		st = auto_reference(view, roi, NAN, params, &r->reference, window);
	}
	if (st != BMEQ_OK)
		return st;
	r->reference_intensity = r->reference.median;
	return bmeq_rule_apply(&params->rule, &r->reference, &r->threshold);
}

/* ---- T1: gate and weighting --------------------------------------------- */

int bmeq_edema_t1_box(const bmeq_grid *g, const uint16_t *roi, const uint8_t *reference,
		      const bmeq_edema_params *params, size_t lo[3], size_t hi[3])
{
	bmeq_edema_params defaults;
	size_t mn[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX}, mx[3] = {0, 0, 0};
	int any = 0;

	if (!params) {
		bmeq_edema_params_init(&defaults);
		params = &defaults;
	}
	for (size_t z = 0, i = 0; z < g->dim[2]; z++)
		for (size_t y = 0; y < g->dim[1]; y++)
			for (size_t x = 0; x < g->dim[0]; x++, i++) {
				if (!roi[i] && !(reference && reference[i]))
					continue;
				const size_t p[3] = {x, y, z};
				for (int a = 0; a < 3; a++) {
					mn[a] = p[a] < mn[a] ? p[a] : mn[a];
					mx[a] = p[a] > mx[a] ? p[a] : mx[a];
				}
				any = 1;
			}
	if (!any)
		return 0;
	for (int a = 0; a < 3; a++) {
		size_t r = (size_t)bmeq_smooth_radius(g->spacing[a], g->dim[a], params->smooth_mm);
		lo[a] = mn[a] > r ? mn[a] - r : 0;
		hi[a] = mx[a] + r < g->dim[a] - 1 ? mx[a] + r : g->dim[a] - 1;
	}
	return 1;
}

/* The T1 of normal marrow and what follows from it. Edema replaces marrow
 * fat with water: bright on STIR, dark on T1 against normal marrow (how dark
 * depends on how much fat is left: mild edema keeps much of it).
 *
 * The gate (gate[i] 1: the voxel may be edema, NULL: no gate): edema is never
 * brighter on T1 than normal marrow; what is (fat, and marrow or fat where
 * the STIR's fat suppression failed while the T1 shows fat) is removed. The
 * limit is the gate quantile of the T1 of normal marrow.
 *
 * The weighting (weight a > 0): the smoothed STIR the rule sees is divided by
 * (T1 / normal marrow's T1)^a, so that marrow dark on T1 counts as more
 * edematous and marrow bright on T1 as less; normal marrow (T1 ratio 1) is
 * unchanged, and both images stay normalised to normal marrow of the same
 * scan. The T1 ratio is floored at 0.1 (cortex and fluid are near 0 on T1).
 *
 * Both see the T1 smoothed like the STIR. Normal marrow is a reader's
 * reference mask when one is given, else the regions' voxels in the STIR's
 * normal-marrow window. A voxel without T1 (NaN: outside the T1's field of
 * view) is neither gated nor weighted.
 *
 * t1 covers the box of scan voxels from lo (its own grid is the box's), and
 * gate is on that box too (j: t1's voxel index). Every region and reference
 * voxel and the smoothing's reach around them lie in it (bmeq_edema_t1_box),
 * so the smoothed T1 of every voxel that counts, and so the reference, the
 * limit, the gate and the weighting, are those of the whole grid to the bit:
 * the normalised convolution of a voxel sums only voxels within the kernel's
 * reach, in the same order. */
static bmeq_status t1_normal(const bmeq_volume *stir_s, float *weighted, const bmeq_volume *t1,
			     const size_t lo[3], const uint16_t *roi, const uint8_t *reference,
			     const uint8_t *smask, const bmeq_edema_params *p,
			     const double window[2], uint8_t *gate, bmeq_edema_result *r)
{
	const size_t *d = t1->grid.dim, *gd = stir_s->grid.dim;
	size_t nb = bmeq_grid_nvox(&t1->grid), m = 0;
	int femoral = femoral_only(roi, bmeq_grid_nvox(&stir_s->grid));
	float *t1s = malloc(nb * sizeof(*t1s)), *vals = NULL;
	bmeq_status st;

	uint8_t *support = malloc(nb);

	if (!t1s || !support) {
		free(t1s);
		free(support);
		return bmeq_fail(BMEQ_E_NOMEM, "T1: out of memory");
	}
	/* Voxels without a T1 value neither contribute nor are smoothed. */
	for (size_t z = 0, j = 0; z < d[2]; z++)
		for (size_t y = 0; y < d[1]; y++) {
			size_t i = ((z + lo[2]) * gd[1] + y + lo[1]) * gd[0] + lo[0];
			for (size_t x = 0; x < d[0]; x++, j++, i++)
				support[j] = smask[i] && isfinite(t1->data[j]);
		}
	st = bmeq_smooth_gaussian(t1, support, p->smooth_mm, t1s);
	free(support);
	if (st != BMEQ_OK)
		goto done;
	vals = malloc(nb * sizeof(*vals));
	if (!vals) {
		st = bmeq_fail(BMEQ_E_NOMEM, "T1: out of memory");
		goto done;
	}
	for (size_t z = 0, j = 0; z < d[2]; z++)
		for (size_t y = 0; y < d[1]; y++) {
			size_t i = ((z + lo[2]) * gd[1] + y + lo[1]) * gd[0] + lo[0];
			for (size_t x = 0; x < d[0]; x++, j++, i++) {
				int in;
				if (!isfinite(t1s[j]))
					continue;
				if (reference)
					in = reference[i] != 0;
				else
					in = in_marrow_region(roi[i], femoral) &&
					     stir_s->data[i] >= window[0] && stir_s->data[i] <= window[1];
				if (in)
					vals[m++] = t1s[j];
			}
		}
	if (m < p->min_reference_voxels) {
		st = bmeq_fail(BMEQ_E_PROCESS,
			       "T1: only %zu normal-marrow voxels have a T1 value (need %zu); "
			       "does the T1 cover the hips?",
			       m, p->min_reference_voxels);
		goto done;
	}
	if ((st = bmeq_quantile(vals, m, 0.5, &r->t1_reference)) != BMEQ_OK)
		goto done;
	if (!(r->t1_reference > 0.0)) {
		st = bmeq_fail(BMEQ_E_PROCESS,
			       "T1: normal marrow's T1 is %g, not positive: is it a T1-weighted image?",
			       r->t1_reference);
		goto done;
	}
	if (gate) {
		if ((st = bmeq_quantile(vals, m, p->t1_gate_quantile, &r->t1_limit)) != BMEQ_OK)
			goto done;
		for (size_t j = 0; j < nb; j++)
			gate[j] = !(t1s[j] > r->t1_limit);
	}
	if (weighted && p->t1_weight > 0.0)
		for (size_t z = 0, j = 0; z < d[2]; z++)
			for (size_t y = 0; y < d[1]; y++) {
				size_t i = ((z + lo[2]) * gd[1] + y + lo[1]) * gd[0] + lo[0];
				for (size_t x = 0; x < d[0]; x++, j++, i++) {
					if (!smask[i] || !isfinite(t1s[j]))
						continue;
					double q = fmax(t1s[j] / r->t1_reference, 0.1);
					weighted[i] = (float)(weighted[i] / pow(q, p->t1_weight));
				}
			}
done:
	free(vals);
	free(t1s);
	return st;
}

/* ---- detection ---------------------------------------------------------- */

/* The T1 gate over its box of the scan: keep[j] for the box's voxel j
 * (x fastest), the box from scan voxel lo, dim voxels along each axis. */
typedef struct t1_gate {
	const uint8_t *keep;
	size_t lo[3], dim[3];
} t1_gate;

/* Clears the voxels of mask (on grid g) that the gate removes. Edema lies
 * inside the regions, so inside the box: nothing outside it is looked at. */
static void gate_apply(const t1_gate *gt, const bmeq_grid *g, uint8_t *mask)
{
	for (size_t z = 0, j = 0; z < gt->dim[2]; z++)
		for (size_t y = 0; y < gt->dim[1]; y++) {
			size_t i = ((z + gt->lo[2]) * g->dim[1] + y + gt->lo[1]) * g->dim[0] + gt->lo[0];
			for (size_t x = 0; x < gt->dim[0]; x++, j++, i++)
				mask[i] &= gt->keep[j];
		}
}

/* Edema voxels (mask 0/1) of the regions at one threshold: the rule's
 * threshold, then the rim guard and the half-maximum edges. The range
 * (edema_ml_low/high) calls it again at the band's thresholds, so every
 * stage that shapes the volume also shapes its range. */
static bmeq_status detect(const bmeq_volume *scan, const uint16_t *roi,
			  const bmeq_edema_params *params, double reference, double threshold,
			  double edge_fraction, const t1_gate *gate, uint8_t *mask)
{
	size_t n = bmeq_grid_nvox(&scan->grid);
	bmeq_status st;

	bmeq_threshold_mask(scan->data, n, (float)threshold, mask);
	for (size_t i = 0; i < n; i++)
		mask[i] &= roi[i] != 0;
	if (params->rim_mm > 0.0) {
		if ((st = bmeq_rim_guard(&scan->grid, roi, params->rim_mm, mask)) != BMEQ_OK)
			return st;
	}
	if (params->halfmax) {
		/* Lesion edges never below halfway between the reference and
		 * the detection threshold (halfmax_floor 0), or a fixed ratio. */
		double edge_floor = params->halfmax_floor > 0.0 ? params->halfmax_floor * reference
							   : 0.5 * (reference + threshold);
		st = bmeq_halfmax_refine(scan, roi, reference, edge_fraction, edge_floor, mask);
		if (st != BMEQ_OK)
			return st;
	}
	if (gate)
		gate_apply(gate, &scan->grid, mask);
	return BMEQ_OK;
}

/* Per region edema volume (mL) of mask after the lesion size filter, into
 * ml[region index]. labels is scratch of nvox. */
static bmeq_status region_volumes(const bmeq_grid *g, const uint16_t *roi, const uint8_t *mask,
				  const bmeq_cc_options *cco, const region_map *rm, uint32_t *labels,
				  double *ml, size_t nregions)
{
	size_t n = bmeq_grid_nvox(g);
	uint32_t count = 0;
	bmeq_status st = bmeq_components_label(NULL, mask, g->dim, cco, labels, &count);

	if (st != BMEQ_OK)
		return st;
	for (size_t k = 0; k < nregions; k++)
		ml[k] = 0.0;
	for (size_t i = 0; i < n; i++)
		if (labels[i] && roi[i] && rm->index_of[roi[i]] >= 0)
			ml[rm->index_of[roi[i]]] += cco->voxel_ml;
	return BMEQ_OK;
}

bmeq_status bmeq_edema_measure(const bmeq_volume *scan, const uint16_t *roi,
			       const uint8_t *reference, const bmeq_edema_side_geom *geom,
			       const bmeq_edema_params *params, bmeq_edema_result **out)
{
	return bmeq_edema_measure_t1(scan, NULL, NULL, roi, reference, geom, params, out);
}

bmeq_status bmeq_edema_measure_t1(const bmeq_volume *scan, const bmeq_volume *t1,
				  const size_t t1_lo[3], const uint16_t *roi,
				  const uint8_t *reference, const bmeq_edema_side_geom *geom,
				  const bmeq_edema_params *params, bmeq_edema_result **out)
{
	static const size_t origin[3] = {0, 0, 0};
	bmeq_edema_params defaults;
	const bmeq_grid *g = &scan->grid;
	size_t n = bmeq_grid_nvox(g);
	double voxel_ml;
	bmeq_edema_result *r = NULL;
	region_map *rm = NULL;
	uint16_t *roi_kept = NULL;
	uint8_t *mask = NULL, *gate = NULL;
	t1_gate gt = {NULL, {0, 0, 0}, {0, 0, 0}};
	float *smoothed = NULL;
	double window[2] = {NAN, NAN};
	bmeq_volume view;
	uint32_t *labels = NULL;
	lesion_acc *stats = NULL;
	size_t ncomp = 0;
	bmeq_status st;

	*out = NULL;
	if (!params) {
		bmeq_edema_params_init(&defaults);
		params = &defaults;
	}
	if (params->connectivity != 6 && params->connectivity != 18 && params->connectivity != 26)
		return bmeq_fail(BMEQ_E_ARG, "connectivity must be 6, 18 or 26");
	{
		double det = g->affine[0][0] * (g->affine[1][1] * g->affine[2][2] - g->affine[1][2] * g->affine[2][1]) -
			     g->affine[0][1] * (g->affine[1][0] * g->affine[2][2] - g->affine[1][2] * g->affine[2][0]) +
			     g->affine[0][2] * (g->affine[1][0] * g->affine[2][1] - g->affine[1][1] * g->affine[2][0]);
		voxel_ml = fabs(det) / 1000.0;
	}
	r = calloc(1, sizeof(*r));
	rm = malloc(sizeof(*rm));
	mask = malloc(n);
	labels = malloc(n * sizeof(*labels));
	if (!r || !rm || !mask || !labels) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	r->edema_map = calloc(n, sizeof(uint16_t));
	if (!r->edema_map) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	if ((st = bmeq_rule_format(&params->rule, r->rule_text, sizeof(r->rule_text))) != BMEQ_OK)
		goto fail;
	if (!(params->band >= 0.0 && params->band < 1.0)) {
		st = bmeq_fail(BMEQ_E_ARG, "threshold band %g must be in [0, 1)", params->band);
		goto fail;
	}
	r->factor_from_reader = params->factor_from_reader;
	r->threshold_low = r->threshold_high = NAN;
	r->t1_reference = r->t1_limit = NAN;
	r->t1_gated = t1 && params->t1_gate;
	if (!t1_lo)
		t1_lo = origin;
	if (t1)
		for (int a = 0; a < 3; a++)
			if (t1->grid.dim[a] < 1 || t1_lo[a] >= g->dim[a] ||
			    t1->grid.dim[a] > g->dim[a] - t1_lo[a]) {
				st = bmeq_fail(BMEQ_E_GRID, "the T1 is not on the scan's grid");
				goto fail;
			}
	if (r->t1_gated && !(params->t1_gate_quantile >= 0.5 && params->t1_gate_quantile <= 1.0)) {
		st = bmeq_fail(BMEQ_E_ARG, "T1 gate quantile %g must be in [0.5, 1]",
			       params->t1_gate_quantile);
		goto fail;
	}
	if ((st = build_regions(roi, n, geom, r, rm)) != BMEQ_OK)
		goto fail;
	/* A hip whose fat suppression failed keeps its row but takes no part:
	 * its marrow is bright on the STIR, edema or not. */
	if (geom && (geom[0].fatsat_failed || geom[1].fatsat_failed)) {
		if (!(roi_kept = malloc(n * sizeof(*roi_kept)))) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			bmeq_side s = bmeq_label_side(roi[i]);
			roi_kept[i] = s != BMEQ_SIDE_NONE && geom[s].fatsat_failed ? 0 : roi[i];
		}
		roi = roi_kept;
	}
	for (size_t k = 0; k < r->nregions; k++)
		r->regions[k].edema_removed_by_t1_ml = r->t1_gated ? 0.0 : NAN;

	/* No region at all (neither head in view): nothing to threshold; every
	 * side is reported not found with its reason. */
	size_t nroi = 0;
	for (size_t i = 0; i < n; i++)
		nroi += roi[i] != 0;
	if (nroi == 0) {
		r->reference_intensity = r->threshold = NAN;
		goto regions_done;
	}

	/* Reference and threshold. */
	/* Everything from here on sees the image at the scale a reader does. */
	smoothed = malloc(n * sizeof(*smoothed));
	if (!smoothed) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	/* Inside the regions and the reference mask only: with both given, the
	 * result depends on nothing else in the image. mask is free scratch. */
	for (size_t i = 0; i < n; i++)
		mask[i] = roi[i] != 0 || (reference && reference[i]);
	if ((st = bmeq_smooth_gaussian(scan, mask, params->smooth_mm, smoothed)) != BMEQ_OK)
		goto fail;
	view = *scan;
	view.data = smoothed;

	if ((st = estimate_reference(&view, roi, reference, params, r, window)) != BMEQ_OK)
		goto fail;

	if (t1 && (r->t1_gated || params->t1_weight > 0.0)) {
		/* mask was the smoothing's support: rebuild it for the T1. */
		if (r->t1_gated && !(gate = malloc(bmeq_grid_nvox(&t1->grid)))) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
		size_t lo[3], hi[3];
		if (bmeq_edema_t1_box(g, roi, reference, params, lo, hi))
			for (int a = 0; a < 3; a++)
				if (lo[a] < t1_lo[a] || hi[a] >= t1_lo[a] + t1->grid.dim[a]) {
					st = bmeq_fail(BMEQ_E_GRID,
						       "the T1 does not cover the regions and the "
						       "smoothing's reach around them");
					goto fail;
				}
		for (size_t i = 0; i < n; i++)
			mask[i] = roi[i] != 0 || (reference && reference[i]);
		st = t1_normal(&view, smoothed, t1, t1_lo, roi, reference, mask, params, window, gate,
			       r);
		if (st != BMEQ_OK)
			goto fail;
		gt.keep = gate;
		memcpy(gt.lo, t1_lo, sizeof(gt.lo));
		memcpy(gt.dim, t1->grid.dim, sizeof(gt.dim));
		/* The weighted image has its own normal-marrow level (close to the
		 * STIR's: normal marrow's T1 ratio is about 1); the rule reads it. */
		if (params->t1_weight > 0.0 &&
		    (st = estimate_reference(&view, roi, reference, params, r, window)) != BMEQ_OK)
			goto fail;
	}
	if ((st = detect(&view, roi, params, r->reference_intensity, r->threshold, 0.5, NULL,
			 mask)) != BMEQ_OK)
		goto fail;
	/* What the T1 took away: edema by the STIR rule where the T1 is too
	 * bright for it, before the lesion size filter. */
	/* Edema lies inside the regions, so inside the T1's box. */
	if (gate) {
		const size_t *d = t1->grid.dim;
		for (size_t z = 0, j = 0; z < d[2]; z++)
			for (size_t y = 0; y < d[1]; y++) {
				size_t i = ((z + t1_lo[2]) * g->dim[1] + y + t1_lo[1]) * g->dim[0] +
					   t1_lo[0];
				for (size_t x = 0; x < d[0]; x++, j++, i++)
					if (mask[i] && !gate[j]) {
						if (rm->index_of[roi[i]] >= 0)
							r->regions[rm->index_of[roi[i]]]
								.edema_removed_by_t1_ml += voxel_ml;
						mask[i] = 0;
					}
			}
	}
	/* The map follows the mask: voxels dropped lose their label, grown ones
	 * take their region's. */
	for (size_t i = 0; i < n; i++)
		r->edema_map[i] = mask[i] ? roi[i] : 0;

	/* Lesions: 3D components; those below the minimum size are dropped by
	 * the labeller (label 0) and so from the map. */
	bmeq_cc_options cco = {params->connectivity, params->min_lesion_voxels,
			       params->min_lesion_ml, voxel_ml};
	uint32_t count = 0;
	st = bmeq_components_label(NULL, mask, g->dim, &cco, labels, &count);
	if (st != BMEQ_OK)
		goto fail;
	ncomp = count;
	stats = calloc(ncomp + 1, sizeof(*stats));
	if (!stats) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	/* Per component: voxels, intensity sum, centroid, head/neck votes and
	 * region, in one raster pass. */
	for (size_t z = 0, i = 0; z < g->dim[2]; z++)
		for (size_t y = 0; y < g->dim[1]; y++)
			for (size_t x = 0; x < g->dim[0]; x++, i++) {
				uint32_t c = labels[i];
				if (!c) {
					r->edema_map[i] = 0;
					continue;
				}
				lesion_acc *s = &stats[c];
				uint16_t l = r->edema_map[i];
				if (s->voxels == 0) {
					s->first = i;
					s->region = rm->index_of[l];
					s->keep = 1;
				}
				s->voxels++;
				s->sum += scan->data[i];
				s->sx += (double)x;
				s->sy += (double)y;
				s->sz += (double)z;
				s->head += head_label(l);
				s->neck += neck_label(l);
			}

	/* Region volumes. */
	for (size_t i = 0; i < n; i++) {
		uint16_t l = roi[i];
		if (!l || rm->index_of[l] < 0)
			continue;
		bmeq_edema_region *reg = &r->regions[rm->index_of[l]];
		int e = r->edema_map[i] != 0;
		reg->region_ml += voxel_ml;
		reg->edema_ml += e * voxel_ml;
		if (head_label(l)) {
			reg->head_ml += voxel_ml;
			reg->head_edema_ml += e * voxel_ml;
		} else if (neck_label(l)) {
			reg->neck_ml += voxel_ml;
			reg->neck_edema_ml += e * voxel_ml;
		}
		if (e)
			reg->edema_to_reference_ratio += scan->data[i];
	}

	/* Lesion list, by region then raster order of first voxel (component
	 * numbering is already raster order). */
	size_t nkeep = 0;
	for (size_t c = 1; c <= ncomp; c++)
		nkeep += stats[c].keep;
	r->lesions = calloc(nkeep ? nkeep : 1, sizeof(*r->lesions));
	if (!r->lesions) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t reg = 0; reg < r->nregions; reg++) {
		for (size_t c = 1; c <= ncomp; c++) {
			lesion_acc *s = &stats[c];
			if (!s->keep || s->region != (int)reg)
				continue;
			bmeq_lesion *les = &r->lesions[r->nlesions++];
			double ijk[3] = {s->sx / (double)s->voxels, s->sy / (double)s->voxels,
					 s->sz / (double)s->voxels};
			les->region_index = (int)reg;
			les->voxels = s->voxels;
			les->volume_ml = (double)s->voxels * voxel_ml;
			bmeq_grid_voxel_to_world(g, ijk, les->centroid);
			les->mean_ratio = s->sum / (double)s->voxels / r->reference_intensity;
			if (s->head == 0 && s->neck == 0)
				les->part = BMEQ_PART_ROI;
			else
				les->part = s->head >= s->neck ? BMEQ_PART_HEAD : BMEQ_PART_NECK;
			les->depth_mm = NAN;
			bmeq_edema_region *rg = &r->regions[reg];
			rg->lesions++;
			if (les->volume_ml > rg->largest_lesion_ml)
				rg->largest_lesion_ml = les->volume_ml;
		}
	}
	/* Depth below the articular surface: the fitted head sphere's radius minus
	 * the distance from its centre, smallest over the lesion's voxels. */
	if (geom) {
		for (size_t z = 0, i = 0; z < g->dim[2]; z++)
			for (size_t y = 0; y < g->dim[1]; y++)
				for (size_t x = 0; x < g->dim[0]; x++, i++) {
					uint32_t c = labels[i];
					if (!c || !stats[c].keep || stats[c].region < 0 || stats[c].region > 1)
						continue;
					const bmeq_edema_side_geom *sg = &geom[stats[c].region];
					if (!sg->found || !(sg->radius > 0))
						continue;
					double ijk[3] = {(double)x, (double)y, (double)z}, p[3];
					bmeq_grid_voxel_to_world(g, ijk, p);
					double d = sqrt((p[0] - sg->centre[0]) * (p[0] - sg->centre[0]) +
							(p[1] - sg->centre[1]) * (p[1] - sg->centre[1]) +
							(p[2] - sg->centre[2]) * (p[2] - sg->centre[2]));
					double depth = sg->radius - d;
					if (depth < 0)
						depth = 0;
					if (!(stats[c].depth <= depth) || !stats[c].depth_set) {
						stats[c].depth = depth;
						stats[c].depth_set = 1;
					}
				}
		size_t li = 0;
		for (size_t reg = 0; reg < r->nregions; reg++)
			for (size_t c = 1; c <= ncomp; c++)
				if (stats[c].keep && stats[c].region == (int)reg) {
					if (stats[c].depth_set)
						r->lesions[li].depth_mm = stats[c].depth;
					li++;
				}
	}

	/* The range: the same detection with the rule's factor moved by the
	 * band either way (a higher threshold gives the low volume). */
	{
		double *ml = calloc(r->nregions, sizeof(*ml));
		bmeq_rule band_rule = params->rule;
		if (!ml) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto fail;
		}
		for (int b = 0; b < 2 && st == BMEQ_OK; b++) {
			double t;
			band_rule.k = params->rule.k * (b == 0 ? 1.0 + params->band : 1.0 - params->band);
			st = bmeq_rule_apply(&band_rule, &r->reference, &t);
			if (st == BMEQ_OK)
				st = detect(&view, roi, params, r->reference_intensity, t,
					    0.5 + (b == 0 ? 1.0 : -1.0) * params->edge_band,
					    gate ? &gt : NULL, mask);
			if (st == BMEQ_OK)
				st = region_volumes(g, roi, mask, &cco, rm, labels, ml, r->nregions);
			for (size_t k = 0; st == BMEQ_OK && k < r->nregions; k++) {
				if (b == 0)
					r->regions[k].edema_ml_low = ml[k];
				else
					r->regions[k].edema_ml_high = ml[k];
			}
			if (b == 0)
				r->threshold_high = t;
			else
				r->threshold_low = t;
		}
		free(ml);
		if (st != BMEQ_OK)
			goto fail;
	}

regions_done:
	/* Fractions, ratios and status per region. */
	for (size_t k = 0; k < r->nregions; k++) {
		bmeq_edema_region *reg = &r->regions[k];
		size_t edema_vox = (size_t)llround(reg->edema_ml / voxel_ml);
		reg->edema_fraction = reg->region_ml > 0 ? reg->edema_ml / reg->region_ml : NAN;
		reg->edema_to_reference_ratio =
			edema_vox ? reg->edema_to_reference_ratio / (double)edema_vox / r->reference_intensity
				  : NAN;
		if (k < 2 && geom && !geom[k].found) {
			reg->status = geom[k].status != BMEQ_HIP_NONE ? geom[k].status
								       : BMEQ_HIP_NOT_FOUND;
			snprintf(reg->message, sizeof(reg->message), "%s",
				 geom[k].reason[0] ? geom[k].reason : "femoral head not found");
		} else if (k < 2 && geom && geom[k].fatsat_failed) {
			reg->status = BMEQ_HIP_FATSAT_FAILED;
			snprintf(reg->message, sizeof(reg->message), "%s",
				 geom[k].reason[0] ? geom[k].reason : "fat suppression failed");
		} else if (reg->region_ml <= 0.0) {
			reg->status = BMEQ_HIP_NOT_FOUND;
			snprintf(reg->message, sizeof(reg->message), "no region voxels on this side");
		} else {
			reg->status = BMEQ_HIP_OK;
			if (k < 2 && geom && geom[k].reason[0])
				snprintf(reg->message, sizeof(reg->message), "%s", geom[k].reason);
		}
	}
	free(rm);
	free(roi_kept);
	free(mask);
	free(gate);
	free(smoothed);
	free(labels);
	free(stats);
	*out = r;
	return BMEQ_OK;
fail:
	free(rm);
	free(roi_kept);
	free(mask);
	free(gate);
	free(smoothed);
	free(labels);
	free(stats);
	bmeq_edema_result_destroy(r);
	return st;
}
