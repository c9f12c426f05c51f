/* cmd_merge.c - `bmeq merge OUT_SHARD... -o OUT`: join the shards of a study. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmeq/settings.h"
#include "bmeq/shard.h"
#include "cli.h"

static const char merge_help[] =
	"usage: bmeq merge OUT_SHARD... -o OUT [-j N] [--no-pictures] [--quiet]\n"
	"\n"
	"Joins the folders of `bmeq batch --shard K/N` (all N of them, any order) into\n"
	"OUT as one batch run on one machine would have written it: OUT/scans.csv,\n"
	"OUT/lesions.csv, OUT/response.csv, OUT/response_interval.csv (byte-identical),\n"
	"OUT/provenance.json (the same but for host and timings), every scan's folder\n"
	"OUT/<subject>/<session>/ (hard links to the shards' files where the file\n"
	"system allows, else copies), the QC pictures and OUT/report.html.\n"
	"\n"
	"Refuses folders that are not finished shards, shards of different studies or\n"
	"made with different settings or bmeq versions, and missing or repeated shards.\n"
	"\n"
	"  -o, --output DIR  output folder (required; not one of the shard folders)\n"
	"  -j N            QC pictures drawn in parallel (default: the number of cores)\n"
	"  --no-pictures   keep the shards' QC pictures instead of redrawing them (faster;\n"
	"                  a picture a shard could not draw is then listed without reason)\n"
	"  --quiet         no summary line\n"
	"\n"
	"Exit status: 0 merged and every scan measured, 6 merged but some scans failed\n"
	"(status=error rows), 2 usage, 3 a folder is not a finished shard or the shards\n"
	"do not belong together, 4 output not writable.\n";

int bmeq_cmd_merge(int argc, char **argv)
{
	const char *outdir = NULL;
	const char **dirs;
	size_t ndirs = 0;
	int quiet = 0;
	bmeq_batch_summary sum;
	bmeq_merge_opts mo;
	bmeq_status st;
	int jobs = bmeq_cli_default_jobs(), used;
	bmeq_settings_target flags = {NULL, NULL, &jobs};

	for (int i = 1; i < argc; i++)
		if (bmeq_cli_is_help(argv[i])) {
			fputs(merge_help, stdout);
			return BMEQ_EXIT_OK;
		}
	bmeq_merge_opts_init(&mo);
	dirs = calloc((size_t)argc, sizeof(*dirs));
	if (!dirs) {
		bmeq_cli_error("merge", NULL, "out of memory");
		return BMEQ_EXIT_PROCESS;
	}
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (o[0] != '-') {
			dirs[ndirs++] = o;
		} else if (strcmp(o, "--quiet") == 0 || strcmp(o, "-q") == 0) {
			quiet = 1;
		} else if (strcmp(o, "--no-pictures") == 0) {
			mo.pictures = 0;
		} else if ((used = bmeq_settings_flag(&flags, o, i + 1 < argc ? argv[i + 1] : NULL)) != 0) {
			if (used < 0) {
				bmeq_cli_error("merge", o, "%s", bmeq_last_error());
				free(dirs);
				return BMEQ_EXIT_USAGE;
			}
			i += used - 1;
		} else if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
			if (i + 1 >= argc) {
				bmeq_cli_error("merge", o, "needs a value (try bmeq merge --help)");
				free(dirs);
				return BMEQ_EXIT_USAGE;
			}
			outdir = argv[++i];
		} else {
			bmeq_cli_error("merge", o, "unknown option (try bmeq merge --help)");
			free(dirs);
			return BMEQ_EXIT_USAGE;
		}
	}
	if (!outdir || ndirs == 0) {
		bmeq_cli_error("merge", NULL, "need shard folders and -o OUT (try bmeq merge --help)");
		free(dirs);
		return BMEQ_EXIT_USAGE;
	}
	mo.jobs = jobs;
	st = bmeq_merge_run(dirs, ndirs, outdir, &mo, &sum);
	free(dirs);
	if (st != BMEQ_OK)
		return bmeq_cli_status("merge", st == BMEQ_E_WRITE || st == BMEQ_E_ARG ? outdir : "shards",
				       st);
	if (!quiet)
		fprintf(stderr, "bmeq: merge: %zu shards, %zu scans (%zu failed), %zu comparisons\n",
			ndirs, sum.scans, sum.failed, sum.comparisons);
	bmeq_cli_print_outputs(outdir);
	return sum.failed ? BMEQ_EXIT_PARTIAL : BMEQ_EXIT_OK;
}
