/* anatomy.c - hip geometry: derived frames, random adult anatomy within
 * published ranges, the fixed default subject, and the session's rigid
 * repositioning. */
#include <math.h>
#include <string.h>

#include "phantom_internal.h"

#define DEG (3.14159265358979323846 / 180.0)

void bmeq_ph_hip_frame_make(const bmeq_phantom_hip *h, int side, bmeq_ph_hip_frame *f)
{
	/* RAS+: the patient's right is +x, so lateral is +x on the right hip
	 * and -x on the left. */
	double lat = side == BMEQ_PHANTOM_RIGHT ? 1.0 : -1.0;
	double a = h->adduction_deg * DEG, th = h->neck_shaft_deg * DEG;
	double av = h->anteversion_deg * DEG;

	memset(f, 0, sizeof(*f));
	f->lat[0] = lat;
	/* Shaft: down and slightly medial. In the (lateral, superior) plane its
	 * angle is phi; the head direction from the junction is phi - th (the
	 * neck-shaft angle opens medially and upwards). */
	double ds_lat = -bmeq_ph_sin(a), ds_up = -bmeq_ph_cos(a);
	f->shaft[0] = lat * ds_lat;
	f->shaft[2] = ds_up;
	double phi = bmeq_ph_atan2(ds_up, ds_lat), hd = phi - th;
	double h_lat = bmeq_ph_cos(hd), h_up = bmeq_ph_sin(hd); /* h_lat < 0: medial */
	/* Anteversion turns the head forwards about the vertical. */
	double head[3] = {lat * h_lat * bmeq_ph_cos(av), -h_lat * bmeq_ph_sin(av), h_up};
	bmeq_ph_normalize(head);
	for (int i = 0; i < 3; i++)
		f->neck[i] = -head[i];
	bmeq_ph_cross(f->neck, f->shaft, f->perp);
	bmeq_ph_normalize(f->perp);
	bmeq_ph_axpy(h->head_centre, h->neck_length + 8.0, f->neck, f->junction);

	double inc = h->acetabular_incl_deg * DEG, aav = h->acetabular_av_deg * DEG;
	f->cup_open[0] = lat * bmeq_ph_sin(inc) * bmeq_ph_cos(aav);
	f->cup_open[1] = bmeq_ph_sin(inc) * bmeq_ph_sin(aav);
	f->cup_open[2] = -bmeq_ph_cos(inc);
	bmeq_ph_normalize(f->cup_open);
}

void bmeq_phantom_world_from_body(const bmeq_phantom_acq *acq, double m[4][4])
{
	bmeq_ph_rigid(acq, m);
}

void bmeq_ph_rigid(const bmeq_phantom_acq *acq, double m[4][4])
{
	double ax = acq->rotation_deg[0] * DEG, ay = acq->rotation_deg[1] * DEG;
	double az = acq->rotation_deg[2] * DEG;
	double cx = bmeq_ph_cos(ax), sx = bmeq_ph_sin(ax), cy = bmeq_ph_cos(ay), sy = bmeq_ph_sin(ay), cz = bmeq_ph_cos(az), sz = bmeq_ph_sin(az);
	/* R = Rz * Ry * Rx */
	double r[3][3] = {
		{cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx},
		{sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx},
		{-sy, cy * sx, cy * cx},
	};

	memset(m, 0, 16 * sizeof(double));
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 3; j++)
			m[i][j] = r[i][j];
		m[i][3] = acq->translation_mm[i];
	}
	m[3][3] = 1.0;
}

static void default_hip(bmeq_phantom_hip *h, int side)
{
	double lat = side == BMEQ_PHANTOM_RIGHT ? 1.0 : -1.0;

	memset(h, 0, sizeof(*h));
	h->head_centre[0] = lat * (side ? 91.0 : 89.0);
	h->head_centre[1] = side ? 1.5 : -1.0;
	h->head_centre[2] = side ? -1.0 : 0.5;
	h->head_radius = side ? 24.0 : 23.0;
	h->neck_shaft_deg = side ? 127.0 : 131.0;
	h->anteversion_deg = side ? 14.0 : 11.0;
	h->adduction_deg = 7.0;
	h->neck_length = h->head_radius + 20.0;
	h->neck_radius[0] = 0.70 * h->head_radius;
	h->neck_radius[1] = 0.62 * h->head_radius;
	h->shaft_radius = 14.0;
	h->cortex_head = 1.3;
	h->cortex_neck = 2.0;
	h->cortex_shaft = 5.0;
	h->cartilage_mm = 1.8;
	h->acetabular_incl_deg = 44.0;
	h->acetabular_av_deg = 17.0;
	h->acetabular_cover_deg = 102.0;
	h->edema_ratio = 3.5;
	h->edema_scale = 1.0;
}

void bmeq_ph_anatomy_soft_default(bmeq_phantom_anatomy *a)
{
	a->body_radius[0] = 182.0;
	a->body_radius[1] = 125.0;
	a->body_centre_y = -10.0;
	a->fat_mm = 18.0;
	a->bladder_centre[0] = 0.0;
	a->bladder_centre[1] = 38.0;
	a->bladder_centre[2] = 26.0;
	a->bladder_radius[0] = 42.0;
	a->bladder_radius[1] = 32.0;
	a->bladder_radius[2] = 28.0;
	a->marrow_texture = 0.07;
	a->texture_seed = 42;
}

