/* test_study.c - manifests, discovery, natural order, configuration. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/config.h"
#include "bmeq/csv.h"
#include "bmeq/hash.h"
#include "bmeq/outdir.h"
#include "bmeq/review.h"
#include "bmeq/settings.h"
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
		/* subject 1 before sub-02 (natural), sessions 2 before 10, dates before
		 * labels; labels exactly as written ("sub-02" stays "sub-02"). */
		CHECK(strcmp(s->items[0].subject, "1") == 0 && strcmp(s->items[0].session, "2") == 0);
		CHECK(strcmp(s->items[1].session, "10") == 0);
		CHECK(strcmp(s->items[1].path, "/abs/c.nii") == 0);
		CHECK(strcmp(s->items[2].subject, "sub-02") == 0);
		CHECK(strcmp(s->items[2].session, "ses-a") == 0);
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
	/* Any label is kept; only its folder is sanitised, and two labels that
	 * would share a folder are refused, naming both lines. */
	CHECK(manifest("subject,session,path\n../x,1,a.nii\nHIP 7,v 1,b.nii\n", &s) == BMEQ_OK);
	if (s) {
		CHECK(strcmp(s->items[0].subject, "../x") == 0);
		CHECK(strcmp(s->items[1].subject, "HIP 7") == 0 && strcmp(s->items[1].session, "v 1") == 0);
	}
	bmeq_study_destroy(s);
	CHECK(manifest("subject,session,path\nHIP 7,1,a.nii\nHIP_7,1,b.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "lines 2 and 3") && strstr(bmeq_last_error(), "one output folder"));
	CHECK(manifest("subject,session,path\n7,v 1,a.nii\n7,v/1,b.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "session \"v 1\" and \"v/1\"") != NULL);
	CHECK(manifest("subject,session,path\n\"a\tb\",1,a.nii\n", &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "control character") != NULL);
	CHECK(manifest("subject,session,path\n,1,a.nii\n", &s) == BMEQ_E_FORMAT);
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
	CHECK(bmeq_study_discover(p, NULL, NULL, &s) == BMEQ_OK);
	if (s) {
		CHECK(s->n == 3);
		/* Labels as the folders write them. */
		CHECK(strcmp(s->items[0].subject, "sub-01") == 0 &&
		      strcmp(s->items[0].session, "ses-1") == 0);
		CHECK(strcmp(s->items[1].session, "ses-10") == 0);
		CHECK(strcmp(s->items[2].subject, "sub-02") == 0);
	}
	bmeq_study_destroy(s);
	CHECK(bmeq_study_discover(p, "*T1w*", NULL, &s) == BMEQ_OK);
	if (s)
		CHECK(s->n == 1);
	bmeq_study_destroy(s);
	CHECK(bmeq_study_discover(p, "*.nii*", NULL, &s) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "two scans") != NULL);
	CHECK(bmeq_study_discover(p, "*nothing*", NULL, &s) == BMEQ_E_IO);
	CHECK(bmeq_study_discover("/nonexistent/dir", NULL, NULL, &s) == BMEQ_E_IO);
}

