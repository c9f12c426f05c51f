/* bench_compare.c - cost of one follow-up comparison (both hips: registration,
 * refinement, resolved/persistent/new split) on one core, on phantom visits.
 *
 * usage: bench_compare [REPEATS] [SUBJECT]
 * Prints CPU seconds of the process (one ITK thread, so CPU time is one
 * core's cost even on a shared machine) for the first call and the median of
 * REPEATS steady calls, against peers measured in the same run: the same
 * comparison as one 3-level pass without the refinement pass (the defaults run
 * 2 coarse levels, then the refinement pass as the fine level), volumes only (no registration), and
 * ITK's nearest-neighbour resampling of the whole follow-up label map onto the
 * baseline grid (what a naive split would cost per side).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmeq/longitudinal.h"
#include "bmeq/phantom.h"
#include "../src/itk/itk_internal.h"

#include "bench_util.h"

typedef struct pair {
	bmeq_phantom_scan *b, *f;
	uint16_t *eb, *ef;
	bmeq_timepoint tb, tf;
} pair;

static int make_pair(unsigned subject, pair *p)
{
	bmeq_phantom_subject sub;
	bmeq_phantom_params pb, pf;

	memset(p, 0, sizeof(*p));
	bmeq_phantom_subject_make(1, subject, &sub);
	bmeq_phantom_session_params(1, &sub, subject, 0, 3, &pb);
	bmeq_phantom_session_params(1, &sub, subject, 1, 3, &pf);
	if (bmeq_phantom_scan_make(&pb, &p->b) != BMEQ_OK ||
	    bmeq_phantom_scan_make(&pf, &p->f) != BMEQ_OK)
		return -1;
	size_t nb = bmeq_grid_nvox(&p->b->image->grid), nf = bmeq_grid_nvox(&p->f->image->grid);
	p->eb = malloc(nb * sizeof(*p->eb));
	p->ef = malloc(nf * sizeof(*p->ef));
	if (!p->eb || !p->ef)
		return -1;
	for (size_t i = 0; i < nb; i++)
		p->eb[i] = p->b->edema[i];
	for (size_t i = 0; i < nf; i++)
		p->ef[i] = p->f->edema[i];
	p->tb.image = p->b->image;
	p->tb.edema_map = p->eb;
	p->tf.image = p->f->image;
	p->tf.edema_map = p->ef;
	for (int s = 0; s < 2; s++) {
		const bmeq_phantom_side_truth *xb = &p->b->truth[s], *xf = &p->f->truth[s];
		/* detected centres a little off, as segmentation gives them */
		for (int k = 0; k < 3; k++) {
			p->tb.geom[s].centre[k] = xb->head_centre_ras[k] + (k == 0 ? 1.0 : -0.7);
			p->tf.geom[s].centre[k] = xf->head_centre_ras[k] + (k == 1 ? 1.0 : 0.6);
		}
		p->tb.geom[s].found = p->tf.geom[s].found = 1;
		p->tb.geom[s].radius = xb->head_radius_mm;
		p->tf.geom[s].radius = xf->head_radius_mm;
		p->tb.edema_ml[s] = xb->edema_head_grid_ml + xb->edema_neck_grid_ml;
		p->tf.edema_ml[s] = xf->edema_head_grid_ml + xf->edema_neck_grid_ml;
	}
	return 0;
}

static void free_pair(pair *p)
{
	bmeq_phantom_scan_destroy(p->b);
	bmeq_phantom_scan_destroy(p->f);
	free(p->eb);
	free(p->ef);
}

/* first call and median of n steady calls of one configuration */
static int run(const char *name, pair *p, const bmeq_compare_opts *o, uint8_t *change, int n,
	       double *first, double *steady)
{
	double t[64];
	bmeq_comparison c;

	for (int r = 0; r <= n; r++) {
		double t0 = bench_cpu_s();
		if (bmeq_compare_timepoints(&p->tb, &p->tf, o, &c, change) != BMEQ_OK) {
			fprintf(stderr, "%s: %s\n", name, bmeq_last_error());
			return -1;
		}
		double dt = bench_cpu_s() - t0;
		if (r == 0)
			*first = dt;
		else
			t[r - 1] = dt;
	}
	*steady = bench_median(t, n);
	printf("%-36s first %.3f s, steady %.3f s   (right: %s %s, left: %s %s)\n", name, *first,
	       *steady, bmeq_response_name(c.side[0].response),
	       c.side[0].registered ? "registered" : "-", bmeq_response_name(c.side[1].response),
	       c.side[1].registered ? "registered" : "-");
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	unsigned subject = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
	pair p;

	if (n < 1 || n > 64) {
		fprintf(stderr, "usage: bench_compare [REPEATS 1-64] [SUBJECT]\n");
		return 2;
	}
	bmeq_itk_set_threads(1);
	if (make_pair(subject, &p) != 0) {
		fprintf(stderr, "phantom: %s\n", bmeq_last_error());
		return 1;
	}
	const bmeq_grid *bg = &p.b->image->grid, *fg = &p.f->image->grid;
	printf("phantom subject %u, sessions 0 -> 1: baseline %zux%zux%zu (%.2fx%.2fx%.2f mm), "
	       "follow-up %zux%zux%zu (%.2fx%.2fx%.2f mm); one ITK thread, CPU seconds\n",
	       subject, bg->dim[0], bg->dim[1], bg->dim[2], bg->spacing[0], bg->spacing[1],
	       bg->spacing[2], fg->dim[0], fg->dim[1], fg->dim[2], fg->spacing[0], fg->spacing[1],
	       fg->spacing[2]);
	size_t nb = bmeq_grid_nvox(bg);
	uint8_t *change = malloc(nb);
	uint16_t *res = malloc(nb * sizeof(*res));
	if (!change || !res)
		return 1;

	bmeq_compare_opts o;
	double f_full, s_full, f_one, s_one, f_vol, s_vol;
	bmeq_compare_opts_init(&o);
	if (run("compare (defaults: 2 passes per hip)", &p, &o, change, n, &f_full, &s_full) != 0)
		return 1;
	o.refine = 0;
	if (run("peer: one 3-level pass, no refinement", &p, &o, change, n, &f_one, &s_one) != 0)
		return 1;
	o.spatial = 0;
	if (run("peer: volumes only", &p, &o, change, n, &f_vol, &s_vol) != 0)
		return 1;

	/* ITK's nearest-neighbour resampling of the whole follow-up map, per side */
	double t[64], t0;
	bmeq_rigid id;
	bmeq_rigid_identity(&id);
	for (int r = 0; r < n; r++) {
		t0 = bench_cpu_s();
		if (bmeq_itk_resample_labels_u16(p.ef, fg, bg, &id, res) != BMEQ_OK)
			return 1;
		t[r] = bench_cpu_s() - t0;
	}
	double s_nn = bench_median(t, n);
	printf("%-36s steady %.3f s per side\n", "peer: ITK NN resample of whole map", s_nn);
	printf("ratios (steady): defaults / one 3-level pass %.2fx; whole-map NN x2 sides = %.2fx of the compare; "
	       "target 2 s -> %.2fx of target\n", s_full / s_one, 2.0 * s_nn / s_full, s_full / 2.0);
	free(change);
	free(res);
	free_pair(&p);
	return 0;
}
