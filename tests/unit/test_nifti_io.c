/* test_nifti_io.c - the reader's acceptance tests and the writer's round trips.
 *
 * Expectations come from tests/data/expected.tsv and rejected.tsv, recorded once with nibabel
 * by tests/tools/make_expected.py (see tests/data/README.md for the rules and tolerances).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nifti2_io.h>

#include "bmeq/nifti_io.h"
#include "check.h"

#define MAX_FIELDS 32
#define AFFINE_TOL 1e-4 /* mm, per affine element */

static char tmpdir[256];

/* |got - want| <= 1e-5 * (|want| + |inter|): the documented value tolerance. */
static int value_close(double got, double want, double inter)
{
	if (isnan(want))
		return isnan(got);
	return fabs(got - want) <= 1e-5 * (fabs(want) + fabs(inter)) + 1e-30;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf)
			buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* Splits line (modified in place) at tabs; returns the number of fields. */
static int split_tabs(char *line, char **fields)
{
	int n = 0;

	fields[n++] = line;
	for (char *p = line; *p && n < MAX_FIELDS; p++) {
		if (*p == '\t') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	}
	return n;
}

/* Parses up to max comma- or x-separated numbers; returns how many. */
static int parse_list(const char *s, double *out, int max)
{
	int n = 0;
	char *end;

	while (*s && n < max) {
		out[n++] = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		if (*s == ',' || *s == 'x')
			s++;
	}
	return n;
}

static int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] &&
		       tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static void data_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", BMEQ_TEST_DATA, rel);
}

static void tmp_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

static int affine_source_of(const char *s)
{
	if (strcmp(s, "sform") == 0)
		return BMEQ_AFFINE_SFORM;
	if (strcmp(s, "qform") == 0)
		return BMEQ_AFFINE_QFORM;
	return BMEQ_AFFINE_PIXDIM;
}

/* The value checks of one expected.tsv row against a loaded volume. */
static void check_values(const char *rel, char **f, const bmeq_volume *v,
			 const bmeq_nifti_info *in)
{
	double inter = in->scaling_applied ? in->scl_inter : 0.0;
	size_t n = bmeq_grid_nvox(&v->grid), cnt = 0, nonfinite = 0;
	double lo = INFINITY, hi = -INFINITY, sum = 0.0;

	/* Samples: "i,j,k=value;..." */
	char *samples = strdup(f[17]);
	CHECK(samples != NULL);
	for (char *tok = samples ? strtok(samples, ";") : NULL; tok; tok = strtok(NULL, ";")) {
		size_t i, j, k;
		double want;
		if (sscanf(tok, "%zu,%zu,%zu=%lf", &i, &j, &k, &want) != 4) {
			want = NAN;
			if (sscanf(tok, "%zu,%zu,%zu=nan", &i, &j, &k) != 3) {
				CHECK(!"unparsable sample");
				continue;
			}
		}
		if (i >= v->grid.dim[0] || j >= v->grid.dim[1] || k >= v->grid.dim[2]) {
			fprintf(stderr, "%s: sample %s outside the grid\n", rel, tok);
			check_failures++;
			continue;
		}
		double got = v->data[i + v->grid.dim[0] * (j + v->grid.dim[1] * k)];
		if (!value_close(got, want, inter)) {
			fprintf(stderr, "%s: voxel %zu,%zu,%zu = %.9g, want %.9g\n", rel, i, j, k, got,
				want);
			check_failures++;
		}
	}
	free(samples);

	for (size_t i = 0; i < n; i++) {
		double x = v->data[i];
		if (!isfinite(x)) {
			nonfinite++;
			continue;
		}
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
		sum += x;
		cnt++;
	}
	double mean = cnt ? sum / (double)cnt : NAN;
	if (!value_close(lo, strtod(f[18], NULL), inter) ||
	    !value_close(hi, strtod(f[19], NULL), inter) ||
	    !value_close(mean, strtod(f[20], NULL), inter)) {
		fprintf(stderr, "%s: min/max/mean %.9g %.9g %.9g, want %s %s %s\n", rel, lo, hi, mean,
			f[18], f[19], f[20]);
		check_failures++;
	}
	CHECK(nonfinite == strtoul(f[21], NULL, 10));
	CHECK(in->nonfinite == nonfinite);
}

