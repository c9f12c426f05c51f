/* test_femhead.c - femoral head and neck segmentation against the phantom's
 * exact truth (every orientation, storage flip and datatype, STIR and T1), a
 * one-sided field of view, the two real T1 hips against two manual readings,
 * scans without a hip (brains, an abdomen: no head on either side), the
 * real hips and the phantom with the field of view above, below or through
 * the heads (no head placed; partial where a head is cut), round structures
 * where no hip is, and the --roi region summary. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmeq/femhead.h"
#include "bmeq/nifti_io.h"
#include "bmeq/phantom.h"
#include "check.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double dist3(const double a[3], const double b[3])
{
	return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
		    (a[2] - b[2]) * (a[2] - b[2]));
}

static double dice(const uint8_t *a, const uint8_t *b, size_t n, uint8_t label)
{
	size_t na = 0, nb = 0, nab = 0;

	for (size_t i = 0; i < n; i++) {
		int x = a[i] == label, y = b[i] == label;
		na += x;
		nb += y;
		nab += x && y;
	}
	return na + nb ? 2.0 * (double)nab / (double)(na + nb) : 1.0;
}

/* Stores the phantom image as the study writer does for this acquisition's
 * storage variant (datatype, scaling, NIfTI version, qform/sform) and reads it
 * back, so the segmentation sees exactly what a file would give it. */
static bmeq_volume *store_and_load(const bmeq_volume *v, const bmeq_phantom_acq *q,
				   const char *path)
{
	bmeq_write_opts o;
	bmeq_volume *out = NULL;
	size_t n = bmeq_grid_nvox(&v->grid);

	bmeq_write_opts_init(&o, &v->grid);
	o.datatype = q->datatype;
	o.nifti_version = q->nifti_version;
	o.qform_code = q->qform_code;
	o.sform_code = q->sform_code;
	if (q->datatype == BMEQ_DT_UINT16) {
		float mx = 0;
		for (size_t i = 0; i < n; i++)
			mx = v->data[i] > mx ? v->data[i] : mx;
		o.scl_inter = -8.0;
		o.scl_slope = ((double)mx + 8.0) / 60000.0;
	}
	if (bmeq_nifti_write(path, &v->grid, v->data, &o) != BMEQ_OK ||
	    bmeq_nifti_read(path, NULL, &out, NULL) != BMEQ_OK) {
		fprintf(stderr, "store_and_load %s: %s\n", path, bmeq_last_error());
		return NULL;
	}
	remove(path);
	return out;
}

#define NSTUDY 12

static void test_phantom_study(const char *tmpdir)
{
	double dices[2 * NSTUDY], necks[2 * NSTUDY];
	size_t nd = 0;
	int seen_orient[3] = {0}, seen_flip[2] = {0}, seen_dt[3] = {0}, seen_t1 = 0;

	printf("scan orient flip dtype contrast | side dice centre_err_mm radius_err_mm "
	       "head_vol_err_pct neck_dice conf\n");
	for (unsigned g = 0; g < NSTUDY; g++) {
		unsigned sub = g / 2, ses = g % 2;
		bmeq_phantom_subject subj;
		bmeq_phantom_params p;
		bmeq_phantom_scan *sc = NULL;
		char path[512];

		bmeq_phantom_subject_make(7, sub, &subj);
		bmeq_phantom_session_params(7, &subj, sub, ses, 2, &p);
		/* A third of the scans T1-weighted: hip protocols acquire both. */
		p.acq.contrast = g % 3 == 2 ? BMEQ_PHANTOM_T1 : BMEQ_PHANTOM_STIR;
		CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
		if (!sc)
			continue;
		seen_orient[p.acq.orient] = 1;
		seen_flip[p.acq.flip_lr ? 1 : 0] = 1;
		seen_dt[p.acq.datatype == BMEQ_DT_INT16 ? 0 : p.acq.datatype == BMEQ_DT_UINT16 ? 1 : 2] = 1;
		seen_t1 |= p.acq.contrast == BMEQ_PHANTOM_T1;

		snprintf(path, sizeof(path), "%s/scan%u.nii", tmpdir, g);
		bmeq_volume *v = store_and_load(sc->image, &p.acq, path);
		CHECK(v != NULL);
		if (!v) {
			bmeq_phantom_scan_destroy(sc);
			continue;
		}
		size_t n = bmeq_grid_nvox(&v->grid);
		uint8_t *lab = malloc(n);
		bmeq_femhead_result r;

		CHECK(lab != NULL);
		CHECK(bmeq_femhead_segment(v, NULL, lab, &r) == BMEQ_OK);
		for (int s = 0; s < 2; s++) {
			const bmeq_femhead_side *fs = &r.side[s];
			const bmeq_phantom_side_truth *t = &sc->truth[s];
			double d = dice(lab, sc->labels, n, (uint8_t)(1 + s));
			double ce = dist3(fs->centre, t->head_centre_ras);
			double ve = 100.0 * (fs->head_ml / t->head_ml - 1.0);
			double dn = dice(lab, sc->labels, n, (uint8_t)(3 + s));

			printf("%2u %s %d %3d %s | %-5s %.3f %.2f %+.2f %+.1f %.2f %.2f\n", g,
			       bmeq_phantom_orient_name(p.acq.orient), p.acq.flip_lr, p.acq.datatype,
			       p.acq.contrast ? "T1  " : "STIR", s ? "left" : "right", d, ce,
			       fs->radius_mm - t->head_radius_mm, ve, dn, fs->confidence);
			CHECK(fs->found);
			CHECK(d >= 0.85);
			CHECK(ce <= 2.0);
			CHECK(fabs(ve) <= 8.0);
			/* Never a swapped side: the right head lies at larger x. */
			CHECK(dist3(fs->centre, sc->truth[1 - s].head_centre_ras) > 100.0);
			CHECK(fs->neck_ml > 0);
			necks[nd] = dn;
			dices[nd++] = d;
		}
		free(lab);
		bmeq_volume_destroy(v);
		bmeq_phantom_scan_destroy(sc);
	}
	CHECK(nd == 2 * NSTUDY);
	qsort(dices, nd, sizeof(double), cmp_double);
	double med = nd ? 0.5 * (dices[(nd - 1) / 2] + dices[nd / 2]) : 0;
	printf("head Dice: median %.3f, min %.3f over %zu heads\n", med, nd ? dices[0] : 0.0, nd);
	CHECK(med >= 0.92);
	/* The neck is measured on the image (axis through the sections'
	 * centres, surface radius per angle); its end is the model's (R + 20
	 * mm, the phantom draws R + 16..24), which alone costs up to ~0.08. */
	qsort(necks, nd, sizeof(double), cmp_double);
	double nmed = nd ? 0.5 * (necks[(nd - 1) / 2] + necks[nd / 2]) : 0;
	printf("neck Dice: median %.3f, min %.3f\n", nmed, nd ? necks[0] : 0.0);
	CHECK(nmed >= 0.88);
	CHECK(nd && necks[0] >= 0.75);
	/* The study covers every orientation, storage flip and datatype. */
	CHECK(seen_orient[0] && seen_orient[1] && seen_orient[2]);
	CHECK(seen_flip[0] && seen_flip[1]);
	CHECK(seen_dt[0] && seen_dt[1] && seen_dt[2]);
	CHECK(seen_t1);
}

