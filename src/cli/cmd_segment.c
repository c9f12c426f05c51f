/* cmd_segment.c - `bmeq segment SCAN -o DIR [--roi MASK]`: femoral heads and necks. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/femhead.h"
#include "bmeq/measure.h"
#include "bmeq/nifti_io.h"
#include "bmeq/outdir.h"
#include "bmeq/settings.h"
#include "bmeq/csv.h"
#include "bmeq/scan.h"
#include "cli.h"

static const char segment_help[] =
	"usage: bmeq segment [options] SCAN -o|--output DIR\n"
	"\n"
	"Finds both femoral heads and necks and writes DIR/<stem>_roi.nii.gz on the scan's grid\n"
	"(uint8: 1 right head, 2 left head, 3 right neck, 4 left neck; the patient's sides from\n"
	"the affine) and DIR/<stem>_segment.csv, also printed to stdout, with one row per side:\n"
	"side, found, reason, centre_x/y/z (RAS mm), radius_mm, head_ml, neck_ml, neck axis,\n"
	"confidence (0..1, edge support of the fitted sphere), qc (1 ok, 0 review), status\n"
	"(found, partial, uncertain or not_in_view), in_view (fraction of the head in the\n"
	"field of view) and acetabulum (0..1, congruence of the cup around the head).\n"
	"Without --roi, DIR/<stem>_candidates.csv lists every round structure tried as a head\n"
	"with the anatomical tests' values and its verdict (\"head\" or the test it failed).\n"
	"\n"
	"  -o, --output DIR  output folder (created when missing; --out is the same)\n"
	"  --roi MASK     use this label map (on the scan's grid) instead of the automatic\n"
	"                 segmentation; labels 1-4 as above, any other label is its own region\n"
	"                 reported with side label-N\n"
	"  --no-necks     label the heads only\n"
	"  --measure-doubtful  label partial and uncertain heads too (found=1, status kept)\n"
	"  --series SEL   the series of a DICOM folder (SCAN) holding several: its number,\n"
	"                 UID or a description pattern (*STIR*)\n"
	"  --volume N     read volume N (0-based) of a 4D file\n"
	"  --max-scan-mb MB  refuse scans over MB as float32 (default 1024)\n"
	"  --dicom-timeout S  stop the DICOM reader after S seconds (default 120)\n"
	"  -h, --help     this help\n"
	"\n"
	"Only heads with status found are labelled (found=1). A head cut by the edge of the\n"
	"field of view (partial), a candidate with weak edge support (uncertain) and a side\n"
	"with no femoral head in view (not_in_view) get found=0 and a reason (exit 0); the\n"
	"geometry of partial and uncertain candidates is still reported for review.\n"
	"Exit status: 0 ok, 2 usage, 3 unreadable input or mask on another grid, 4 output not\n"
	"writable, 5 processing failure.\n";

/* CSV field: quoted when it holds a comma, quote or newline (RFC 4180). */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_num(FILE *f, double v, int found)
{
	if (found && isfinite(v))
		fprintf(f, ",%.3f", v);
	else
		fputs(",", f);
}

static const char csv_header[] = "side,found,reason,centre_x,centre_y,centre_z,radius_mm,head_ml,"
				 "neck_ml,neck_axis_x,neck_axis_y,neck_axis_z,confidence,qc,status,"
				 "in_view,acetabulum\n";

static void write_rows(FILE *f, const bmeq_femhead_result *r, const bmeq_roi_region *reg,
		       size_t nreg)
{
	fputs(csv_header, f);
	for (int k = 0; k < BMEQ_NSIDES; k++) {
		const bmeq_femhead_side *s = &r->side[k];
		int fd = s->found;
		/* A partial or uncertain candidate's place is reported for review. */
		int placed = s->status != BMEQ_HEAD_NOT_IN_VIEW;

		fprintf(f, "%s,%d,", bmeq_side_name((bmeq_side)k), fd);
		csv_field(f, s->reason);
		csv_num(f, s->centre[0], placed);
		csv_num(f, s->centre[1], placed);
		csv_num(f, s->centre[2], placed);
		csv_num(f, s->radius_mm, placed);
		csv_num(f, s->head_ml, fd);
		csv_num(f, s->neck_ml, 1);
		csv_num(f, s->neck_axis[0], placed && !reg);
		csv_num(f, s->neck_axis[1], placed && !reg);
		csv_num(f, s->neck_axis[2], placed && !reg);
		csv_num(f, s->confidence, placed);
		fprintf(f, ",%d,%s", fd ? s->qc : 0, bmeq_head_status_name(s->status));
		csv_num(f, s->in_view, placed && !reg);
		csv_num(f, s->cup, placed && !reg);
		fputc('\n', f);
	}
	/* User labels other than 1-4: their own rows, centroid as the centre. */
	for (size_t i = 0; i < nreg; i++) {
		if (reg[i].label <= 4)
			continue;
		fprintf(f, "label-%u,1,", reg[i].label);
		csv_num(f, reg[i].centroid[0], 1);
		csv_num(f, reg[i].centroid[1], 1);
		csv_num(f, reg[i].centroid[2], 1);
		fprintf(f, ",,%.3f,,,,,,1,found,,\n", reg[i].ml);
	}
}

