/* cmd_compare.c - `bmeq compare BASELINE FOLLOWUP`: response of each hip
 * between two visits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/config.h"
#include "bmeq/dicom.h"
#include "bmeq/files.h"
#include "bmeq/longitudinal.h"
#include "bmeq/nifti_io.h"
#include "bmeq/tables.h"
#include "bmeq/csv.h"
#include "bmeq/outdir.h"
#include "cli.h"

static const char compare_help[] =
	"usage: bmeq compare BASELINE FOLLOWUP [--series SEL] [-o DIR] [--rule-config FILE]\n"
	"                    [--csv FILE]\n"
	"                    [--no-registration] [measurement settings: --rule RULE\n"
	"                    --connectivity C --no-bias-correction ... as bmeq measure]\n"
	"\n"
	"Measures bone marrow edema on two visits of one subject (as bmeq measure does),\n"
	"registers the follow-up onto the baseline around each proximal femur (rigid),\n"
	"and reports per hip the edema of both visits, the change, the resolved,\n"
	"persistent and new edema, and the response class.\n"
	"Writes DIR/<followup stem>_change.nii.gz on the baseline's grid (1 resolved,\n"
	"2 persistent, 3 new) and DIR/response.csv (one row per side), and prints a\n"
	"summary.\n"
	"\n"
	"BASELINE and FOLLOWUP are NIfTI files or DICOM folders (FOLDER#SERIES chooses\n"
	"one series of a folder holding several).\n"
	"  --series SEL          the series of both DICOM folders: number, UID or a\n"
	"                        description pattern (*STIR*)\n"
	"  -o, --output DIR      output folder (created; default: .)\n"
	"  --rule-config FILE    a bmeq configuration file whose response.* settings\n"
	"                        are used: measurable_ml (default 0.5), partial_pct\n"
	"                        (30), progression_pct (20), progression_ml (1.0); its\n"
	"                        other keys are checked and unused\n"
	"  --csv FILE            write the table here instead of DIR/response.csv\n"
	"  --no-registration     volumes and classes only (spatial columns empty)\n"
	"The measurement's settings, for both scans:\n";

static const char compare_help_tail[] =
	"\n"
	"Response per hip: complete = baseline measurable (>= 0.5 mL), follow-up not;\n"
	"partial = decrease >= 30%; progression = increase >= 20% and >= 1 mL; stable =\n"
	"otherwise with both measurable; new = only the follow-up measurable; none =\n"
	"neither; not_evaluable = a scan failed or a femoral head was not found.\n"
	"early_retreatment is yes when this (first) follow-up is a partial response.\n"
	"uncertain is yes when the class could differ for volumes anywhere within each\n"
	"visit's range (edema_ml_low-edema_ml_high of bmeq measure); the message says\n"
	"which classes.\n"
	"When a registration fails its quality check the volumes and class are still\n"
	"reported; resolved/persistent/new are left empty and the message says why.\n"
	"Exit status: 0 ok, 2 usage, 3 bad input, 4 output not writable, 5 processing failed.\n";

typedef struct compare_args {
	const char *scan[2], *outdir, *rule_config, *csv;
	int spatial;
	bmeq_measure_opts measure;
} compare_args;

static int parse_args(int argc, char **argv, compare_args *a)
{
	bmeq_settings_target t = {&a->measure, NULL, NULL};
	int nscans = 0;

	memset(a, 0, sizeof(*a));
	bmeq_measure_opts_init(&a->measure);
	a->outdir = ".";
	a->spatial = 1;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (o[0] != '-' || strcmp(o, "-") == 0) {
			if (nscans == 2) {
				bmeq_cli_error("compare", o, "exactly two scans: BASELINE FOLLOWUP");
				return -1;
			}
			a->scan[nscans++] = o;
			continue;
		}
		if (strcmp(o, "--no-registration") == 0) {
			a->spatial = 0;
			continue;
		}
		int used = bmeq_settings_flag(&t, o, v);
		if (used < 0) {
			bmeq_cli_error("compare", o, "%s", bmeq_last_error());
			return -1;
		}
		if (used > 0) {
			i += used - 1;
			continue;
		}
		if (strcmp(o, "-o") != 0 && strcmp(o, "--output") != 0 &&
		    strcmp(o, "--rule-config") != 0 && strcmp(o, "--csv") != 0) {
			bmeq_cli_error("compare", o, "unknown option (try bmeq compare --help)");
			return -1;
		}
		if (!v) {
			bmeq_cli_error("compare", o, "needs a value (try bmeq compare --help)");
			return -1;
		}
		i++;
		if (strcmp(o, "--rule-config") == 0)
			a->rule_config = v;
		else if (strcmp(o, "--csv") == 0)
			a->csv = v;
		else
			a->outdir = v;
	}
	if (nscans != 2) {
		bmeq_cli_error("compare", NULL,
			       "needs two scans: BASELINE FOLLOWUP (try bmeq compare --help)");
		return -1;
	}
	return 0;
}

/* Measures one visit; on failure keeps the reason for the table and the
 * exit code of the first failure. */