/* One row of expected.tsv: header fields, geometry and values. */
static void check_expected_row(char **f)
{
	const char *rel = f[0];
	char path[1024];
	bmeq_read_opts opts;
	bmeq_volume *v = NULL;
	bmeq_nifti_info in;
	double want_dims[8], sp[3], aff[16];
	int failures_before = check_failures;

	data_path(path, sizeof(path), rel);
	bmeq_read_opts_init(&opts);
	opts.volume = strtol(f[1], NULL, 10);
	bmeq_status st = bmeq_nifti_read(path, &opts, &v, &in);
	if (st != BMEQ_OK || !v) {
		fprintf(stderr, "%s: read failed: %s: %s\n", rel, bmeq_status_name(st),
			bmeq_last_error());
		check_failures++;
		return;
	}
	CHECK(in.nifti_version == atoi(f[2]));
	int nd = parse_list(f[3], want_dims, 8);
	CHECK(in.dims[0] == nd);
	for (int i = 0; i < nd && i < 7; i++)
		CHECK(in.dims[i + 1] == (int64_t)want_dims[i]);
	for (int i = 0; i < 3; i++)
		CHECK(v->grid.dim[i] == (i < nd ? (size_t)want_dims[i] : 1));
	CHECK(parse_list(f[4], sp, 3) == 3);
	for (int i = 0; i < 3; i++)
		CHECK_NEAR(v->grid.spacing[i], sp[i], 1e-5);
	CHECK(in.datatype == atoi(f[7]));
	CHECK(in.datatype_name && strcmp(in.datatype_name, f[6]) == 0);
	CHECK(in.big_endian == atoi(f[8]));
	double slope = strtod(f[9], NULL), inter = strtod(f[10], NULL);
	CHECK(isnan(slope) ? isnan(in.scl_slope) : fabs(in.scl_slope - slope) <= 1e-6 * fabs(slope));
	CHECK(isnan(inter) ? isnan(in.scl_inter) : fabs(in.scl_inter - inter) <= 1e-6 * fabs(inter));
	CHECK(in.scaling_applied == (isfinite(slope) && slope != 0.0));
	CHECK(in.qform_code == atoi(f[11]));
	CHECK(in.sform_code == atoi(f[12]));
	CHECK((int)in.affine_source == affine_source_of(f[13]));
	CHECK(parse_list(f[14], aff, 16) == 16);
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			CHECK_NEAR(v->grid.affine[r][c], aff[4 * r + c], AFFINE_TOL);
	char orient[4];
	bmeq_grid_orientation(&v->grid, orient);
	CHECK(strcmp(orient, f[15]) == 0);
	CHECK(in.nvolumes == strtoul(f[16], NULL, 10));
	CHECK(in.affine_source != BMEQ_AFFINE_PIXDIM || in.warning[0] != '\0');
	check_values(rel, f, v, &in);
	if (check_failures != failures_before)
		fprintf(stderr, "  ^ in %s\n", rel);
	bmeq_volume_destroy(v);
}

static int run_table(const char *name, void (*row)(char **f), int want_fields)
{
	char path[1024];
	int rows = 0;

	data_path(path, sizeof(path), name);
	char *text = read_text(path);
	if (!text) {
		fprintf(stderr, "cannot read %s\n", path);
		check_failures++;
		return 0;
	}
	char *save = NULL;
	int first = 1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[MAX_FIELDS];
		if (first) { /* header row */
			first = 0;
			continue;
		}
		if (split_tabs(line, f) != want_fields) {
			fprintf(stderr, "%s: bad row: %s\n", name, line);
			check_failures++;
			continue;
		}
		row(f);
		rows++;
	}
	free(text);
	return rows;
}

/* One row of rejected.tsv: the right status class and a one-line reason. */
static void check_rejected_row(char **f)
{
	char path[1024];
	bmeq_volume *v = NULL;
	bmeq_nifti_info in;

	data_path(path, sizeof(path), f[0]);
	bmeq_status st = bmeq_nifti_read(path, NULL, &v, &in);
	const char *msg = bmeq_last_error();
	if (st == BMEQ_OK || strcmp(bmeq_status_name(st), f[1]) != 0 || !msg[0] ||
	    strchr(msg, '\n') || !contains_nocase(msg, f[2])) {
		fprintf(stderr, "%s: got %s \"%s\", want %s with \"%s\"\n", f[0],
			bmeq_status_name(st), msg, f[1], f[2]);
		check_failures++;
	}
	CHECK(v == NULL); /* never a partial volume */
	bmeq_volume_destroy(v);
}

static void remove_tmpdir(void)
{
	static const char *const names[] = {"lab.nii", "lab.nii.gz", "w.nii", "w.nii.gz", "x.nii",
					    "x.nii.gz", "clamp.nii"};
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		tmp_path(path, sizeof(path), names[i]);
		remove(path);
	}
	if (rmdir(tmpdir) != 0)
		fprintf(stderr, "note: %s not removed (unexpected files left?)\n", tmpdir);
}

static int load(const char *rel, bmeq_volume **v, bmeq_nifti_info *in)
{
	char path[1024];

	data_path(path, sizeof(path), rel);
	bmeq_status st = bmeq_nifti_read(path, NULL, v, in);
	if (st != BMEQ_OK) {
		fprintf(stderr, "%s: %s\n", rel, bmeq_last_error());
		check_failures++;
		return 0;
	}
	return 1;
}

