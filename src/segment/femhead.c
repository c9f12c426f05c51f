/* femhead.c - bmeq_femhead_segment: detect, pair, refine and label both hips.
 *
 * Sides come from world coordinates only (RAS+: the patient's right is +x),
 * never from storage order. With two heads the one at larger x is the right;
 * a lone head (one-sided field of view) takes its side from its neck, which
 * always runs laterally, and failing that from the sign of x (scanner
 * coordinates put the patient's midline near x = 0).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "femhead_internal.h"

#define FH_MAX_CAND 16

void bmeq_femhead_params_init(bmeq_femhead_params *p)
{
	p->work_spacing_mm = 2.0;
	p->radius_min_mm = 17.0;
	p->radius_max_mm = 32.0;
	p->sep_min_mm = 120.0;
	p->sep_max_mm = 260.0;
	p->min_confidence = 0.45;
	p->qc_confidence = 0.6;
	p->label_necks = 1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void side_found(bmeq_femhead_side *sd, const bmeq_fh_cand *c, const bmeq_femhead_params *p)
{
	sd->found = 1;
	sd->reason[0] = 0;
	memcpy(sd->centre, c->c, sizeof(sd->centre));
	sd->radius_mm = c->r;
	sd->confidence = c->conf;
	sd->fit_rms_mm = c->rms;
	sd->qc = c->conf >= p->qc_confidence;
}

/* Pair score: both heads' edge support plus a little of their votes, less
 * penalties for asymmetry in height, depth and size. -1 when impossible. */
static double pair_score(const bmeq_fh_cand *a, const bmeq_fh_cand *b, const bmeq_femhead_params *p)
{
	double dx = fabs(a->c[0] - b->c[0]), dy = fabs(a->c[1] - b->c[1]);
	double dz = fabs(a->c[2] - b->c[2]), dr = fabs(a->r - b->r);

	if (!a->ok || !b->ok || dx < p->sep_min_mm || dx > p->sep_max_mm || dy > 40 || dz > 40 ||
	    dr > 7)
		return -1;
	return a->conf + b->conf + 0.25 * (a->votes + b->votes) - 0.004 * (dy + dz) - 0.02 * dr;
}

