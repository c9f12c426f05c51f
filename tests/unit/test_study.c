/* test_study.c - manifests, discovery, natural order, configuration. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/config.h"
#include "bmeq/hash.h"
#include "bmeq/study.h"
#include "check.h"

static char tmpdir[] = "/tmp/bmeq_study_XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bmeq_status manifest(const char *text, bmeq_study **s)
{
	char path[512];
	write_file("m.csv", text);
	snprintf(path, sizeof(path), "%s/m.csv", tmpdir);
	return bmeq_study_from_manifest(path, s);
}

static void test_natural(void)
{
	CHECK(bmeq_natural_compare("ses-2", "ses-10") < 0);
	CHECK(bmeq_natural_compare("ses-10", "ses-2") > 0);
	CHECK(bmeq_natural_compare("a", "a") == 0);
	CHECK(bmeq_natural_compare("01", "1") != 0);
	CHECK(bmeq_natural_compare("sub-9", "sub-09x") < 0);
}

static void test_manifest(void)
{
	bmeq_study *s = NULL;

	CHECK(manifest("subject,session,path,date,cycle,harris_hip_score\n"
		       "sub-02,ses-b,x/b.nii.gz,2024-03-01,2,97\n"
		       "sub-02,ses-a,x/a.nii.gz,2024-01-01,1,\"29,90\"\n"
		       "1,10,/abs/c.nii,,1,50\n"
		       "1,2,c2.nii,,1,51\n",
		       &s) == BMEQ_OK);
	if (s) {
		CHECK(s->n == 4);
		CHECK(s->nextra == 2);
		CHECK(strcmp(s->extra_names[0], "cycle") == 0);
		/* subject 1 before 02 (natural), sessions 2 before 10, dates before labels. */
		CHECK(strcmp(s->items[0].subject, "1") == 0 && strcmp(s->items[0].session, "2") == 0);
		CHECK(strcmp(s->items[1].session, "10") == 0);
		CHECK(strcmp(s->items[1].path, "/abs/c.nii") == 0);
		CHECK(strcmp(s->items[2].session, "a") == 0);
		CHECK(strcmp(s->items[2].extra[1], "29,90") == 0);
		char want[512];
		snprintf(want, sizeof(want), "%s/x/a.nii.gz", tmpdir);
		CHECK(strcmp(s->items[2].path, want) == 0);
	}
	bmeq_study_destroy(s);

	CHECK(manifest("subject,path\n1,a.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "\"session\" is missing") != NULL);
	CHECK(manifest("subject,session,path\n1,1,a.nii\n1,1,b.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "appears twice") != NULL);
	CHECK(manifest("subject,session,path\n1,1,\"a.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "unterminated") != NULL);
	CHECK(manifest("subject,session,path\n../x,1,a.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "safe name") != NULL);
	CHECK(manifest("subject,session,path\n", &s) == BMEQ_E_FORMAT);
	CHECK(s == NULL);
}

static void test_discover(void)
{
	char p[600];
	bmeq_study *s = NULL;
	const char *dirs[] = {"study", "study/sub-01", "study/sub-01/ses-1", "study/sub-01/ses-1/anat",
			      "study/sub-01/ses-10", "study/sub-01/ses-10/anat", "study/sub-02",
			      "study/sub-02/ses-2", "study/sub-02/ses-2/anat"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, dirs[i]);
		CHECK(mkdir(p, 0777) == 0);
	}
	write_file("study/sub-01/ses-1/anat/sub-01_ses-1_acq-STIR_T2w.nii.gz", "x");
	write_file("study/sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz", "x");
	write_file("study/sub-01/ses-10/anat/sub-01_ses-10_acq-STIR_T2w.nii.gz", "x");
	write_file("study/sub-02/ses-2/anat/sub-02_ses-2_acq-STIR_T2w.nii", "x");
	write_file("study/sub-02/ses-2/anat/sub-02_ses-2_acq-STIR_T2w.json", "{}");
	/* A symbolic link loop must not hang discovery. */
	snprintf(p, sizeof(p), "%s/study/sub-02/ses-2/anat/loop", tmpdir);
	char target[600];
	snprintf(target, sizeof(target), "%s/study", tmpdir);
	CHECK(symlink(target, p) == 0);
	snprintf(p, sizeof(p), "%s/study/sub-03", tmpdir);
	CHECK(symlink(target, p) == 0);

	snprintf(p, sizeof(p), "%s/study", tmpdir);
	CHECK(bmeq_study_discover(p, NULL, &s) == BMEQ_OK);
	if (s) {
		CHECK(s->n == 3);
		CHECK(strcmp(s->items[0].subject, "01") == 0 && strcmp(s->items[0].session, "1") == 0);
		CHECK(strcmp(s->items[1].session, "10") == 0);
		CHECK(strcmp(s->items[2].subject, "02") == 0);
	}
	bmeq_study_destroy(s);
	CHECK(bmeq_study_discover(p, "*T1w*", &s) == BMEQ_OK);
	if (s)
		CHECK(s->n == 1);
	bmeq_study_destroy(s);
	CHECK(bmeq_study_discover(p, "*.nii*", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "two scans") != NULL);
	CHECK(bmeq_study_discover(p, "*nothing*", &s) == BMEQ_E_IO);
	CHECK(bmeq_study_discover("/nonexistent/dir", NULL, &s) == BMEQ_E_IO);
}

static void test_config(void)
{
	bmeq_measure_opts m;

	bmeq_measure_opts_init(&m);
	const char *good = "# comment\nthreshold.rule = q3+1.5iqr\n\nlesion.min_voxels=12 # trailing\n"
			   "bias.correct = no\nlesion.connectivity = 6\n";
	CHECK(bmeq_config_apply(good, strlen(good), &m, NULL, NULL) == BMEQ_OK);
	CHECK(m.edema.rule.kind == BMEQ_RULE_Q3_IQR);
	CHECK(m.edema.min_lesion_voxels == 12);
	CHECK(m.bias_correct == 0);
	CHECK(m.edema.connectivity == 6);
	const char *bad1 = "threshold.rule = q3+1.5iqr\nlesion.size = 3\n";
	CHECK(bmeq_config_apply(bad1, strlen(bad1), &m, NULL, NULL) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "line 2") != NULL);
	const char *bad2 = "lesion.connectivity = 7\n";
	CHECK(bmeq_config_apply(bad2, strlen(bad2), &m, NULL, NULL) == BMEQ_E_FORMAT);
	const char *bad3 = "just words\n";
	CHECK(bmeq_config_apply(bad3, strlen(bad3), &m, NULL, NULL) == BMEQ_E_FORMAT);
	const char *bad4 = "response.partial_pct = 30\n";
	CHECK(bmeq_config_apply(bad4, strlen(bad4), &m, NULL, NULL) == BMEQ_E_FORMAT);

	/* threshold.band: a fraction 0 <= band < 1 (default 0.15, calibrated on the phantom). */
	bmeq_measure_opts_init(&m);
	CHECK(m.edema.band == 0.15);
	/* The smoothing, the reference level, the edge band and the automatic floor. */
	CHECK(m.edema.smooth_mm == 1.5 && m.edema.reference_from_region == 1);
	CHECK(m.edema.edge_band == 0.15 && m.edema.halfmax_floor == 0.0);
	const char *meth = "threshold.smooth_mm = 0\nreference.level = mask\n"
			   "threshold.edge_band = 0.2\nthreshold.halfmax_floor = 1.3\n";
	CHECK(bmeq_config_apply(meth, strlen(meth), &m, NULL, NULL) == BMEQ_OK);
	CHECK(m.edema.smooth_mm == 0.0 && m.edema.reference_from_region == 0);
	CHECK(m.edema.edge_band == 0.2 && m.edema.halfmax_floor == 1.3);
	static const char *const bad_meth[] = {
		"threshold.smooth_mm = -1\n", "threshold.smooth_mm = 11\n", "reference.level = both\n",
		"threshold.edge_band = 0.5\n", "threshold.halfmax_floor = 0.5\n",
	};
	for (size_t i = 0; i < sizeof(bad_meth) / sizeof(bad_meth[0]); i++)
		CHECK(bmeq_config_apply(bad_meth[i], strlen(bad_meth[i]), &m, NULL, NULL) == BMEQ_E_FORMAT);
	bmeq_measure_opts_init(&m);
	const char *band = "threshold.band = 0.25\n";
	CHECK(bmeq_config_apply(band, strlen(band), &m, NULL, NULL) == BMEQ_OK);
	CHECK(m.edema.band == 0.25);
	const char *band0 = "threshold.band = 0\n";
	CHECK(bmeq_config_apply(band0, strlen(band0), &m, NULL, NULL) == BMEQ_OK);
	CHECK(m.edema.band == 0.0);
	const char *bad_bands[] = {"threshold.band = 1\n", "threshold.band = -0.1\n",
				   "threshold.band = 10%\n", "threshold.band = nan\n"};
	for (size_t i = 0; i < 4; i++) {
		CHECK(bmeq_config_apply(bad_bands[i], strlen(bad_bands[i]), &m, NULL, NULL) ==
		      BMEQ_E_FORMAT);
		CHECK(strstr(bmeq_last_error(), "threshold.band") != NULL);
	}
	CHECK(m.edema.band == 0.0); /* unchanged by the refused values */
}

static void test_threshold_factor(void)
{
	bmeq_study *s = NULL;
	double k = -1.0;

	CHECK(bmeq_threshold_factor_parse("1.6", &k) == BMEQ_OK && k == 1.6);
	CHECK(bmeq_threshold_factor_parse(" 2 ", &k) == BMEQ_OK && k == 2.0);
	CHECK(bmeq_threshold_factor_parse("100", &k) == BMEQ_OK && k == 100.0);
	const char *bad[] = {"", "abc", "0", "-1", "100.5", "1.5x", "nan", "inf", "1e999", "1,5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k = 7.0;
		CHECK(bmeq_threshold_factor_parse(bad[i], &k) == BMEQ_E_ARG);
		CHECK(k == 7.0);
	}

	/* The manifest column: empty is automatic, a number is the reader's; it is
	 * read, not carried through as an extra column. */
	CHECK(manifest("subject,session,path,threshold_factor,cycle\n"
		       "01,1,a.nii,,0\n"
		       "01,2,b.nii,1.6,1\n"
		       "01,3,c.nii, 2 ,2\n",
		       &s) == BMEQ_OK);
	if (s) {
		CHECK(s->n == 3 && s->nextra == 1 && strcmp(s->extra_names[0], "cycle") == 0);
		CHECK(s->items[0].threshold_factor == 0.0);
		CHECK(s->items[1].threshold_factor == 1.6);
		CHECK(s->items[2].threshold_factor == 2.0);
		CHECK(strcmp(s->items[1].extra[0], "1") == 0);
		bmeq_study_destroy(s);
		s = NULL;
	}
	/* Without the column every scan is automatic. */
	CHECK(manifest("subject,session,path\n01,1,a.nii\n", &s) == BMEQ_OK);
	if (s) {
		CHECK(s->items[0].threshold_factor == 0.0);
		bmeq_study_destroy(s);
		s = NULL;
	}
	/* A bad value stops the manifest with its line. */
	const char *bad_rows[] = {"abc", "0", "-1.5", "250", "1.5 mL"};
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "subject,session,path,threshold_factor\n01,1,a.nii,\n"
					     "01,2,b.nii,%s\n",
			 bad_rows[i]);
		CHECK(manifest(text, &s) == BMEQ_E_FORMAT && s == NULL);
		CHECK(strstr(bmeq_last_error(), "line 3: threshold_factor") != NULL);
	}
}

static void test_hash(void)
{
	char hex[65];
	/* FIPS 180-2 test vector. */
	bmeq_sha256_buffer("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	CHECK(bmeq_sha256_file("/nonexistent", hex) == BMEQ_E_IO);
}

int main(void)
{
	CHECK(mkdtemp(tmpdir) != NULL);
	test_natural();
	test_manifest();
	test_discover();
	test_config();
	test_threshold_factor();
	test_hash();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
	CHECK_DONE();
}
