/* cmd_info.c - `bmeq info FILE...`: what a NIfTI file holds and how bmeq reads it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* JSON has no NaN: non-finite numbers become null. */
static void json_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.10g", v);
	else
		fputs("null", f);
}

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

static void print_json(FILE *f, const char *path, const bmeq_volume *v, const bmeq_nifti_info *in)
{
	char orient[4];
	double mn, mx, mean;
	int nd = (int)in->dims[0];

	bmeq_grid_orientation(&v->grid, orient);
	value_range(v, &mn, &mx, &mean);
	fputs("{\"path\": ", f);
	json_string(f, path);
	fprintf(f, ", \"nifti_version\": %d, \"dims\": [", in->nifti_version);
	for (int i = 1; i <= nd && i <= 7; i++)
		fprintf(f, "%s%lld", i > 1 ? ", " : "", (long long)in->dims[i]);
	fputs("], \"voxel_size\": [", f);
	for (int c = 0; c < 3; c++) {
		fputs(c ? ", " : "", f);
		json_number(f, v->grid.spacing[c]);
	}
	fputs("], \"datatype\": ", f);
	json_string(f, in->datatype_name);
	fprintf(f, ", \"datatype_code\": %d, \"big_endian\": %s, \"scl_slope\": ", in->datatype,
		in->big_endian ? "true" : "false");
	json_number(f, in->scl_slope);
	fputs(", \"scl_inter\": ", f);
	json_number(f, in->scl_inter);
	fprintf(f, ", \"scaling_applied\": %s, \"qform_code\": %d, \"sform_code\": %d",
		in->scaling_applied ? "true" : "false", in->qform_code, in->sform_code);
	fprintf(f, ", \"affine_source\": \"%s\", \"sheared\": %s, \"affine\": [",
		affine_source_name(in->affine_source), in->sheared ? "true" : "false");
	for (int r = 0; r < 4; r++) {
		fputs(r ? ", [" : "[", f);
		for (int c = 0; c < 4; c++) {
			fputs(c ? ", " : "", f);
			json_number(f, v->grid.affine[r][c]);
		}
		fputc(']', f);
	}
	fprintf(f, "], \"orientation\": \"%s\", \"volume\": %zu, \"nvolumes\": %zu, \"min\": ",
		orient, in->volume_index, in->nvolumes);
	json_number(f, mn);
	fputs(", \"max\": ", f);
	json_number(f, mx);
	fputs(", \"mean\": ", f);
	json_number(f, mean);
	fprintf(f, ", \"nonfinite\": %zu", in->nonfinite);
	if (in->warning[0]) {
		fputs(", \"warning\": ", f);
		json_string(f, in->warning);
	}
	fputc('}', f);
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
			if (json) {
				fputs("{\"path\": ", stdout);
				json_string(stdout, argv[i]);
				fputs(", \"error\": ", stdout);
				json_string(stdout, bmeq_last_error());
				fputc('}', stdout);
			}
			continue;
		}
		if (json)
			print_json(stdout, argv[i], v, &in);
		else
			print_text(argv[i], v, &in);
		bmeq_volume_destroy(v);
	}
	if (json)
		fputs("\n]\n", stdout);
	if (fflush(stdout) != 0) {
		bmeq_cli_error("info", "stdout", "write failed");
		return BMEQ_EXIT_OUTPUT;
	}
	return failed ? BMEQ_EXIT_INPUT : BMEQ_EXIT_OK;
}