/* A field of view around one hip only: that side found, the other reported
 * missing with a reason, and no label of the missing side anywhere. */
static void test_one_sided(int side)
{
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL;
	bmeq_femhead_result r;

	bmeq_phantom_params_default(&p);
	p.acq.fov_centre[0] = p.anat.hip[side].head_centre[0] + (side ? -25.0 : 25.0);
	p.acq.fov_mm[0] = 170.0;
	CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
	if (!sc)
		return;
	size_t n = bmeq_grid_nvox(&sc->image->grid);
	uint8_t *lab = malloc(n);
	CHECK(lab != NULL);
	CHECK(bmeq_femhead_segment(sc->image, NULL, lab, &r) == BMEQ_OK);
	printf("one-sided (%s only): right found %d (%s), left found %d (%s)\n",
	       side ? "left" : "right", r.side[0].found, r.side[0].reason, r.side[1].found,
	       r.side[1].reason);
	CHECK(r.side[side].found);
	CHECK(!r.side[1 - side].found);
	CHECK(strlen(r.side[1 - side].reason) > 0);
	CHECK(dist3(r.side[side].centre, sc->truth[side].head_centre_ras) <= 2.0);
	CHECK(dice(lab, sc->labels, n, (uint8_t)(1 + side)) >= 0.85);
	size_t other = 0;
	for (size_t i = 0; i < n; i++)
		other += lab[i] == 2 - side || lab[i] == 4 - side;
	CHECK(other == 0);
	free(lab);
	bmeq_phantom_scan_destroy(sc);
}

/* A search box (what regions from the T1 use: the T1 searched only near the
 * STIR's field of view) that holds the whole field of view finds the same
 * heads as no box, with or without labels drawn; one that holds one hip
 * finds that hip alone, and an empty box is refused. */