bmeq_status bmeq_femhead_segment(const bmeq_volume *scan, const bmeq_femhead_params *params,
				 uint8_t *labels_out, bmeq_femhead_result *res)
{
	bmeq_femhead_params p;
	bmeq_fh_work w;
	bmeq_fh_sampler s;
	bmeq_fh_cand cand[FH_MAX_CAND];
	size_t nc = 0;
	bmeq_status st;
	double t0 = now_seconds();

	if (!scan || !scan->data || !labels_out || !res)
		return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_segment: NULL argument");
	if (params)
		p = *params;
	else
		bmeq_femhead_params_init(&p);
	if (!(p.work_spacing_mm >= 0.5 && p.work_spacing_mm <= 8) || !(p.radius_min_mm >= 5) ||
	    !(p.radius_max_mm > p.radius_min_mm) || !(p.radius_max_mm <= 60) ||
	    !(p.sep_max_mm > p.sep_min_mm))
		return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_segment: invalid parameters");
	memset(res, 0, sizeof(*res));
	memset(labels_out, 0, bmeq_grid_nvox(&scan->grid));
	for (int k = 0; k < 2; k++)
		snprintf(res->side[k].reason, sizeof(res->side[k].reason),
			 "no femoral head found on this side");

	if ((st = bmeq_fh_sampler_init(&s, scan)) != BMEQ_OK)
		return st;
	if ((st = bmeq_fh_work_build(scan, p.work_spacing_mm, &w)) != BMEQ_OK)
		return st;
	st = bmeq_fh_hough(&w, p.radius_min_mm, p.radius_max_mm, cand, FH_MAX_CAND, 20.0, &nc);
	bmeq_fh_work_free(&w);
	if (st != BMEQ_OK)
		return st;

	for (size_t i = 0; i < nc; i++)
		bmeq_fh_refine(&s, &p, &cand[i]);
	/* Two candidates that converged onto one head: keep the better fit. */
	for (size_t i = 0; i < nc; i++)
		for (size_t j = 0; j < nc; j++) {
			if (i == j || !cand[i].ok || !cand[j].ok)
				continue;
			double dx = cand[i].c[0] - cand[j].c[0], dy = cand[i].c[1] - cand[j].c[1];
			double dz = cand[i].c[2] - cand[j].c[2];
			if (dx * dx + dy * dy + dz * dz < 100 &&
			    (cand[j].conf > cand[i].conf || (cand[j].conf == cand[i].conf && j < i)))
				cand[i].ok = 0;
		}

	int bi = -1, bj = -1;
	double best = -1;
	for (size_t i = 0; i < nc; i++)
		for (size_t j = i + 1; j < nc; j++) {
			double sc = pair_score(&cand[i], &cand[j], &p);

			/* Phantom and real hips score 0.68-0.92; structures that
			 * merely look round on a few slices (kidneys, bowel on an
			 * abdominal MR) score about 0.35. */
			if (sc > best && cand[i].conf >= p.min_confidence &&
			    cand[j].conf >= p.min_confidence) {
				best = sc;
				bi = (int)i;
				bj = (int)j;
			}
		}

	const bmeq_fh_cand *hc[2] = {NULL, NULL};
	if (bi >= 0) {
		/* RAS+: the larger x is the patient's right. */
		int rightfirst = cand[bi].c[0] > cand[bj].c[0];
		hc[BMEQ_FEMHEAD_RIGHT] = rightfirst ? &cand[bi] : &cand[bj];
		hc[BMEQ_FEMHEAD_LEFT] = rightfirst ? &cand[bj] : &cand[bi];
		for (int k = 0; k < 2; k++)
			bmeq_fh_neck_axis(&s, hc[k], k == BMEQ_FEMHEAD_RIGHT ? 1 : -1, &res->side[k]);
	} else {
		/* A lone head must be convincing on its own, without the
		 * partner that confirms a pair. */
		int b = -1;
		for (size_t i = 0; i < nc; i++)
			if (cand[i].ok && cand[i].conf >= p.min_confidence + 0.1 &&
			    (b < 0 || cand[i].conf > cand[b].conf))
				b = (int)i;
		if (b >= 0) {
			bmeq_femhead_side tmp;
			int k;

			memset(&tmp, 0, sizeof(tmp));
			bmeq_fh_neck_axis(&s, &cand[b], 0, &tmp);
			if (fabs(tmp.neck_axis[0]) > 0.3)
				k = tmp.neck_axis[0] > 0 ? BMEQ_FEMHEAD_RIGHT : BMEQ_FEMHEAD_LEFT;
			else
				k = cand[b].c[0] > 0 ? BMEQ_FEMHEAD_RIGHT : BMEQ_FEMHEAD_LEFT;
			hc[k] = &cand[b];
			bmeq_fh_neck_axis(&s, hc[k], k == BMEQ_FEMHEAD_RIGHT ? 1 : -1, &res->side[k]);
			snprintf(res->side[1 - k].reason, sizeof(res->side[1 - k].reason),
				 "no femoral head found on this side (only the %s head is in view)",
				 k == BMEQ_FEMHEAD_RIGHT ? "right" : "left");
		}
	}
	for (int k = 0; k < 2; k++) {
		if (!hc[k])
			continue;
		bmeq_fh_neck nk;

		side_found(&res->side[k], hc[k], &p);
		/* The neck follows the bone: axis and section measured on the
		 * image (neckfit.c), not a model of fixed proportions. */
		bmeq_fh_neck_fit(&s, hc[k], &res->side[k], &nk);
		bmeq_fh_label(&scan->grid, &res->side[k], &nk,
			      k == BMEQ_FEMHEAD_RIGHT ? BMEQ_FEMHEAD_LABEL_RIGHT_HEAD
						      : BMEQ_FEMHEAD_LABEL_LEFT_HEAD,
			      k == BMEQ_FEMHEAD_RIGHT ? BMEQ_FEMHEAD_LABEL_RIGHT_NECK
						      : BMEQ_FEMHEAD_LABEL_LEFT_NECK,
			      p.label_necks, labels_out);
	}
	res->seconds = now_seconds() - t0;
	return BMEQ_OK;
}
