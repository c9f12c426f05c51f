/* study.c - longitudinal phantom studies: subjects with planned edema
 * trajectories, per-session acquisitions that cycle through every storage
 * variant, and the session parameters that reproduce each scan in-process. */
#include <math.h>
#include <string.h>

#include "bmeq/nifti_io.h"
#include "bmeq/volume.h"
#include "phantom_internal.h"

/* The first six subjects of every study: together they cover every
 * trajectory class and lesion pattern, unilateral and bilateral edema,
 * edema-free hips and effusions (the classic false positive). */
static const struct {
	int traj[2], pattern[2];
	int effusion[2];
	int faint[2]; /* REALISTIC: every lesion at 1.4-1.7x (the hard real cases) */
} plan6[6] = {
	/* right, left: the case that started bmeq is a left hip */
	{{BMEQ_PHANTOM_TRAJ_NONE, BMEQ_PHANTOM_TRAJ_COMPLETE},
	 {BMEQ_PHANTOM_PATTERN_NONE, BMEQ_PHANTOM_PATTERN_DIFFUSE}, {0, 0}, {0, 0}},
	{{BMEQ_PHANTOM_TRAJ_PARTIAL, BMEQ_PHANTOM_TRAJ_NONE},
	 {BMEQ_PHANTOM_PATTERN_DIFFUSE, BMEQ_PHANTOM_PATTERN_NONE}, {0, 1}, {1, 0}},
	{{BMEQ_PHANTOM_TRAJ_STABLE, BMEQ_PHANTOM_TRAJ_PROGRESSION},
	 {BMEQ_PHANTOM_PATTERN_FOCAL, BMEQ_PHANTOM_PATTERN_CRESCENT}, {1, 0}, {0, 1}},
	{{BMEQ_PHANTOM_TRAJ_NEW, BMEQ_PHANTOM_TRAJ_PARTIAL},
	 {BMEQ_PHANTOM_PATTERN_FOCAL, BMEQ_PHANTOM_PATTERN_MULTIFOCAL}, {0, 0}, {0, 0}},
	{{BMEQ_PHANTOM_TRAJ_NONE, BMEQ_PHANTOM_TRAJ_NONE},
	 {BMEQ_PHANTOM_PATTERN_NONE, BMEQ_PHANTOM_PATTERN_NONE}, {1, 0}, {0, 0}},
	{{BMEQ_PHANTOM_TRAJ_COMPLETE, BMEQ_PHANTOM_TRAJ_STABLE},
	 {BMEQ_PHANTOM_PATTERN_CRESCENT, BMEQ_PHANTOM_PATTERN_MULTIFOCAL}, {0, 1}, {0, 0}},
};

/* Stream tags keep the random draws of different purposes independent
 * (5 is the visit dates', in study_write.c). TAG_REALISM, added with the
 * REALISTIC model, leaves every earlier stream and so the BRIGHT study as it
 * was. */
enum {
	TAG_SUBJECT = 1, TAG_LESION = 2, TAG_SESSION = 3, TAG_PLAN = 4, TAG_REALISM = 6,
	TAG_T1 = 7, TAG_FATSAT = 8
};

