/* test_dicom.c - DICOM series through the scan opener (bmeq/scan.h, bmeq/dicom.h).
 *
 * Without arguments: the real series of tests/data against the dcm2niix NIfTI made from it
 * (the committed hip crop: same voxels on rows 0-255, same affine), series choice by UID,
 * number and description, and scan references (FOLDER#SERIES).
 *
 * `test_dicom compare A B`: reads two scans (NIfTI files or DICOM folders, FOLDER#SERIES
 * allowed) and fails unless they have the same dims, affines within 0.01 mm and the same
 * voxels (within TOL, default 0: exactly). tests/cli/test_dicom.sh uses it against
 * dcm2niix run beside it and on the generated series. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "bmeq/dicom.h"
#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"
#include "check.h"

#define SERIES BMEQ_TEST_DATA "/cptac_ucec_pelvis_mri/dicom_C3N-02978_t1_tse_cor_post"
#define CROP BMEQ_TEST_DATA "/cptac_ucec_pelvis_mri/C3N-02978_t1_tse_cor_post_hipcrop.nii.gz"

static int compare(const char *a, const char *b, double tol)
{
	bmeq_volume *va = NULL, *vb = NULL;
	bmeq_scan_info ia, ib;
	int bad = 0;

	if (bmeq_scan_read(a, NULL, &va, &ia) != BMEQ_OK) {
		fprintf(stderr, "%s: %s\n", a, bmeq_last_error());
		return 1;
	}
	if (bmeq_scan_read(b, NULL, &vb, &ib) != BMEQ_OK) {
		fprintf(stderr, "%s: %s\n", b, bmeq_last_error());
		bmeq_volume_destroy(va);
		return 1;
	}
	for (int c = 0; c < 3; c++)
		if (va->grid.dim[c] != vb->grid.dim[c]) {
			fprintf(stderr, "dims differ: %zux%zux%zu and %zux%zux%zu\n", va->grid.dim[0],
				va->grid.dim[1], va->grid.dim[2], vb->grid.dim[0], vb->grid.dim[1],
				vb->grid.dim[2]);
			bad = 1;
			goto done;
		}
	double worst = 0;
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 4; c++) {
			double d = va->grid.affine[r][c] - vb->grid.affine[r][c];
			worst = d < 0 ? (-d > worst ? -d : worst) : (d > worst ? d : worst);
		}
	if (worst > 0.01) {
		fprintf(stderr, "affines differ by up to %g\n", worst);
		bad = 1;
	}
	size_t n = bmeq_grid_nvox(&va->grid), diff = 0;
	for (size_t i = 0; i < n; i++)
		if (!(va->data[i] - vb->data[i] <= tol && vb->data[i] - va->data[i] <= tol)) {
			if (!diff)
				fprintf(stderr, "voxel %zu: %g and %g\n", i, va->data[i], vb->data[i]);
			diff++;
		}
	if (diff) {
		fprintf(stderr, "%zu of %zu voxels differ\n", diff, n);
		bad = 1;
	}
	printf("%s\n%s\nsame: dims %zux%zux%zu, affine within %.2g mm, %zu voxels%s\n", a, b,
	       va->grid.dim[0], va->grid.dim[1], va->grid.dim[2], worst, n, bad ? " - NO" : "");
done:
	bmeq_volume_destroy(va);
	bmeq_volume_destroy(vb);
	return bad;
}

/* The committed series is slices 9-30 of the 35 from which dcm2niix made the full NIfTI;
 * the crop holds rows 0-255 of those slices (k = 8..29 of the full volume). */