static void test_search_box(void)
{
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL;
	bmeq_femhead_result r, rb, rh;
	bmeq_femhead_params fp;

	bmeq_phantom_params_default(&p);
	CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
	if (!sc)
		return;
	size_t n = bmeq_grid_nvox(&sc->image->grid);
	uint8_t *lab = malloc(n);
	CHECK(lab != NULL);
	if (!lab)
		goto done;
	CHECK(bmeq_femhead_segment(sc->image, NULL, lab, &r) == BMEQ_OK);
	CHECK(r.side[0].found && r.side[1].found);
	bmeq_femhead_params_init(&fp);
	fp.search_box = 1;
	for (int a = 0; a < 3; a++) {
		fp.search_lo[a] = -1e4;
		fp.search_hi[a] = 1e4;
	}
	CHECK(bmeq_femhead_segment(sc->image, &fp, NULL, &rb) == BMEQ_OK);
	for (int s = 0; s < 2; s++) {
		CHECK(rb.side[s].status == r.side[s].status);
		CHECK(dist3(rb.side[s].centre, r.side[s].centre) == 0.0);
		CHECK(rb.side[s].radius_mm == r.side[s].radius_mm);
		CHECK(rb.side[s].head_ml == 0.0); /* nothing drawn */
	}
	/* The right hip (+x) and 60 mm around it. */
	for (int a = 0; a < 3; a++) {
		fp.search_lo[a] = r.side[0].centre[a] - 60.0;
		fp.search_hi[a] = r.side[0].centre[a] + 60.0;
	}
	CHECK(bmeq_femhead_segment(sc->image, &fp, lab, &rh) == BMEQ_OK);
	printf("search box around the right hip: right %s, left %s\n",
	       bmeq_head_status_name(rh.side[0].status), bmeq_head_status_name(rh.side[1].status));
	CHECK(rh.side[0].found && dist3(rh.side[0].centre, r.side[0].centre) <= 1.0);
	CHECK(!rh.side[1].found);
	fp.search_hi[0] = fp.search_lo[0];
	CHECK(bmeq_femhead_segment(sc->image, &fp, lab, &rh) == BMEQ_E_ARG);
done:
	free(lab);
	bmeq_phantom_scan_destroy(sc);
}

/* A side's geometry draws the labels the segmentation drew (on the grid it
 * segmented), and, moved by a rigid map, the same labels on a grid moved by
 * that map: what regions from the T1 rely on (the heads found on the T1,
 * drawn on the STIR's grid). */
static void test_label_side(void)
{
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL;
	bmeq_femhead_result r;

	bmeq_phantom_params_default(&p);
	CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
	if (!sc)
		return;
	const bmeq_grid *g = &sc->image->grid;
	size_t n = bmeq_grid_nvox(g);
	uint8_t *lab = malloc(n), *own = calloc(n, 1), *moved = calloc(n, 1);
	CHECK(lab && own && moved);
	if (!lab || !own || !moved)
		goto done;
	CHECK(bmeq_femhead_segment(sc->image, NULL, lab, &r) == BMEQ_OK);
	CHECK(r.side[0].found && r.side[1].found);
	/* 8 degrees about an oblique axis, and 6 mm. */
	double ax[3] = {0.3, -0.5, 0.81}, an = 8.0 * 3.14159265358979 / 180.0;
	double nn = sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
	for (int a = 0; a < 3; a++)
		ax[a] /= nn;
	double m[3][4], c = cos(an), s = sin(an), d[3] = {4.0, -3.0, 3.0};
	for (int a = 0; a < 3; a++) {
		for (int b = 0; b < 3; b++)
			m[a][b] = (1 - c) * ax[a] * ax[b] + (a == b ? c : 0.0);
		m[a][3] = d[a];
	}
	m[0][1] -= s * ax[2];
	m[1][0] += s * ax[2];
	m[0][2] += s * ax[1];
	m[2][0] -= s * ax[1];
	m[1][2] -= s * ax[0];
	m[2][1] += s * ax[0];
	bmeq_grid mg = *g;
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 4; b++)
			mg.affine[a][b] = m[a][0] * g->affine[0][b] + m[a][1] * g->affine[1][b] +
					  m[a][2] * g->affine[2][b] + (b == 3 ? m[a][3] : 0.0);
	for (int k = 0; k < 2; k++) {
		bmeq_femhead_side side = r.side[k];
		uint8_t hl = (uint8_t)(1 + k), nl = (uint8_t)(3 + k);
		CHECK(bmeq_femhead_label_side(g, &side, hl, nl, 1, own) == BMEQ_OK);
		CHECK(fabs(side.head_ml - r.side[k].head_ml) < 1e-9);
		CHECK(fabs(side.neck_ml - r.side[k].neck_ml) < 1e-9);
		bmeq_femhead_side_move(&side, (const double(*)[4])m);
		double want[3];
		for (int a = 0; a < 3; a++)
			want[a] = m[a][0] * r.side[k].centre[0] + m[a][1] * r.side[k].centre[1] +
				  m[a][2] * r.side[k].centre[2] + m[a][3];
		CHECK(dist3(side.centre, want) < 1e-9);
		CHECK(fabs(side.neck_axis[0] * side.neck_e0[0] + side.neck_axis[1] * side.neck_e0[1] +
			   side.neck_axis[2] * side.neck_e0[2]) < 1e-9);
		CHECK(bmeq_femhead_label_side(&mg, &side, hl, nl, 1, moved) == BMEQ_OK);
	}
	size_t same = 0, diff = 0;
	for (size_t i = 0; i < n; i++) {
		same += lab[i] == own[i];
		diff += moved[i] != own[i];
	}
	printf("label_side: %zu of %zu voxels as segmented; moved with its grid: %zu differ\n",
	       same, n, diff);
	CHECK(same == n);
	/* Rounding at a voxel centre exactly on a surface only. */
	CHECK(diff <= 2);
	bmeq_femhead_side bad;
	memset(&bad, 0, sizeof(bad));
	CHECK(bmeq_femhead_label_side(g, &bad, 1, 3, 1, own) == BMEQ_E_ARG);