void bmeq_phantom_subject_make(uint64_t seed, unsigned subject, bmeq_phantom_subject *out)
{
	bmeq_ph_rng r, rp;
	int traj[2], pat[2], eff[2], faint[2] = {0, 0};

	memset(out, 0, sizeof(*out));
	bmeq_ph_rng_seed(&r, seed, TAG_SUBJECT, subject);
	bmeq_ph_anatomy_random(&r, &out->anat);
	out->age_years = 25 + (int)(bmeq_ph_rng_uniform(&r) * 36.0);
	out->baseline_day = (int)(bmeq_ph_rng_uniform(&r) * 365.0);

	bmeq_ph_rng_seed(&rp, seed, TAG_PLAN, subject);
	if (subject < 6) {
		for (int s = 0; s < 2; s++) {
			traj[s] = plan6[subject].traj[s];
			pat[s] = plan6[subject].pattern[s];
			eff[s] = plan6[subject].effusion[s];
			faint[s] = plan6[subject].faint[s];
		}
	} else {
		static const int pool[6] = {BMEQ_PHANTOM_TRAJ_NONE,     BMEQ_PHANTOM_TRAJ_NONE,
					    BMEQ_PHANTOM_TRAJ_COMPLETE, BMEQ_PHANTOM_TRAJ_PARTIAL,
					    BMEQ_PHANTOM_TRAJ_STABLE,   BMEQ_PHANTOM_TRAJ_PROGRESSION};
		for (int s = 0; s < 2; s++) {
			traj[s] = pool[(int)(bmeq_ph_rng_uniform(&rp) * 6.0)];
			pat[s] = 1 + (int)(bmeq_ph_rng_uniform(&rp) * 4.0);
			eff[s] = bmeq_ph_rng_uniform(&rp) < 0.3;
		}
		/* Sometimes the other hip, clear at baseline, becomes involved. */
		if (traj[1] == BMEQ_PHANTOM_TRAJ_NONE && traj[0] != BMEQ_PHANTOM_TRAJ_NONE &&
		    bmeq_ph_rng_uniform(&rp) < 0.35)
			traj[1] = BMEQ_PHANTOM_TRAJ_NEW;
	}
	for (int s = 0; s < 2; s++) {
		bmeq_phantom_hip *h = &out->anat.hip[s];
		bmeq_ph_rng rl;
		bmeq_ph_rng_seed(&rl, seed, TAG_LESION, subject * 2u + (unsigned)s);
		out->trajectory[s] = traj[s];
		bmeq_ph_lesions_make(&rl, h, s,
				     traj[s] == BMEQ_PHANTOM_TRAJ_NONE ? BMEQ_PHANTOM_PATTERN_NONE
								       : pat[s]);
		h->effusion_mm = eff[s] ? bmeq_ph_rng_range(&rl, 2.0, 5.0) : 0.0;
		bmeq_ph_rng_seed(&rl, seed, TAG_REALISM, subject * 2u + (unsigned)s);
		bmeq_ph_lesions_realism(&rl, h, faint[s]);
	}
}

/* What the scanner adds to an acquisition, drawn in this order (the phantom's
 * files depend on it): the stored intensity scale, the coil bias, the noise
 * seed; then the fixed supersampling and no rescale. */
static void draw_scanner(bmeq_ph_rng *r, bmeq_phantom_acq *q)
{
	q->scanner_scale = q->datatype == BMEQ_DT_FLOAT32 ? bmeq_ph_rng_range(r, 0.5, 3.0)
							  : bmeq_ph_rng_range(r, 300.0, 1500.0);
	for (int i = 0; i < 3; i++)
		q->bias_coef[i] = bmeq_ph_rng_range(r, -0.35, 0.35);
	for (int i = 3; i < 9; i++)
		q->bias_coef[i] = bmeq_ph_rng_range(r, -0.2, 0.2);
	q->noise_seed = bmeq_ph_rng_next(r);
	q->supersample = 3;
	q->scl_slope = 0.0;
	q->scl_inter = 0.0;
}