static void test_config(void)
{
	bmeq_measure_opts m;
	bmeq_settings_target t = {&m, NULL, NULL};

	bmeq_measure_opts_init(&m);
	const char *good = "# comment\nthreshold.rule = q3+1.5iqr\n\nlesion.min_voxels=12 # trailing\n"
			   "bias.correct = no\nlesion.connectivity = 6\n";
	CHECK(bmeq_config_apply(good, strlen(good), &t) == BMEQ_OK);
	CHECK(m.edema.rule.kind == BMEQ_RULE_Q3_IQR);
	CHECK(m.edema.min_lesion_voxels == 12);
	CHECK(m.bias_correct == 0);
	CHECK(m.edema.connectivity == 6);
	const char *bad1 = "threshold.rule = q3+1.5iqr\nlesion.size = 3\n";
	CHECK(bmeq_config_apply(bad1, strlen(bad1), &t) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "line 2") != NULL);
	const char *bad2 = "lesion.connectivity = 7\n";
	CHECK(bmeq_config_apply(bad2, strlen(bad2), &t) == BMEQ_E_FORMAT);
	const char *bad3 = "just words\n";
	CHECK(bmeq_config_apply(bad3, strlen(bad3), &t) == BMEQ_E_FORMAT);
	/* A response key without a rule to set is checked, then dropped. */
	const char *bad4 = "response.partial_pct = 300\n";
	CHECK(bmeq_config_apply(bad4, strlen(bad4), &t) == BMEQ_E_FORMAT);
	const char *good4 = "response.partial_pct = 30\n";
	CHECK(bmeq_config_apply(good4, strlen(good4), &t) == BMEQ_OK);

	/* threshold.band: a fraction 0 <= band < 1 (default 0.15, calibrated on the phantom). */
	bmeq_measure_opts_init(&m);
	CHECK(m.edema.band == 0.15);
	/* The smoothing, the reference level, the edge band and the automatic floor. */
	CHECK(m.edema.smooth_mm == 1.5 && m.edema.reference_from_region == 1);
	CHECK(m.edema.edge_band == 0.15 && m.edema.halfmax_floor == 0.0);
	const char *meth = "threshold.smooth_mm = 0\nreference.level = mask\n"
			   "threshold.edge_band = 0.2\nthreshold.halfmax_floor = 1.3\n";
	CHECK(bmeq_config_apply(meth, strlen(meth), &t) == BMEQ_OK);
	CHECK(m.edema.smooth_mm == 0.0 && m.edema.reference_from_region == 0);
	CHECK(m.edema.edge_band == 0.2 && m.edema.halfmax_floor == 1.3);
	static const char *const bad_meth[] = {
		"threshold.smooth_mm = -1\n", "threshold.smooth_mm = 11\n", "reference.level = both\n",
		"threshold.edge_band = 0.5\n", "threshold.halfmax_floor = 0.5\n",
	};
	for (size_t i = 0; i < sizeof(bad_meth) / sizeof(bad_meth[0]); i++)
		CHECK(bmeq_config_apply(bad_meth[i], strlen(bad_meth[i]), &t) == BMEQ_E_FORMAT);
	bmeq_measure_opts_init(&m);
	const char *band = "threshold.band = 0.25\n";
	CHECK(bmeq_config_apply(band, strlen(band), &t) == BMEQ_OK);
	CHECK(m.edema.band == 0.25);
	const char *band0 = "threshold.band = 0\n";
	CHECK(bmeq_config_apply(band0, strlen(band0), &t) == BMEQ_OK);
	CHECK(m.edema.band == 0.0);
	const char *bad_bands[] = {"threshold.band = 1\n", "threshold.band = -0.1\n",
				   "threshold.band = 10%\n", "threshold.band = nan\n"};
	for (size_t i = 0; i < 4; i++) {
		CHECK(bmeq_config_apply(bad_bands[i], strlen(bad_bands[i]), &t) ==
		      BMEQ_E_FORMAT);
		CHECK(strstr(bmeq_last_error(), "threshold.band") != NULL);
	}
	CHECK(m.edema.band == 0.0); /* unchanged by the refused values */
}

/* The settings table: every row reads back its default, takes its example,
 * and is in the --resume key exactly when it changes a scan's numbers. */
