/* cmd_info.c - `bmeq info FILE...`: what a NIfTI file holds and how bmeq reads it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/json.h"
#include "bmeq/nifti_io.h"
#include "cli.h"

static const char info_help[] =
	"usage: bmeq info [--json] [--volume N] FILE...\n"
	"\n"
	"Prints, per file, the NIfTI version, dimensions, voxel size, datatype, scaling,\n"
	"qform/sform codes, orientation letters, the voxel-to-RAS affine bmeq uses (sform\n"
	"if its code > 0, else qform, else pixdim) and min/max/mean of the scaled voxels.\n"
	"\n"
	"  --json       one JSON array with an object per file (failures hold path and error)\n"
	"  --volume N   read volume N (0-based) of a 4D file\n"
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

	bmeq_read_opts_init(&opts);
	for (int i = 1; i < argc; i++) {
		if (bmeq_cli_is_help(argv[i])) {
			fputs(info_help, stdout);
			return BMEQ_EXIT_OK;
		}
	}
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--json") == 0) {
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
		bmeq_nifti_info in;
		bmeq_status st = bmeq_nifti_read(argv[i], &opts, &v, &in);

		if (json && !first)
			fputs(",\n", stdout);
		first = 0;
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
			oom = print_json(info_json(argv[i], v, &in)) != 0;
		else
			print_text(argv[i], v, &in);
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