void bmeq_phantom_session_params(uint64_t seed, const bmeq_phantom_subject *s, unsigned subject,
				 unsigned session, unsigned nsessions, bmeq_phantom_params *p)
{
	static const int orient6[6] = {BMEQ_PHANTOM_CORONAL, BMEQ_PHANTOM_CORONAL,
				       BMEQ_PHANTOM_AXIAL,   BMEQ_PHANTOM_CORONAL,
				       BMEQ_PHANTOM_OBLIQUE, BMEQ_PHANTOM_CORONAL};
	static const int dtypes[3] = {BMEQ_DT_INT16, BMEQ_DT_UINT16, BMEQ_DT_FLOAT32};
	unsigned g = subject * nsessions + session;
	bmeq_phantom_acq *q = &p->acq;
	bmeq_ph_rng r;

	memset(p, 0, sizeof(*p));
	p->anat = s->anat;
	bmeq_ph_rng_seed(&r, seed, TAG_SESSION, (uint64_t)subject * 1000u + session);
	for (int side = 0; side < 2; side++) {
		double k = bmeq_phantom_trajectory_scale(s->trajectory[side], session, nsessions);
		/* A stable hip still varies a little between visits. */
		if (s->trajectory[side] == BMEQ_PHANTOM_TRAJ_STABLE && session > 0)
			k *= bmeq_ph_rng_range(&r, 0.98, 1.02);
		p->anat.hip[side].edema_scale = k;
	}

	bmeq_ph_acq_default(q);
	/* Storage variants cycle with the scan's index in the study, so every
	 * study of six or more scans has each of them. */
	q->orient = orient6[g % 6];
	q->flip_lr = (g % 4) >= 2;
	q->datatype = dtypes[g % 3];
	q->nifti_version = (g % 5 == 1 || g % 5 == 3) ? 2 : 1;
	q->qform_code = (g / 2) % 3 == 2 ? 0 : 1;
	q->sform_code = (g / 2) % 3 == 1 ? 0 : 1;

	q->inplane_mm = bmeq_ph_rng_range(&r, 0.7, 1.2);
	q->thickness_mm = bmeq_ph_rng_range(&r, 3.0, 5.5);
	q->gap_mm = q->thickness_mm * bmeq_ph_rng_range(&r, 0.1, 0.3);
	double spacing = q->thickness_mm + q->gap_mm;
	if (q->orient == BMEQ_PHANTOM_AXIAL) {
		q->fov_mm[0] = bmeq_ph_rng_range(&r, 360.0, 400.0);
		q->fov_mm[1] = bmeq_ph_rng_range(&r, 260.0, 300.0);
		q->nslices = (size_t)ceil(bmeq_ph_rng_range(&r, 140.0, 160.0) / spacing);
		q->fov_centre[2] = -25.0;
	} else {
		q->fov_mm[0] = bmeq_ph_rng_range(&r, 360.0, 400.0);
		q->fov_mm[1] = bmeq_ph_rng_range(&r, 240.0, 280.0);
		q->nslices = (size_t)ceil(bmeq_ph_rng_range(&r, 110.0, 130.0) / spacing);
		q->fov_centre[1] = 5.0;
		q->fov_centre[2] = -20.0;
	}
	if (q->nslices < 20)
		q->nslices = 20;
	if (q->nslices > 44)
		q->nslices = 44;
	for (int i = 0; i < 3; i++)
		q->fov_centre[i] += bmeq_ph_rng_range(&r, -8.0, 8.0);
	q->oblique_deg = bmeq_ph_rng_range(&r, 10.0, 25.0);
	q->oblique_tilt_deg = bmeq_ph_rng_range(&r, -8.0, 8.0);
	/* Repositioning between visits: a few degrees and millimetres. */
	for (int i = 0; i < 3; i++) {
		q->rotation_deg[i] = bmeq_ph_rng_range(&r, -3.0, 3.0);
		q->translation_mm[i] = bmeq_ph_rng_range(&r, -5.0, 5.0);
	}
	q->snr = bmeq_ph_rng_range(&r, 10.0, 30.0);
	draw_scanner(&r, q);
}

/* A magnitude in [lo, hi] with a random sign. */
static double signed_range(bmeq_ph_rng *r, double lo, double hi)
{
	double v = bmeq_ph_rng_range(r, lo, hi);

	return bmeq_ph_rng_uniform(r) < 0.5 ? -v : v;
}