/* Closes the memory stream f (NULL: it could not be opened) whose bytes are
 * *text and *len, and writes them to path through the one atomic write. */
static bmeq_status close_and_write(FILE *f, char **text, size_t *len, const char *path)
{
	if (!f || fclose(f) != 0 || !*text)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	return bmeq_write_file_atomic(path, *text, *len);
}

static void write_tries(FILE *f, const bmeq_femhead_result *r)
{
	fputs("tried_as,centre_x,centre_y,centre_z,radius_mm,confidence,in_view,acetabulum,"
	      "neck_opening,neck_axis_x,neck_axis_y,neck_axis_z,verdict\n",
	      f);
	for (size_t i = 0; i < r->ntries; i++) {
		const bmeq_femhead_try *t = &r->tries[i];
		int fitted = isfinite(t->neck_opening);

		fputs(t->side == BMEQ_FEMHEAD_RIGHT ? "right" : "left", f);
		csv_num(f, t->centre[0], 1);
		csv_num(f, t->centre[1], 1);
		csv_num(f, t->centre[2], 1);
		csv_num(f, t->radius_mm, 1);
		csv_num(f, t->confidence, 1);
		csv_num(f, t->in_view, 1);
		csv_num(f, t->acetabulum, 1);
		csv_num(f, t->neck_opening, 1);
		csv_num(f, t->neck_axis[0], fitted);
		csv_num(f, t->neck_axis[1], fitted);
		csv_num(f, t->neck_axis[2], fitted);
		fputc(',', f);
		csv_field(f, t->verdict);
		fputc('\n', f);
	}
}