static void check_same_grid(const bmeq_grid *a, const bmeq_grid *b)
{
	for (int i = 0; i < 3; i++)
		CHECK(a->dim[i] == b->dim[i]);
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			CHECK_NEAR(a->affine[r][c], b->affine[r][c], AFFINE_TOL);
}

static void test_misc_errors(void)
{
	char path[1024];
	bmeq_volume *v = NULL;
	bmeq_read_opts opts;

	data_path(path, sizeof(path), "no/such/file.nii.gz");
	CHECK(bmeq_nifti_read(path, NULL, &v, NULL) == BMEQ_E_IO);
	CHECK(bmeq_last_error()[0] != '\0' && v == NULL);
	CHECK(bmeq_nifti_read(BMEQ_TEST_DATA, NULL, &v, NULL) != BMEQ_OK && v == NULL);

	/* A volume past the end of a 4D file; the last one is fine. */
	bmeq_read_opts_init(&opts);
	CHECK(opts.volume == -1);
	data_path(path, sizeof(path), "nibabel/functional.nii");
	opts.volume = 20;
	CHECK(bmeq_nifti_read(path, &opts, &v, NULL) == BMEQ_E_UNSUPPORTED && v == NULL);
	opts.volume = 19;
	CHECK(bmeq_nifti_read(path, &opts, &v, NULL) == BMEQ_OK && v != NULL);
	if (v)
		CHECK(v->grid.dim[0] == 17 && v->grid.dim[1] == 21 && v->grid.dim[2] == 3);
	bmeq_volume_destroy(v);
	bmeq_volume_destroy(NULL);
}

