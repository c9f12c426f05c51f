/* femhead.c - bmeq_femhead_segment: detect, pair, refine and label both hips.
 *
 * Sides come from world coordinates only (RAS+: the patient's right is +x),
 * never from storage order. With two heads the one at larger x is the right;
 * a lone head (one-sided field of view) takes its side from its neck, which
 * always runs laterally, and failing that from the sign of x (scanner
 * coordinates put the patient's midline near x = 0).
 *
 * A sphere is not yet a hip: pairs are tried best first and lone heads by
 * edge support, and each must pass the anatomical checks of plausible.c (a
 * neck that leaves the head inferiorly; for a lone head, no mirror twin
 * across the body's midline closer than the hips can be). A scan without a
 * hip (a brain, whose orbits fit a 22 mm sphere) gets no head on either side.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/clock.h"
#include "femhead_internal.h"

#define FH_MAX_CAND 16
/* Pairs and lone candidates tried against the anatomical checks; each try
 * costs a neck fit (a few ms), and real hips pass at the first. */
#define FH_MAX_PAIRS 4
#define FH_MAX_LONE 4
/* How far the midpoint of a pair of heads may lie from the body's midline. */
#define FH_PAIR_MIDLINE_MM 20.0
/* Least fraction of open rays around the neck axis (bmeq_fh_neck_opening). */
#define FH_MIN_NECK_OPENING 0.35

void bmeq_femhead_params_init(bmeq_femhead_params *p)
{
	p->work_spacing_mm = 2.0;
	p->radius_min_mm = 17.0;
	p->radius_max_mm = 32.0;
	p->sep_min_mm = 120.0;
	p->sep_max_mm = 260.0;
	p->min_confidence = 0.45;
	p->qc_confidence = 0.6;
	p->min_cup = 0.45;
	p->min_in_view = 0.95;
	p->label_necks = 1;
	p->accept_doubtful = 0;
	p->search_box = 0;
	for (int a = 0; a < 3; a++) {
		p->search_lo[a] = -HUGE_VAL;
		p->search_hi[a] = HUGE_VAL;
	}
}

const char *bmeq_head_status_name(bmeq_head_status s)
{
	switch (s) {
	case BMEQ_HEAD_FOUND: return "found";
	case BMEQ_HEAD_PARTIAL: return "partial";
	case BMEQ_HEAD_UNCERTAIN: return "uncertain";
	case BMEQ_HEAD_NOT_IN_VIEW: break;
	}
	return "not_in_view";
}

bmeq_hip_status bmeq_head_status_hip(bmeq_head_status s)
{
	switch (s) {
	case BMEQ_HEAD_FOUND: return BMEQ_HIP_OK;
	case BMEQ_HEAD_PARTIAL: return BMEQ_HIP_PARTIAL;
	case BMEQ_HEAD_UNCERTAIN: return BMEQ_HIP_UNCERTAIN;
	case BMEQ_HEAD_NOT_IN_VIEW: break;
	}
	return BMEQ_HIP_NOT_IN_VIEW;
}

/* The sphere's numbers on side sd; found, qc and the reason come from
 * side_status once the candidate is accepted. */
static void side_sphere(bmeq_femhead_side *sd, const bmeq_fh_cand *c)
{
	memcpy(sd->centre, c->c, sizeof(sd->centre));
	sd->radius_mm = c->r;
	sd->confidence = c->conf;
	sd->fit_rms_mm = c->rms;
}

/* The next entry of res->tries for candidate c tried as side k, its sphere
 * filled and its test values NAN; NULL when the list is full. */
static bmeq_femhead_try *new_try(bmeq_femhead_result *res, const bmeq_fh_cand *c, int k)
{
	if (res->ntries >= BMEQ_FEMHEAD_MAX_TRIES)
		return NULL;
	bmeq_femhead_try *t = &res->tries[res->ntries++];
	memset(t, 0, sizeof(*t));
	t->side = k;
	memcpy(t->centre, c->c, sizeof(t->centre));
	t->radius_mm = c->r;
	t->confidence = c->conf;
	t->in_view = t->acetabulum = t->neck_opening = NAN;
	return t;
}

/* Neck of candidate c as the head of side k: the axis, the measured neck and
 * the side's public numbers, then the anatomical tests of a femoral head
 * (anatomy.c, plausible.c). Returns 1 when c passes them: a neck that leaves
 * the head inferiorly and laterally, and an acetabulum around it when its
 * roof is in view (a lone head, without a partner: in view and around it);
 * else 0, with why (sd then holds the try). */