static void test_settings(void)
{
	bmeq_measure_opts m, m0;
	bmeq_response_rule r;
	int jobs = 4;
	bmeq_settings_target t = {&m, &r, &jobs};
	char key0[1024], key[1024], v[128], def[128];

	bmeq_measure_opts_init(&m0);
	bmeq_settings_scan_key(&m0, 0, key0, sizeof(key0));
	/* The key of the defaults, spelled as before the table: finished scans
	 * of an older output folder stay reusable (protocol.check, issue 20,
	 * joined it: a folder from before is measured again once). */
	char want[1024];
	snprintf(want, sizeof(want),
		 "bmeq=%s;rule=median*1.46;connectivity=26;min_lesion_voxels=10;min_lesion_ml=0.02;"
		 "reference_reject_k=3;reference_min_voxels=200;rim_mm=2.5;halfmax=1/0;"
		 "band=0.15/0.15;smooth=1.5;reflevel=1;bias_correct=1;"
		 "n4=15/1/20,15,10,10/150/0.002/200;volume=-1;max_scan_mb=1024;doubtful=0;"
		 "protocol=1",
		 bmeq_version());
	CHECK(strcmp(key0, want) == 0);
	/* A scan with a T1 adds the T1's settings (t1.weight joined them: a
	 * scan with a T1 from an older folder is measured again once). */
	bmeq_settings_scan_key(&m0, 1, key, sizeof(key));
	CHECK(strncmp(key, want, strlen(want)) == 0 &&
	      strcmp(key + strlen(want), ";t1gate=1/0.975;t1weight=0;t1fat=2;t1seg=0;t1reg=1") == 0);
	/* Every setting below changes the whole key (that of a scan with a T1). */
	bmeq_settings_resume_key(&m0, key0, sizeof(key0));
	CHECK(bmeq_settings_count() >= 20);
	CHECK(bmeq_setting_at(bmeq_settings_count()) == NULL);
	for (size_t i = 0; i < bmeq_settings_count(); i++) {
		const bmeq_setting *s = bmeq_setting_at(i);
		const char *k = bmeq_setting_key(s);
		bmeq_measure_opts_init(&m);
		bmeq_response_rule_init(&r);
		CHECK(bmeq_setting_help(s)[0] && bmeq_setting_range(s)[0]);
		if (bmeq_setting_flags(s) & BMEQ_SETTING_FIXED) {
			CHECK(bmeq_settings_set(&t, k, "1") == BMEQ_E_ARG);
			continue;
		}
		const char *ex = bmeq_setting_example(s);
		bmeq_setting_default_text(s, def, sizeof(def));
		CHECK(ex[0] && strcmp(ex, def) != 0);
		if (bmeq_setting_flags(s) & BMEQ_SETTING_CONFIG) {
			CHECK(bmeq_setting_find(k) == s);
			/* The default as text sets the default. */
			CHECK(bmeq_settings_set(&t, k, def) == BMEQ_OK);
			bmeq_settings_resume_key(&m, key, sizeof(key));
			CHECK(strcmp(key, key0) == 0);
			CHECK(bmeq_settings_set(&t, k, ex) == BMEQ_OK);
			CHECK(bmeq_settings_set(&t, k, "nonsense") == BMEQ_E_ARG);
		} else {
			CHECK(bmeq_settings_set(&t, k, ex) == BMEQ_E_ARG); /* not a file's key */
			CHECK(bmeq_settings_flag(&t, bmeq_setting_flag(s), ex) == 2);
		}
		CHECK(bmeq_setting_value_text(s, &t, v, sizeof(v)) == BMEQ_OK);
		CHECK(strcmp(v, ex) == 0);
		bmeq_settings_resume_key(&m, key, sizeof(key));
		if (bmeq_setting_effect_of(s) == BMEQ_EFFECT_SCAN) {
			if (strcmp(key, key0) == 0)
				fprintf(stderr, "FAIL: %s = %s leaves the resume key unchanged\n", k, ex);
			CHECK(strcmp(key, key0) != 0);
		} else {
			CHECK(strcmp(key, key0) == 0);
		}
	}

	/* Values are refused whole, with the reason, and leave the target as it was. */
	bmeq_measure_opts_init(&m);
	bmeq_response_rule_init(&r);
	CHECK(bmeq_settings_set(&t, "threshold.rim_mm", "51") == BMEQ_E_ARG);
	CHECK(strstr(bmeq_last_error(), "0 to 50") != NULL);
	CHECK(m.edema.rim_mm == 2.5);
	CHECK(bmeq_settings_set(&t, "response.partial_pct", "0") == BMEQ_E_ARG);
	CHECK(bmeq_settings_set(&t, "response.partial_pct", "100") == BMEQ_OK && r.partial_pct == 100);
	CHECK(bmeq_settings_set(&t, "response.progression_ml", "1e999") == BMEQ_E_ARG);
	CHECK(bmeq_settings_set(&t, "response.bogus", "1") == BMEQ_E_ARG);
	CHECK(bmeq_settings_set(&t, "jobs", "2") == BMEQ_E_ARG);
	CHECK(bmeq_settings_set(&t, "lesion.min_voxels", "-3") == BMEQ_E_ARG);
	CHECK(bmeq_settings_set(&t, "lesion.min_voxels", "1.5") == BMEQ_E_ARG);
	CHECK(bmeq_settings_set(&t, "threshold.halfmax_floor", "0.5") == BMEQ_E_ARG);

	/* Flags: with a value, alone, or not a setting's; a command without the
	 * member does not know the flag. */
	CHECK(bmeq_settings_flag(&t, "--connectivity", "18") == 2 && m.edema.connectivity == 18);
	CHECK(bmeq_settings_flag(&t, "--connectivity", "7") == -1);
	CHECK(bmeq_settings_flag(&t, "--connectivity", NULL) == -1);
	CHECK(bmeq_settings_flag(&t, "--no-bias-correction", NULL) == 1 && m.bias_correct == 0);
	CHECK(bmeq_settings_flag(&t, "--jobs", "3") == 2 && jobs == 3);
	CHECK(bmeq_settings_flag(&t, "-j", "0") == -1 && jobs == 3);
	CHECK(bmeq_settings_flag(&t, "--roi", "x") == 0);
	bmeq_settings_target only_jobs = {NULL, NULL, &jobs};
	CHECK(bmeq_settings_flag(&only_jobs, "--connectivity", "6") == 0);

	/* provenance.json's settings: every key of the target, numbers as numbers. */
	json_t *doc = bmeq_settings_json(&t);
	char *json = doc ? bmeq_json_text(doc, 0) : NULL;
	json_decref(doc);
	CHECK(json != NULL);
	if (json) {
		CHECK(strstr(json, "\"threshold.rule\": \"median*1.46\"") != NULL);
		CHECK(strstr(json, "\"lesion.connectivity\": \"18\"") != NULL);
		CHECK(strstr(json, "\"response.partial_pct\": 100") != NULL);
		CHECK(strstr(json, "\"threshold.band\": 0.15,") != NULL);
		CHECK(strstr(json, "\"bias.correct\": \"no\"") != NULL);
		CHECK(strstr(json, "\"jobs\": 3") != NULL);
		for (size_t i = 0; i < bmeq_settings_count(); i++)
			CHECK(strstr(json, bmeq_setting_key(bmeq_setting_at(i))) != NULL);
	}
	free(json);
}

