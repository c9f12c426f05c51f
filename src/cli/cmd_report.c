/* cmd_report.c - `bmeq report OUT`: QC pictures and report.html for a batch
 * folder that already exists (after a merge, or to redraw). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/outdir.h"
#include "bmeq/report.h"
#include "bmeq/settings.h"
#include "bmeq/study.h"
#include "cli.h"

static const char report_help[] =
	"usage: bmeq report OUT|-o OUT [--study STUDY_DIR|MANIFEST.csv] [--pattern GLOB] [-j N]\n"
	"                  [--no-pictures]\n"
	"\n"
	"Writes the QC pictures (OUT/<subject>/<session>/<stem>_qc.png and, for each\n"
	"follow-up, <stem>_change_qc.png) and OUT/report.html, one self-contained page\n"
	"for a browser (no network), from a finished `bmeq batch` folder. bmeq batch\n"
	"already does this; use this command after `bmeq merge` or to redraw.\n"
	"\n"
	"The scans are read from the paths in OUT/scans.csv (relative paths from the\n"
	"current folder, as the batch was run), or from --study.\n"
	"\n"
	"  -o, --output OUT  the batch folder (the same as giving it as OUT)\n"
	"  --study S       the study the batch ran (its folder or manifest)\n"
	"  --pattern GLOB  with a study folder: which files are scans (default *acq-STIR*)\n"
	"  -j N            pictures drawn in parallel (default: the number of cores)\n"
	"  --no-pictures   write the page only, linking the pictures already there\n"
	"\n"
	"Exit status: 0 done, 2 usage, 3 OUT is not a batch folder or the study is\n"
	"unreadable, 4 output not writable. A scan that cannot be read is not an\n"
	"error: its picture is left out and the page says why.\n";

int bmeq_cmd_report(int argc, char **argv)
{
	const char *outdir = NULL, *study_arg = NULL, *pattern = NULL;
	bmeq_report_opts opts;
	bmeq_report_summary sum;
	bmeq_study *study = NULL;
	int jobs = bmeq_cli_default_jobs(), used;
	bmeq_settings_target flags = {NULL, NULL, &jobs};
	bmeq_status st;

	for (int i = 1; i < argc; i++)
		if (bmeq_cli_is_help(argv[i])) {
			fputs(report_help, stdout);
			return BMEQ_EXIT_OK;
		}
	bmeq_report_opts_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (o[0] != '-') {
			if (outdir) {
				bmeq_cli_error("report", o, "only one output folder per call");
				return BMEQ_EXIT_USAGE;
			}
			outdir = o;
		} else if (strcmp(o, "--no-pictures") == 0) {
			opts.pictures = 0;
		} else if (!v) {
			bmeq_cli_error("report", o, "needs a value (try bmeq report --help)");
			return BMEQ_EXIT_USAGE;
		} else if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
			if (outdir) {
				bmeq_cli_error("report", o, "only one output folder per call");
				return BMEQ_EXIT_USAGE;
			}
			outdir = v;
			i++;
		} else if (strcmp(o, "--study") == 0) {
			study_arg = v;
			i++;
		} else if (strcmp(o, "--pattern") == 0) {
			pattern = v;
			i++;
		} else if ((used = bmeq_settings_flag(&flags, o, v)) != 0) {
			if (used < 0) {
				bmeq_cli_error("report", o, "%s", bmeq_last_error());
				return BMEQ_EXIT_USAGE;
			}
			i += used - 1;
		} else {
			bmeq_cli_error("report", o, "unknown option (try bmeq report --help)");
			return BMEQ_EXIT_USAGE;
		}
	}
	if (!outdir) {
		bmeq_cli_error("report", NULL, "need the batch folder OUT (try bmeq report --help)");
		return BMEQ_EXIT_USAGE;
	}
	opts.jobs = jobs;
	if (study_arg) {
		struct stat sb;
		if (stat(study_arg, &sb) == 0 && S_ISDIR(sb.st_mode))
			st = bmeq_study_discover(study_arg, pattern, BMEQ_T1_PATTERN_DEFAULT, &study);
		else
			st = bmeq_study_from_manifest(study_arg, &study);
		if (st != BMEQ_OK)
			return bmeq_cli_status("report", study_arg, st);
	}
	st = bmeq_report_write(study, outdir, &opts, &sum);
	bmeq_study_destroy(study);
	if (st != BMEQ_OK)
		return bmeq_cli_status("report", outdir, st);
	fprintf(stderr,
		"bmeq: report: %zu scans (%zu failed), %zu pictures, %zu could not be drawn; "
		"pictures of %zu scans kept (unchanged)\n",
		sum.scans, sum.failed, sum.pictures, sum.pictures_skipped, sum.scans_pictures_kept);
	printf("%s/%s\n", outdir, bmeq_out_name(BMEQ_OUT_REPORT));
	return BMEQ_EXIT_OK;
}