static int fit_side(const bmeq_fh_sampler *s, const bmeq_femhead_params *p, const bmeq_fh_cand *c,
		    int k, int lone, bmeq_femhead_side *sd, bmeq_fh_neck *nk, const char **why,
		    bmeq_femhead_result *res)
{
	int lat = k == BMEQ_FEMHEAD_RIGHT ? 1 : -1;
	bmeq_femhead_try *t = new_try(res, c, k);

	memset(sd, 0, sizeof(*sd));
	bmeq_fh_neck_axis(s, c, lat, sd);
	side_sphere(sd, c);
	/* The neck follows the bone: axis and section measured on the image
	 * (neckfit.c), not a model of fixed proportions. */
	bmeq_fh_neck_fit(s, c, sd, nk);
	/* The section is public: a side found here can be drawn on another
	 * grid (bmeq_femhead_label_side). */
	memcpy(sd->neck_e0, nk->e0, sizeof(sd->neck_e0));
	memcpy(sd->neck_e1, nk->e1, sizeof(sd->neck_e1));
	memcpy(sd->neck_rho_mm, nk->rho, sizeof(sd->neck_rho_mm));
	sd->in_view = bmeq_fh_in_view(s, c->c, c->r);
	sd->cup = bmeq_fh_cup_score(s, c);
	double opening = bmeq_fh_neck_opening(c, sd->neck_axis);

	*why = NULL;
	if (!bmeq_fh_neck_descends(sd->neck_axis))
		*why = "no neck leaving it inferiorly";
	/* A neck of radius 0.5-0.75 R leaves the sphere through a cone of
	 * 30-49 degrees: within 30 degrees of the axis nearly every ray is
	 * open (0.65-1 on the phantom and the real hips; a closed ball, whose
	 * axis is only the default guess, 0.06). */
	else if (opening < FH_MIN_NECK_OPENING)
		*why = "no neck leaving it (its edge is closed all round)";
	else if (!bmeq_fh_neck_version_ok(sd->neck_axis, lat))
		*why = "no neck leaving it laterally";
	else if (isfinite(sd->cup) && sd->cup < p->min_cup)
		*why = "no acetabulum around it";
	/* A pair vouches for itself (two heads placed like hips, either side
	 * of the body's midline); a lone head only by its acetabulum. With the
	 * cup's roof out of view nothing shows that a lone sphere at the edge
	 * of the field of view is a hip: on real-like STIR contrast the body's
	 * outline against air (a thigh 57 mm below the heads) and round
	 * structures above the hips passed every other test there. */
	else if (lone && !isfinite(sd->cup))
		*why = "acetabulum out of view, no other hip to confirm it";
	if (t) {
		t->in_view = sd->in_view;
		t->acetabulum = sd->cup;
		t->neck_opening = opening;
		memcpy(t->neck_axis, sd->neck_axis, sizeof(t->neck_axis));
		snprintf(t->verdict, sizeof(t->verdict), "%s", *why ? *why : "head");
	}
	return *why == NULL;
}

/* Records a candidate rejected before its neck was fitted. */
static void log_try(bmeq_femhead_result *res, const bmeq_fh_cand *c, int k, const char *why)
{
	bmeq_femhead_try *t = new_try(res, c, k);

	if (t)
		snprintf(t->verdict, sizeof(t->verdict), "%s", why);
}

/* The side's status from the tests that do not reject a head outright: all
 * of it and its acetabulum in view, and the edge support. */
