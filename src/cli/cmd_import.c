/* cmd_import.c - `bmeq import ROOT -o MANIFEST`: a manifest from DICOM exports. */
#include <stdio.h>
#include <string.h>

#include "bmeq/import.h"
#include "cli.h"

static const char import_help[] =
	"usage: bmeq import ROOT -o MANIFEST [--stir PATTERNS] [--t1 PATTERNS]\n"
	"                   [--subject-level N] [--session-level N] [--no-ir-fallback]\n"
	"                   [--dicom-timeout S]\n"
	"\n"
	"Walks the DICOM exports under ROOT (any depth, with or without a DICOMDIR) and\n"
	"writes MANIFEST (subject, session, path, date, t1) for bmeq batch: one row per\n"
	"visit (a subject's study) with its STIR series and, when present, its T1 series.\n"
	"Visits the rules cannot decide (no STIR, several candidates, two studies on one\n"
	"date, a subject folder name that is not safe) are not guessed: they are listed\n"
	"with their candidate series in MANIFEST's name with _review.csv for a person,\n"
	"and so is every folder that cannot be read (no permission, or the DICOM reader\n"
	"failed or crashed on one of its files), each also named on stderr.\n"
	"\n"
	"  -o, --output MANIFEST  the manifest to write (and MANIFEST_review.csv)\n"
	"  --stir PATTERNS        description patterns of the STIR series, comma-separated,\n"
	"                         in priority order; case-insensitive shell patterns, or\n"
	"                         substrings (default \"" BMEQ_IMPORT_STIR_DEFAULT "\"). The first\n"
	"                         pattern matching any series decides: one match is the\n"
	"                         STIR, several go to review\n"
	"  --t1 PATTERNS          the same for the T1 series (default \"" BMEQ_IMPORT_T1_DEFAULT "\";\n"
	"                         \"\" for none); several matches send the visit to review\n"
	"  --subject-level N      the folder level below ROOT naming the subject (default 1:\n"
	"                         ROOT/<subject>/...); patient names and IDs in the headers\n"
	"                         are never read\n"
	"  --session-level N      the folder level naming the session (default: the study\n"
	"                         date, YYYYMMDD)\n"
	"  --no-ir-fallback       without a description match, do not take the one\n"
	"                         inversion-recovery series with TI 80-300 ms as the STIR\n"
	"  --dicom-timeout S      stop the DICOM reader after S seconds on one folder (the\n"
	"                         folder is then listed for review; scan.dicom_timeout_s,\n"
	"                         1 to 86400; default 120)\n"
	"\n"
	"Exit status: 0 every visit decided, 6 some visits or folders left for review,\n"
	"2 usage, "
	"3 ROOT unreadable or without DICOM series, 4 MANIFEST not\n"
	"writable.\n";

int bmeq_cmd_import(int argc, char **argv)
{
	const char *root = NULL, *out = NULL;
	bmeq_import_rules r;
	bmeq_import_summary sum;

	bmeq_import_rules_init(&r);
	for (int i = 1; i < argc; i++)
		if (bmeq_cli_is_help(argv[i])) {
			fputs(import_help, stdout);
			return BMEQ_EXIT_OK;
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		if (a[0] != '-') {
			if (root) {
				bmeq_cli_error("import", a, "only one ROOT may be given");
				return BMEQ_EXIT_USAGE;
			}
			root = a;
			continue;
		}
		if (strcmp(a, "--no-ir-fallback") == 0) {
			r.ir_fallback = 0;
			continue;
		}
		int used = bmeq_cli_dicom_timeout_flag("import", a, v);
		if (used < 0)
			return BMEQ_EXIT_USAGE;
		if (used > 0) {
			i += used - 1;
			continue;
		}
		if (!v) {
			bmeq_cli_error("import", a, "needs a value (try bmeq import --help)");
			return BMEQ_EXIT_USAGE;
		}
		i++;
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			out = v;
		} else if (strcmp(a, "--stir") == 0) {
			r.stir = v;
		} else if (strcmp(a, "--t1") == 0) {
			r.t1 = v;
		} else if (strcmp(a, "--subject-level") == 0 || strcmp(a, "--session-level") == 0) {
			int subj = a[2] == 's' && a[3] == 'u';
			if (bmeq_cli_parse_long(v, subj ? 1 : 0, 32, &n) != 0) {
				bmeq_cli_error("import", a, "needs a folder level %s to 32", subj ? "1" : "0");
				return BMEQ_EXIT_USAGE;
			}
			if (subj)
				r.subject_level = (int)n;
			else
				r.session_level = (int)n;
		} else {
			bmeq_cli_error("import", a, "unknown option (try bmeq import --help)");
			return BMEQ_EXIT_USAGE;
		}
	}
	if (!root || !out) {
		bmeq_cli_error("import", NULL, "ROOT and -o MANIFEST are required (try bmeq import --help)");
		return BMEQ_EXIT_USAGE;
	}
	if (!r.stir[0]) {
		bmeq_cli_error("import", "--stir", "needs at least one pattern");
		return BMEQ_EXIT_USAGE;
	}
	bmeq_status st = bmeq_import(root, &r, out, &sum);
	if (st != BMEQ_OK) {
		bmeq_import_summary_free(&sum);
		return bmeq_cli_status("import", root, st);
	}
	/* Never silent: each folder not read is named here and in the review table. */
	for (size_t i = 0; i < sum.unreadable; i++)
		bmeq_cli_error("import", NULL, "%s (folder not read: listed in the review table)",
			       sum.unreadable_folders[i]);
	printf("%zu series in %zu folders, %zu visits: %zu in %s, %zu for review", sum.series,
	       sum.folders, sum.visits, sum.written, out, sum.review);
	if (sum.unreadable)
		printf("; %zu folder(s) not read, also for review", sum.unreadable);
	printf("\n");
	int partial = sum.review || sum.unreadable;
	bmeq_import_summary_free(&sum);
	if (fflush(stdout) != 0)
		return BMEQ_EXIT_OUTPUT;
	return partial ? BMEQ_EXIT_PARTIAL : BMEQ_EXIT_OK;
}