done:
	free(lab);
	free(own);
	free(moved);
	bmeq_phantom_scan_destroy(sc);
}

/* An edematous STIR head (bright marrow) inside a bright fluid shell: the
 * shell's outer, falling edge against the acetabulum is as strong as the
 * bone surface's rising edge and once won the polarity vote, fitting the
 * shell (radius 30.4 mm for 25.5, Dice 0.74). Subject 2, session 1 of the
 * 4 x 3 study of seed 7, as `bmeq phantom --seed 7` writes it. */
static void test_bright_shell(const char *tmpdir)
{
	bmeq_phantom_subject subj;
	bmeq_phantom_params p;
	bmeq_phantom_scan *sc = NULL;
	char path[512];

	bmeq_phantom_subject_make(7, 1, &subj);
	bmeq_phantom_session_params(7, &subj, 1, 0, 3, &p);
	CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
	if (!sc)
		return;
	/* The case needs edema in the right head: guard against a phantom
	 * change that would make this test vacuous. */
	CHECK(sc->truth[BMEQ_FEMHEAD_RIGHT].edema_head_ml > 10.0);
	snprintf(path, sizeof(path), "%s/shell.nii", tmpdir);
	bmeq_volume *v = store_and_load(sc->image, &p.acq, path);
	CHECK(v != NULL);
	if (!v) {
		bmeq_phantom_scan_destroy(sc);
		return;
	}
	size_t n = bmeq_grid_nvox(&v->grid);
	uint8_t *lab = malloc(n);
	bmeq_femhead_result r;

	CHECK(lab != NULL);
	CHECK(bmeq_femhead_segment(v, NULL, lab, &r) == BMEQ_OK);
	for (int s = 0; s < 2; s++) {
		const bmeq_phantom_side_truth *t = &sc->truth[s];
		double d = dice(lab, sc->labels, n, (uint8_t)(1 + s));
		double re = r.side[s].radius_mm - t->head_radius_mm;

		printf("bright shell %s: dice %.3f radius err %+.2f mm centre err %.2f mm\n",
		       s ? "left" : "right", d, re, dist3(r.side[s].centre, t->head_centre_ras));
		CHECK(r.side[s].found);
		CHECK(d >= 0.95);
		CHECK(fabs(re) <= 1.0);
	}
	free(lab);
	bmeq_volume_destroy(v);
	bmeq_phantom_scan_destroy(sc);
}

/* An oblique slab that cuts the right head posteriorly (subject 6, session 1
 * of the 6 x 2 study of seed 7, scan 10 of test_phantom_study): the rays
 * leaving the field of view at the head's surface show no edge, and the neck
 * finder once took them for part of the neck's gap in the edge, aimed the
 * axis 16-23 degrees off and left the rescue search to a near tie (neck
 * Dice 0.31 on the realistic edema model, 0.91 on the bright one by luck).
 * Both models must find the neck. */
static void test_cut_head(void)
{
	for (int model = BMEQ_PHANTOM_EDEMA_REALISTIC; model <= BMEQ_PHANTOM_EDEMA_BRIGHT; model++) {
		bmeq_phantom_subject subj;
		bmeq_phantom_params p;
		bmeq_phantom_scan *sc = NULL;
		bmeq_femhead_result r;

		bmeq_phantom_subject_make(7, 5, &subj);
		bmeq_phantom_session_params(7, &subj, 5, 0, 2, &p);
		p.anat.edema_model = model;
		CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
		if (!sc)
			continue;
		const bmeq_grid *g = &sc->image->grid;
		size_t n = bmeq_grid_nvox(g), cut = 0;
		/* Guard: the right head's truth must touch the grid's border, or
		 * the case no longer tests a cut head. */
		for (size_t k = 0; k < g->dim[2]; k++)
			for (size_t j = 0; j < g->dim[1]; j++)
				for (size_t i = 0; i < g->dim[0]; i++)
					if ((i == 0 || j == 0 || k == 0 || i + 1 == g->dim[0] ||
					     j + 1 == g->dim[1] || k + 1 == g->dim[2]) &&
					    sc->labels[i + g->dim[0] * (j + g->dim[1] * k)] == 1)
						cut++;
		uint8_t *lab = malloc(n);
		CHECK(lab != NULL);
		if (lab) {
			CHECK(bmeq_femhead_segment(sc->image, NULL, lab, &r) == BMEQ_OK);
			double dh = dice(lab, sc->labels, n, 1), dn = dice(lab, sc->labels, n, 3);

			printf("cut head (%s edema): right head voxels on the border %zu, head dice "
			       "%.3f, neck dice %.3f\n",
			       bmeq_phantom_edema_model_name(model), cut, dh, dn);
			CHECK(cut > 0);
			CHECK(r.side[0].found);
			CHECK(dh >= 0.95);
			CHECK(dn >= 0.85);
		}
		free(lab);
		bmeq_phantom_scan_destroy(sc);
	}
}