void bmeq_ph_acq_default(bmeq_phantom_acq *q)
{
	memset(q, 0, sizeof(*q));
	q->orient = BMEQ_PHANTOM_CORONAL;
	q->contrast = BMEQ_PHANTOM_STIR;
	q->inplane_mm = 0.9;
	q->thickness_mm = 4.0;
	q->gap_mm = 0.8;
	q->fov_mm[0] = 380.0;
	q->fov_mm[1] = 260.0;
	q->nslices = 26;
	q->fov_centre[2] = -20.0;
	q->snr = 20.0;
	q->scanner_scale = 1000.0;
	q->bias_coef[0] = 0.15;
	q->bias_coef[1] = 0.25;
	q->bias_coef[4] = 0.12;
	q->noise_seed = 1;
	q->supersample = 3;
	q->datatype = 4; /* BMEQ_DT_INT16 */
	q->nifti_version = 1;
	q->qform_code = 1;
	q->sform_code = 1;
}

void bmeq_phantom_params_default(bmeq_phantom_params *p)
{
	memset(p, 0, sizeof(*p));
	for (int s = 0; s < 2; s++)
		default_hip(&p->anat.hip[s], s);
	bmeq_ph_anatomy_soft_default(&p->anat);
	bmeq_ph_lesions_make_fixed(&p->anat.hip[BMEQ_PHANTOM_LEFT], BMEQ_PHANTOM_LEFT,
				   BMEQ_PHANTOM_PATTERN_DIFFUSE);
	bmeq_ph_lesions_make_fixed(&p->anat.hip[BMEQ_PHANTOM_RIGHT], BMEQ_PHANTOM_RIGHT,
				   BMEQ_PHANTOM_PATTERN_FOCAL);
	bmeq_ph_acq_default(&p->acq);
}

void bmeq_ph_hip_random(bmeq_ph_rng *r, int side, bmeq_phantom_hip *h)
{
	double lat = side == BMEQ_PHANTOM_RIGHT ? 1.0 : -1.0;

	memset(h, 0, sizeof(*h));
	/* Each side is drawn on its own, so the hips are never mirror copies. */
	h->head_centre[0] = lat * bmeq_ph_rng_range(r, 84.0, 96.0);
	h->head_centre[1] = bmeq_ph_rng_range(r, -6.0, 6.0);
	h->head_centre[2] = bmeq_ph_rng_range(r, -4.0, 4.0);
	h->head_radius = bmeq_ph_rng_range(r, 20.0, 27.0);
	h->neck_shaft_deg = bmeq_ph_rng_range(r, 120.0, 140.0);
	h->anteversion_deg = bmeq_ph_rng_range(r, 5.0, 20.0);
	h->adduction_deg = bmeq_ph_rng_range(r, 5.0, 9.0);
	h->neck_length = h->head_radius + bmeq_ph_rng_range(r, 16.0, 24.0);
	h->neck_radius[0] = h->head_radius * bmeq_ph_rng_range(r, 0.66, 0.76);
	h->neck_radius[1] = h->head_radius * bmeq_ph_rng_range(r, 0.56, 0.66);
	h->shaft_radius = bmeq_ph_rng_range(r, 12.5, 15.5);
	h->cortex_head = bmeq_ph_rng_range(r, 1.0, 1.6);
	h->cortex_neck = bmeq_ph_rng_range(r, 1.6, 2.4);
	h->cortex_shaft = bmeq_ph_rng_range(r, 4.0, 6.0);
	h->cartilage_mm = bmeq_ph_rng_range(r, 1.5, 2.2);
	h->acetabular_incl_deg = bmeq_ph_rng_range(r, 38.0, 50.0);
	h->acetabular_av_deg = bmeq_ph_rng_range(r, 12.0, 22.0);
	h->acetabular_cover_deg = bmeq_ph_rng_range(r, 96.0, 108.0);
	h->edema_ratio = bmeq_ph_rng_range(r, 2.5, 5.0);
	h->edema_scale = 1.0;
}

void bmeq_ph_anatomy_random(bmeq_ph_rng *r, bmeq_phantom_anatomy *a)
{
	memset(a, 0, sizeof(*a));
	for (int s = 0; s < 2; s++)
		bmeq_ph_hip_random(r, s, &a->hip[s]);
	a->body_radius[0] = bmeq_ph_rng_range(r, 175.0, 195.0);
	a->body_radius[1] = bmeq_ph_rng_range(r, 115.0, 135.0);
	a->body_centre_y = bmeq_ph_rng_range(r, -15.0, -5.0);
	a->fat_mm = bmeq_ph_rng_range(r, 10.0, 25.0);
	a->bladder_centre[0] = bmeq_ph_rng_range(r, -5.0, 5.0);
	a->bladder_centre[1] = bmeq_ph_rng_range(r, 30.0, 45.0);
	a->bladder_centre[2] = bmeq_ph_rng_range(r, 18.0, 35.0);
	a->bladder_radius[0] = bmeq_ph_rng_range(r, 30.0, 50.0);
	a->bladder_radius[1] = bmeq_ph_rng_range(r, 25.0, 36.0);
	a->bladder_radius[2] = bmeq_ph_rng_range(r, 22.0, 34.0);
	a->marrow_texture = bmeq_ph_rng_range(r, 0.05, 0.10);
	a->texture_seed = bmeq_ph_rng_next(r);
}