static void test_real_series(void)
{
	bmeq_volume *v = NULL, *crop = NULL;
	bmeq_scan_info in;

	CHECK(bmeq_scan_read(SERIES, NULL, &v, &in) == BMEQ_OK);
	CHECK(bmeq_nifti_read(CROP, NULL, &crop, NULL) == BMEQ_OK);
	if (!v || !crop) {
		bmeq_volume_destroy(v);
		bmeq_volume_destroy(crop);
		return;
	}
	CHECK(in.dicom == 1);
	CHECK(v->grid.dim[0] == 384 && v->grid.dim[1] == 384 && v->grid.dim[2] == 22);
	CHECK(crop->grid.dim[0] == 384 && crop->grid.dim[1] == 256 && crop->grid.dim[2] == 22);
	char o[4];
	bmeq_grid_orientation(&v->grid, o);
	CHECK(strcmp(o, "LSP") == 0);
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			CHECK_NEAR(v->grid.affine[r][c], crop->grid.affine[r][c], 0.01);
	size_t diff = 0;
	for (size_t k = 0; k < 22; k++)
		for (size_t j = 0; j < 256; j++)
			for (size_t i = 0; i < 384; i++)
				diff += v->data[i + 384 * (j + 384 * k)] !=
					crop->data[i + 384 * (j + 256 * k)];
	CHECK(diff == 0);
	/* The sequence facts of the protocol check, as the dcm2niix sidecar has them. */
	CHECK(in.series.number == 29);
	CHECK(strcmp(in.series.description, "t1_tse_cor lymph nodes CM") == 0);
	CHECK(strcmp(in.series.scanning_sequence, "SE") == 0);
	CHECK(strcmp(in.series.sequence_variant, "SK\\SP\\OSP") == 0);
	CHECK(strcmp(in.series.model, "Avanto_fit") == 0);
	CHECK_NEAR(in.series.echo_time_ms, 6.2, 1e-9);
	CHECK_NEAR(in.series.repetition_time_ms, 434, 1e-9);
	CHECK_NEAR(in.series.field_strength_t, 1.5, 1e-9);
	CHECK_NEAR(in.series.slice_thickness_mm, 4, 1e-9);
	CHECK_NEAR(in.series.slice_spacing_mm, 5.2, 1e-9);
	CHECK(in.series.inversion_time_ms != in.series.inversion_time_ms); /* absent: NaN */
	CHECK(in.series.slices == 22 && in.series.files == 22 && in.series.echoes == 1);
	bmeq_volume_destroy(v);
	bmeq_volume_destroy(crop);

	/* Listing reads headers only and finds the one series. */
	bmeq_dicom_series *s = NULL;
	size_t n = 0, skipped = 9;
	CHECK(bmeq_dicom_list(SERIES, &s, &n, &skipped) == BMEQ_OK);
	CHECK(n == 1 && skipped == 0);
	if (n == 1) {
		CHECK(strcmp(s[0].orientation, "LSP") == 0);
		CHECK(s[0].rows == 384 && s[0].columns == 384 && s[0].problem[0] == '\0');
	}
	bmeq_dicom_series_free(s);

	/* The same series chosen by number, description and UID; a wrong choice says which
	 * series there are. */
	CHECK(bmeq_scan_read(SERIES "#29", NULL, &v, NULL) == BMEQ_OK);
	bmeq_volume_destroy(v);
	CHECK(bmeq_scan_read(SERIES "#*tse_cor*", NULL, &v, NULL) == BMEQ_OK);
	bmeq_volume_destroy(v);
	CHECK(bmeq_scan_read(SERIES "#" "1.3.6.1.4.1.14519.5.2.1.3320.3273.294530614541764046679386155174",
			     NULL, &v, NULL) == BMEQ_OK);
	bmeq_volume_destroy(v);
	CHECK(bmeq_scan_read(SERIES "#30", NULL, &v, NULL) == BMEQ_E_ARG);
	CHECK(v == NULL);
	CHECK(strstr(bmeq_last_error(), "29 \"t1_tse_cor lymph nodes CM\"") != NULL);
	bmeq_read_opts ro;
	bmeq_read_opts_init(&ro);
	ro.volume = 0;
	CHECK(bmeq_scan_read(SERIES, &ro, &v, NULL) == BMEQ_E_UNSUPPORTED);
	bmeq_read_opts_init(&ro);
	ro.max_bytes = 1u << 20;
	CHECK(bmeq_scan_read(SERIES, &ro, &v, NULL) == BMEQ_E_UNSUPPORTED);
	/* One file of the series is not the series. */
	CHECK(bmeq_scan_read(SERIES "/1-09.dcm", NULL, &v, NULL) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "give the folder") != NULL);

	char hex[65], hex2[65];
	CHECK(bmeq_scan_sha256(SERIES, hex) == BMEQ_OK);
	CHECK(bmeq_scan_sha256(SERIES "#29", hex2) == BMEQ_OK);
	CHECK(strcmp(hex, hex2) == 0 && strlen(hex) == 64);
}

static void set_series(bmeq_dicom_series *s, long number, const char *uid, const char *desc)
{
	memset(s, 0, sizeof(*s));
	s->number = number;
	snprintf(s->uid, sizeof(s->uid), "%s", uid);
	snprintf(s->description, sizeof(s->description), "%s", desc);
	s->rows = s->columns = 256;
}

