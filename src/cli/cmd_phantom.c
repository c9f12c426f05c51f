/* cmd_phantom.c - `bmeq phantom -o DIR`: write a synthetic longitudinal hip
 * STIR study with exact ground truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/phantom.h"
#include "cli.h"

static const char phantom_help[] =
	"usage: bmeq phantom -o DIR [--subjects N] [--sessions K] [--seed S] [--t1]\n"
	"                    [--fatsat-failure] [--edema realistic|bright]\n"
	"                    [--tissue real|classic] [--gzip-level L]\n"
	"\n"
	"Writes a synthetic longitudinal hip MRI study with exact ground truth:\n"
	"  DIR/sub-XX/ses-YY/anat/sub-XX_ses-YY_acq-STIR_T2w.nii.gz   the scans\n"
	"  DIR/derivatives/truth/.../*_desc-hips_dseg.nii.gz          1 right head, 2 left head,\n"
	"                                                            3 right neck, 4 left neck\n"
	"  DIR/derivatives/truth/.../*_desc-edema_dseg.nii.gz         the same labels on edema\n"
	"  DIR/manifest.csv   subject,session,path,date,cycle,dose_ng_kg_min (with --t1:\n"
	"                     subject,session,path,t1,date,...)\n"
	"  DIR/truth.json     per scan and side: head/neck/edema volumes (mL), lesion count,\n"
	"                     head centre (RAS mm) and radius, the session's rigid transform,\n"
	"                     and per hip the edema trajectory, pattern and contrast\n"
	"Edema truth is the zone where the edema process (before texture and noise) is at\n"
	"least half its full strength: what a reader outlines.\n"
	"The scans cycle through coronal, axial and oblique slices, a flipped left-right\n"
	"storage order, int16 / uint16 with scl_slope / float32, NIfTI-1 / NIfTI-2 and\n"
	"qform-only / sform-only / both; 6 scans or more hold every variant.\n"
	"\n"
	"  -o, --output DIR   output folder (created if missing)\n"
	"  --subjects N       subjects, 1-99 (default 6)\n"
	"  --sessions K       sessions per subject, 1-99 (default 3)\n"
	"  --seed S           random seed, a non-negative integer (default 1); the same seed\n"
	"                     gives the same voxels on every machine\n"
	"  --t1               also write each session's T1-weighted twin beside its STIR\n"
	"                     (sub-XX_ses-YY_T1w.nii.gz): the same anatomy and edema on its\n"
	"                     own grid (3.5-4.5 mm slices, a wider field of view, coronal or\n"
	"                     axial), after the patient moved 1-3 degrees and 1-4 mm per\n"
	"                     axis; truth maps *_space-T1w_desc-*_dseg on its grid\n"
	"  --fatsat-failure   every STIR gets a failed fat suppression: fat and marrow bright\n"
	"                     over a band from the field of view's edge to about the middle\n"
	"                     of one femoral head (a hip without edema where there is one);\n"
	"                     not edema, so the truth maps do not change; truth.json says\n"
	"                     where\n"
	"  --edema MODEL      how edema looks (recorded in truth.json; the truth is the same):\n"
	"                     realistic (default) as on real clinical STIR: 1.4-2.6x normal\n"
	"                     marrow at full strength, patchy (about +-20 %), edges graded\n"
	"                     over 2-5 mm; bright: the earlier 2.5-5x uniform lesions\n"
	"  --tissue MODEL     the STIR's tissue levels (recorded in truth.json): classic\n"
	"                     (default): fat 0.12, muscle 0.9, fatty marrow 0.42, so muscle\n"
	"                     is twice as bright as marrow; real: as measured on real STIR,\n"
	"                     fat and fatty marrow about the level of muscle (harder for the\n"
	"                     segmentation: see bench/RESULTS.md)\n"
	"  --gzip-level L     1-9 (default 1)\n"
	"  -h, --help         this help\n"
	"\n"
	"Exit status: 0 ok, 2 usage error, 4 output not writable.\n";

int bmeq_cmd_phantom(int argc, char **argv)
{
	const char *out = NULL;
	long nsub = 6, nses = 3, level = 1;
	unsigned long long seed = 1;
	bmeq_phantom_study_opts opts;
	bmeq_status st;

	bmeq_phantom_study_opts_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (bmeq_cli_is_help(a)) {
			fputs(phantom_help, stdout);
			return BMEQ_EXIT_OK;
		}
		if (strcmp(a, "--t1") == 0) {
			opts.with_t1 = 1;
			continue;
		}
		if (strcmp(a, "--fatsat-failure") == 0) {
			opts.fatsat_failure = 1;
			continue;
		}
		int known = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
			    strcmp(a, "--subjects") == 0 || strcmp(a, "--sessions") == 0 ||
			    strcmp(a, "--seed") == 0 || strcmp(a, "--gzip-level") == 0 ||
			    strcmp(a, "--edema") == 0 || strcmp(a, "--tissue") == 0;
		if (!known) {
			bmeq_cli_error("phantom", a, "unknown option (try bmeq phantom --help)");
			return BMEQ_EXIT_USAGE;
		}
		if (!v) {
			bmeq_cli_error("phantom", a, "needs a value");
			return BMEQ_EXIT_USAGE;
		}
		i++;
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			out = v;
		} else if (strcmp(a, "--subjects") == 0) {
			if (bmeq_cli_parse_long(v, 1, 99, &nsub) != 0) {
				bmeq_cli_error("phantom", a, "'%s' is not an integer in 1-99", v);
				return BMEQ_EXIT_USAGE;
			}
		} else if (strcmp(a, "--sessions") == 0) {
			if (bmeq_cli_parse_long(v, 1, 99, &nses) != 0) {
				bmeq_cli_error("phantom", a, "'%s' is not an integer in 1-99", v);
				return BMEQ_EXIT_USAGE;
			}
		} else if (strcmp(a, "--edema") == 0) {
			int model = bmeq_phantom_edema_model_parse(v);
			if (model < 0) {
				bmeq_cli_error("phantom", a, "'%s' is not realistic or bright", v);
				return BMEQ_EXIT_USAGE;
			}
			opts.edema_model = model;
		} else if (strcmp(a, "--tissue") == 0) {
			int model = bmeq_phantom_tissue_model_parse(v);
			if (model < 0) {
				bmeq_cli_error("phantom", a, "'%s' is not real or classic", v);
				return BMEQ_EXIT_USAGE;
			}
			opts.tissue_model = model;
		} else if (strcmp(a, "--gzip-level") == 0) {
			if (bmeq_cli_parse_long(v, 1, 9, &level) != 0) {
				bmeq_cli_error("phantom", a, "'%s' is not an integer in 1-9", v);
				return BMEQ_EXIT_USAGE;
			}
			opts.gzip_level = (int)level;
		} else {
			char *end = NULL;
			if (v[0] < '0' || v[0] > '9') {
				bmeq_cli_error("phantom", a, "'%s' is not a non-negative integer", v);
				return BMEQ_EXIT_USAGE;
			}
			seed = strtoull(v, &end, 10);
			if (!end || *end) {
				bmeq_cli_error("phantom", a, "'%s' is not a non-negative integer", v);
				return BMEQ_EXIT_USAGE;
			}
		}
	}
	if (!out) {
		bmeq_cli_error("phantom", NULL, "an output folder is required (-o DIR)");
		return BMEQ_EXIT_USAGE;
	}
	st = bmeq_phantom_study_write(out, (unsigned)nsub, (unsigned)nses, (uint64_t)seed, &opts);
	if (st != BMEQ_OK)
		return bmeq_cli_status("phantom", out, st);
	return BMEQ_EXIT_OK;
}
