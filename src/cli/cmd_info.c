/* cmd_info.c - `bmeq info FILE...`: what a NIfTI file holds and how bmeq reads it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/json.h"
#include "bmeq/nifti_io.h"
#include "bmeq/scan.h"
#include "cli.h"

static const char info_help[] =
	"usage: bmeq info [--json] [--volume N] [--series SEL] [--dicom-timeout S]\n"
	"                 FILE|FOLDER...\n"
	"\n"
	"Prints, per file, the NIfTI version, dimensions, voxel size, datatype, scaling,\n"
	"qform/sform codes, orientation letters, the voxel-to-RAS affine bmeq uses (sform\n"
	"if its code > 0, else qform, else pixdim) and min/max/mean of the scaled voxels.\n"
	"For a folder of DICOM files: one line per series found (number, description,\n"
	"sequence, orientation, size, slices, and why a series cannot be read); with\n"
	"--series (or FOLDER#SEL) the chosen series' sequence facts and its volume as\n"
	"bmeq reads it. No patient-identifying header value is ever shown.\n"
	"\n"
	"  --json       one JSON array with an object per file (failures hold path and error)\n"
	"  --volume N   read volume N (0-based) of a 4D file\n"
	"  --series SEL a DICOM folder's series: its number, UID or a description pattern\n"
	"  --dicom-timeout S  stop the DICOM reader after S seconds on a folder or series\n"
	"               (scan.dicom_timeout_s, 1 to 86400; default 120)\n"
	"  -h, --help   this help\n"
	"\n"
	"Exit status: 0 when every file was read, 3 when any could not be, 2 on usage errors.\n";

static void value_range(const bmeq_volume *v, double *mn, double *mx, double *mean)
{
	size_t n = bmeq_grid_nvox(&v->grid), cnt = 0;
	double lo = INFINITY, hi = -INFINITY, sum = 0.0;

	for (size_t i = 0; i < n; i++) {
		double x = v->data[i];
		if (!isfinite(x))
			continue;
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
		sum += x;
		cnt++;
	}
	*mn = cnt ? lo : NAN;
	*mx = cnt ? hi : NAN;
	*mean = cnt ? sum / (double)cnt : NAN;
}

static const char *affine_source_name(bmeq_affine_source s)
{
	return s == BMEQ_AFFINE_SFORM ? "sform" : s == BMEQ_AFFINE_QFORM ? "qform" : "pixdim";
}

static void print_text(const char *path, const bmeq_volume *v, const bmeq_nifti_info *in)
{
	char orient[4];
	double mn, mx, mean;
	int nd = (int)in->dims[0];

	bmeq_grid_orientation(&v->grid, orient);
	value_range(v, &mn, &mx, &mean);
	printf("%s\n", path);
	printf("  nifti_version  %d%s\n", in->nifti_version,
	       in->nifti_version == 0 ? " (ANALYZE 7.5)" : "");
	printf("  dims          ");
	for (int i = 1; i <= nd && i <= 7; i++)
		printf(" %lld", (long long)in->dims[i]);
	printf("\n  voxel_size     %.6g %.6g %.6g mm\n", v->grid.spacing[0], v->grid.spacing[1],
	       v->grid.spacing[2]);
	printf("  datatype       %s (%d)%s\n", in->datatype_name, in->datatype,
	       in->big_endian ? " big-endian" : "");
	printf("  scaling        slope %.9g inter %.9g (%s)\n", in->scl_slope, in->scl_inter,
	       in->scaling_applied ? "applied" : "none");
	printf("  qform_code     %d\n  sform_code     %d\n", in->qform_code, in->sform_code);
	printf("  affine_from    %s%s\n", affine_source_name(in->affine_source),
	       in->sheared ? " (sheared, kept as stored)" : "");
	printf("  orientation    %s\n", orient);
	for (int r = 0; r < 4; r++)
		printf("  affine%s  %12.6f %12.6f %12.6f %12.6f\n", r == 0 ? "        " : "        ",
		       v->grid.affine[r][0], v->grid.affine[r][1], v->grid.affine[r][2],
		       v->grid.affine[r][3]);
	if (in->nvolumes > 1)
		printf("  volume         %zu of %zu\n", in->volume_index, in->nvolumes);
	printf("  min max mean   %.9g %.9g %.9g\n", mn, mx, mean);
	if (in->nonfinite)
		printf("  non-finite     %zu voxels\n", in->nonfinite);
	if (in->warning[0])
		printf("  warning        %s\n", in->warning);
}

/* One file as a JSON object (numbers with 10 significant digits). */
static json_t *info_json(const char *path, const bmeq_volume *v, const bmeq_nifti_info *in)
{
	char orient[4];
	double mn, mx, mean;
	int nd = (int)in->dims[0], ok = 1;
	json_t *o = json_object(), *dims = json_array(), *vox = json_array(), *aff = json_array();

	bmeq_grid_orientation(&v->grid, orient);
	value_range(v, &mn, &mx, &mean);
	for (int i = 1; i <= nd && i <= 7; i++)
		bmeq_json_push(dims, json_integer((json_int_t)in->dims[i]), &ok);
	for (int c = 0; c < 3; c++)
		bmeq_json_push(vox, bmeq_json_sig(v->grid.spacing[c], 10), &ok);
	for (int r = 0; r < 4; r++) {
		json_t *row = json_array();
		for (int c = 0; c < 4; c++)
			bmeq_json_push(row, bmeq_json_sig(v->grid.affine[r][c], 10), &ok);
		bmeq_json_push(aff, row, &ok);
	}
	bmeq_json_put(o, "path", bmeq_json_str(path), &ok);
	bmeq_json_put(o, "nifti_version", json_integer(in->nifti_version), &ok);
	bmeq_json_put(o, "dims", dims, &ok);
	bmeq_json_put(o, "voxel_size", vox, &ok);
	bmeq_json_put(o, "datatype", bmeq_json_str(in->datatype_name), &ok);
	bmeq_json_put(o, "datatype_code", json_integer(in->datatype), &ok);
	bmeq_json_put(o, "big_endian", json_boolean(in->big_endian), &ok);
	bmeq_json_put(o, "scl_slope", bmeq_json_sig(in->scl_slope, 10), &ok);
	bmeq_json_put(o, "scl_inter", bmeq_json_sig(in->scl_inter, 10), &ok);
	bmeq_json_put(o, "scaling_applied", json_boolean(in->scaling_applied), &ok);
	bmeq_json_put(o, "qform_code", json_integer(in->qform_code), &ok);
	bmeq_json_put(o, "sform_code", json_integer(in->sform_code), &ok);
	bmeq_json_put(o, "affine_source", bmeq_json_str(affine_source_name(in->affine_source)), &ok);
	bmeq_json_put(o, "sheared", json_boolean(in->sheared), &ok);
	bmeq_json_put(o, "affine", aff, &ok);
	bmeq_json_put(o, "orientation", bmeq_json_str(orient), &ok);
	bmeq_json_put(o, "volume", json_integer((json_int_t)in->volume_index), &ok);
	bmeq_json_put(o, "nvolumes", json_integer((json_int_t)in->nvolumes), &ok);
	bmeq_json_put(o, "min", bmeq_json_sig(mn, 10), &ok);
	bmeq_json_put(o, "max", bmeq_json_sig(mx, 10), &ok);
	bmeq_json_put(o, "mean", bmeq_json_sig(mean, 10), &ok);
	bmeq_json_put(o, "nonfinite", json_integer((json_int_t)in->nonfinite), &ok);
	if (in->warning[0])
		bmeq_json_put(o, "warning", bmeq_json_str(in->warning), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *text_or_dash(const char *s)
{
	return s[0] ? s : "-";
}

/* "SE\IR SK\SP" or "-": scanning sequence and variant, for the listing. */
static void sequence_text(const bmeq_dicom_series *s, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", s->scanning_sequence, s->sequence_variant[0] ? " " : "",
		 s->sequence_variant);
	if (!buf[0])
		snprintf(buf, cap, "-");
}

static void print_series_list(const char *path, const bmeq_dicom_series *s, size_t n,
			      size_t skipped)
{
	printf("%s\n", path);
	printf("  %-7s %-32s %-20s %-6s %-9s %6s  %s\n", "series", "description", "sequence",
	       "orient", "size", "slices", "note");
	for (size_t i = 0; i < n; i++) {
		char seq[160], size[48];
		sequence_text(&s[i], seq, sizeof(seq));
		snprintf(size, sizeof(size), "%zux%zu", s[i].columns, s[i].rows);
		printf("  %-7ld %-32s %-20s %-6s %-9s %6zu  %s\n", s[i].number,
		       text_or_dash(s[i].description), seq, text_or_dash(s[i].orientation),
		       s[i].rows ? size : "-", s[i].slices, s[i].problem[0] ? s[i].problem : "ok");
	}
	if (skipped)
		printf("  (%zu other file%s: not DICOM)\n", skipped, skipped == 1 ? "" : "s");
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? bmeq_json_sig(v, 10) : json_null();
}

static json_t *series_json(const bmeq_dicom_series *s)
{
	json_t *o = json_object();
	int ok = 1;

	bmeq_json_put(o, "number", json_integer(s->number), &ok);
	bmeq_json_put(o, "uid", bmeq_json_str(s->uid), &ok);
	bmeq_json_put(o, "description", bmeq_json_str(s->description), &ok);
	bmeq_json_put(o, "protocol", bmeq_json_str(s->protocol), &ok);
	bmeq_json_put(o, "modality", bmeq_json_str(s->modality), &ok);
	bmeq_json_put(o, "scanning_sequence", bmeq_json_str(s->scanning_sequence), &ok);
	bmeq_json_put(o, "sequence_variant", bmeq_json_str(s->sequence_variant), &ok);
	bmeq_json_put(o, "scan_options", bmeq_json_str(s->scan_options), &ok);
	bmeq_json_put(o, "sequence_name", bmeq_json_str(s->sequence_name), &ok);
	bmeq_json_put(o, "inversion_time_ms", num_or_null(s->inversion_time_ms), &ok);
	bmeq_json_put(o, "echo_time_ms", num_or_null(s->echo_time_ms), &ok);
	bmeq_json_put(o, "repetition_time_ms", num_or_null(s->repetition_time_ms), &ok);
	bmeq_json_put(o, "field_strength_t", num_or_null(s->field_strength_t), &ok);
	bmeq_json_put(o, "slice_thickness_mm", num_or_null(s->slice_thickness_mm), &ok);
	bmeq_json_put(o, "slice_spacing_mm", num_or_null(s->slice_spacing_mm), &ok);
	bmeq_json_put(o, "manufacturer", bmeq_json_str(s->manufacturer), &ok);
	bmeq_json_put(o, "model", bmeq_json_str(s->model), &ok);
	bmeq_json_put(o, "transfer_syntax", bmeq_json_str(s->transfer_syntax), &ok);
	bmeq_json_put(o, "orientation", bmeq_json_str(s->orientation), &ok);
	bmeq_json_put(o, "columns", json_integer((json_int_t)s->columns), &ok);
	bmeq_json_put(o, "rows", json_integer((json_int_t)s->rows), &ok);
	bmeq_json_put(o, "slices", json_integer((json_int_t)s->slices), &ok);
	bmeq_json_put(o, "files", json_integer((json_int_t)s->files), &ok);
	bmeq_json_put(o, "echoes", json_integer((json_int_t)s->echoes), &ok);
	bmeq_json_put(o, "problem", bmeq_json_str(s->problem), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *series_list_json(const char *path, const bmeq_dicom_series *s, size_t n,
				size_t skipped)
{
	json_t *o = json_object(), *a = json_array();
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		bmeq_json_push(a, series_json(&s[i]), &ok);
	bmeq_json_put(o, "path", bmeq_json_str(path), &ok);
	bmeq_json_put(o, "series", a, &ok);
	bmeq_json_put(o, "other_files", json_integer((json_int_t)skipped), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void print_number(const char *label, double v, const char *unit)
{
	if (isfinite(v))
		printf("  %-15s%.9g%s\n", label, v, unit);
	else
		printf("  %-15s-\n", label);
}

/* One chosen series: its sequence facts, then the volume as read. */
static void print_series(const char *path, const bmeq_volume *v, const bmeq_dicom_series *s)
{
	char orient[4];
	double mn, mx, mean;

	bmeq_grid_orientation(&v->grid, orient);
	value_range(v, &mn, &mx, &mean);
	printf("%s\n", path);
	printf("  format         DICOM series %ld of %zu files (transfer syntax %s)\n", s->number,
	       s->files, text_or_dash(s->transfer_syntax));
	printf("  description    %s\n", text_or_dash(s->description));
	printf("  protocol       %s\n", text_or_dash(s->protocol));
	printf("  sequence       %s / %s / %s / %s\n", text_or_dash(s->scanning_sequence),
	       text_or_dash(s->sequence_variant), text_or_dash(s->scan_options),
	       text_or_dash(s->sequence_name));
	print_number("TI", s->inversion_time_ms, " ms");
	print_number("TE", s->echo_time_ms, " ms");
	print_number("TR", s->repetition_time_ms, " ms");
	print_number("field", s->field_strength_t, " T");
	print_number("thickness", s->slice_thickness_mm, " mm");
	print_number("spacing", s->slice_spacing_mm, " mm (as stored)");
	printf("  scanner        %s %s\n", text_or_dash(s->manufacturer), text_or_dash(s->model));
	printf("  dims           %zu %zu %zu\n", v->grid.dim[0], v->grid.dim[1], v->grid.dim[2]);
	printf("  voxel_size     %.6g %.6g %.6g mm\n", v->grid.spacing[0], v->grid.spacing[1],
	       v->grid.spacing[2]);
	printf("  orientation    %s\n", orient);
	for (int r = 0; r < 4; r++)
		printf("  affine          %12.6f %12.6f %12.6f %12.6f\n", v->grid.affine[r][0],
		       v->grid.affine[r][1], v->grid.affine[r][2], v->grid.affine[r][3]);
	printf("  min max mean   %.9g %.9g %.9g\n", mn, mx, mean);
}

static json_t *chosen_series_json(const char *path, const bmeq_volume *v,
				  const bmeq_dicom_series *s)
{
	json_t *o = series_json(s), *dims = json_array(), *vox = json_array(), *aff = json_array();
	char orient[4];
	double mn, mx, mean;
	int ok = o != NULL;

	bmeq_grid_orientation(&v->grid, orient);
	value_range(v, &mn, &mx, &mean);
	for (int c = 0; c < 3; c++) {
		bmeq_json_push(dims, json_integer((json_int_t)v->grid.dim[c]), &ok);
		bmeq_json_push(vox, bmeq_json_sig(v->grid.spacing[c], 10), &ok);
	}
	for (int r = 0; r < 4; r++) {
		json_t *row = json_array();
		for (int c = 0; c < 4; c++)
			bmeq_json_push(row, bmeq_json_sig(v->grid.affine[r][c], 10), &ok);
		bmeq_json_push(aff, row, &ok);
	}
	if (o) {
		bmeq_json_put(o, "path", bmeq_json_str(path), &ok);
		bmeq_json_put(o, "dims", dims, &ok);
		bmeq_json_put(o, "voxel_size", vox, &ok);
		bmeq_json_put(o, "affine", aff, &ok);
		bmeq_json_put(o, "min", bmeq_json_sig(mn, 10), &ok);
		bmeq_json_put(o, "max", bmeq_json_sig(mx, 10), &ok);
		bmeq_json_put(o, "mean", bmeq_json_sig(mean, 10), &ok);
	} else {
		json_decref(dims);
		json_decref(vox);
		json_decref(aff);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A file that could not be read, as a JSON object: its path and the error. */
static json_t *error_json(const char *path, const char *error)
{
	json_t *o = json_object();
	int ok = 1;

	bmeq_json_put(o, "path", bmeq_json_str(path), &ok);
	bmeq_json_put(o, "error", bmeq_json_str(error), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Prints one element of the --json array (one line; a file is printed as
 * soon as it is read). 0, or -1 when out of memory. */
static int print_json(json_t *o)
{
	char *text = o ? bmeq_json_text(o, 0) : NULL;

	json_decref(o);
	if (!text)
		return -1;
	fputs(text, stdout);
	free(text);
	return 0;
}

int bmeq_cmd_info(int argc, char **argv)
{
	int json = 0, nfiles = 0, failed = 0, first = 1;
	bmeq_read_opts opts;
	const char *series = NULL;

	bmeq_read_opts_init(&opts);
	for (int i = 1; i < argc; i++) {
		if (bmeq_cli_is_help(argv[i])) {
			fputs(info_help, stdout);
			return BMEQ_EXIT_OK;
		}
	}
	if (bmeq_cli_take_series("info", &argc, argv, &series) != 0)
		return BMEQ_EXIT_USAGE;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		int used = bmeq_cli_dicom_timeout_flag("info", a, i + 1 < argc ? argv[i + 1] : NULL);
		if (used < 0)
			return BMEQ_EXIT_USAGE;
		if (used > 0) {
			i += used - 1;
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--volume") == 0) {
			if (i + 1 >= argc || bmeq_cli_parse_long(argv[i + 1], 0, 1L << 30, &opts.volume)) {
				bmeq_cli_error("info", "--volume", "needs a volume index >= 0");
				return BMEQ_EXIT_USAGE;
			}
			i++;
		} else {
			bmeq_cli_error("info", a, "unknown option (try bmeq info --help)");
			return BMEQ_EXIT_USAGE;
		}
	}
	nfiles = argc - i;
	if (nfiles <= 0) {
		bmeq_cli_error("info", NULL, "no input file (try bmeq info --help)");
		return BMEQ_EXIT_USAGE;
	}
	if (json)
		fputs("[\n", stdout);
	for (; i < argc; i++) {
		bmeq_volume *v = NULL;
		bmeq_scan_info in;
		char ref[4096], dir[4096];
		const char *sel = NULL;
		bmeq_status st;
		int is_dicom = 0;

		if (json && !first)
			fputs(",\n", stdout);
		first = 0;
		st = bmeq_scan_ref(ref, sizeof(ref), argv[i], series);
		if (st == BMEQ_OK)
			is_dicom = bmeq_scan_split(ref, dir, sizeof(dir), &sel);
		if (st == BMEQ_OK && is_dicom && !sel) {
			/* A folder without a choice: the series it holds. */
			bmeq_dicom_series *list = NULL;
			size_t n = 0, skipped = 0;
			st = bmeq_dicom_list(dir, &list, &n, &skipped);
			if (st == BMEQ_OK && n == 0)
				st = bmeq_fail(BMEQ_E_FORMAT, "no DICOM files in the folder");
			if (st == BMEQ_OK) {
				int oom = 0;
				if (json)
					oom = print_json(series_list_json(argv[i], list, n, skipped)) != 0;
				else
					print_series_list(argv[i], list, n, skipped);
				bmeq_dicom_series_free(list);
				if (oom) {
					bmeq_cli_error("info", NULL, "out of memory");
					return BMEQ_EXIT_PROCESS;
				}
				continue;
			}
		}
		if (st == BMEQ_OK)
			st = bmeq_scan_read(ref, &opts, &v, &in);
		if (st != BMEQ_OK) {
			failed = 1;
			bmeq_cli_error("info", argv[i], "%s", bmeq_last_error());
			if (json && print_json(error_json(argv[i], bmeq_last_error())) != 0) {
				bmeq_cli_error("info", NULL, "out of memory");
				return BMEQ_EXIT_PROCESS;
			}
			continue;
		}
		int oom = 0;
		if (json)
			oom = print_json(in.dicom ? chosen_series_json(ref, v, &in.series)
						  : info_json(argv[i], v, &in.nifti)) != 0;
		else if (in.dicom)
			print_series(ref, v, &in.series);
		else
			print_text(argv[i], v, &in.nifti);
		bmeq_volume_destroy(v);
		if (oom) {
			bmeq_cli_error("info", NULL, "out of memory");
			return BMEQ_EXIT_PROCESS;
		}
	}
	if (json)
		fputs("\n]\n", stdout);
	if (fflush(stdout) != 0) {
		bmeq_cli_error("info", "stdout", "write failed");
		return BMEQ_EXIT_OUTPUT;
	}
	return failed ? BMEQ_EXIT_INPUT : BMEQ_EXIT_OK;
}
