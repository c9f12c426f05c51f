/* cmd_measure.c - `bmeq measure SCAN`: edema per hip for one scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/config.h"
#include "bmeq/files.h"
#include "bmeq/settings.h"
#include "bmeq/dicom.h"
#include "bmeq/measure.h"
#include "bmeq/study.h"
#include "bmeq/tables.h"
#include "bmeq/csv.h"
#include "bmeq/outdir.h"
#include "cli.h"

static const char measure_help[] =
	"usage: bmeq measure SCAN [--series SEL] [-o DIR] [--t1 T1] [--roi MASK] [--reference MASK]\n"
	"                    [--csv FILE]\n"
	"                    [--lesions-csv FILE] [--rule RULE] [--threshold-factor K]\n"
	"                    [--config FILE]\n"
	"                    [--connectivity 6|18|26]\n"
	"                    [--min-lesion-voxels N] [--min-lesion-ml V] [--no-bias-correction]\n"
	"                    [--measure-doubtful] [--volume N] [--max-scan-mb MB]\n"
	"\n"
	"Measures bone marrow edema in both femoral heads and necks of one STIR scan.\n"
	"Writes DIR/<stem>_roi.nii.gz (1 right head, 2 left head, 3 right neck, 4 left neck),\n"
	"DIR/<stem>_edema.nii.gz (the region label on edema voxels), DIR/scans.csv (one row\n"
	"per side) and DIR/lesions.csv (one row per lesion), and prints a summary.\n"
	"edema_ml_low and edema_ml_high are the volumes with the rule's K moved by 15%\n"
	"either way: how far the number swings on this scan.\n"
	"\n"
	"SCAN is a NIfTI file or a folder of DICOM files (see bmeq info FOLDER).\n"
	"  --series SEL           the series of a DICOM folder holding several: its\n"
	"                         number, UID or a description pattern (*STIR*)\n"
	"  -o, --output DIR       output folder (created; default: .)\n"
	"  --t1 T1                the visit's T1 (any grid, NIfTI): registered to the scan,\n"
	"                         edema gated by it, regions found on it with\n"
	"                         --t1-segment (see t1.* below)\n"
	"  --roi MASK             regions drawn or corrected by hand, on the scan's grid:\n"
	"                         labels 1-4 as above, other labels are their own regions\n"
	"  --reference MASK       normal marrow (non-zero voxels) on the scan's grid\n"
	"  --csv FILE             write the scans table here instead of DIR/scans.csv\n"
	"  --lesions-csv FILE     write the lesions table here instead of DIR/lesions.csv\n"
	"  --threshold-factor K   a reader's factor for this scan: replaces the rule's K\n"
	"                         (0 < K <= 100); threshold_source says reader\n"
	"  --config FILE          settings (key = value, as for bmeq batch; response.*\n"
	"                         keys are checked and unused); options after it win\n";

static const char measure_help_tail[] =
	"\n"
	"With --roi and --reference both given, no segmentation or bias correction runs:\n"
	"the result depends only on the image inside the masks.\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 output not writable, 5 processing failed.\n";

typedef struct measure_args {
	const char *scan, *outdir, *roi, *reference, *csv, *lesions_csv, *t1;
	double factor;              /* 0: the rule's own K */
	bmeq_measure_opts opts;
} measure_args;