static void *slurp(const char *rel, size_t *size)
{
	char path[1024];
	FILE *f;
	void *buf = NULL;
	struct stat sb;

	data_path(path, sizeof(path), rel);
	if (stat(path, &sb) != 0 || !(f = fopen(path, "rb")))
		return NULL;
	*size = (size_t)sb.st_size;
	buf = malloc(*size ? *size : 1);
	if (buf && fread(buf, 1, *size, f) != *size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The in-memory entry point gives the same volume as the file one, and refuses cut buffers. */
static void check_mem(const char *hdr_rel, const char *img_rel)
{
	size_t hn = 0, in = 0;
	void *h = slurp(hdr_rel, &hn), *im = img_rel ? slurp(img_rel, &in) : NULL;
	bmeq_volume *a = NULL, *b = NULL;

	CHECK(h != NULL && (!img_rel || im != NULL));
	if (h && load(hdr_rel, &a, NULL) &&
	    bmeq_nifti_read_mem(h, hn, im, in, hdr_rel, NULL, &b, NULL) == BMEQ_OK && b) {
		size_t n = bmeq_grid_nvox(&a->grid);
		check_same_grid(&a->grid, &b->grid);
		CHECK(bmeq_grid_nvox(&b->grid) == n && memcmp(a->data, b->data, n * sizeof(float)) == 0);
	} else {
		fprintf(stderr, "read_mem %s: %s\n", hdr_rel, bmeq_last_error());
		check_failures++;
	}
	bmeq_volume_destroy(b);
	b = NULL;
	/* Every cut of the header buffer (or of the image buffer of a pair) must fail cleanly. */
	if (h) {
		for (size_t cut = 0; cut < hn; cut += 1 + hn / 7) {
			if (img_rel && im)
				CHECK(bmeq_nifti_read_mem(h, hn, im, cut * in / hn, "cut", NULL, &b,
							  NULL) != BMEQ_OK);
			else
				CHECK(bmeq_nifti_read_mem(h, cut, NULL, 0, "cut", NULL, &b, NULL) !=
				      BMEQ_OK);
			CHECK(b == NULL && bmeq_last_error()[0] != '\0');
		}
	}
	bmeq_volume_destroy(a);
	free(h);
	free(im);
}

static void test_read_mem(void)
{
	check_mem("nibabel/anatomical.nii", NULL);
	check_mem("generated/dt_int16_be.nii.gz", NULL);
	check_mem("generated/nifti2_int16_be.nii", NULL);
	check_mem("niivue/ras.hdr", "niivue/ras.img");
	check_mem("nifti_reader_js/air2.hdr.gz", "nifti_reader_js/air2.img.gz");
}

/* Stores the nbytes of v (host order) at p in the header's byte order. */
static void put_raw(uint8_t *p, const void *v, int nbytes, int swap)
{
	const uint8_t *b = v;

	for (int i = 0; i < nbytes; i++)
		p[swap ? nbytes - 1 - i : i] = b[i];
}

/* Without an sform the voxel size is pixdim: zero, negative or NaN sizes are
 * refused (nifti_clib would quietly make them 1 mm); a positive one is used. */
static void check_pixdim(const char *rel, int ver, int hdr_size)
{
	size_t n;
	uint8_t *b = slurp(rel, &n);
	CHECK(b != NULL);
	if (!b)
		return;
	int32_t sz;
	memcpy(&sz, b, 4);
	int swap = sz != hdr_size;
	const double sizes[] = {0.0, -2.0, NAN, 3.5};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint8_t *c = malloc(n);
		CHECK(c != NULL);
		if (!c)
			break;
		memcpy(c, b, n);
		if (ver == 2) {
			int32_t zero = 0;
			put_raw(c + 348, &zero, 4, swap);
			put_raw(c + 104 + 2 * 8, &sizes[k], 8, swap);
		} else {
			int16_t zero = 0;
			float f = (float)sizes[k];
			put_raw(c + 254, &zero, 2, swap);
			put_raw(c + 76 + 2 * 4, &f, 4, swap);
		}
		bmeq_volume *v = NULL;
		bmeq_status st = bmeq_nifti_read_mem(c, n, NULL, 0, rel, NULL, &v, NULL);
		if (sizes[k] > 0) {
			CHECK(st == BMEQ_OK && v && fabs(v->grid.spacing[1] - 3.5) < 1e-6);
		} else {
			CHECK(st == BMEQ_E_FORMAT && !v);
			CHECK(strstr(bmeq_last_error(), "pixdim[2]") != NULL);
		}
		bmeq_volume_destroy(v);
		free(c);
	}
	free(b);
}

static void test_pixdim(void)
{
	check_pixdim("nibabel/anatomical.nii", 1, 348);
	check_pixdim("generated/nifti2_int16_be.nii", 2, 540);
}

/* The scan size limit: a volume over max_bytes (as float32) is refused with the sizes in the
 * message, before any voxel is converted; at the limit it is read. */
static void test_max_bytes(void)
{
	char path[1024];
	bmeq_read_opts ro;
	bmeq_volume *v = NULL;
	size_t need = 33 * 41 * 25 * sizeof(float);

	data_path(path, sizeof(path), "nibabel/anatomical.nii");
	bmeq_read_opts_init(&ro);
	ro.max_bytes = need;
	CHECK(bmeq_nifti_read(path, &ro, &v, NULL) == BMEQ_OK && v);
	bmeq_volume_destroy(v);
	v = NULL;
	ro.max_bytes = need - 1;
	CHECK(bmeq_nifti_read(path, &ro, &v, NULL) == BMEQ_E_UNSUPPORTED && !v);
	CHECK(strstr(bmeq_last_error(), "33x41x25") && strstr(bmeq_last_error(), "limit"));
	/* A file more than twice the limit is not even read into memory. */
	ro.max_bytes = 1000;
	CHECK(bmeq_nifti_read(path, &ro, &v, NULL) == BMEQ_E_UNSUPPORTED && !v);
	CHECK(strstr(bmeq_last_error(), "twice the scan size limit") != NULL);
}

/* A gzip stream is only complete with its 8-byte trailer (CRC-32, length): cutting any of it, or
 * a wrong CRC, must be refused even though every data byte can be inflated. */
static void test_gzip_trailer(void)
{
	size_t n = 0;
	uint8_t *gz = slurp("generated/dt_int16_le.nii.gz", &n);
	bmeq_volume *v = NULL;

	CHECK(gz != NULL && n > 20);
	if (!gz)
		return;
	CHECK(bmeq_nifti_read_mem(gz, n, NULL, 0, "whole", NULL, &v, NULL) == BMEQ_OK && v);
	bmeq_volume_destroy(v);
	v = NULL;
	for (size_t cut = 1; cut <= 12; cut++) {
		bmeq_status st = bmeq_nifti_read_mem(gz, n - cut, NULL, 0, "cut", NULL, &v, NULL);
		if (st != BMEQ_E_FORMAT || v) {
			fprintf(stderr, "gzip cut by %zu bytes: %s (%s)\n", cut, bmeq_status_name(st),
				bmeq_last_error());
			check_failures++;
		}
		bmeq_volume_destroy(v);
		v = NULL;
	}
	gz[n - 8] ^= 0xff; /* first byte of the CRC-32 */
	CHECK(bmeq_nifti_read_mem(gz, n, NULL, 0, "crc", NULL, &v, NULL) == BMEQ_E_FORMAT && !v);
	gz[n - 8] ^= 0xff;
	gz[n - 4] ^= 0x01; /* the uncompressed length */
	CHECK(bmeq_nifti_read_mem(gz, n, NULL, 0, "isize", NULL, &v, NULL) == BMEQ_E_FORMAT && !v);
	bmeq_volume_destroy(v);
	free(gz);
}

/* qform and sform in the written header must both be present, carry the grid's code and map
 * voxels identically (read straight with nifti_clib, not through bmeq). A qform is rigid plus
 * voxel size, so when a scanner's float32 sform is a hair from orthogonal (the oblique hip:
 * 1.2e-4 in one rotation element) the two cannot agree to the last digit: they are compared as
 * the world positions of the eight corner voxels, within 0.01 mm (bmeq_grid_same's criterion). */
static void check_header_forms(const char *path, const bmeq_grid *g)
{
	nifti_set_debug_level(0);
	nifti_image *nim = nifti_image_read(path, 0);
	double worst_qs = 0, worst_sg = 0;

	CHECK(nim != NULL);
	if (!nim)
		return;
	CHECK(nim->qform_code == g->xform_code && nim->sform_code == g->xform_code);
	for (int corner = 0; corner < 8; corner++) {
		double ijk[4];
		for (int a = 0; a < 3; a++)
			ijk[a] = (corner >> a) & 1 ? (double)g->dim[a] - 1 : 0.0;
		ijk[3] = 1.0;
		for (int r = 0; r < 3; r++) {
			double q = 0, s = 0, w = 0;
			for (int c = 0; c < 4; c++) {
				q += nim->qto_xyz.m[r][c] * ijk[c];
				s += nim->sto_xyz.m[r][c] * ijk[c];
				w += g->affine[r][c] * ijk[c];
			}
			worst_qs = fmax(worst_qs, fabs(q - s));
			worst_sg = fmax(worst_sg, fabs(s - w));
		}
	}
	if (!(worst_qs < 0.01 && worst_sg < 0.01)) {
		fprintf(stderr, "%s: qform vs sform %g mm, sform vs grid %g mm at the corners\n", path,
			worst_qs, worst_sg);
		check_failures++;
	}
	nifti_image_free(nim);
}

static void label_round_trip(const bmeq_grid *g, int dt, const char *name)
{
	char path[512];
	size_t n = bmeq_grid_nvox(g);
	void *lab = malloc(n * (dt == BMEQ_DT_UINT8 ? 1 : 2));
	bmeq_volume *v = NULL;
	bmeq_nifti_info in;
	uint16_t *back = NULL;

	CHECK(lab != NULL);
	if (!lab)
		return;
	for (size_t i = 0; i < n; i++) {
		/* Sparse labels with large values, as a component map would hold. */
		unsigned x = (unsigned)((i * 2654435761u) >> 7);
		if (dt == BMEQ_DT_UINT8)
			((uint8_t *)lab)[i] = (uint8_t)(x % 5 == 0 ? x % 256 : 0);
		else
			((uint16_t *)lab)[i] = (uint16_t)(x % 3 == 0 ? x % 65536 : 0);
	}
	tmp_path(path, sizeof(path), name);
	CHECK(bmeq_nifti_write_labels(path, g, lab, dt) == BMEQ_OK);
	if (bmeq_nifti_read(path, NULL, &v, &in) == BMEQ_OK) {
		check_same_grid(g, &v->grid);
		CHECK(in.datatype == dt);
		size_t bad = 0;
		for (size_t i = 0; i < n; i++) {
			double want = dt == BMEQ_DT_UINT8 ? ((uint8_t *)lab)[i] : ((uint16_t *)lab)[i];
			bad += v->data[i] != want;
		}
		CHECK(bad == 0);
	} else {
		fprintf(stderr, "%s: %s\n", name, bmeq_last_error());
		check_failures++;
	}
	if (bmeq_nifti_read_labels(path, g, &back) == BMEQ_OK) {
		size_t bad = 0;
		for (size_t i = 0; i < n; i++)
			bad += back[i] != (dt == BMEQ_DT_UINT8 ? ((uint8_t *)lab)[i]
							       : ((uint16_t *)lab)[i]);
		CHECK(bad == 0);
	} else {
		fprintf(stderr, "read_labels %s: %s\n", name, bmeq_last_error());
		check_failures++;
	}
	check_header_forms(path, g);
	free(back);
	free(lab);
	bmeq_volume_destroy(v);
}

static void test_label_round_trip(void)
{
	/* LAS with qfac -1, AIL, an oblique hip (LSP) and an oblique EPI. */
	static const char *const grids[] = {
		"nibabel/anatomical.nii", "niivue/draw.nii.gz",
		"cptac_ucec_pelvis_mri/C3N-02978_t1_tse_cor_post_hipcrop.nii.gz",
		"nibabel/someones_epi.nii.gz"};

	for (size_t i = 0; i < sizeof(grids) / sizeof(grids[0]); i++) {
		bmeq_volume *src = NULL;
		if (!load(grids[i], &src, NULL))
			continue;
		label_round_trip(&src->grid, BMEQ_DT_UINT8, "lab.nii");
		label_round_trip(&src->grid, BMEQ_DT_UINT8, "lab.nii.gz");
		label_round_trip(&src->grid, BMEQ_DT_UINT16, "lab.nii");
		label_round_trip(&src->grid, BMEQ_DT_UINT16, "lab.nii.gz");
		bmeq_volume_destroy(src);
	}
	/* The other datatypes are refused. */
	bmeq_grid g;
	const size_t dim[3] = {2, 2, 2};
	const double sp[3] = {1, 1, 1}, org[3] = {0, 0, 0};
	float lab[8] = {0};
	char path[512];
	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	tmp_path(path, sizeof(path), "lab.nii");
	CHECK(bmeq_nifti_write_labels(path, &g, lab, BMEQ_DT_FLOAT32) == BMEQ_E_ARG);
}

typedef struct write_variant {
	int datatype;
	double slope, inter;
	int version, qcode, scode;
	const char *name;
	double tol; /* quantisation: half a stored step */
} write_variant;

static void test_write_variants(void)
{
	static const write_variant vars[] = {
		{BMEQ_DT_FLOAT32, 0, 0, 1, 1, 1, "w.nii", 0},
		{BMEQ_DT_FLOAT32, 0, 0, 2, 2, 2, "w.nii.gz", 0},
		{BMEQ_DT_FLOAT64, 0, 0, 2, 1, 1, "w.nii.gz", 0},
		{BMEQ_DT_INT16, 0, 0, 1, 1, 1, "w.nii.gz", 0.5},
		{BMEQ_DT_INT16, 0.1, -100, 2, 1, 1, "w.nii", 0.05},
		{BMEQ_DT_UINT16, 0.05, 50, 1, 1, 1, "w.nii.gz", 0.025},
		{BMEQ_DT_UINT16, 0.05, 50, 2, 1, 1, "w.nii", 0.025},
		{BMEQ_DT_INT32, 0, 0, 1, 1, 1, "w.nii", 0.5},
		{BMEQ_DT_UINT8, 4, 0, 1, 1, 1, "w.nii.gz", 2},
		{BMEQ_DT_INT8, 8, 500, 1, 1, 1, "w.nii", 4},
		{BMEQ_DT_FLOAT32, 0, 0, 1, 1, 0, "w.nii.gz", 0}, /* qform only */
		{BMEQ_DT_FLOAT32, 0, 0, 2, 1, 0, "w.nii", 0},
		{BMEQ_DT_INT16, 0, 0, 1, 0, 2, "w.nii.gz", 0.5}, /* sform only */
		{BMEQ_DT_FLOAT32, 0, 0, 2, 0, 4, "w.nii", 0},
	};
	bmeq_volume *src = NULL;

	/* An oblique grid with x flipped, from a real scan. */
	if (!load("nibabel/someones_epi.nii.gz", &src, NULL))
		return;
	const bmeq_grid *g = &src->grid;
	size_t n = bmeq_grid_nvox(g);
	float *data = malloc(n * sizeof(float));
	CHECK(data != NULL);
	if (!data) {
		bmeq_volume_destroy(src);
		return;
	}
	for (size_t k = 0, p = 0; k < g->dim[2]; k++)
		for (size_t j = 0; j < g->dim[1]; j++)
			for (size_t i = 0; i < g->dim[0]; i++, p++)
				data[p] = (float)(400.0 * sin(0.21 * (double)i) * cos(0.17 * (double)j) +
						  3.0 * (double)k + 510.25);
	for (size_t vi = 0; vi < sizeof(vars) / sizeof(vars[0]); vi++) {
		const write_variant *w = &vars[vi];
		bmeq_write_opts o;
		char path[512];
		bmeq_volume *v = NULL;
		bmeq_nifti_info in;

		bmeq_write_opts_init(&o, g);
		CHECK(o.datatype == BMEQ_DT_FLOAT32 && o.nifti_version == 1 && o.scl_slope == 0.0);
		o.datatype = w->datatype;
		o.scl_slope = w->slope;
		o.scl_inter = w->inter;
		o.nifti_version = w->version;
		o.qform_code = w->qcode;
		o.sform_code = w->scode;
		tmp_path(path, sizeof(path), w->name);
		bmeq_status st = bmeq_nifti_write(path, g, data, &o);
		if (st != BMEQ_OK || bmeq_nifti_read(path, NULL, &v, &in) != BMEQ_OK) {
			fprintf(stderr, "write variant %zu: %s\n", vi, bmeq_last_error());
			check_failures++;
			continue;
		}
		int f0 = check_failures;
		check_same_grid(g, &v->grid);
		CHECK(in.nifti_version == w->version);
		CHECK(in.datatype == w->datatype);
		CHECK(in.qform_code == w->qcode && in.sform_code == w->scode);
		CHECK((int)in.affine_source == (w->scode ? BMEQ_AFFINE_SFORM : BMEQ_AFFINE_QFORM));
		CHECK(in.scaling_applied == (w->slope != 0.0));
		size_t bad = 0;
		double worst = 0;
		for (size_t i = 0; i < n; i++) {
			double e = fabs((double)v->data[i] - (double)data[i]);
			worst = e > worst ? e : worst;
			bad += !(e <= w->tol * (1 + 1e-6) + 1e-4 * (w->tol > 0));
		}
		if (bad) {
			fprintf(stderr, "write variant %zu: %zu voxels off, worst %g (tol %g)\n", vi, bad,
				worst, w->tol);
			check_failures++;
		}
		if (check_failures != f0)
			fprintf(stderr, "  ^ in write variant %zu\n", vi);
		bmeq_volume_destroy(v);
	}
	free(data);
	bmeq_volume_destroy(src);
}

/* Integers are rounded and clamped; unwritable folders fail with BMEQ_E_WRITE. */
static void test_write_edges(void)
{
	bmeq_grid g;
	const size_t dim[3] = {4, 1, 1};
	const double sp[3] = {1, 2, 3}, org[3] = {-5, 6, 7};
	const float data[4] = {1e6f, -1e6f, 2.4f, -2.6f};
	bmeq_write_opts o;
	bmeq_volume *v = NULL;
	char path[512];

	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	bmeq_write_opts_init(&o, &g);
	o.datatype = BMEQ_DT_INT16;
	tmp_path(path, sizeof(path), "clamp.nii");
	CHECK(bmeq_nifti_write(path, &g, data, &o) == BMEQ_OK);
	if (bmeq_nifti_read(path, NULL, &v, NULL) == BMEQ_OK) {
		CHECK(v->data[0] == 32767.0f && v->data[1] == -32768.0f);
		CHECK(v->data[2] == 2.0f && v->data[3] == -3.0f);
		check_same_grid(&g, &v->grid);
	} else {
		check_failures++;
	}
	bmeq_volume_destroy(v);
	/* gzip levels 1 and 9 give the same voxels. */
	for (int level = 1; level <= 9; level += 8) {
		const float small[4] = {1.5f, -2.25f, 1000.0f, 0.0f};
		bmeq_write_opts z;
		bmeq_write_opts_init(&z, &g);
		z.gzip_level = level;
		tmp_path(path, sizeof(path), "w.nii.gz");
		CHECK(bmeq_nifti_write(path, &g, small, &z) == BMEQ_OK);
		v = NULL;
		CHECK(bmeq_nifti_read(path, NULL, &v, NULL) == BMEQ_OK && v &&
		      memcmp(v->data, small, sizeof(small)) == 0);
		bmeq_volume_destroy(v);
	}
	tmp_path(path, sizeof(path), "no_such_dir/x.nii");
	CHECK(bmeq_nifti_write(path, &g, data, &o) == BMEQ_E_WRITE);
	CHECK(bmeq_last_error()[0] != '\0');
	tmp_path(path, sizeof(path), "x.img");
	CHECK(bmeq_nifti_write(path, &g, data, &o) != BMEQ_OK);
}

/* bmeq reads exactly the file named: x.nii.gz, not an x.nii lying beside it. */
static void test_gz_beside_plain(void)
{
	bmeq_grid g;
	const size_t dim[3] = {3, 4, 5};
	const double sp[3] = {1, 1, 1}, org[3] = {0, 0, 0};
	float a[60], b[60];
	bmeq_write_opts o;
	char pn[512], pz[512];
	bmeq_volume *v = NULL;

	for (int i = 0; i < 60; i++) {
		a[i] = (float)i;
		b[i] = (float)(1000 - i);
	}
	CHECK(bmeq_grid_make(&g, dim, sp, org) == BMEQ_OK);
	bmeq_write_opts_init(&o, &g);
	tmp_path(pn, sizeof(pn), "x.nii");
	tmp_path(pz, sizeof(pz), "x.nii.gz");
	CHECK(bmeq_nifti_write(pn, &g, a, &o) == BMEQ_OK);
	CHECK(bmeq_nifti_write(pz, &g, b, &o) == BMEQ_OK);
	CHECK(bmeq_nifti_read(pz, NULL, &v, NULL) == BMEQ_OK && v && v->data[0] == 1000.0f &&
	      v->data[59] == 941.0f);
	bmeq_volume_destroy(v);
	v = NULL;
	CHECK(bmeq_nifti_read(pn, NULL, &v, NULL) == BMEQ_OK && v && v->data[0] == 0.0f &&
	      v->data[59] == 59.0f);
	bmeq_volume_destroy(v);
}

/* The 48 files of niivue/nifti_space hold one brain in every axis order, so an anatomical
 * point must have the same world coordinates in all of them. */
static void centroid(const bmeq_volume *v, double out[3])
{
	double s = 0, acc[3] = {0, 0, 0};
	size_t p = 0;

	for (size_t k = 0; k < v->grid.dim[2]; k++)
		for (size_t j = 0; j < v->grid.dim[1]; j++)
			for (size_t i = 0; i < v->grid.dim[0]; i++, p++) {
				double w = v->data[p], ijk[3] = {(double)i, (double)j, (double)k}, x[3];
				if (w == 0.0)
					continue;
				bmeq_grid_voxel_to_world(&v->grid, ijk, x);
				for (int c = 0; c < 3; c++)
					acc[c] += w * x[c];
				s += w;
			}
	for (int c = 0; c < 3; c++)
		out[c] = s > 0 ? acc[c] / s : NAN;
}

static void test_nifti_space(void)
{
	static const char pairs[3][2] = {{'L', 'R'}, {'A', 'P'}, {'I', 'S'}};
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	bmeq_volume *ref = NULL;
	double cref[3], worst_c = 0;
	size_t files = 0, compared = 0, mismatched = 0, offgrid = 0;

	if (!load("niivue/nifti_space/RAS.nii.gz", &ref, NULL))
		return;
	centroid(ref, cref);
	for (int p = 0; p < 6; p++) {
		for (int s = 0; s < 8; s++) {
			char rel[64], name[4];
			for (int a = 0; a < 3; a++)
				name[a] = pairs[perms[p][a]][(s >> a) & 1];
			name[3] = '\0';
			snprintf(rel, sizeof(rel), "niivue/nifti_space/%s.nii.gz", name);
			bmeq_volume *v = NULL;
			if (!load(rel, &v, NULL))
				continue;
			files++;
			char orient[4];
			bmeq_grid_orientation(&v->grid, orient);
			CHECK(strcmp(orient, name) == 0);
			double c[3];
			centroid(v, c);
			for (int a = 0; a < 3; a++) {
				double e = fabs(c[a] - cref[a]);
				worst_c = e > worst_c ? e : worst_c;
			}
			/* Resample by world coordinate: every 4th voxel of RAS, found in this file. */
			for (size_t k = 0; k < ref->grid.dim[2]; k += 4)
				for (size_t j = 0; j < ref->grid.dim[1]; j += 4)
					for (size_t i = 0; i < ref->grid.dim[0]; i += 4) {
						double ijk[3] = {(double)i, (double)j, (double)k}, x[3], q[3];
						size_t idx[3];
						bmeq_grid_voxel_to_world(&ref->grid, ijk, x);
						if (bmeq_grid_world_to_voxel(&v->grid, x, q) != BMEQ_OK) {
							offgrid++;
							continue;
						}
						int ok = 1;
						for (int a = 0; a < 3; a++) {
							double r = floor(q[a] + 0.5);
							ok &= fabs(q[a] - r) < 0.01 && r >= 0 &&
							      r < (double)v->grid.dim[a];
							idx[a] = ok ? (size_t)r : 0;
						}
						if (!ok) {
							offgrid++;
							continue;
						}
						float want = ref->data[i + ref->grid.dim[0] *
										(j + ref->grid.dim[1] * k)];
						float got = v->data[idx[0] + v->grid.dim[0] *
									(idx[1] + v->grid.dim[1] * idx[2])];
						compared++;
						mismatched += got != want;
					}
			bmeq_volume_destroy(v);
		}
	}
	printf("nifti_space: %zu files, centroid spread %.3g mm, %zu resampled voxels, %zu differ, "
	       "%zu off-grid\n", files, worst_c, compared, mismatched, offgrid);
	CHECK(files == 48);
	CHECK(worst_c < 0.01); /* far below a voxel (2.4 mm): the same data, permuted */
	CHECK(compared > 48 * 1000 && mismatched == 0 && offgrid == 0);
	bmeq_volume_destroy(ref);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "test_nifti_io.tmp.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int n = run_table("expected.tsv", check_expected_row, 22);
	printf("expected.tsv: %d rows\n", n);
	CHECK(n >= 100);
	n = run_table("rejected.tsv", check_rejected_row, 3);
	printf("rejected.tsv: %d rows\n", n);
	CHECK(n >= 15);
	test_misc_errors();
	test_read_mem();
	test_gzip_trailer();
	test_pixdim();
	test_max_bytes();
	test_label_round_trip();
	test_write_variants();
	test_write_edges();
	test_gz_beside_plain();
	test_nifti_space();
	if (check_failures == 0)
		remove_tmpdir();
	CHECK_DONE();
}