/* One reader's annotation of the real hips: up to 4 heads. */
typedef struct annotation {
	char file[256];
	int side;          /* BMEQ_FEMHEAD_RIGHT or _LEFT */
	double centre[3];  /* RAS mm */
	double radius;     /* bone surface, mm */
} annotation;

/* Reads tests/data/<name>; sides may be written right/left or R/L. */
static int read_annotations(const char *name, annotation *a, int cap)
{
	char path[1024], line[1024];
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", BMEQ_TEST_DATA, name);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return 0;
	while (n < cap && fgets(line, sizeof(line), f)) {
		char side[16];
		double mr;

		if (line[0] == '#' || strncmp(line, "file\t", 5) == 0)
			continue;
		if (sscanf(line, "%255s %15s %lf %lf %lf %lf %lf", a[n].file, side, &a[n].centre[0],
			   &a[n].centre[1], &a[n].centre[2], &mr, &a[n].radius) != 7)
			continue;
		a[n].side = strcmp(side, "right") == 0 || strcmp(side, "R") == 0 ? BMEQ_FEMHEAD_RIGHT
										  : BMEQ_FEMHEAD_LEFT;
		n++;
	}
	fclose(f);
	return n;
}

/* The real T1 hips against the consensus of two manual readings: reader 1
 * (tests/data/hip_annotations.tsv, not blind to the automatic result in its
 * second pass) and reader 2 (hip_annotations_reader2.tsv, blind to both). The
 * reference is the mean of the two, fixed before the errors were looked at;
 * the readers themselves lie 1.2-2.7 mm apart, mostly along the 5.2 mm slice
 * axis. The issue's targets apply unrelaxed: centre within 3 mm, radius
 * within 2 mm. */
static void test_real_hips(void)
{
	annotation r1[4], r2[4];
	int n1 = read_annotations("hip_annotations.tsv", r1, 4);
	int n2 = read_annotations("hip_annotations_reader2.tsv", r2, 4);

	CHECK(n1 == 4 && n2 == 4);
	for (int i = 0; i < n1; i++) {
		const annotation *a = &r1[i], *b = NULL;
		for (int j = 0; j < n2; j++)
			if (strcmp(r2[j].file, a->file) == 0 && r2[j].side == a->side)
				b = &r2[j];
		CHECK(b != NULL);
		if (!b)
			continue;
		double c[3], rad = 0.5 * (a->radius + b->radius);
		for (int k = 0; k < 3; k++)
			c[k] = 0.5 * (a->centre[k] + b->centre[k]);

		char scan[1400];
		bmeq_volume *v = NULL;
		snprintf(scan, sizeof(scan), "%s/cptac_ucec_pelvis_mri/%s", BMEQ_TEST_DATA, a->file);
		CHECK(bmeq_nifti_read(scan, NULL, &v, NULL) == BMEQ_OK);
		if (!v)
			continue;
		size_t n = bmeq_grid_nvox(&v->grid);
		uint8_t *lab = malloc(n);
		bmeq_femhead_result r;
		CHECK(lab && bmeq_femhead_segment(v, NULL, lab, &r) == BMEQ_OK);
		const bmeq_femhead_side *sd = &r.side[a->side];
		double ce = dist3(sd->centre, c);
		printf("real %s %s: found %d centre (%.1f %.1f %.1f) err %.2f mm (reader 1 %.2f, "
		       "reader 2 %.2f, readers %.2f apart), radius %.2f vs %.2f\n",
		       a->file, a->side == BMEQ_FEMHEAD_RIGHT ? "right" : "left", sd->found,
		       sd->centre[0], sd->centre[1], sd->centre[2], ce, dist3(sd->centre, a->centre),
		       dist3(sd->centre, b->centre), dist3(a->centre, b->centre), sd->radius_mm, rad);
		CHECK(r.side[0].found && r.side[1].found);
		CHECK(ce <= 3.0);
		CHECK(fabs(sd->radius_mm - rad) <= 2.0);
		free(lab);
		bmeq_volume_destroy(v);
	}
}

/* A scan without a hip must give no head on either side and no label. The
 * brain's orbits are spheres of 22 mm edged by bone, and before the
 * anatomical checks (plausible.c) someones_anatomy gave a left "head" of
 * confidence 0.59 on one (and 16 mL of "edema" in bmeq measure), also with
 * the head turned about the vertical; the others are brains, an EPI and an
 * abdominal MR. yaw_deg turns the scan's affine about the S-I axis. */
