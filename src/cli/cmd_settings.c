/* cmd_settings.c - `bmeq settings`: the table of every setting. */
#include <stdio.h>
#include <string.h>

#include "bmeq/settings.h"
#include "cli.h"

static const char settings_help[] =
	"usage: bmeq settings [--markdown | --tsv]\n"
	"\n"
	"Prints every setting of a configuration file (bmeq batch --config, bmeq\n"
	"measure --config) at its default, with its range and unit: a configuration\n"
	"file to start from. --markdown prints the whole table instead (type, range,\n"
	"default, unit, what it changes, command-line flag, help), as in the README;\n"
	"--tsv the columns key, type, changes, config, flag, default and example\n"
	"(a valid value other than the default) separated by tabs, for scripts.\n"
	"Settings that change a scan's numbers are part of the --resume key.\n"
	"Exit status: 0 ok, 2 usage.\n";

int bmeq_cmd_settings(int argc, char **argv)
{
	int kind = 0;

	for (int i = 1; i < argc; i++) {
		if (bmeq_cli_is_help(argv[i])) {
			fputs(settings_help, stdout);
			return BMEQ_EXIT_OK;
		}
		if (strcmp(argv[i], "--markdown") == 0) {
			kind = 1;
		} else if (strcmp(argv[i], "--tsv") == 0) {
			kind = 2;
		} else {
			bmeq_cli_error("settings", argv[i], "unknown option (try bmeq settings --help)");
			return BMEQ_EXIT_USAGE;
		}
	}
	bmeq_settings_print(stdout, kind);
	return BMEQ_EXIT_OK;
}