static bmeq_scan_result *measure(const char *path, const compare_args *a, char *why, size_t cap,
				 int *rc)
{
	bmeq_scan_result *r = NULL;
	bmeq_status st = bmeq_measure_scan(path, NULL, NULL, NULL, &a->measure, &r);

	if (st == BMEQ_OK)
		return r;
	snprintf(why, cap, "%s", bmeq_last_error());
	int code = bmeq_cli_status("compare", path, st);
	if (*rc == BMEQ_EXIT_OK)
		*rc = code;
	return NULL;
}

static void print_summary(const compare_args *a, const bmeq_comparison *c, const char *map,
			  const char *csv)
{
	printf("%s -> %s (%s)\n", a->scan[0], a->scan[1], c->rule_text);
	for (int s = 0; s < 2; s++) {
		const bmeq_side_change *x = &c->side[s];
		printf("  %-6s %-13s", bmeq_side_name((bmeq_side)s), bmeq_response_name(x->response));
		if (x->response != BMEQ_RESPONSE_NOT_EVALUABLE)
			printf(" edema %.3f -> %.3f mL (%+.3f mL", x->baseline_ml, x->followup_ml,
			       x->change_ml);
		if (x->response != BMEQ_RESPONSE_NOT_EVALUABLE && x->baseline_ml > 0.0)
			printf(", %+.1f%%", x->change_pct);
		if (x->response != BMEQ_RESPONSE_NOT_EVALUABLE)
			printf(")");
		if (x->registered)
			printf("; resolved %.3f, persistent %.3f, new %.3f mL", x->resolved_ml,
			       x->persistent_ml, x->new_ml);
		if (x->message[0])
			printf("; %s", x->message);
		printf("\n");
	}
	if (map)
		printf("change map: %s\n", map);
	printf("table: %s\n", csv);
}