static void check_no_hips(const char *rel, double yaw_deg)
{
	char path[1024];
	bmeq_volume *v = NULL;
	bmeq_femhead_result r;

	snprintf(path, sizeof(path), "%s/%s", BMEQ_TEST_DATA, rel);
	CHECK(bmeq_nifti_read(path, NULL, &v, NULL) == BMEQ_OK);
	if (!v)
		return;
	if (yaw_deg != 0) {
		double t = yaw_deg * 3.14159265358979323846 / 180, c = cos(t), sn = sin(t);

		for (int col = 0; col < 4; col++) {
			double x = v->grid.affine[0][col], y = v->grid.affine[1][col];

			v->grid.affine[0][col] = c * x - sn * y;
			v->grid.affine[1][col] = sn * x + c * y;
		}
	}
	size_t n = bmeq_grid_nvox(&v->grid), nl = 0;
	uint8_t *lab = malloc(n);
	CHECK(lab != NULL);
	if (lab) {
		CHECK(bmeq_femhead_segment(v, NULL, lab, &r) == BMEQ_OK);
		for (size_t i = 0; i < n; i++)
			nl += lab[i] != 0;
		printf("no hip: %s (yaw %+.0f deg): found right %d left %d (%s)\n", rel, yaw_deg,
		       r.side[0].found, r.side[1].found, r.side[0].reason);
		CHECK(!r.side[0].found && !r.side[1].found);
		CHECK(strlen(r.side[0].reason) > 0 && strlen(r.side[1].reason) > 0);
		CHECK(nl == 0);
	}
	free(lab);
	bmeq_volume_destroy(v);
}

static void test_no_hips(void)
{
	check_no_hips("nibabel/someones_anatomy.nii.gz", 0);
	check_no_hips("nibabel/someones_anatomy.nii.gz", 8);
	check_no_hips("nibabel/someones_anatomy.nii.gz", -15);
	check_no_hips("nibabel/someones_epi.nii.gz", 0);
	check_no_hips("niivue/nifti_space/LPS.nii.gz", 0);
	check_no_hips("niivue/shear.nii.gz", 0);
	check_no_hips("totalsegmentator/example_mr_sm.nii.gz", 0);
}


/* A copy of v keeping only the slices (along the voxel axis closest to S-I)
 * whose centre lies within [zlo, zhi] mm; NULL when none does. */
static bmeq_volume *crop_si(const bmeq_volume *v, double zlo, double zhi)
{
	const bmeq_grid *g = &v->grid;
	int ax = 0;
	for (int a = 1; a < 3; a++)
		if (fabs(g->affine[2][a]) > fabs(g->affine[2][ax]))
			ax = a;
	long lo = -1, hi = -1;
	for (size_t q = 0; q < g->dim[ax]; q++) {
		double ijk[3] = {0.5 * (double)(g->dim[0] - 1), 0.5 * (double)(g->dim[1] - 1),
				 0.5 * (double)(g->dim[2] - 1)}, xyz[3];
		ijk[ax] = (double)q;
		bmeq_grid_voxel_to_world(g, ijk, xyz);
		if (xyz[2] >= zlo && xyz[2] <= zhi) {
			if (lo < 0)
				lo = (long)q;
			hi = (long)q;
		}
	}
	if (lo < 0)
		return NULL;
	bmeq_grid c = *g;
	c.dim[ax] = (size_t)(hi - lo + 1);
	for (int r = 0; r < 3; r++)
		c.affine[r][3] += g->affine[r][ax] * (double)lo;
	bmeq_volume *out = NULL;
	if (bmeq_volume_create(&c, &out) != BMEQ_OK)
		return NULL;
	for (size_t k = 0; k < c.dim[2]; k++)
		for (size_t j = 0; j < c.dim[1]; j++)
			for (size_t i = 0; i < c.dim[0]; i++) {
				size_t src[3] = {i, j, k};
				src[ax] += (size_t)lo;
				out->data[i + c.dim[0] * (j + c.dim[1] * k)] =
					v->data[src[0] + g->dim[0] * (src[1] + g->dim[1] * src[2])];
			}
	return out;
}

/* Segments v and checks both sides' status (want[0] right, want[1] left);
 * only found sides may hold labels. Returns the number of labelled voxels. */
static size_t check_status(const char *what, const bmeq_volume *v, const bmeq_femhead_params *p,
			   const bmeq_head_status want[2])
{
	size_t n = bmeq_grid_nvox(&v->grid), nl = 0;
	uint8_t *lab = malloc(n);
	bmeq_femhead_result r;

	CHECK(lab != NULL);
	if (!lab)
		return 0;
	CHECK(bmeq_femhead_segment(v, p, lab, &r) == BMEQ_OK);
	for (size_t i = 0; i < n; i++)
		nl += lab[i] != 0;
	for (int s = 0; s < 2; s++) {
		const bmeq_femhead_side *sd = &r.side[s];
		printf("%s %s: %s conf %.2f in view %.2f acetabulum %.2f (%s)\n", what,
		       s ? "left" : "right", bmeq_head_status_name(sd->status), sd->confidence,
		       sd->in_view, sd->cup, sd->reason);
		CHECK(sd->status == want[s]);
		CHECK(sd->found == (want[s] == BMEQ_HEAD_FOUND || (p && p->accept_doubtful &&
								     want[s] != BMEQ_HEAD_NOT_IN_VIEW)));
		CHECK(sd->found || strlen(sd->reason) > 0);
	}
	if (!r.side[0].found && !r.side[1].found)
		CHECK(nl == 0);
	free(lab);
	return nl;
}