static int parse_args(int argc, char **argv, measure_args *a)
{
	bmeq_settings_target t = {&a->opts, NULL, NULL};

	memset(a, 0, sizeof(*a));
	bmeq_measure_opts_init(&a->opts);
	a->outdir = ".";
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (o[0] != '-' || strcmp(o, "-") == 0) {
			if (a->scan) {
				bmeq_cli_error("measure", o, "only one scan per call (use bmeq batch)");
				return -1;
			}
			a->scan = o;
			continue;
		}
		int used = bmeq_settings_flag(&t, o, v);
		if (used < 0) {
			bmeq_cli_error("measure", o, "%s", bmeq_last_error());
			return -1;
		}
		if (used > 0) {
			i += used - 1;
			continue;
		}
		if (!v) {
			bmeq_cli_error("measure", o, "needs a value (try bmeq measure --help)");
			return -1;
		}
		i++;
		if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
			a->outdir = v;
		} else if (strcmp(o, "--roi") == 0) {
			a->roi = v;
		} else if (strcmp(o, "--t1") == 0) {
			a->t1 = v;
		} else if (strcmp(o, "--reference") == 0) {
			a->reference = v;
		} else if (strcmp(o, "--csv") == 0) {
			a->csv = v;
		} else if (strcmp(o, "--lesions-csv") == 0) {
			a->lesions_csv = v;
		} else if (strcmp(o, "--config") == 0) {
			char *text = NULL;
			size_t n;
			if (bmeq_read_file(v, BMEQ_CLI_CONFIG_MAX_BYTES, &text, &n) != BMEQ_OK) {
				bmeq_cli_error("measure", v, "cannot read the configuration file: %s",
				       bmeq_last_error());
				return -1;
			}
			bmeq_status st = bmeq_config_apply(text, n, &t);
			free(text);
			if (st != BMEQ_OK) {
				bmeq_cli_error("measure", v, "%s", bmeq_last_error());
				return -1;
			}
		} else if (strcmp(o, "--threshold-factor") == 0) {
			if (bmeq_threshold_factor_parse(v, &a->factor) != BMEQ_OK) {
				bmeq_cli_error("measure", "--threshold-factor", "%s", bmeq_last_error());
				return -1;
			}
		} else {
			bmeq_cli_error("measure", o, "unknown option (try bmeq measure --help)");
			return -1;
		}
	}
	if (!a->scan) {
		bmeq_cli_error("measure", NULL, "no scan given (try bmeq measure --help)");
		return -1;
	}
	/* After every option, so that --rule in any position keeps its kind
	 * and takes the reader's factor. */
	if (a->factor > 0.0) {
		a->opts.edema.rule.k = a->factor;
		a->opts.edema.factor_from_reader = 1;
	}
	return 0;
}

static int write_table(const char *path, const bmeq_csv *w)
{
	if (bmeq_csv_write_file(w, path) != BMEQ_OK) {
		bmeq_cli_error("measure", path, "%s", bmeq_last_error());
		return BMEQ_EXIT_OUTPUT;
	}
	return BMEQ_EXIT_OK;
}