int bmeq_cmd_segment(int argc, char **argv)
{
	const char *cmd = "segment", *scan_path = NULL, *outdir = NULL, *roi_path = NULL;
	bmeq_read_opts ro;
	bmeq_femhead_params fp;
	bmeq_measure_opts m;
	bmeq_settings_target t = {&m, NULL, NULL};
	int opts_done = 0;

	bmeq_measure_opts_init(&m);
	bmeq_read_opts_init(&ro);
	ro.max_bytes = bmeq_max_scan_bytes(m.max_scan_mb);
	bmeq_femhead_params_init(&fp);
	for (int i = 1; i < argc; i++)
		if (!opts_done && bmeq_cli_is_help(argv[i])) {
			fputs(segment_help, stdout);
			return BMEQ_EXIT_OK;
		} else if (strcmp(argv[i], "--") == 0) {
			opts_done = 1;
		}
	opts_done = 0;
	const char *series;
	char scan_ref[4096];
	if (bmeq_cli_take_series(cmd, &argc, argv, &series) != 0)
		return BMEQ_EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		int used = opts_done ? 0 : bmeq_cli_dicom_timeout_flag(cmd, a, i + 1 < argc ? argv[i + 1] : NULL);
		if (used < 0)
			return BMEQ_EXIT_USAGE;
		if (used > 0) {
			i += used - 1;
		} else if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = 1;
		} else if (!opts_done && (strcmp(a, "--volume") == 0 || strcmp(a, "--max-scan-mb") == 0)) {
			/* The two settings of the table that reading a scan uses. */
			if (bmeq_settings_flag(&t, a, i + 1 < argc ? argv[i + 1] : NULL) < 0) {
				bmeq_cli_error(cmd, a, "%s", bmeq_last_error());
				return BMEQ_EXIT_USAGE;
			}
			i++;
			ro.volume = m.volume;
			ro.max_bytes = bmeq_max_scan_bytes(m.max_scan_mb);
		} else if (!opts_done && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
					  strcmp(a, "--out") == 0 || strcmp(a, "--roi") == 0)) {
			if (i + 1 >= argc) {
				bmeq_cli_error(cmd, a, "missing value (see bmeq segment --help)");
				return BMEQ_EXIT_USAGE;
			}
			const char *v = argv[++i];
			if (strcmp(a, "--roi") == 0) {
				roi_path = v;
			} else {
				outdir = v;
			}
		} else if (!opts_done && strcmp(a, "--no-necks") == 0) {
			fp.label_necks = 0;
		} else if (!opts_done && strcmp(a, "--measure-doubtful") == 0) {
			fp.accept_doubtful = 1;
		} else if (!opts_done && a[0] == '-' && a[1]) {
			bmeq_cli_error(cmd, a, "unknown option (see bmeq segment --help)");
			return BMEQ_EXIT_USAGE;
		} else if (!scan_path) {
			scan_path = a;
		} else {
			bmeq_cli_error(cmd, a, "only one SCAN may be given");
			return BMEQ_EXIT_USAGE;
		}
	}
	if (!scan_path || !outdir) {
		bmeq_cli_error(cmd, NULL, "SCAN and -o DIR are required (see bmeq segment --help)");
		return BMEQ_EXIT_USAGE;
	}

	if (bmeq_cli_scan_ref(cmd, scan_path, series, scan_ref, sizeof(scan_ref)) != 0)
		return BMEQ_EXIT_USAGE;
	scan_path = scan_ref;
	bmeq_volume *v = NULL;
	bmeq_status st = bmeq_scan_read(scan_path, &ro, &v, NULL);
	if (st != BMEQ_OK)
		return bmeq_cli_status(cmd, scan_path, st);

	size_t n = bmeq_grid_nvox(&v->grid);
	bmeq_femhead_result res;
	uint8_t *lab8 = NULL;
	uint16_t *lab16 = NULL;
	char *text = NULL;
	size_t len = 0;
	bmeq_roi_region *reg = NULL;
	size_t nreg = 0;
	int rc = BMEQ_EXIT_OK, wide = 0;

	if (roi_path) {
		st = bmeq_nifti_read_labels(roi_path, &v->grid, &lab16);
		if (st != BMEQ_OK) {
			rc = bmeq_cli_status(cmd, roi_path, st);
			goto done;
		}
		st = bmeq_femhead_roi_from_labels(&v->grid, lab16, &reg, &nreg, &res);
		for (size_t i = 0; i < nreg; i++)
			wide |= reg[i].label > 255;
	} else {
		lab8 = malloc(n ? n : 1);
		if (!lab8) {
			rc = bmeq_cli_status(cmd, scan_path, bmeq_fail(BMEQ_E_NOMEM, "out of memory"));
			goto done;
		}
		st = bmeq_femhead_segment(v, &fp, lab8, &res);
	}
	if (st != BMEQ_OK) {
		rc = bmeq_cli_status(cmd, scan_path, st);
		goto done;
	}
	if (bmeq_mkdirs(outdir) != 0) {
		bmeq_cli_error(cmd, outdir, "cannot create the output folder");
		rc = BMEQ_EXIT_OUTPUT;
		goto done;
	}

	char stem[256], path[BMEQ_PATH_MAX], csv_path[BMEQ_PATH_MAX];
	bmeq_scan_stem(scan_path, stem, sizeof(stem));
	if ((st = bmeq_scan_path(outdir, stem, BMEQ_SCAN_ROI, path, sizeof(path))) != BMEQ_OK ||
	    (st = bmeq_scan_path(outdir, stem, BMEQ_SCAN_SEGMENT, csv_path, sizeof(csv_path))) !=
		    BMEQ_OK) {
		rc = bmeq_cli_status(cmd, "-o", st);
		goto done;
	}
	if (lab16 && !wide) {
		/* The user's map is re-written as uint8 when it fits, like ours. */
		lab8 = malloc(n ? n : 1);
		if (!lab8) {
			rc = bmeq_cli_status(cmd, scan_path, bmeq_fail(BMEQ_E_NOMEM, "out of memory"));
			goto done;
		}
		for (size_t i = 0; i < n; i++)
			lab8[i] = (uint8_t)lab16[i];
	}
	st = wide ? bmeq_nifti_write_labels(path, &v->grid, lab16, BMEQ_DT_UINT16)
		  : bmeq_nifti_write_labels(path, &v->grid, lab8, BMEQ_DT_UINT8);
	if (st != BMEQ_OK) {
		rc = bmeq_cli_status(cmd, path, st);
		goto done;
	}
	memcpy(path, csv_path, sizeof(path));
	/* The rows go to memory first, then to the file through the one atomic
	 * write (bmeq/files.h), and the same bytes to stdout. */
	FILE *f = open_memstream(&text, &len);
	if (f)
		write_rows(f, &res, reg, nreg);
	if ((st = close_and_write(f, &text, &len, path)) != BMEQ_OK) {
		rc = bmeq_cli_status(cmd, path, st);
		goto done;
	}
	if (!roi_path) {
		/* Every candidate tried, through the same atomic write. */
		char *ctext = NULL;
		size_t clen = 0;

		if ((st = bmeq_scan_path(outdir, stem, BMEQ_SCAN_CANDIDATES, path, sizeof(path))) !=
		    BMEQ_OK) {
			rc = bmeq_cli_status(cmd, "-o", st);
			goto done;
		}
		f = open_memstream(&ctext, &clen);
		if (f)
			write_tries(f, &res);
		st = close_and_write(f, &ctext, &clen, path);
		free(ctext);
		if (st != BMEQ_OK) {
			rc = bmeq_cli_status(cmd, path, st);
			goto done;
		}
	}
	fwrite(text, 1, len, stdout);
done:
	free(text);
	free(lab8);
	free(lab16);
	free(reg);
	bmeq_volume_destroy(v);
	return rc;
}