static void side_status(const bmeq_femhead_params *p, bmeq_femhead_side *sd)
{
	if (sd->in_view < p->min_in_view) {
		sd->status = BMEQ_HEAD_PARTIAL;
		snprintf(sd->reason, sizeof(sd->reason),
			 "femoral head cut by the edge of the field of view (%.0f%% of it in view)",
			 100.0 * sd->in_view);
	} else if (!isfinite(sd->cup)) {
		sd->status = BMEQ_HEAD_PARTIAL;
		snprintf(sd->reason, sizeof(sd->reason),
			 "femoral head at the edge of the field of view, its acetabulum out of view");
	} else if (sd->confidence < p->qc_confidence) {
		sd->status = BMEQ_HEAD_UNCERTAIN;
		snprintf(sd->reason, sizeof(sd->reason),
			 "uncertain femoral head: weak edge support (confidence %.2f < %.2f)",
			 sd->confidence, p->qc_confidence);
	} else {
		sd->status = BMEQ_HEAD_FOUND;
		sd->reason[0] = 0;
	}
	sd->qc = sd->status == BMEQ_HEAD_FOUND;
	sd->found = sd->qc || p->accept_doubtful;
	if (!sd->found) {
		size_t len = strlen(sd->reason);
		snprintf(sd->reason + len, sizeof(sd->reason) - len, "; edema not measured");
	}
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
	double t0 = bmeq_clock_seconds();

	if (!scan || !scan->data || !res)
		return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_segment: NULL argument");
	if (params)
		p = *params;
	else
		bmeq_femhead_params_init(&p);
	if (!(p.work_spacing_mm >= 0.5 && p.work_spacing_mm <= 8) || !(p.radius_min_mm >= 5) ||
	    !(p.radius_max_mm > p.radius_min_mm) || !(p.radius_max_mm <= 60) ||
	    !(p.sep_max_mm > p.sep_min_mm))
		return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_segment: invalid parameters");
	for (int a = 0; p.search_box && a < 3; a++)
		if (!(p.search_hi[a] > p.search_lo[a]))
			return bmeq_fail(BMEQ_E_ARG, "bmeq_femhead_segment: empty search box");
	memset(res, 0, sizeof(*res));
	if (labels_out)
		memset(labels_out, 0, bmeq_grid_nvox(&scan->grid));
	for (int k = 0; k < 2; k++) {
		res->side[k].cup = NAN;
		snprintf(res->side[k].reason, sizeof(res->side[k].reason),
			 "no femoral head in view on this side");
	}

	if ((st = bmeq_fh_sampler_init(&s, scan)) != BMEQ_OK)
		return st;
	if ((st = bmeq_fh_work_build(scan, p.work_spacing_mm, p.search_box ? p.search_lo : NULL,
				     p.search_box ? p.search_hi : NULL, &w)) != BMEQ_OK)
		return st;
	st = bmeq_fh_hough(&w, p.radius_min_mm, p.radius_max_mm, cand, FH_MAX_CAND, 20.0, &nc);
	/* The body's midline, for a head without a partner (plausible.c). */
	double midline_x = NAN, midline_corr = 0;
	if (st == BMEQ_OK)
		bmeq_fh_midline(&w, &midline_x, &midline_corr);
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

	/* Every possible pair; they are tried best first, and the first whose
	 * necks both leave their heads inferiorly wins. */
	int pi[FH_MAX_CAND * FH_MAX_CAND / 2], pj[FH_MAX_CAND * FH_MAX_CAND / 2];
	double ps[FH_MAX_CAND * FH_MAX_CAND / 2];
	int np = 0;
	for (size_t i = 0; i < nc; i++)
		for (size_t j = i + 1; j < nc; j++) {
			double sc = pair_score(&cand[i], &cand[j], &p);

			/* Phantom and real hips score 0.68-0.92; structures that
			 * merely look round on a few slices (kidneys, bowel on an
			 * abdominal MR) score about 0.35. */
			if (sc < 0 || cand[i].conf < p.min_confidence || cand[j].conf < p.min_confidence)
				continue;
			pi[np] = (int)i;
			pj[np] = (int)j;
			ps[np++] = sc;
		}

	const bmeq_fh_cand *hc[2] = {NULL, NULL};
	bmeq_fh_neck nk[2];
	int rejected = 0;
	const char *why = NULL;
	for (int attempt = 0; attempt < FH_MAX_PAIRS && !hc[0]; attempt++) {
		/* The best pair not yet tried (the first of equals). */
		int q = -1;
		for (int e = 0; e < np; e++)
			if (ps[e] >= 0 && (q < 0 || ps[e] > ps[q]))
				q = e;
		if (q < 0)
			break;
		ps[q] = -1;
		/* RAS+: the larger x is the patient's right. */
		int rightfirst = cand[pi[q]].c[0] > cand[pj[q]].c[0];
		const bmeq_fh_cand *r = rightfirst ? &cand[pi[q]] : &cand[pj[q]];
		const bmeq_fh_cand *l = rightfirst ? &cand[pj[q]] : &cand[pi[q]];

		/* The two hips straddle the body's midline symmetrically
		 * (3-4 mm off on the real pelves, the midline's own error). */
		if (isfinite(midline_x) &&
		    fabs(0.5 * (r->c[0] + l->c[0]) - midline_x) > FH_PAIR_MIDLINE_MM) {
			rejected = 1;
			why = "not placed symmetrically about the body's midline";
			log_try(res, r, BMEQ_FEMHEAD_RIGHT, why);
			log_try(res, l, BMEQ_FEMHEAD_LEFT, why);
			continue;
		}
		if (fit_side(&s, &p, r, BMEQ_FEMHEAD_RIGHT, 0, &res->side[0], &nk[0], &why, res) &&
		    fit_side(&s, &p, l, BMEQ_FEMHEAD_LEFT, 0, &res->side[1], &nk[1], &why, res)) {
			hc[0] = r;
			hc[1] = l;
		} else {
			rejected = 1;
		}
	}
	if (!hc[0]) {
		/* A lone head must be convincing on its own, without the
		 * partner that confirms a pair: more edge support, and neither
		 * a mirror twin nor a strongly symmetric scan that puts it too
		 * near the body's midline. */
		double mid = midline_x;
		int tried[FH_MAX_CAND] = {0};

		for (int attempt = 0; attempt < FH_MAX_LONE && !hc[0] && !hc[1]; attempt++) {
			int b = -1;
			for (size_t i = 0; i < nc; i++)
				if (!tried[i] && cand[i].ok && cand[i].conf >= p.min_confidence + 0.1 &&
				    (b < 0 || cand[i].conf > cand[b].conf))
					b = (int)i;
			if (b < 0)
				break;
			tried[b] = 1;
			if (bmeq_fh_lone_has_near_twin(&p, mid, cand, nc, (size_t)b) ||
			    !bmeq_fh_lone_position_ok(&p, mid, midline_corr, cand[b].c)) {
				rejected = 1;
				why = "too near the body's midline";
				log_try(res, &cand[b], cand[b].c[0] > 0 ? BMEQ_FEMHEAD_RIGHT : BMEQ_FEMHEAD_LEFT, why);
				continue;
			}
			bmeq_femhead_side tmp;
			int k;

			memset(&tmp, 0, sizeof(tmp));
			bmeq_fh_neck_axis(&s, &cand[b], 0, &tmp);
			if (fabs(tmp.neck_axis[0]) > 0.3)
				k = tmp.neck_axis[0] > 0 ? BMEQ_FEMHEAD_RIGHT : BMEQ_FEMHEAD_LEFT;
			else
				k = cand[b].c[0] > 0 ? BMEQ_FEMHEAD_RIGHT : BMEQ_FEMHEAD_LEFT;
			if (!fit_side(&s, &p, &cand[b], k, 1, &res->side[k], &nk[k], &why, res)) {
				rejected = 1;
				continue;
			}
			hc[k] = &cand[b];
		}
	}
	for (int k = 0; k < 2; k++) {
		if (hc[k]) {
			side_status(&p, &res->side[k]);
			if (res->side[k].found && labels_out)
				bmeq_fh_label(&scan->grid, &res->side[k], &nk[k],
					      k == BMEQ_FEMHEAD_RIGHT ? BMEQ_FEMHEAD_LABEL_RIGHT_HEAD
								      : BMEQ_FEMHEAD_LABEL_LEFT_HEAD,
					      k == BMEQ_FEMHEAD_RIGHT ? BMEQ_FEMHEAD_LABEL_RIGHT_NECK
								      : BMEQ_FEMHEAD_LABEL_LEFT_NECK,
					      p.label_necks, labels_out);
		} else {
			/* A side not in view must not leak the numbers of a
			 * rejected try, and the reason says why. */
			memset(&res->side[k], 0, sizeof(res->side[k]));
			res->side[k].status = BMEQ_HEAD_NOT_IN_VIEW;
			res->side[k].cup = NAN;
			if (hc[1 - k])
				snprintf(res->side[k].reason, sizeof(res->side[k].reason),
					 "no femoral head in view on this side (only the %s hip is)",
					 k == BMEQ_FEMHEAD_RIGHT ? "left" : "right");
			else if (rejected)
				snprintf(res->side[k].reason, sizeof(res->side[k].reason),
					 "no femoral head in view on this side (round structures seen, "
					 "none a hip: %s)",
					 why ? why : "not placed like a hip");
			else
				snprintf(res->side[k].reason, sizeof(res->side[k].reason),
					 "no femoral head in view on this side");
		}
	}
	res->seconds = bmeq_clock_seconds() - t0;
	return BMEQ_OK;
}