/* The real T1 hips with the field of view above the hips (iliac bone,
 * bowel, psoas: candidates were placed there with confidence up to 0.55),
 * below the heads (thighs), and ending through the upper heads (partial). */
static void test_real_out_of_view(void)
{
	static const char *files[] = {"C3N-00858_t1_tse_cor_post_hipcrop.nii.gz",
				      "C3N-02978_t1_tse_cor_post_hipcrop.nii.gz"};
	const bmeq_head_status none[2] = {BMEQ_HEAD_NOT_IN_VIEW, BMEQ_HEAD_NOT_IN_VIEW};
	const bmeq_head_status cut[2] = {BMEQ_HEAD_PARTIAL, BMEQ_HEAD_PARTIAL};

	for (size_t f = 0; f < 2; f++) {
		char path[1400];
		bmeq_volume *v = NULL;
		bmeq_femhead_result r;

		snprintf(path, sizeof(path), "%s/cptac_ucec_pelvis_mri/%s", BMEQ_TEST_DATA, files[f]);
		CHECK(bmeq_nifti_read(path, NULL, &v, NULL) == BMEQ_OK);
		if (!v)
			continue;
		uint8_t *lab = malloc(bmeq_grid_nvox(&v->grid));
		CHECK(lab && bmeq_femhead_segment(v, NULL, lab, &r) == BMEQ_OK);
		free(lab);
		CHECK(r.side[0].status == BMEQ_HEAD_FOUND && r.side[1].status == BMEQ_HEAD_FOUND);
		double ztop = fmax(r.side[0].centre[2], r.side[1].centre[2]);
		double zlow = fmin(r.side[0].centre[2], r.side[1].centre[2]);
		struct {
			const char *name;
			double lo, hi;
			const bmeq_head_status *want;
		} cases[] = {
			{"above the hips", ztop + 35.0, 1e9, none},
			{"below the heads", -1e9, zlow - 40.0, none},
			{"through the heads", -1e9, zlow + 12.0, cut},
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			bmeq_volume *cv = crop_si(v, cases[c].lo, cases[c].hi);
			char what[256];

			CHECK(cv != NULL);
			if (!cv)
				continue;
			snprintf(what, sizeof(what), "real %.9s %s", files[f], cases[c].name);
			check_status(what, cv, NULL, cases[c].want);
			if (cases[c].want == cut) {
				/* Asked for, the partial heads are labelled and measured. */
				bmeq_femhead_params p;
				bmeq_femhead_params_init(&p);
				p.accept_doubtful = 1;
				snprintf(what, sizeof(what), "real %.9s %s, doubtful measured", files[f],
					 cases[c].name);
				CHECK(check_status(what, cv, &p, cut) > 0);
			}
			bmeq_volume_destroy(cv);
		}
		bmeq_volume_destroy(v);
	}
}

/* Paints a ball of radius r (wall of thickness w at value wall, inside at
 * value in) centred at world c into v. */
static void paint_ball(bmeq_volume *v, const double c[3], double r, double w, float wall, float in)
{
	const bmeq_grid *g = &v->grid;
	size_t i = 0;

	for (size_t z = 0; z < g->dim[2]; z++)
		for (size_t y = 0; y < g->dim[1]; y++)
			for (size_t x = 0; x < g->dim[0]; x++, i++) {
				double ijk[3] = {(double)x, (double)y, (double)z}, p[3];
				bmeq_grid_voxel_to_world(g, ijk, p);
				double d = sqrt((p[0] - c[0]) * (p[0] - c[0]) + (p[1] - c[1]) * (p[1] - c[1]) +
						(p[2] - c[2]) * (p[2] - c[2]));
				if (d <= r)
					v->data[i] = d >= r - w ? wall : in;
			}
}

/* The phantom with its field of view moved off the hips: above them (with
 * bowel-like loops and a vertebral body painted in: round structures of a
 * head's size where no hip is), below them (the femoral shafts), and ending
 * through the heads (cut by the edge: partial). */