int bmeq_cmd_compare(int argc, char **argv)
{
	compare_args a;
	bmeq_compare_opts co;
	bmeq_scan_result *r[2] = {NULL, NULL};
	bmeq_timepoint tp[2];
	bmeq_comparison cmp;
	bmeq_csv *w = NULL;
	uint8_t *change = NULL;
	char subject[128], other[128], session[2][128], stem[256], why[2][1024] = {"", ""};
	char csv_path[BMEQ_PATH_MAX], map_path[BMEQ_PATH_MAX];
	int rc = BMEQ_EXIT_OK, have_map = 0;
	bmeq_status st;

	for (int i = 1; i < argc; i++)
		if (bmeq_cli_is_help(argv[i])) {
			bmeq_measure_opts defaults;
			bmeq_settings_target t = {&defaults, NULL, NULL};
			bmeq_measure_opts_init(&defaults);
			fputs(compare_help, stdout);
			bmeq_settings_flags_help(&t, stdout);
			fputs(compare_help_tail, stdout);
			return BMEQ_EXIT_OK;
		}
	const char *series;
	char scan_ref[2][BMEQ_PATH_MAX];
	if (bmeq_cli_take_series("compare", &argc, argv, &series) != 0 ||
	    parse_args(argc, argv, &a) != 0)
		return BMEQ_EXIT_USAGE;
	bmeq_dicom_set_time_limit(a.measure.dicom_timeout_s);
	for (int v = 0; v < 2; v++) {
		if (bmeq_cli_scan_ref("compare", a.scan[v], series, scan_ref[v], sizeof(scan_ref[v])))
			return BMEQ_EXIT_USAGE;
		a.scan[v] = scan_ref[v];
	}
	bmeq_compare_opts_init(&co);
	co.spatial = a.spatial;
	if (a.rule_config) {
		bmeq_settings_target rt = {NULL, &co.rule, NULL};
		char *text = NULL;
		size_t n;
		if (bmeq_read_file(a.rule_config, BMEQ_CLI_CONFIG_MAX_BYTES, &text, &n) != BMEQ_OK) {
			bmeq_cli_error("compare", a.rule_config, "cannot read the configuration file: %s",
				       bmeq_last_error());
			return BMEQ_EXIT_INPUT;
		}
		st = bmeq_config_apply(text, n, &rt);
		free(text);
		if (st != BMEQ_OK) {
			bmeq_cli_error("compare", a.rule_config, "%s", bmeq_last_error());
			return BMEQ_EXIT_INPUT;
		}
	}
	bmeq_ids_from_path(a.scan[0], subject, session[0], sizeof(subject));
	bmeq_ids_from_path(a.scan[1], other, session[1], sizeof(other));
	bmeq_scan_stem(a.scan[1], stem, sizeof(stem));
	st = a.csv ? bmeq_path(csv_path, sizeof(csv_path), "%s", a.csv)
		   : bmeq_out_path(a.outdir, BMEQ_OUT_RESPONSE, csv_path, sizeof(csv_path));
	if (st == BMEQ_OK)
		st = bmeq_scan_path(a.outdir, stem, BMEQ_SCAN_CHANGE, map_path, sizeof(map_path));
	if (st != BMEQ_OK)
		return bmeq_cli_status("compare", "-o", st);
	if (bmeq_mkdirs(a.outdir) != 0) {
		bmeq_cli_error("compare", a.outdir, "cannot create the output folder");
		return BMEQ_EXIT_OUTPUT;
	}

	/* A scan that fails is a result too: its sides are not evaluable. */
	for (int v = 0; v < 2; v++) {
		r[v] = measure(a.scan[v], &a, why[v], sizeof(why[v]), &rc);
		if (r[v])
			bmeq_timepoint_from_scan(&tp[v], r[v]);
		else
			bmeq_timepoint_failed(&tp[v], why[v]);
	}
	if (r[0]) {
		change = calloc(bmeq_grid_nvox(&r[0]->image->grid), 1);
		if (!change) {
			bmeq_cli_error("compare", NULL, "out of memory");
			rc = BMEQ_EXIT_PROCESS;
			goto done;
		}
	}
	if ((st = bmeq_compare_timepoints(&tp[0], &tp[1], &co, &cmp, change)) != BMEQ_OK) {
		rc = bmeq_cli_status("compare", NULL, st);
		goto done;
	}
	if (r[0] && r[1])
		bmeq_comparison_flag_protocol(&cmp, &r[0]->protocol, &r[1]->protocol);
	for (int s = 0; s < 2; s++)
		have_map |= cmp.side[s].registered;
	if (have_map && (st = bmeq_nifti_write_labels(map_path, &r[0]->image->grid, change,
						      BMEQ_DT_UINT8)) != BMEQ_OK) {
		rc = bmeq_cli_status("compare", map_path, st);
		goto done;
	}
	/* With one comparison, this follow-up is the first after the baseline. */
	int early[2];
	for (int s = 0; s < 2; s++)
		early[s] = cmp.side[s].response == BMEQ_RESPONSE_PARTIAL;
	if (bmeq_csv_create(&w) != BMEQ_OK || bmeq_response_header(w, NULL) != BMEQ_OK ||
	    bmeq_response_rows(w, subject, session[0], session[1], &cmp, early, NULL) != BMEQ_OK) {
		rc = bmeq_cli_status("compare", NULL, BMEQ_E_NOMEM);
		goto done;
	}
	if ((st = bmeq_csv_write_file(w, csv_path)) != BMEQ_OK) {
		rc = bmeq_cli_status("compare", csv_path, st);
		goto done;
	}
	print_summary(&a, &cmp, have_map ? map_path : NULL, csv_path);
done:
	bmeq_csv_destroy(w);
	free(change);
	bmeq_scan_result_destroy(r[0]);
	bmeq_scan_result_destroy(r[1]);
	return rc;
}