/* The output folder: names, paths that do not fit, and the record read back
 * as written. */
static void test_outdir(void)
{
	char p[BMEQ_PATH_MAX], dir[BMEQ_PATH_MAX];
	bmeq_scan_record rec, back;

	CHECK(strcmp(bmeq_out_name(BMEQ_OUT_RESPONSE_INTERVAL), "response_interval.csv") == 0);
	CHECK(bmeq_out_path("OUT", BMEQ_OUT_PROVENANCE, p, sizeof(p)) == BMEQ_OK &&
	      strcmp(p, "OUT/provenance.json") == 0);
	CHECK(bmeq_out_scan_dir("OUT", "01", "", p, sizeof(p)) == BMEQ_OK && strcmp(p, "OUT/01") == 0);
	CHECK(bmeq_scan_path("OUT/01/02", "s", BMEQ_SCAN_CHANGE_PREVIOUS, p, sizeof(p)) == BMEQ_OK &&
	      strcmp(p, "OUT/01/02/s_change_previous.nii.gz") == 0);
	CHECK(bmeq_scan_path("OUT/01/02", "s", BMEQ_SCAN_RECORD, p, sizeof(p)) == BMEQ_OK &&
	      strcmp(p, "OUT/01/02/scan_record.csv") == 0);
	/* Too long: refused, never cut. */
	char small[16];
	CHECK(bmeq_out_path("a-long-folder", BMEQ_OUT_SCANS, small, sizeof(small)) == BMEQ_E_WRITE);
	CHECK(small[0] == '\0' && strstr(bmeq_last_error(), "path too long") != NULL);
	char *huge = malloc(BMEQ_PATH_LONGEST + 1);
	if (huge) {
		memset(huge, 'x', BMEQ_PATH_LONGEST - 10);
		huge[BMEQ_PATH_LONGEST - 10] = '\0';
		CHECK(bmeq_out_path(huge, BMEQ_OUT_LOCK, p, sizeof(p)) == BMEQ_E_WRITE);
		CHECK(bmeq_out_path(huge, BMEQ_OUT_SCANS, p, sizeof(p)) == BMEQ_OK); /* exactly fits */
		free(huge);
	}

	snprintf(dir, sizeof(dir), "%s/record", tmpdir);
	CHECK(bmeq_mkdirs(dir) == 0);
	CHECK(bmeq_record_read(dir, &back) == BMEQ_E_IO);
	bmeq_record_init(&rec);
	CHECK(isnan(rec.side[1].edema_ml_high));
	snprintf(rec.status, sizeof(rec.status), "ok");
	snprintf(rec.message, sizeof(rec.message), "a, \"quoted\" message");
	snprintf(rec.sha256, sizeof(rec.sha256), "%064d", 7);
	snprintf(rec.params, sizeof(rec.params), "bmeq=0;rule=median*1.46;volume=-1;max_scan_mb=1024");
	snprintf(rec.stem, sizeof(rec.stem), "sub-01_T2w");
	rec.side[0].found = 1;
	rec.side[0].centre[0] = 12.5;
	rec.side[0].radius = 24.25;
	rec.side[0].status = BMEQ_HIP_OK;
	rec.side[0].edema_ml = 1.5;
	rec.side[1].status = BMEQ_HIP_NOT_FOUND;
	snprintf(rec.side[1].reason, sizeof(rec.side[1].reason), "no head");
	rec.seconds = 2.5;
	CHECK(bmeq_record_write(dir, &rec) == BMEQ_OK);
	CHECK(bmeq_scan_file_exists(dir, "", BMEQ_SCAN_RECORD));
	CHECK(!bmeq_scan_file_exists(dir, rec.stem, BMEQ_SCAN_ROI));
	CHECK(bmeq_record_read(dir, &back) == BMEQ_OK);
	CHECK(strcmp(back.message, rec.message) == 0 && strcmp(back.params, rec.params) == 0);
	CHECK(back.side[0].found == 1 && back.side[0].centre[0] == 12.5 && back.side[0].radius == 24.25);
	CHECK(back.side[0].edema_ml == 1.5 && isnan(back.side[0].edema_ml_low));
	CHECK(back.side[1].status == BMEQ_HIP_NOT_FOUND && strcmp(back.side[1].reason, "no head") == 0);
	CHECK(back.seconds == 2.5);
	char v[32];
	CHECK(bmeq_record_param(&back, "volume", v, sizeof(v)) == BMEQ_OK && strcmp(v, "-1") == 0);
	CHECK(bmeq_record_param(&back, "rule", v, sizeof(v)) == BMEQ_OK && strcmp(v, "median*1.46") == 0);
	CHECK(bmeq_record_param(&back, "max_scan", v, sizeof(v)) == BMEQ_E_FORMAT && v[0] == '\0');
	/* Without a T1 the record has no T1 keys; with one, its path (however
	 * long, a comma in it) and placement read back. */
	CHECK(!back.t1_placed && back.t1[0] == '\0');
	{
		char path[BMEQ_PATH_MAX], text[8192];
		FILE *f;
		CHECK(bmeq_scan_path(dir, "", BMEQ_SCAN_RECORD, path, sizeof(path)) == BMEQ_OK);
		f = fopen(path, "r");
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		text[n] = '\0';
		if (f)
			fclose(f);
		CHECK(n > 0 && !strstr(text, "\nt1,") && !strstr(text, "t1_transform"));
		memset(rec.t1, 'a', 3000);
		memcpy(rec.t1 + 3000, "/x,y_T1w.nii.gz", 16);
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 4; b++)
				rec.t1_transform[a][b] = a == b ? 0.999 : 0.01 * (a + 1) - 0.5 * b;
		rec.t1_transform[2][3] = -12.345678;
		rec.t1_placed = 1;
		CHECK(bmeq_record_write(dir, &rec) == BMEQ_OK);
		CHECK(bmeq_record_read(dir, &back) == BMEQ_OK);
		CHECK(back.t1_placed && strcmp(back.t1, rec.t1) == 0);
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 4; b++)
				CHECK(fabs(back.t1_transform[a][b] - rec.t1_transform[a][b]) < 1e-8);
		rec.t1_placed = 0;
		rec.t1[0] = '\0';
	}
	/* A record without its sha256 is not complete. */
	rec.sha256[0] = '\0';
	CHECK(bmeq_record_write(dir, &rec) == BMEQ_OK);
	CHECK(bmeq_record_read(dir, &back) == BMEQ_E_FORMAT);
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