static void test_choose(void)
{
	bmeq_dicom_series s[4];
	size_t idx = 99;

	set_series(&s[0], 1, "1.2.3.1", "localizer");
	set_series(&s[1], 5, "1.2.3.5", "t1_tse_cor");
	set_series(&s[2], 7, "1.2.3.7", "STIR_cor");
	set_series(&s[3], 9, "1.2.3.9", "dose report");
	s[3].rows = s[3].columns = 0; /* a non-image object */
	CHECK(bmeq_dicom_choose(s, 4, NULL, &idx) == BMEQ_E_ARG);
	CHECK(strstr(bmeq_last_error(), "3 series") != NULL);
	CHECK(bmeq_dicom_choose(s, 4, "7", &idx) == BMEQ_OK && idx == 2);
	CHECK(bmeq_dicom_choose(s, 4, "1.2.3.5", &idx) == BMEQ_OK && idx == 1);
	CHECK(bmeq_dicom_choose(s, 4, "stir", &idx) == BMEQ_OK && idx == 2);
	CHECK(bmeq_dicom_choose(s, 4, "*Cor", &idx) == BMEQ_E_ARG);
	CHECK(strstr(bmeq_last_error(), "2 series match") != NULL);
	CHECK(bmeq_dicom_choose(s, 4, "flair", &idx) == BMEQ_E_ARG);
	CHECK(bmeq_dicom_choose(s, 4, "8", &idx) == BMEQ_E_ARG);
	CHECK(bmeq_dicom_choose(s, 0, NULL, &idx) == BMEQ_E_FORMAT);
	/* One image series beside a report: no choice needed. */
	CHECK(bmeq_dicom_choose(s + 2, 2, NULL, &idx) == BMEQ_OK && idx == 0);
}

static void test_refs(void)
{
	char buf[4096], path[4096];
	const char *sel;

	CHECK(bmeq_scan_ref(buf, sizeof(buf), SERIES, "29") == BMEQ_OK);
	CHECK(strcmp(buf, SERIES "#29") == 0);
	CHECK(bmeq_scan_split(buf, path, sizeof(path), &sel) == 1);
	CHECK(strcmp(path, SERIES) == 0 && sel && strcmp(sel, "29") == 0);
	CHECK(bmeq_scan_ref(buf, sizeof(buf), CROP, "29") == BMEQ_E_ARG);
	CHECK(bmeq_scan_ref(buf, sizeof(buf), CROP, NULL) == BMEQ_OK && strcmp(buf, CROP) == 0);
	CHECK(bmeq_scan_split(CROP, path, sizeof(path), &sel) == 0 && sel == NULL);
	CHECK(bmeq_scan_split(SERIES, path, sizeof(path), &sel) == 1 && sel == NULL);
	/* An existing path with '#' in its name is that path. */
	char dir[] = "/tmp/bmeq_dicom_refXXXXXX";
	if (mkdtemp(dir)) {
		char odd[4200];
		snprintf(odd, sizeof(odd), "%s/a#b", dir);
		FILE *fp = fopen(odd, "w");
		if (fp)
			fclose(fp);
		CHECK(bmeq_scan_split(odd, path, sizeof(path), &sel) == 0 && sel == NULL &&
		      strcmp(path, odd) == 0);
		remove(odd);
		rmdir(dir);
	}
}

static void proto(bmeq_protocol *p, const char *seq, const char *opts, const char *desc, double ti,
		  double te, double tr)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->source, sizeof(p->source), "dicom");
	snprintf(p->scanning_sequence, sizeof(p->scanning_sequence), "%s", seq);
	snprintf(p->scan_options, sizeof(p->scan_options), "%s", opts);
	snprintf(p->description, sizeof(p->description), "%s", desc);
	p->inversion_time_ms = ti;
	p->echo_time_ms = te;
	p->repetition_time_ms = tr;
	p->field_strength_t = 1.5;
	p->slice_thickness_mm = 4;
	p->slice_spacing_mm = NAN;
}

static void test_protocol(void)
{
	bmeq_protocol a, b;
	char why[200];

	proto(&a, "IR\\SE", "IR", "stir_cor", 160, 56, 4500);
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_FLUID_FS);
	CHECK(strcmp(why, "short-TI inversion recovery (TI 160 ms)") == 0);
	proto(&a, "SE", "FS", "t2_tse_cor", NAN, 80, 3500); /* fat-saturated T2 */
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_FLUID_FS);
	proto(&a, "SE", "", "pd_spair_cor", NAN, 35, 2800); /* SPAIR in the description */
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_FLUID_FS);
	proto(&a, "SE", "", "t2_tse_cor", NAN, 80, 3500); /* no fat suppression */
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_OTHER);
	CHECK(strstr(why, "no fat suppression") != NULL);
	proto(&a, "SE", "", "t1_tse_cor", NAN, 6.2, 434);
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_OTHER);
	CHECK(strcmp(why, "not a fluid-sensitive fat-suppressed image: T1-weighted (SE, TI none, TE "
			  "6.2 ms, TR 434 ms)") == 0);
	proto(&a, "IR", "", "flair", 2500, 120, 9000); /* a FLAIR: IR, but fat not nulled */
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_OTHER);
	/* "fs" must be a word: "offset" is no fat suppression. */
	proto(&a, "SE", "", "t2 offset", NAN, 80, 3500);
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_OTHER);
	memset(&a, 0, sizeof(a));
	CHECK(bmeq_protocol_classify(&a, why, sizeof(why)) == BMEQ_PROTOCOL_UNKNOWN);

	proto(&a, "IR\\SE", "IR", "stir_cor", 160, 56, 4500);
	b = a;
	CHECK(bmeq_protocol_differs(&a, &b, why, sizeof(why)) == 0);
	b.field_strength_t = 3.0;
	b.slice_thickness_mm = 3.0;
	CHECK(bmeq_protocol_differs(&a, &b, why, sizeof(why)) == 1);
	CHECK(strcmp(why, "field 1.5 T -> 3 T, slice thickness 4 mm -> 3 mm") == 0);
	b = a;
	proto(&b, "SE", "", "t1", NAN, 6, 500);
	CHECK(bmeq_protocol_differs(&a, &b, why, sizeof(why)) == 1);
	CHECK(strstr(why, "sequence IR\\SE -> SE") != NULL);
	memset(&b, 0, sizeof(b)); /* unknown: never flagged */
	CHECK(bmeq_protocol_differs(&a, &b, why, sizeof(why)) == 0);
}

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_done;

