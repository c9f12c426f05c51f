/* model.c - the phantom's anatomy as primitives (intersections of simple
 * atoms with signed distance bounds) and the tissue composition rules. */
#include <math.h>
#include <string.h>

#include "phantom_internal.h"

#define PI 3.14159265358979323846

/* ---- atoms ---------------------------------------------------------------- */

static double atom_eval(const bmeq_ph_atom *a, const double p[3])
{
	double d[3] = {p[0] - a->c[0], p[1] - a->c[1], p[2] - a->c[2]};
	double s = 0.0;

	switch (a->kind) {
	case BMEQ_PH_ATOM_ELL:
	case BMEQ_PH_ATOM_ELLCYL: {
		int na = a->kind == BMEQ_PH_ATOM_ELL ? 3 : 2;
		double rho2 = 0.0, slab = -HUGE_VAL;
		for (int i = 0; i < na; i++) {
			double t = bmeq_ph_dot(a->axis[i], d), q = t * a->inv_r[i];
			double o = fabs(t) - a->r[i];
			rho2 += q * q;
			slab = o > slab ? o : slab;
		}
		/* (rho - 1) * min radius never exceeds the distance to the surface
		 * (the ellipsoid scaled by rho lies that far inside or outside);
		 * outside, the bounding slabs along each axis give a second bound
		 * that is much tighter off the ends of long, flat shapes. */
		s = (sqrt(rho2) - 1.0) * a->min_r;
		if (s > 0.0 && slab > s)
			s = slab;
		break;
	}
	case BMEQ_PH_ATOM_SLAB: {
		double t = bmeq_ph_dot(a->axis[0], d);
		s = a->t0 - t > t - a->t1 ? a->t0 - t : t - a->t1;
		break;
	}
	case BMEQ_PH_ATOM_CONE: {
		/* Signed distance to the cone's surface: len sin(angle - half) when
		 * the two angles differ by at most 90 degrees (expanded so that no
		 * inverse cosine is needed), else the distance to the apex. */
		double l2 = bmeq_ph_dot(d, d);
		if (l2 < 1e-18)
			break; /* the apex is on the surface */
		double len = sqrt(l2), t = bmeq_ph_dot(a->axis[0], d);
		double q = l2 - t * t, sn = q > 0.0 ? sqrt(q) : 0.0; /* len sin(angle) */
		double cosdiff = t * a->cos_half + sn * a->sin_half;
		if (cosdiff >= 0.0)
			s = sn * a->cos_half - t * a->sin_half;
		else
			s = t < len * a->cos_half ? len : -len;
		break;
	}
	}
	return a->complement ? -s : s;
}

static int atom_inside(const bmeq_ph_atom *a, const double p[3])
{
	double d[3] = {p[0] - a->c[0], p[1] - a->c[1], p[2] - a->c[2]};
	int in = 0;

	/* The signs of atom_eval without square roots or inverse cosines. */
	switch (a->kind) {
	case BMEQ_PH_ATOM_ELL: {
		double q0 = bmeq_ph_dot(a->axis[0], d) * a->inv_r[0];
		double q1 = bmeq_ph_dot(a->axis[1], d) * a->inv_r[1];
		double q2 = bmeq_ph_dot(a->axis[2], d) * a->inv_r[2];
		in = q0 * q0 + q1 * q1 + q2 * q2 < 1.0;
		break;
	}
	case BMEQ_PH_ATOM_ELLCYL: {
		double q0 = bmeq_ph_dot(a->axis[0], d) * a->inv_r[0];
		double q1 = bmeq_ph_dot(a->axis[1], d) * a->inv_r[1];
		in = q0 * q0 + q1 * q1 < 1.0;
		break;
	}
	case BMEQ_PH_ATOM_SLAB: {
		double t = bmeq_ph_dot(a->axis[0], d);
		in = t > a->t0 && t < a->t1;
		break;
	}
	case BMEQ_PH_ATOM_CONE: {
		/* angle < half  <=>  dot > cos(half) * len */
		double t = bmeq_ph_dot(a->axis[0], d), l2 = bmeq_ph_dot(d, d), c = a->cos_half;
		if (c >= 0.0)
			in = t > 0.0 && t * t > c * c * l2;
		else
			in = t >= 0.0 || t * t < c * c * l2;
		if (l2 == 0.0)
			in = 0;
		break;
	}
	}
	return a->complement ? !in : in;
}

int bmeq_ph_prim_inside(const bmeq_ph_prim *pr, const double p[3])
{
	for (int i = 0; i < pr->natoms; i++)
		if (!atom_inside(&pr->atom[i], p))
			return 0;
	return 1;
}