static void test_label_folder(void)
{
	char f[80], d[600];

	CHECK(bmeq_out_label_folder("sub-99", f, sizeof(f)) == BMEQ_OK && strcmp(f, "sub-99") == 0);
	CHECK(bmeq_out_label_folder("HIP 7/a", f, sizeof(f)) == BMEQ_OK && strcmp(f, "HIP_7_a") == 0);
	CHECK(bmeq_out_label_folder("..", f, sizeof(f)) == BMEQ_OK && strcmp(f, "_.") == 0);
	CHECK(bmeq_out_label_folder("", f, sizeof(f)) == BMEQ_OK && strcmp(f, "") == 0);
	CHECK(bmeq_out_label_folder("abcdef", f, 4) == BMEQ_E_WRITE);
	CHECK(bmeq_out_scan_dir("/o", "sub-1", "ses 2", d, sizeof(d)) == BMEQ_OK &&
	      strcmp(d, "/o/sub-1/ses_2") == 0);
	CHECK(bmeq_out_scan_dir("/o", "x", "", d, sizeof(d)) == BMEQ_OK && strcmp(d, "/o/x") == 0);
}

static bmeq_status review(const char *text, const bmeq_study *s, bmeq_review **r)
{
	char path[512];
	write_file("review.csv", text);
	snprintf(path, sizeof(path), "%s/review.csv", tmpdir);
	return bmeq_review_read(path, s, r);
}

