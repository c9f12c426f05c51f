/* main.c - `bmeq <command> [options] args`: dispatch to the commands. */
#include <stdio.h>
#include <string.h>

#include "bmeq/itk.h"
#include "bmeq/status.h"
#include "cli.h"

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} command;

/* In pipeline order. */
static const command commands[] = {
	{"info", bmeq_cmd_info, "print a NIfTI file's header and geometry, or a DICOM folder's series"},
	{"import", bmeq_cmd_import, "write a batch manifest from a tree of DICOM exports"},
	{"phantom", bmeq_cmd_phantom, "write a synthetic hip STIR study with exact ground truth"},
	{"segment", bmeq_cmd_segment, "find both femoral heads and necks and write the region map"},
	{"measure", bmeq_cmd_measure, "measure edema per hip in one scan"},
	{"compare", bmeq_cmd_compare, "compare two visits: change, resolved/new edema and response per hip"},
	{"batch", bmeq_cmd_batch, "measure and compare a whole study into trial tables"},
	{"merge", bmeq_cmd_merge, "join the shard folders of a study run on many machines"},
	{"report", bmeq_cmd_report, "QC pictures and the HTML report of a batch's output folder"},
	{"settings", bmeq_cmd_settings, "every setting with its range and default (a configuration file)"},
};

static void usage(FILE *f)
{
	fprintf(f, "bmeq %s - bone marrow edema quantification in hip MRI\n\n"
		   "usage: bmeq <command> [options] args\n"
		   "       bmeq --version\n"
		   "       bmeq <command> --help\n\ncommands:\n",
		bmeq_version());
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexit codes: 0 ok, 2 usage, 3 unreadable or invalid input, 4 output not "
		   "writable,\n            5 processing failure, 6 batch partly failed\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return BMEQ_EXIT_USAGE;
	}
	if (bmeq_cli_is_help(argv[1])) {
		usage(stdout);
		return BMEQ_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("bmeq %s\n", bmeq_version());
		return BMEQ_EXIT_OK;
	}
	/* ITK runs single-threaded everywhere: bmeq parallelises over scans
	 * (batch -j), and a threaded reduction inside ITK could otherwise make a
	 * scan's numbers depend on how many threads measured it. */
	if (bmeq_itk_set_threads(1) != BMEQ_OK) {
		fprintf(stderr, "bmeq: %s\n", bmeq_last_error());
		return BMEQ_EXIT_PROCESS;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bmeq: %s: unknown command (try bmeq --help)\n", argv[1]);
	return BMEQ_EXIT_USAGE;
}