static void test_phantom_out_of_view(void)
{
	const bmeq_head_status none[2] = {BMEQ_HEAD_NOT_IN_VIEW, BMEQ_HEAD_NOT_IN_VIEW};
	for (int c = 0; c < 4; c++) {
		bmeq_phantom_params p;
		bmeq_phantom_scan *sc = NULL;

		bmeq_phantom_params_default(&p);
		if (c <= 1)
			p.acq.fov_centre[2] += 170.0; /* 40 mm above the heads' tops and up */
		else if (c == 2)
			p.acq.fov_centre[2] -= 190.0; /* shafts and thighs */
		else /* the top of the field of view 12 mm above the heads' centres */
			p.acq.fov_centre[2] = p.anat.hip[BMEQ_PHANTOM_RIGHT].head_centre[2] + 12.0 -
					      0.5 * p.acq.fov_mm[1];
		CHECK(bmeq_phantom_scan_make(&p, &sc) == BMEQ_OK);
		if (!sc)
			continue;
		if (c == 1) {
			/* Signal levels of this scan: bowel walls bright, contents
			 * dark; a vertebral body of marrow in a dark cortex. */
			const bmeq_grid *g = &sc->image->grid;
			double lo = 1e30, hi = -1e30;
			for (size_t i = 0; i < bmeq_grid_nvox(g); i++) {
				lo = fmin(lo, sc->image->data[i]);
				hi = fmax(hi, sc->image->data[i]);
			}
			float bright = (float)(lo + 0.8 * (hi - lo)), dark = (float)(lo + 0.1 * (hi - lo));
			float mid = (float)(lo + 0.35 * (hi - lo));
			double z = p.acq.fov_centre[2];
			for (int s = -1; s <= 1; s += 2) {
				double loop1[3] = {s * 80.0, 0.0, z}, loop2[3] = {s * 45.0, 20.0, z + 50.0};
				paint_ball(sc->image, loop1, 22.0, 3.0, bright, dark);
				paint_ball(sc->image, loop2, 20.0, 3.0, bright, mid);
			}
			double vb[3] = {0.0, -60.0, z - 20.0};
			paint_ball(sc->image, vb, 20.0, 2.0, dark, mid);
		}
		static const char *names[] = {"phantom above the hips", "phantom above the hips with bowel and spine",
					      "phantom below the heads", "phantom through the heads"};
		if (c < 3) {
			check_status(names[c], sc->image, NULL, none);
		} else {
			const bmeq_head_status want[2] = {BMEQ_HEAD_PARTIAL, BMEQ_HEAD_PARTIAL};
			check_status(names[c], sc->image, NULL, want);
		}
		bmeq_phantom_scan_destroy(sc);
	}
}

static void test_api(void)
{
	bmeq_femhead_result r;
	bmeq_grid g;
	size_t dim[3] = {6, 6, 6};
	double sp[3] = {1, 1, 1}, org[3] = {0, 0, 0};
	bmeq_volume *v = NULL;

	/* A head's status as the tables' side status: found is measured, the
	 * others keep their word. */
	CHECK(bmeq_head_status_hip(BMEQ_HEAD_FOUND) == BMEQ_HIP_OK);
	CHECK(bmeq_head_status_hip(BMEQ_HEAD_NOT_IN_VIEW) == BMEQ_HIP_NOT_IN_VIEW);
	for (int h = BMEQ_HEAD_PARTIAL; h <= BMEQ_HEAD_UNCERTAIN; h++)
		CHECK(strcmp(bmeq_hip_status_name(bmeq_head_status_hip((bmeq_head_status)h)),
			     bmeq_head_status_name((bmeq_head_status)h)) == 0);
	uint8_t lab[216];

	CHECK(bmeq_femhead_segment(NULL, NULL, lab, &r) == BMEQ_E_ARG);
	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	CHECK(bmeq_volume_create(&g, &v) == BMEQ_OK);
	/* 6 mm of anything cannot hold a hip. */
	CHECK(bmeq_femhead_segment(v, NULL, lab, &r) == BMEQ_E_FORMAT);
	bmeq_femhead_params p;
	bmeq_femhead_params_init(&p);
	p.radius_max_mm = p.radius_min_mm;
	CHECK(bmeq_femhead_segment(v, &p, lab, &r) == BMEQ_E_ARG);

	/* User regions: 1 and 3 are the right head and neck, 7 its own region. */
	uint16_t u[216] = {0};
	for (int i = 0; i < 8; i++)
		u[i] = 1;
	u[100] = 3;
	u[200] = 7;
	u[201] = 7;
	bmeq_roi_region *reg = NULL;
	size_t nreg = 0;
	CHECK(bmeq_femhead_roi_from_labels(&g, u, &reg, &nreg, &r) == BMEQ_OK);
	CHECK(nreg == 3);
	if (nreg == 3) {
		CHECK(reg[0].label == 1 && reg[0].side == BMEQ_SIDE_RIGHT &&
		      reg[0].part == BMEQ_PART_HEAD && reg[0].voxels == 8);
		CHECK(reg[1].label == 3 && reg[1].side == BMEQ_SIDE_RIGHT && reg[1].part == BMEQ_PART_NECK);
		CHECK(reg[2].label == 7 && reg[2].side == BMEQ_SIDE_NONE && reg[2].part == BMEQ_PART_ROI &&
		      reg[2].voxels == 2);
		CHECK_NEAR(reg[2].ml, 0.002, 1e-9);
	}
	CHECK(r.side[0].found && !r.side[1].found);
	CHECK_NEAR(r.side[0].centre[0], 2.0, 1e-9);
	free(reg);
	bmeq_volume_destroy(v);
}

int main(void)
{
	char tmpdir[] = "/tmp/bmeq_femhead_XXXXXX";

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_api();
	test_no_hips();
	test_one_sided(BMEQ_PHANTOM_RIGHT);
	test_one_sided(BMEQ_PHANTOM_LEFT);
	test_label_side();
	test_search_box();
	test_real_hips();
	test_real_out_of_view();
	test_phantom_out_of_view();
	test_bright_shell(tmpdir);
	test_cut_head();
	test_phantom_study(tmpdir);
	rmdir(tmpdir);
	CHECK_DONE();
}