static void test_review(void)
{
	static const char head[] = "subject,session,side,decision,comment,reader,time\n";
	bmeq_study *s = NULL;
	bmeq_review *r = NULL;
	char text[1024], why[256];

	CHECK(manifest("subject,session,path\nsub-1,ses-1,a.nii\nsub-1,ses-2,b.nii\n", &s) ==
	      BMEQ_OK);
	if (!s)
		return;
	snprintf(text, sizeof(text),
		 "%ssub-1,ses-1,right,accepted,,AB,2026-01-02T10:00:00Z\n"
		 "sub-1,ses-2,left,excluded,\"motion, both hips\",AB,2026-01-02T10:05:00Z\n"
		 "sub-1,ses-2,left,needs_correction,,CD,2026-01-02T09:00:00Z\n"
		 "sub-1,ses-1,right,needs_correction,neck cut,CD,2026-01-03T08:00:00.000Z\n",
		 head);
	CHECK(review(text, s, &r) == BMEQ_OK);
	CHECK(bmeq_review_count(r) == 2);
	const bmeq_review_entry *e = bmeq_review_find(r, "sub-1", "ses-1", 0);
	/* The later time stands, wherever its line is. */
	CHECK(e && e->decision == BMEQ_REVIEW_NEEDS_CORRECTION && strcmp(e->reader, "CD") == 0);
	e = bmeq_review_find(r, "sub-1", "ses-2", 1);
	CHECK(e && e->decision == BMEQ_REVIEW_EXCLUDED && e->line == 3);
	if (e) {
		bmeq_review_reason(e, why, sizeof(why));
		CHECK(strcmp(why, "excluded by reader AB: motion, both hips") == 0);
	}
	CHECK(bmeq_review_find(r, "sub-1", "ses-2", 0) == NULL);
	CHECK(strcmp(bmeq_review_decision_name(BMEQ_REVIEW_EXCLUDED), "excluded") == 0);
	bmeq_review_destroy(r);
	r = NULL;

	static const struct {
		const char *line, *says;
	} bad[] = {
		{"1,ses-1,right,accepted,,AB,2026-01-02T10:00", "line 2: subject \"1\" session"},
		{"sub-1,ses-1,middle,accepted,,AB,2026-01-02T10:00", "line 2: side \"middle\""},
		{"sub-1,ses-1,right,ok,,AB,2026-01-02T10:00", "line 2: decision \"ok\""},
		{"sub-1,ses-1,right,accepted,,,2026-01-02T10:00", "line 2: reader initials"},
		{"sub-1,ses-1,right,accepted,,AB,yesterday", "line 2: time \"yesterday\""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s\n", head, bad[i].line);
		CHECK(review(text, s, &r) == BMEQ_E_FORMAT && r == NULL);
		CHECK(strstr(bmeq_last_error(), bad[i].says) != NULL);
	}
	snprintf(text, sizeof(text),
		 "%ssub-1,ses-1,right,accepted,,AB,2026-01-02T10:00\n"
		 "sub-1,ses-1,right,excluded,,AB,2026-01-02T10:00\n", head);
	CHECK(review(text, s, &r) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "lines 2 and 3") != NULL);
	CHECK(review("subject,session,side,decision,reader,time\n", s, &r) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "\"comment\" is missing") != NULL);
	bmeq_study_destroy(s);
}

int main(void)
{
	CHECK(mkdtemp(tmpdir) != NULL);
	test_label_folder();
	test_review();
	test_natural();
	test_manifest();
	test_discover();
	test_config();
	test_settings();
	test_outdir();
	test_threshold_factor();
	test_hash();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
	CHECK_DONE();
}