double bmeq_ph_prim_eval(const bmeq_ph_prim *pr, const double p[3])
{
	/* Intersection: the largest atom value bounds the distance both inside
	 * (nearest wall) and outside (farthest violated constraint). */
	double s = atom_eval(&pr->atom[0], p);

	for (int i = 1; i < pr->natoms; i++) {
		double t = atom_eval(&pr->atom[i], p);
		if (t > s)
			s = t;
	}
	return s;
}

static bmeq_ph_atom atom_ell(const double c[3], double ax[3][3], const double r[3],
			     int complement)
{
	bmeq_ph_atom a;

	memset(&a, 0, sizeof(a));
	a.kind = BMEQ_PH_ATOM_ELL;
	a.complement = complement;
	memcpy(a.c, c, sizeof(a.c));
	memcpy(a.axis, ax, sizeof(a.axis));
	a.min_r = r[0];
	for (int i = 0; i < 3; i++) {
		a.inv_r[i] = 1.0 / r[i];
		a.r[i] = r[i];
		if (r[i] < a.min_r)
			a.min_r = r[i];
	}
	return a;
}

static bmeq_ph_atom atom_sphere(const double c[3], double r, int complement)
{
	double id[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
	double rr[3] = {r, r, r};

	return atom_ell(c, id, rr, complement);
}

/* Elliptic cylinder along w through c; r0 along ax0 (a unit vector normal to
 * w), r1 along w x ax0. */
static bmeq_ph_atom atom_cyl(const double c[3], const double w[3], const double ax0[3], double r0,
			     double r1)
{
	bmeq_ph_atom a;

	memset(&a, 0, sizeof(a));
	a.kind = BMEQ_PH_ATOM_ELLCYL;
	memcpy(a.c, c, sizeof(a.c));
	memcpy(a.axis[2], w, sizeof(a.axis[2]));
	bmeq_ph_normalize(a.axis[2]);
	memcpy(a.axis[0], ax0, sizeof(a.axis[0]));
	bmeq_ph_normalize(a.axis[0]);
	bmeq_ph_cross(a.axis[2], a.axis[0], a.axis[1]);
	a.inv_r[0] = 1.0 / r0;
	a.inv_r[1] = 1.0 / r1;
	a.r[0] = r0;
	a.r[1] = r1;
	a.min_r = r0 < r1 ? r0 : r1;
	return a;
}

static bmeq_ph_atom atom_slab(const double c[3], const double n[3], double t0, double t1)
{
	bmeq_ph_atom a;

	memset(&a, 0, sizeof(a));
	a.kind = BMEQ_PH_ATOM_SLAB;
	memcpy(a.c, c, sizeof(a.c));
	memcpy(a.axis[0], n, sizeof(a.axis[0]));
	bmeq_ph_normalize(a.axis[0]);
	a.t0 = t0;
	a.t1 = t1;
	return a;
}

static bmeq_ph_atom atom_cone(const double c[3], const double n[3], double half_deg)
{
	bmeq_ph_atom a;

	memset(&a, 0, sizeof(a));
	a.kind = BMEQ_PH_ATOM_CONE;
	memcpy(a.c, c, sizeof(a.c));
	memcpy(a.axis[0], n, sizeof(a.axis[0]));
	bmeq_ph_normalize(a.axis[0]);
	a.half_angle = half_deg * PI / 180.0;
	a.cos_half = bmeq_ph_cos(a.half_angle);
	a.sin_half = bmeq_ph_sin(a.half_angle);
	return a;
}

/* ---- building the model ----------------------------------------------------- */

typedef struct builder {
	bmeq_ph_model *m;
	int overflow;
} builder;

static bmeq_ph_prim *add_prim(builder *b, int role, int group, const double bc[3], double br)
{
	bmeq_ph_prim *pr;

	if (b->m->nprim >= BMEQ_PH_MAX_PRIM) {
		b->overflow = 1;
		return NULL;
	}
	pr = &b->m->prim[b->m->nprim++];
	memset(pr, 0, sizeof(*pr));
	pr->role = role;
	pr->group = group;
	if (bc)
		memcpy(pr->bc, bc, sizeof(pr->bc));
	pr->br = br;
	return pr;
}

static void push_atom(bmeq_ph_prim *pr, bmeq_ph_atom a)
{
	if (pr && pr->natoms < BMEQ_PH_MAX_ATOMS)
		pr->atom[pr->natoms++] = a;
}

static double maxr(const double r[3])
{
	double m = r[0] > r[1] ? r[0] : r[1];
	return m > r[2] ? m : r[2];
}

/* An ellipsoid primitive, optionally minus the ball (hole_c, hole_r). */
static void add_ellipsoid(builder *b, int role, int group, const double c[3], double ax[3][3],
			  const double r[3], const double *hole_c, double hole_r)
{
	bmeq_ph_prim *pr = add_prim(b, role, group, c, maxr(r));

	push_atom(pr, atom_ell(c, ax, r, 0));
	if (hole_c)
		push_atom(pr, atom_sphere(hole_c, hole_r, 1));
}

/* A spherical shell rin < |p - c| < rout within half_deg of direction n
 * (half_deg >= 180: the whole shell). */
static void add_shell(builder *b, int role, int group, const double c[3], double rin, double rout,
		      const double n[3], double half_deg)
{
	bmeq_ph_prim *pr = add_prim(b, role, group, c, rout);

	push_atom(pr, atom_sphere(c, rout, 0));
	push_atom(pr, atom_sphere(c, rin, 1));
	if (half_deg < 180.0)
		push_atom(pr, atom_cone(c, n, half_deg));
}

/* An elliptic cylinder along w from c + t0 w to c + t1 w. */
static void add_cylinder(builder *b, int role, int group, const double c[3], const double w[3],
			 const double ax0[3], double r0, double r1, double t0, double t1)
{
	double mid[3], half = 0.5 * (t1 - t0), rm = r0 > r1 ? r0 : r1;
	bmeq_ph_prim *pr;

	bmeq_ph_axpy(c, 0.5 * (t0 + t1), w, mid);
	pr = add_prim(b, role, group, mid, sqrt(half * half + rm * rm));
	push_atom(pr, atom_cyl(c, w, ax0, r0, r1));
	push_atom(pr, atom_slab(c, w, t0, t1));
}

/* Ellipsoid axes: long axis along w, second along a (made normal to w). */
static void axes_along(const double w[3], const double a[3], double ax[3][3])
{
	double t[3];

	memcpy(ax[0], w, sizeof(ax[0]));
	bmeq_ph_normalize(ax[0]);
	bmeq_ph_axpy(a, -bmeq_ph_dot(a, ax[0]), ax[0], t);
	bmeq_ph_normalize(t);
	memcpy(ax[1], t, sizeof(ax[1]));
	bmeq_ph_cross(ax[0], ax[1], ax[2]);
}

static void add_pelvis(builder *b, const bmeq_phantom_hip *h, const bmeq_ph_hip_frame *f, int s)
{
	const double *C = h->head_centre;
	double r = h->head_radius, ct = h->cartilage_mm, film = 0.7;
	double rin = r + 2.0 * ct + film, rout = rin + 10.0, cort = 1.5;
	double nc[3] = {-f->cup_open[0], -f->cup_open[1], -f->cup_open[2]};
	double cover = h->acetabular_cover_deg;
	static const double Y[3] = {0, 1, 0}, Z[3] = {0, 0, 1};

	/* Joint layers: femoral cartilage everywhere but the neck side, then the
	 * fluid film, acetabular cartilage and the bony cup under the cover. */
	double away[3] = {-f->neck[0], -f->neck[1], -f->neck[2]};
	add_shell(b, BMEQ_PH_CART_FEM, s, C, r, r + ct, away, 128.0);
	add_shell(b, BMEQ_PH_FILM, s, C, r + ct, r + ct + film, nc, cover);
	add_shell(b, BMEQ_PH_CART_ACET, s, C, r + ct + film, rin, nc, cover);
	add_shell(b, BMEQ_PH_PELVIS, s, C, rin, rout, nc, cover);
	add_shell(b, BMEQ_PH_PELVIS_CORE, s, C, rin + cort, rout - cort, nc,
		  cover - cort / (0.5 * (rin + rout)) * 180.0 / PI);

	/* Body of the ilium above the socket and the iliac wing. */
	double c1[3], ax[3][3], r1[3] = {20.0, 30.0, 18.0};
	double lat_up[3];
	for (int i = 0; i < 3; i++) {
		c1[i] = C[i] + Z[i] * (r + 14.0) - f->lat[i] * 10.0;
		lat_up[i] = f->lat[i] * 0.9 - Z[i] * 0.45;
	}
	axes_along(f->lat, Y, ax);
	for (int core = 0; core < 2; core++) {
		double rr[3] = {r1[0] - core * cort, r1[1] - core * cort, r1[2] - core * cort};
		add_ellipsoid(b, core ? BMEQ_PH_PELVIS_CORE : BMEQ_PH_PELVIS, s, c1, ax, rr, C,
			      rin + core * cort);
	}
	double cw[3], axw[3][3], rw[3] = {10.0, 55.0, 62.0};
	for (int i = 0; i < 3; i++)
		cw[i] = C[i] + Z[i] * (r + 58.0) - f->lat[i] * 2.0 - Y[i] * 8.0;
	axes_along(lat_up, Y, axw);
	for (int core = 0; core < 2; core++) {
		double rr[3] = {rw[0] - core * 2.5, rw[1] - core * cort, rw[2] - core * cort};
		add_ellipsoid(b, core ? BMEQ_PH_PELVIS_CORE : BMEQ_PH_PELVIS, s, cw, axw, rr, C,
			      rin + core * cort);
	}

	/* Superior pubic ramus towards the symphysis, and the ischium below. */
	double a0[3], sym[3] = {0.0, C[1] + 42.0, C[2] - 18.0}, pc[3], pw[3];
	for (int i = 0; i < 3; i++)
		a0[i] = C[i] - f->lat[i] * (rin + 4.0) + Y[i] * 14.0 - Z[i] * 6.0;
	for (int i = 0; i < 3; i++) {
		pc[i] = 0.5 * (a0[i] + sym[i]);
		pw[i] = sym[i] - a0[i];
	}
	double plen = 0.5 * sqrt(bmeq_ph_dot(pw, pw)) + 8.0;
	double axp[3][3];
	axes_along(pw, Z, axp);
	double ci[3], iw[3], axi[3][3];
	for (int i = 0; i < 3; i++) {
		ci[i] = C[i] - f->lat[i] * 6.0 - Y[i] * 18.0 - Z[i] * (r + 24.0);
		iw[i] = -Z[i] * 0.9 - Y[i] * 0.35;
	}
	axes_along(iw, f->lat, axi);
	for (int core = 0; core < 2; core++) {
		double rp[3] = {plen - core * cort, 10.0 - core * cort, 9.0 - core * cort};
		double ri[3] = {34.0 - core * cort, 13.0 - core * cort, 11.0 - core * cort};
		int role = core ? BMEQ_PH_PELVIS_CORE : BMEQ_PH_PELVIS;
		add_ellipsoid(b, role, s, pc, axp, rp, C, rin + core * cort);
		add_ellipsoid(b, role, s, ci, axi, ri, C, rin + core * cort);
	}
}

static void add_femur(builder *b, const bmeq_phantom_hip *h, const bmeq_ph_hip_frame *f, int s)
{
	const double *C = h->head_centre;
	double r = h->head_radius, L = h->neck_length;
	double inpl[3]; /* in the neck-shaft plane, normal to the neck axis */
	double u[3];    /* in the neck-shaft plane, normal to the shaft, lateral */

	bmeq_ph_cross(f->perp, f->neck, inpl);
	bmeq_ph_normalize(inpl);
	bmeq_ph_cross(f->perp, f->shaft, u);
	bmeq_ph_normalize(u);
	if (bmeq_ph_dot(u, f->lat) < 0.0)
		for (int i = 0; i < 3; i++)
			u[i] = -u[i];

	/* Head: bone, marrow core under the subchondral plate, and the region. */
	add_prim(b, BMEQ_PH_FEMUR, s, C, r);
	push_atom(&b->m->prim[b->m->nprim - 1], atom_sphere(C, r, 0));
	add_prim(b, BMEQ_PH_FEMUR_CORE, s, C, r - h->cortex_head);
	push_atom(&b->m->prim[b->m->nprim - 1], atom_sphere(C, r - h->cortex_head, 0));
	add_prim(b, BMEQ_PH_REG_HEAD, s, C, r);
	push_atom(&b->m->prim[b->m->nprim - 1], atom_sphere(C, r, 0));

	/* Neck: runs on into the intertrochanteric region; the labelled neck
	 * stops at neck_length. */
	double n0 = h->neck_radius[0], n1 = h->neck_radius[1], cn = h->cortex_neck;
	add_cylinder(b, BMEQ_PH_FEMUR, s, C, f->neck, inpl, n0, n1, 0.0, L + 14.0);
	add_cylinder(b, BMEQ_PH_FEMUR_CORE, s, C, f->neck, inpl, n0 - cn, n1 - cn, 0.0, L + 14.0);
	add_cylinder(b, BMEQ_PH_REG_NECK, s, C, f->neck, inpl, n0, n1, 0.0, L);

	/* Intertrochanteric block, greater and lesser trochanters. */
	const double *J = f->junction;
	double ax[3][3], c[3];
	axes_along(f->shaft, u, ax);
	double rit[3] = {32.0, 0.95 * r, 0.75 * r};
	bmeq_ph_axpy(J, 8.0, f->shaft, c);
	add_ellipsoid(b, BMEQ_PH_FEMUR, s, c, ax, rit, NULL, 0.0);
	double ritc[3] = {rit[0] - cn, rit[1] - cn, rit[2] - cn};
	add_ellipsoid(b, BMEQ_PH_FEMUR_CORE, s, c, ax, ritc, NULL, 0.0);

	double g[3], rg[3] = {24.0, 13.0, 15.0}, rgc[3] = {22.0, 11.0, 13.0};
	for (int i = 0; i < 3; i++)
		g[i] = J[i] + u[i] * (0.55 * r + 6.0) - f->shaft[i] * 14.0;
	add_ellipsoid(b, BMEQ_PH_FEMUR, s, g, ax, rg, NULL, 0.0);
	add_ellipsoid(b, BMEQ_PH_FEMUR_CORE, s, g, ax, rgc, NULL, 0.0);

	double lt[3], rl[3] = {11.0, 8.0, 8.0}, rlc[3] = {9.5, 6.5, 6.5};
	for (int i = 0; i < 3; i++)
		lt[i] = J[i] + f->shaft[i] * 40.0 - u[i] * 13.0 - (i == 1 ? 9.0 : 0.0);
	add_ellipsoid(b, BMEQ_PH_FEMUR, s, lt, ax, rl, NULL, 0.0);
	add_ellipsoid(b, BMEQ_PH_FEMUR_CORE, s, lt, ax, rlc, NULL, 0.0);

	/* Shaft, thick cortex. */
	double sr = h->shaft_radius;
	add_cylinder(b, BMEQ_PH_FEMUR, s, J, f->shaft, u, sr, sr, 10.0, 420.0);
	add_cylinder(b, BMEQ_PH_FEMUR_CORE, s, J, f->shaft, u, sr - h->cortex_shaft,
		     sr - h->cortex_shaft, 10.0, 420.0);

	/* Effusion: distended capsule around head and neck. */
	if (h->effusion_mm > 0.0) {
		double e = h->effusion_mm;
		add_prim(b, BMEQ_PH_EFFUSION, s, C, r + e);
		push_atom(&b->m->prim[b->m->nprim - 1], atom_sphere(C, r + e, 0));
		add_cylinder(b, BMEQ_PH_EFFUSION, s, C, f->neck, inpl, n0 + e, n1 + e, 0.0, L + 2.0);
	}

	/* Femoral vein (bright, slow flow) and artery (flow void) in front. */
	double vz[3] = {f->lat[0] * 0.08, 0.05, 1.0}, vc[3], acn[3];
	static const double X[3] = {1, 0, 0};
	for (int i = 0; i < 3; i++) {
		vc[i] = C[i] - f->lat[i] * 24.0 + (i == 1 ? r + 16.0 : 0.0);
		acn[i] = C[i] - f->lat[i] * 9.0 + (i == 1 ? r + 20.0 : 0.0);
	}
	bmeq_ph_prim *pv = add_prim(b, BMEQ_PH_VEIN, s, NULL, -1.0);
	push_atom(pv, atom_cyl(vc, vz, X, 6.0, 5.0));
	bmeq_ph_prim *pa = add_prim(b, BMEQ_PH_ARTERY, s, NULL, -1.0);
	push_atom(pa, atom_cyl(acn, vz, X, 3.8, 3.8));
}

/* Lesion primitives at the hip's current edema scale. */
static void add_lesions(builder *b, const bmeq_phantom_hip *h, int s, int model)
{
	double k = h->edema_scale;

	if (!(k > 0.0))
		return;
	for (int l = 0; l < h->nlesions && l < BMEQ_PHANTOM_MAX_LESIONS; l++) {
		const bmeq_phantom_lesion *le = &h->lesion[l];
		bmeq_ph_prim *pr;
		/* The bounding sphere must hold the whole edge of the model drawn. */
		double reach = model == BMEQ_PHANTOM_EDEMA_BRIGHT ? le->margin_mm : 0.5 * le->edge_mm;
		if (le->kind == BMEQ_PHANTOM_LESION_CRESCENT) {
			double depth = le->radii[0] * k, rh = le->radii[2];
			double half = le->radii[1] * (k < 1.0 ? 0.5 + 0.5 * k : 1.0);
			if (depth < 0.3)
				continue;
			pr = add_prim(b, BMEQ_PH_LESION, s, le->centre, rh + reach);
			push_atom(pr, atom_sphere(le->centre, rh, 0));
			push_atom(pr, atom_sphere(le->centre, rh - depth, 1));
			push_atom(pr, atom_cone(le->centre, le->axis[0], half));
		} else {
			double r[3] = {le->radii[0] * k, le->radii[1] * k, le->radii[2] * k};
			if (r[0] < 0.3 || r[1] < 0.3 || r[2] < 0.3)
				continue;
			pr = add_prim(b, BMEQ_PH_LESION, s, le->centre, maxr(r) + reach);
			double ax[3][3];
			memcpy(ax, le->axis, sizeof(ax));
			push_atom(pr, atom_ell(le->centre, ax, r, 0));
		}
		if (pr) {
			pr->margin = le->margin_mm;
			pr->excess = le->peak_ratio - 1.0;
			pr->edge = le->edge_mm;
		}
	}
}

/* STIR levels of BMEQ_PHANTOM_TISSUE_REAL: fat and fatty marrow about the
 * level of muscle, as measured on real STIR (bmeq/phantom.h); cartilage
 * intermediate (about 2.5x muscle); fluid, veins and the bladder bright,
 * arterial flow and cortex dark, as in the classic table. */
static const double stir_real_tab[BMEQ_PH_NTISSUES] = {
	[BMEQ_PH_T_AIR] = 0.0,        [BMEQ_PH_T_FAT] = 0.40,     [BMEQ_PH_T_MUSCLE] = 0.32,
	[BMEQ_PH_T_BLADDER] = 4.0,    [BMEQ_PH_T_VEIN] = 2.8,     [BMEQ_PH_T_ARTERY] = 0.12,
	[BMEQ_PH_T_FLUID] = 3.5,      [BMEQ_PH_T_CARTILAGE] = 0.8, [BMEQ_PH_T_CORTEX] = 0.04,
	[BMEQ_PH_T_RED_MARROW] = 0.6, [BMEQ_PH_T_MARROW] = 0.42,
};
/* BMEQ_PHANTOM_TISSUE_CLASSIC. */
static const double stir_tab[BMEQ_PH_NTISSUES] = {
	[BMEQ_PH_T_AIR] = 0.0,        [BMEQ_PH_T_FAT] = 0.12,     [BMEQ_PH_T_MUSCLE] = 0.9,
	[BMEQ_PH_T_BLADDER] = 4.0,    [BMEQ_PH_T_VEIN] = 2.8,     [BMEQ_PH_T_ARTERY] = 0.25,
	[BMEQ_PH_T_FLUID] = 3.5,      [BMEQ_PH_T_CARTILAGE] = 1.4, [BMEQ_PH_T_CORTEX] = 0.04,
	[BMEQ_PH_T_RED_MARROW] = 0.6, [BMEQ_PH_T_MARROW] = 0.42,
};
static const double t1_tab[BMEQ_PH_NTISSUES] = {
	[BMEQ_PH_T_AIR] = 0.0,         [BMEQ_PH_T_FAT] = 1.0,       [BMEQ_PH_T_MUSCLE] = 0.38,
	[BMEQ_PH_T_BLADDER] = 0.12,    [BMEQ_PH_T_VEIN] = 0.35,     [BMEQ_PH_T_ARTERY] = 0.05,
	[BMEQ_PH_T_FLUID] = 0.16,      [BMEQ_PH_T_CARTILAGE] = 0.45, [BMEQ_PH_T_CORTEX] = 0.03,
	[BMEQ_PH_T_RED_MARROW] = 0.65, [BMEQ_PH_T_MARROW] = 0.92,
};

bmeq_status bmeq_ph_model_build(const bmeq_phantom_anatomy *a, int contrast, bmeq_ph_model *m)
{
	builder b = {m, 0};
	static const double Z[3] = {0, 0, 1}, X[3] = {1, 0, 0};
	double id[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};

	memset(m, 0, sizeof(*m));
	for (int s = 0; s < 2; s++) {
		const bmeq_phantom_hip *h = &a->hip[s];
		if (!(h->head_radius > 5.0 && h->head_radius < 60.0) || !(h->neck_length > 0.0) ||
		    !(h->neck_radius[0] > h->cortex_neck) || !(h->neck_radius[1] > h->cortex_neck) ||
		    !(h->cortex_head > 0.0 && h->cortex_head < h->head_radius) ||
		    !(h->shaft_radius > h->cortex_shaft && h->cortex_shaft > 0.0) ||
		    !(h->cartilage_mm > 0.0) || h->nlesions < 0 ||
		    h->nlesions > BMEQ_PHANTOM_MAX_LESIONS || !(h->edema_ratio >= 1.0))
			return bmeq_fail(BMEQ_E_ARG, "phantom: %s hip parameters out of range",
					 s ? "left" : "right");
		if (a->edema_model != BMEQ_PHANTOM_EDEMA_REALISTIC)
			continue;
		int bad = !(h->patch_amp >= 0.0 && h->patch_amp <= 0.3) ||
			  (h->patch_amp > 0.0 && !(h->patch_corr_mm >= 0.5 && h->patch_corr_mm <= 50.0));
		for (int l = 0; l < h->nlesions; l++)
			bad |= !(h->lesion[l].peak_ratio >= 1.0 && h->lesion[l].peak_ratio <= 20.0) ||
			       !(h->lesion[l].edge_mm > 0.0 && h->lesion[l].edge_mm <= 20.0);
		if (bad)
			return bmeq_fail(BMEQ_E_ARG, "phantom: %s hip edema parameters out of range",
					 s ? "left" : "right");
	}
	if (a->edema_model != BMEQ_PHANTOM_EDEMA_REALISTIC && a->edema_model != BMEQ_PHANTOM_EDEMA_BRIGHT)
		return bmeq_fail(BMEQ_E_ARG, "phantom: unknown edema model %d", a->edema_model);
	if (!(a->body_radius[0] > a->fat_mm + 10.0) || !(a->body_radius[1] > a->fat_mm + 10.0) ||
	    !(a->fat_mm > 0.0))
		return bmeq_fail(BMEQ_E_ARG, "phantom: body size out of range");

	/* Midline: body outline, muscle inside the fat, bladder, sacrum. */
	double bc[3] = {0.0, a->body_centre_y, 0.0};
	bmeq_ph_prim *pr = add_prim(&b, BMEQ_PH_BODY, 2, NULL, -1.0);
	push_atom(pr, atom_cyl(bc, Z, X, a->body_radius[0], a->body_radius[1]));
	pr = add_prim(&b, BMEQ_PH_INNER, 2, NULL, -1.0);
	push_atom(pr, atom_cyl(bc, Z, X, a->body_radius[0] - a->fat_mm,
			       a->body_radius[1] - a->fat_mm));
	if (a->bladder_radius[0] > 0.0)
		add_ellipsoid(&b, BMEQ_PH_BLADDER, 2, a->bladder_centre, id, a->bladder_radius, NULL,
			      0.0);
	double sc[3] = {0.0, a->body_centre_y - a->body_radius[1] + a->fat_mm + 38.0,
			a->hip[0].head_centre[2] + 40.0};
	double sr[3] = {42.0, 22.0, 48.0}, src[3] = {40.5, 20.5, 46.5};
	add_ellipsoid(&b, BMEQ_PH_PELVIS, 2, sc, id, sr, NULL, 0.0);
	add_ellipsoid(&b, BMEQ_PH_PELVIS_CORE, 2, sc, id, src, NULL, 0.0);

	for (int s = 0; s < 2; s++) {
		bmeq_ph_hip_frame f;
		bmeq_ph_hip_frame_make(&a->hip[s], s, &f);
		add_pelvis(&b, &a->hip[s], &f, s);
		add_femur(&b, &a->hip[s], &f, s);
		add_lesions(&b, &a->hip[s], s, a->edema_model);
		m->edema_ratio[s] = a->hip[s].edema_ratio;
	}
	if (b.overflow)
		return bmeq_fail(BMEQ_E_ARG, "phantom: too many shapes");

	m->contrast = contrast;
	if (a->tissue_model != BMEQ_PHANTOM_TISSUE_REAL && a->tissue_model != BMEQ_PHANTOM_TISSUE_CLASSIC)
		return bmeq_fail(BMEQ_E_ARG, "phantom: unknown tissue model %d", a->tissue_model);
	memcpy(m->intensity,
	       contrast == BMEQ_PHANTOM_T1                       ? t1_tab
	       : a->tissue_model == BMEQ_PHANTOM_TISSUE_CLASSIC ? stir_tab
								: stir_real_tab,
	       sizeof(m->intensity));

	/* Marrow texture: four plane waves with wavelengths of 3-9 mm. */
	bmeq_ph_rng rng;
	bmeq_ph_rng_seed(&rng, a->texture_seed, 0x7e47, 0);
	m->tex_amp = a->marrow_texture;
	for (int w = 0; w < 4; w++) {
		double d[3] = {bmeq_ph_rng_normal(&rng), bmeq_ph_rng_normal(&rng),
			       bmeq_ph_rng_normal(&rng)};
		double len = bmeq_ph_rng_range(&rng, 3.0, 9.0);
		bmeq_ph_normalize(d);
		for (int i = 0; i < 3; i++)
			m->tex_k[w][i] = d[i] * 2.0 * PI / len;
		m->tex_phase[w] = bmeq_ph_rng_range(&rng, 0.0, 2.0 * PI);
	}

	/* Patchy edema: BMEQ_PH_PATCH_WAVES plane waves per side in random
	 * directions. A sum of waves of wavelength L in random directions has the
	 * correlation sin(kr)/kr (k = 2 pi / L), which falls to 1/e at r ~ L/pi:
	 * wavelengths of pi x (0.8-1.25) x the correlation length. */
	m->edema_model = a->edema_model;
	for (int s = 0; s < 2 && a->edema_model == BMEQ_PHANTOM_EDEMA_REALISTIC; s++) {
		const bmeq_phantom_hip *h = &a->hip[s];
		if (!(h->patch_amp > 0.0))
			continue;
		m->patch_amp[s] = h->patch_amp;
		bmeq_ph_rng_seed(&rng, h->patch_seed, 0x7061746368ull, (uint64_t)s);
		for (int w = 0; w < BMEQ_PH_PATCH_WAVES; w++) {
			double d[3] = {bmeq_ph_rng_normal(&rng), bmeq_ph_rng_normal(&rng),
				       bmeq_ph_rng_normal(&rng)};
			double len = PI * h->patch_corr_mm * bmeq_ph_rng_range(&rng, 0.8, 1.25);
			bmeq_ph_normalize(d);
			for (int i = 0; i < 3; i++)
				m->patch_k[s][w][i] = d[i] * 2.0 * PI / len;
			m->patch_phase[s][w] = bmeq_ph_rng_range(&rng, 0.0, 2.0 * PI);
		}
	}
	return BMEQ_OK;
}

double bmeq_ph_edema_patch(const bmeq_ph_model *m, int side, const double p[3])
{
	double t = 0.0;

	if (m->patch_amp[side] == 0.0)
		return 1.0;
	for (int w = 0; w < BMEQ_PH_PATCH_WAVES; w++)
		t += bmeq_ph_cos(bmeq_ph_dot(m->patch_k[side][w], p) + m->patch_phase[side][w]);
	/* The sum of N waves with random phases has SD sqrt(N / 2): scaled to
	 * SD patch_amp, about +-20 % at 0.12 (90 % of the points). Never below
	 * 0.1, although 0.3 x sqrt(12) would need every wave at its trough. */
	t = 1.0 + m->patch_amp[side] * t * 0.57735026918962576451; /* 1/sqrt(3) */
	return t > 0.1 ? t : 0.1;
}

double bmeq_ph_edema_profile(double s, double edge)
{
	if (!(edge > 0.0))
		return s < 0.0 ? 1.0 : s == 0.0 ? 0.5 : 0.0;
	double x = s / edge + 0.5;
	if (x <= 0.0)
		return 1.0;
	if (x >= 1.0)
		return 0.0;
	return 0.5 + 0.5 * bmeq_ph_cos(PI * x);
}

double bmeq_ph_texture(const bmeq_ph_model *m, const double p[3])
{
	double t = 0.0;

	if (m->tex_amp == 0.0)
		return 1.0;
	for (int w = 0; w < 4; w++)
		t += bmeq_ph_cos(bmeq_ph_dot(m->tex_k[w], p) + m->tex_phase[w]);
	return 1.0 + 0.5 * m->tex_amp * t;
}

double bmeq_ph_edema_weight(double s, double margin)
{
	/* Smoothstep from 1 (s <= -margin) to 0 (s >= margin); 0.5 on the
	 * lesion's surface, where the truth map puts its edge. */
	if (margin <= 0.0)
		return s < 0.0 ? 1.0 : 0.0;
	double x = (s + margin) / (2.0 * margin);
	if (x <= 0.0)
		return 1.0;
	if (x >= 1.0)
		return 0.0;
	return 1.0 - x * x * (3.0 - 2.0 * x);
}

#define HAS(mask, role) (((mask) >> (role)) & 1u)

void bmeq_ph_compose(const uint32_t masks[3], bmeq_ph_sample *o)
{
	uint32_t any = masks[0] | masks[1] | masks[2];
	int t = BMEQ_PH_T_AIR;

	o->marrow_side = -1;
	o->region = 0;
	o->edema = 0;
	/* Later rules win: soft tissue, fluid spaces, pelvis, joint, femur. */
	if (HAS(any, BMEQ_PH_BODY))
		t = BMEQ_PH_T_FAT;
	if (HAS(any, BMEQ_PH_INNER))
		t = BMEQ_PH_T_MUSCLE;
	if (HAS(any, BMEQ_PH_BLADDER))
		t = BMEQ_PH_T_BLADDER;
	if (HAS(any, BMEQ_PH_VEIN))
		t = BMEQ_PH_T_VEIN;
	if (HAS(any, BMEQ_PH_ARTERY))
		t = BMEQ_PH_T_ARTERY;
	if (HAS(any, BMEQ_PH_EFFUSION))
		t = BMEQ_PH_T_FLUID;
	if (HAS(any, BMEQ_PH_PELVIS))
		t = HAS(any, BMEQ_PH_PELVIS_CORE) ? BMEQ_PH_T_RED_MARROW : BMEQ_PH_T_CORTEX;
	if (HAS(any, BMEQ_PH_CART_ACET))
		t = BMEQ_PH_T_CARTILAGE;
	if (HAS(any, BMEQ_PH_FILM))
		t = BMEQ_PH_T_FLUID;
	if (HAS(any, BMEQ_PH_CART_FEM))
		t = BMEQ_PH_T_CARTILAGE;
	for (int s = 0; s < 2; s++) {
		if (HAS(masks[s], BMEQ_PH_FEMUR)) {
			if (HAS(masks[s], BMEQ_PH_FEMUR_CORE)) {
				t = BMEQ_PH_T_MARROW;
				o->marrow_side = s;
			} else {
				t = BMEQ_PH_T_CORTEX;
				o->marrow_side = -1;
			}
		}
		if (!o->region) {
			if (HAS(masks[s], BMEQ_PH_REG_HEAD))
				o->region = 1 + s;
			else if (HAS(masks[s], BMEQ_PH_REG_NECK))
				o->region = 3 + s;
		}
	}
	o->tissue = t;
	if (o->region && t == BMEQ_PH_T_MARROW) {
		int s = (o->region - 1) % 2;
		o->edema = o->marrow_side == s && HAS(masks[s], BMEQ_PH_LESION);
	}
}