static void *idle(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&idle_lock);
	while (!idle_done)
		pthread_cond_wait(&idle_cond, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	return NULL;
}

/* The child processes of this thread (the main one), up to cap. */
static size_t children(long *pids, size_t cap)
{
	char path[64];
	size_t n = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < cap && fscanf(f, "%ld", &pids[n]) == 1)
		n++;
	fclose(f);
	return n;
}

static int read_series(void)
{
	bmeq_volume *v = NULL;
	bmeq_status st = bmeq_dicom_read(SERIES, NULL, 0, &v, NULL);
	bmeq_volume_destroy(v);
	return st;
}

static void pause_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* A multithreaded caller (a batch's workers) starts the reader program once and keeps it
 * for its thread's next calls; one that died or ran out of time is replaced. Last: the
 * idle thread makes this process multithreaded, as a batch is. */
static void test_kept_reader(void)
{
	pthread_t t;
	long a[8], b[8];
	CHECK(pthread_create(&t, NULL, idle, NULL) == 0);
	CHECK(read_series() == BMEQ_OK);
	CHECK(children(a, 8) == 1); /* the started reader, kept */
	CHECK(read_series() == BMEQ_OK);
	CHECK(children(b, 8) == 1 && b[0] == a[0]); /* the same one */
	/* Dead since its last answer: the request's write fails (no SIGPIPE ends this
	 * process) and a new reader answers. */
	kill((pid_t)a[0], SIGKILL);
	pause_ms(200);
	CHECK(read_series() == BMEQ_OK);
	CHECK(children(b, 8) == 1 && b[0] != a[0]);
	/* Out of time: killed, reaped, and the next call starts another. The hook is read
	 * by a reader started after it is set. */
	kill((pid_t)b[0], SIGKILL);
	pause_ms(200);
	setenv("BMEQ_TEST_DICOM_HANG", "/1-12.dcm", 1);
	bmeq_dicom_set_time_limit(1);
	CHECK(read_series() == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "1-12.dcm: the DICOM reader did not finish within 1 s") != NULL);
	CHECK(children(a, 8) == 0); /* the dead one and the one out of time, both reaped */
	unsetenv("BMEQ_TEST_DICOM_HANG");
	bmeq_dicom_set_time_limit(BMEQ_DICOM_TIME_LIMIT_DEFAULT);
	CHECK(read_series() == BMEQ_OK);
	CHECK(children(a, 8) == 1 && a[0] != b[0]);
	/* A reader that answered with an error (here: a folder whose one file is not
	 * DICOM) is not kept: a codec that failed midway may have damaged its state. */
	char bad[] = "/tmp/bmeq_test_dicom_badXXXXXX", badfile[64];
	CHECK(mkdtemp(bad) != NULL);
	snprintf(badfile, sizeof(badfile), "%s/x.dcm", bad);
	FILE *f = fopen(badfile, "wb");
	CHECK(f != NULL);
	if (f) {
		fputs("not a DICOM file", f);
		fclose(f);
	}
	bmeq_volume *v = NULL;
	CHECK(bmeq_dicom_read(bad, NULL, 0, &v, NULL) != BMEQ_OK && v == NULL);
	CHECK(children(b, 8) == 0); /* answered, then retired and reaped */
	remove(badfile);
	rmdir(bad);
	CHECK(read_series() == BMEQ_OK);
	CHECK(children(b, 8) == 1 && b[0] != a[0]);
	pthread_mutex_lock(&idle_lock);
	idle_done = 1;
	pthread_cond_signal(&idle_cond);
	pthread_mutex_unlock(&idle_lock);
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "compare") == 0)
		return compare(argv[2], argv[3], argc > 4 ? atof(argv[4]) : 0.0);
	test_real_series();
	test_choose();
	test_refs();
	test_protocol();
	test_kept_reader();
	CHECK_DONE();
}