int bmeq_cmd_measure(int argc, char **argv)
{
	measure_args a;
	char subject[128], session[128], stem[256], scans_path[BMEQ_PATH_MAX],
		lesions_path[BMEQ_PATH_MAX];
	bmeq_scan_result *r = NULL;
	bmeq_csv *scans = NULL, *lesions = NULL;
	bmeq_status st;
	int rc;

	for (int i = 1; i < argc; i++)
		if (bmeq_cli_is_help(argv[i])) {
			bmeq_measure_opts defaults;
			bmeq_settings_target t = {&defaults, NULL, NULL};
			bmeq_measure_opts_init(&defaults);
			fputs(measure_help, stdout);
			bmeq_settings_flags_help(&t, stdout);
			fputs(measure_help_tail, stdout);
			return BMEQ_EXIT_OK;
		}
	const char *series;
	char scan_ref[BMEQ_PATH_MAX];
	if (bmeq_cli_take_series("measure", &argc, argv, &series) != 0 ||
	    parse_args(argc, argv, &a) != 0 ||
	    bmeq_cli_scan_ref("measure", a.scan, series, scan_ref, sizeof(scan_ref)) != 0)
		return BMEQ_EXIT_USAGE;
	a.scan = scan_ref;
	bmeq_dicom_set_time_limit(a.opts.dicom_timeout_s);
	bmeq_ids_from_path(a.scan, subject, session, sizeof(subject));
	bmeq_scan_stem(a.scan, stem, sizeof(stem));
	st = a.csv ? bmeq_path(scans_path, sizeof(scans_path), "%s", a.csv)
		   : bmeq_out_path(a.outdir, BMEQ_OUT_SCANS, scans_path, sizeof(scans_path));
	if (st == BMEQ_OK)
		st = a.lesions_csv ? bmeq_path(lesions_path, sizeof(lesions_path), "%s", a.lesions_csv)
				   : bmeq_out_path(a.outdir, BMEQ_OUT_LESIONS, lesions_path,
						   sizeof(lesions_path));
	if (st == BMEQ_OK) {
		char maps[BMEQ_PATH_MAX];
		st = bmeq_scan_path(a.outdir, stem, BMEQ_SCAN_EDEMA, maps, sizeof(maps));
	}
	if (st != BMEQ_OK)
		return bmeq_cli_status("measure", "-o", st);
	if (bmeq_mkdirs(a.outdir) != 0) {
		bmeq_cli_error("measure", a.outdir, "cannot create the output folder");
		return BMEQ_EXIT_OUTPUT;
	}

	if (bmeq_csv_create(&scans) != BMEQ_OK || bmeq_csv_create(&lesions) != BMEQ_OK) {
		bmeq_csv_destroy(scans);
		bmeq_csv_destroy(lesions);
		bmeq_cli_error("measure", NULL, "out of memory");
		return BMEQ_EXIT_PROCESS;
	}
	bmeq_scans_header(scans, NULL);
	bmeq_lesions_header(lesions, NULL);

	st = bmeq_measure_scan(a.scan, a.roi, a.reference, a.t1, &a.opts, &r);
	if (st != BMEQ_OK) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", bmeq_last_error());
		rc = bmeq_cli_status("measure", a.scan, st);
		/* The failure is a result too: the table says so, with the
		 * sequence facts when the headers can be read (a scan refused
		 * as the wrong series says what it is). */
		bmeq_protocol proto;
		int have_proto = bmeq_scan_protocol(a.scan, &proto) == BMEQ_OK;
		bmeq_scans_error_rows(scans, subject, session, a.scan, msg,
				      have_proto ? &proto : NULL, NULL);
		if (write_table(scans_path, scans) != BMEQ_EXIT_OK)
			rc = BMEQ_EXIT_OUTPUT;
		bmeq_csv_destroy(scans);
		bmeq_csv_destroy(lesions);
		return rc;
	}
	if (r->note[0])
		for (size_t k = 0; k < r->edema->nregions; k++)
			if (!r->edema->regions[k].message[0])
				snprintf(r->edema->regions[k].message, sizeof(r->edema->regions[k].message),
					 "%s", r->note);
	bmeq_scan_facts facts;
	bmeq_scan_facts_of(r, &facts);
	bmeq_scans_rows(scans, subject, session, a.scan, r->edema, &facts, NULL);
	bmeq_lesions_rows(lesions, subject, session, r->edema, NULL);
	rc = BMEQ_EXIT_OK;
	st = bmeq_scan_write_maps(r, a.outdir, stem);
	if (st != BMEQ_OK)
		rc = bmeq_cli_status("measure", a.outdir, st);
	if (rc == BMEQ_EXIT_OK)
		rc = write_table(scans_path, scans);
	if (rc == BMEQ_EXIT_OK)
		rc = write_table(lesions_path, lesions);
	if (rc == BMEQ_EXIT_OK) {
		printf("%s: reference %.3f, threshold %.3f (%s, %s)\n", a.scan,
		       r->edema->reference_intensity, r->edema->threshold, r->edema->rule_text,
		       bmeq_threshold_source_name(r->edema->factor_from_reader));
		for (size_t k = 0; k < r->edema->nregions; k++) {
			const bmeq_edema_region *g = &r->edema->regions[k];
			char side[24];
			bmeq_region_side_text(g, side, sizeof(side));
			if (g->status == BMEQ_HIP_OK)
				printf("  %-8s edema %8.3f mL (%.3f-%.3f) of %8.3f mL (%5.1f%%), %zu "
				       "lesion(s)\n",
				       side, g->edema_ml, g->edema_ml_low, g->edema_ml_high, g->region_ml,
				       100.0 * g->edema_fraction, g->lesions);
			else
				printf("  %-8s %s: %s\n", side, bmeq_hip_status_name(g->status), g->message);
		}
		printf("tables: %s %s\n", scans_path, lesions_path);
	}
	bmeq_scan_result_destroy(r);
	bmeq_csv_destroy(scans);
	bmeq_csv_destroy(lesions);
	return rc;
}