void bmeq_phantom_t1_params(uint64_t seed, unsigned subject, unsigned session, unsigned nsessions,
			    const bmeq_phantom_params *stir, bmeq_phantom_params *t1)
{
	/* Beside the STIR's coronal, coronal, axial, coronal, oblique, coronal
	 * (bmeq_phantom_session_params): the T1 is coronal as in most hip
	 * protocols, axial beside two of the coronal STIRs, so its orientation
	 * differs from its STIR's on scans 1, 2, 4 and 5 of every six. */
	static const int orient6[6] = {BMEQ_PHANTOM_CORONAL, BMEQ_PHANTOM_AXIAL,
				       BMEQ_PHANTOM_CORONAL, BMEQ_PHANTOM_CORONAL,
				       BMEQ_PHANTOM_CORONAL, BMEQ_PHANTOM_AXIAL};
	static const int dtypes[3] = {BMEQ_DT_INT16, BMEQ_DT_UINT16, BMEQ_DT_FLOAT32};
	unsigned g = subject * nsessions + session;
	bmeq_phantom_acq *q = &t1->acq;
	const bmeq_phantom_acq *sq = &stir->acq;
	bmeq_ph_rng r;

	*t1 = *stir;
	bmeq_ph_rng_seed(&r, seed, TAG_T1, (uint64_t)subject * 1000u + session);
	bmeq_ph_acq_default(q);
	q->contrast = BMEQ_PHANTOM_T1;
	q->orient = orient6[g % 6];
	/* Storage variants shifted against the STIR's, so a pair seldom shares one. */
	q->flip_lr = ((g + 1) % 4) >= 2;
	q->datatype = dtypes[(g + 1) % 3];
	q->nifti_version = ((g + 2) % 5 == 1 || (g + 2) % 5 == 3) ? 2 : 1;
	q->qform_code = ((g + 1) / 2) % 3 == 2 ? 0 : 1;
	q->sform_code = ((g + 1) / 2) % 3 == 1 ? 0 : 1;

	q->inplane_mm = bmeq_ph_rng_range(&r, 0.8, 1.1);
	q->thickness_mm = bmeq_ph_rng_range(&r, 3.5, 4.5);
	q->gap_mm = q->thickness_mm * bmeq_ph_rng_range(&r, 0.1, 0.2);
	double spacing = q->thickness_mm + q->gap_mm;
	q->fov_mm[0] = bmeq_ph_rng_range(&r, 400.0, 440.0);
	q->fov_mm[1] = bmeq_ph_rng_range(&r, 300.0, 330.0);
	if (q->orient == BMEQ_PHANTOM_AXIAL) {
		q->nslices = (size_t)ceil(bmeq_ph_rng_range(&r, 150.0, 170.0) / spacing);
		q->fov_centre[2] = -25.0;
	} else {
		q->nslices = (size_t)ceil(bmeq_ph_rng_range(&r, 130.0, 150.0) / spacing);
		q->fov_centre[1] = 5.0;
		q->fov_centre[2] = -20.0;
	}
	if (q->nslices < 20)
		q->nslices = 20;
	if (q->nslices > 48)
		q->nslices = 48;
	for (int i = 0; i < 3; i++)
		q->fov_centre[i] += bmeq_ph_rng_range(&r, -8.0, 8.0);
	/* The patient moved between the two series of the visit. */
	for (int i = 0; i < 3; i++) {
		q->rotation_deg[i] = sq->rotation_deg[i] + signed_range(&r, 1.0, 3.0);
		q->translation_mm[i] = sq->translation_mm[i] + signed_range(&r, 1.0, 4.0);
	}
	q->snr = bmeq_ph_rng_range(&r, 15.0, 35.0);
	draw_scanner(&r, q);
	memset(&q->fatsat, 0, sizeof(q->fatsat));
}

void bmeq_phantom_fatsat_params(uint64_t seed, unsigned subject, unsigned session,
				bmeq_phantom_params *stir)
{
	bmeq_phantom_acq *q = &stir->acq;
	bmeq_ph_rng r;
	bmeq_grid g;
	double W[4][4];
	int side, clear[2];

	memset(&q->fatsat, 0, sizeof(q->fatsat));
	if (bmeq_phantom_grid(q, &g) != BMEQ_OK)
		return;
	bmeq_ph_rng_seed(&r, seed, TAG_FATSAT, (uint64_t)subject * 1000u + session);
	/* Over a hip without edema in this session where there is one: what is
	 * reported there is the failure alone. */
	for (int s = 0; s < 2; s++)
		clear[s] = stir->anat.hip[s].nlesions == 0 || !(stir->anat.hip[s].edema_scale > 0.0);
	side = bmeq_ph_rng_uniform(&r) < 0.5 ? 0 : 1;
	if (clear[0] != clear[1])
		side = clear[0] ? 0 : 1;

	/* The head's centre in the scan's world and on its axis i. */
	const bmeq_phantom_hip *h = &stir->anat.hip[side];
	double w[3], ijk[3];
	bmeq_ph_rigid(q, W);
	for (int i = 0; i < 3; i++)
		w[i] = W[i][0] * h->head_centre[0] + W[i][1] * h->head_centre[1] +
		       W[i][2] * h->head_centre[2] + W[i][3];
	if (bmeq_grid_world_to_voxel(&g, w, ijk) != BMEQ_OK)
		return;
	/* The patient's right is +x: the edge on the head's side is the end of
	 * axis i whose world x has the head's sign. */
	double xdir = g.affine[0][0];
	int towards_right = side == 0;
	q->fatsat.edge = (xdir > 0.0) == towards_right ? 1 : -1;
	double d = (q->fatsat.edge < 0 ? ijk[0] + 0.5 : (double)g.dim[0] - 0.5 - ijk[0]) * g.spacing[0];
	q->fatsat.ramp_mm = bmeq_ph_rng_range(&r, 20.0, 40.0);
	/* Half level within a quarter radius of the head's centre: about half the
	 * head (its lateral half) and the neck lateral to it lie in the band. */
	q->fatsat.half_mm = d + h->head_radius * bmeq_ph_rng_range(&r, -0.25, 0.25);
	q->fatsat.strength = bmeq_ph_rng_range(&r, 0.6, 1.0);
}
