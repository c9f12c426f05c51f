/* cmd_batch.c - `bmeq batch STUDY_DIR|MANIFEST.csv -o OUT`: a whole study. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/batch.h"
#include "bmeq/config.h"
#include "bmeq/files.h"
#include "bmeq/outdir.h"
#include "bmeq/settings.h"
#include "bmeq/shard.h"
#include "cli.h"

static const char batch_help[] =
	"usage: bmeq batch STUDY_DIR|MANIFEST.csv -o OUT [-j N] [--resume] [--pattern GLOB]\n"
	"                  [--t1-pattern GLOB] [--config FILE] [--shard K/N] [--review FILE]\n"
	"                  [--quiet]\n"
	"\n"
	"Measures every scan of a study, compares every follow-up with the subject's\n"
	"baseline and previous visit, and writes OUT/scans.csv, OUT/lesions.csv,\n"
	"OUT/response.csv, OUT/response_interval.csv, OUT/provenance.json and per-scan\n"
	"outputs under OUT/<subject>/<session>/.\n"
	"\n"
	"STUDY_DIR is a BIDS-like folder (sub-*/ses-*/anat/*); MANIFEST.csv has columns\n"
	"subject, session, path (relative paths resolve against its folder) and optional\n"
	"date, roi, reference, threshold_factor (a reader's factor for the threshold\n"
	"rule of that scan, 0 < K <= 100; empty: automatic), t1 (the visit's T1); its\n"
	"other columns are carried into the tables unchanged. In a study folder the\n"
	"visit's T1 is the file of the same anat/ folder matching --t1-pattern.\n"
	"\n"
	"Corrections: a reader's corrected regions (OUT/<subject>/<session>/<stem>_roi.nii.gz\n"
	"edited in ITK-SNAP or 3D Slicer), saved as the only .nii/.nii.gz file in\n"
	"OUT/corrections/<subject>/<session>/, replace that scan's regions; --resume then\n"
	"measures that scan again and only the comparisons that use it (see README).\n"
	"\n"
	"  -o, --output DIR  output folder (required)\n"
	"  -j N            parallel workers (default: the number of cores)\n"
	"  --resume        reuse scans already complete in OUT with unchanged inputs\n"
	"  --pattern GLOB  which files in anat/ are scans (default *acq-STIR*)\n"
	"  --t1-pattern GLOB  which file in anat/ is the visit's T1 (default *_T1w.nii*;\n"
	"                  \"\" for none)\n"
	"  --config FILE   settings (key = value), see README\n"
	"  --shard K/N     run only the K-th (1..N) of N slices of whole subjects; OUT\n"
	"                  is that shard's folder; join the N folders with bmeq merge\n"
	"  --review FILE   a reader's sign-off exported from report.html (review.csv):\n"
	"                  a review column in scans.csv and the response tables;\n"
	"                  excluded sides become not_evaluable with the reason\n"
	"  --quiet         no progress lines\n"
	"\n"
	"Exit status: 0 all scans measured, 6 some scans failed (status=error rows),\n"
	"2 usage, 3 study unreadable or manifest invalid, 4 output not writable or\n"
	"locked, 130 interrupted (finished scans are kept: rerun with --resume).\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

typedef struct progress_state {
	int tty, quiet;
	double last_print;
} progress_state;

static void progress(void *ctx, size_t done, size_t total, size_t failed, size_t skipped,
		     double elapsed)
{
	progress_state *p = ctx;
	double rate = elapsed > 0 ? (double)(done - skipped) / elapsed : 0.0;
	double eta = rate > 0 ? (double)(total - done) / rate : 0.0;

	if (p->quiet)
		return;
	if (p->tty) {
		fprintf(stderr, "\rbmeq: batch: %zu/%zu scans, %zu failed, %zu reused, %.2f scans/s, ETA %.0f s   ",
			done, total, failed, skipped, rate, eta);
		if (done == total)
			fputc('\n', stderr);
	} else if (done == total || elapsed - p->last_print >= 10.0 || done == 1) {
		fprintf(stderr, "bmeq: batch: %zu/%zu scans, %zu failed, %zu reused, %.2f scans/s, ETA %.0f s\n",
			done, total, failed, skipped, rate, eta);
		p->last_print = elapsed;
	}
	fflush(stderr);
}

int bmeq_cmd_batch(int argc, char **argv)
{
	const char *input = NULL, *outdir = NULL, *pattern = NULL, *config = NULL;
	const char *review_path = NULL;
	bmeq_review *review = NULL;
	const char *t1_pattern = BMEQ_T1_PATTERN_DEFAULT;
	bmeq_batch_opts opts;
	progress_state ps = {0};
	bmeq_study *study = NULL;
	bmeq_batch_summary sum;
	char *config_text = NULL;
	bmeq_status st;
	int shard_k = 0, shard_n = 0, used;
	int jobs = bmeq_cli_default_jobs();
	/* The batch's own flags among the settings (-j); the measurement's
	 * settings come from --config, so that provenance and merge see them. */
	bmeq_settings_target flags = {NULL, NULL, &jobs};

	for (int i = 1; i < argc; i++)
		if (bmeq_cli_is_help(argv[i])) {
			fputs(batch_help, stdout);
			return BMEQ_EXIT_OK;
		}
	bmeq_batch_opts_init(&opts);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (o[0] != '-') {
			if (input) {
				bmeq_cli_error("batch", o, "only one study per call");
				return BMEQ_EXIT_USAGE;
			}
			input = o;
		} else if (strcmp(o, "--resume") == 0) {
			opts.resume = 1;
		} else if (strcmp(o, "--quiet") == 0 || strcmp(o, "-q") == 0) {
			ps.quiet = 1;
		} else if (!v) {
			bmeq_cli_error("batch", o, "needs a value (try bmeq batch --help)");
			return BMEQ_EXIT_USAGE;
		} else if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
			outdir = v;
			i++;
		} else if ((used = bmeq_settings_flag(&flags, o, v)) != 0) {
			if (used < 0) {
				bmeq_cli_error("batch", o, "%s", bmeq_last_error());
				return BMEQ_EXIT_USAGE;
			}
			i += used - 1;
		} else if (strcmp(o, "--pattern") == 0) {
			pattern = v;
			i++;
		} else if (strcmp(o, "--t1-pattern") == 0) {
			t1_pattern = v[0] ? v : NULL;
			i++;
		} else if (strcmp(o, "--shard") == 0) {
			char tail;
			if (sscanf(v, "%d/%d%c", &shard_k, &shard_n, &tail) != 2 || shard_n < 1 ||
			    shard_n > BMEQ_SHARDS_MAX || shard_k < 1 || shard_k > shard_n) {
				bmeq_cli_error("batch", "--shard",
					       "needs K/N with 1 <= K <= N <= %d (K counts from 1)",
					       BMEQ_SHARDS_MAX);
				return BMEQ_EXIT_USAGE;
			}
			i++;
		} else if (strcmp(o, "--config") == 0) {
			config = v;
			i++;
		} else if (strcmp(o, "--review") == 0) {
			review_path = v;
			i++;
		} else {
			bmeq_cli_error("batch", o, "unknown option (try bmeq batch --help)");
			return BMEQ_EXIT_USAGE;
		}
	}
	if (!input || !outdir) {
		bmeq_cli_error("batch", NULL, "need a study and -o OUT (try bmeq batch --help)");
		return BMEQ_EXIT_USAGE;
	}
	opts.jobs = jobs;
	if (config) {
		size_t n;
		if (bmeq_read_file(config, BMEQ_CLI_CONFIG_MAX_BYTES, &config_text, &n) != BMEQ_OK) {
			bmeq_cli_error("batch", config, "cannot read the configuration file: %s",
				       bmeq_last_error());
			return BMEQ_EXIT_INPUT;
		}
		bmeq_settings_target t = {&opts.measure, &opts.response_rule, NULL};
		st = bmeq_config_apply(config_text, n, &t);
		if (st != BMEQ_OK) {
			free(config_text);
			return bmeq_cli_status("batch", config, st);
		}
		opts.config_text = config_text;
	}

	struct stat sb;
	if (stat(input, &sb) == 0 && S_ISDIR(sb.st_mode))
		st = bmeq_study_discover(input, pattern, t1_pattern, &study);
	else
		st = bmeq_study_from_manifest(input, &study);
	if (st != BMEQ_OK) {
		free(config_text);
		return bmeq_cli_status("batch", input, st);
	}
	for (size_t w = 0; w < study->nwarnings; w++)
		bmeq_cli_error("batch", "warning", "%s", study->warnings[w]);
	if (review_path && (st = bmeq_review_read(review_path, study, &review)) != BMEQ_OK) {
		bmeq_study_destroy(study);
		free(config_text);
		return bmeq_cli_status("batch", review_path, st);
	}
	opts.review = review;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	opts.cancel = &interrupted;
	ps.tty = isatty(STDERR_FILENO);
	opts.progress = progress;
	opts.progress_ctx = &ps;

	if (shard_n)
		st = bmeq_batch_run_shard(study, shard_k, shard_n, outdir, &opts, &sum);
	else
		st = bmeq_batch_run(study, outdir, &opts, &sum);
	bmeq_study_destroy(study);
	bmeq_review_destroy(review);
	free(config_text);
	if (st != BMEQ_OK)
		return bmeq_cli_status("batch", outdir, st);
	if (sum.cancelled) {
		bmeq_cli_error("batch", "interrupted",
			       "%zu of the scans finished and were kept; rerun with --resume", sum.scans);
		return 130;
	}
	if (!ps.quiet)
		fprintf(stderr, "bmeq: batch: %s%zu scans (%zu failed, %zu reused) in %.1f s\n",
			shard_n ? "this shard: " : "", sum.scans,
			sum.failed, sum.skipped, sum.seconds);
	bmeq_cli_print_outputs(outdir);
	if (shard_n)
		printf("%s/%s\n", outdir, bmeq_out_name(BMEQ_OUT_SHARD));
	return sum.failed ? BMEQ_EXIT_PARTIAL : BMEQ_EXIT_OK;
}
