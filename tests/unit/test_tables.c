/* test_tables.c - the trial tables byte by byte: scans.csv and lesions.csv rows
 * (src/study/tables.c) and response.csv / response_interval.csv rows
 * (src/compare/response_table.c), from results built by hand. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bmeq/longitudinal.h"
#include "bmeq/tables.h"
#include "check.h"

static const char *const extra_names[2] = {"cycle", "note"};
static const char *const extra_values[2] = {"2", "x y"};
static const bmeq_extra_cols extras = {2, extra_names, extra_values};

/* Checks that w holds exactly want, and prints both when not. */
static void check_text(bmeq_csv *w, const char *want, int line)
{
	size_t len = 0;
	const char *got = bmeq_csv_text(w, &len);
	if (strlen(want) != len || memcmp(got, want, len) != 0) {
		fprintf(stderr, "line %d: table text differs\n--- got\n%s--- want\n%s---\n", line, got,
			want);
		check_failures++;
	}
}
#define CHECK_TEXT(w, want) check_text((w), (want), __LINE__)

static void test_headers(void)
{
	bmeq_csv *w = NULL;

	/* The column names and order are the trial databases' interface (README). */
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_scans_header(w, &extras) == BMEQ_OK);
	CHECK_TEXT(w, "subject,session,side,status,region_ml,edema_ml,edema_ml_low,edema_ml_high,"
		      "edema_fraction,head_ml,head_edema_ml,neck_ml,neck_edema_ml,lesions,"
		      "largest_lesion_ml,reference_intensity,threshold,threshold_rule,"
		      "threshold_source,edema_to_reference_ratio,regions_from,edema_removed_by_t1_ml,"
		      "t1_shift_mm,t1_angle_deg,fat_suppression,fat_to_muscle,protocol_source,fluid_fat_suppressed,"
		      "series_description,scanning_sequence,sequence_variant,scan_options,"
		      "inversion_time_ms,echo_time_ms,repetition_time_ms,field_strength_t,"
		      "slice_thickness_mm,slice_spacing_mm,manufacturer,model,scan,message,cycle,"
		      "note\r\n");
	bmeq_csv_destroy(w);
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_lesions_header(w, NULL) == BMEQ_OK);
	CHECK_TEXT(w, "subject,session,side,region,lesion,volume_ml,centroid_x,centroid_y,"
		      "centroid_z,mean_ratio_to_reference,depth_mm,voxels\r\n");
	bmeq_csv_destroy(w);
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_response_header(w, &extras) == BMEQ_OK);
	CHECK_TEXT(w, "subject,side,baseline_session,session,baseline_edema_ml,edema_ml,change_ml,"
		      "change_pct,resolved_ml,persistent_ml,new_ml,response,uncertain,"
		      "response_rule,early_retreatment,message,cycle,note\r\n");
	bmeq_csv_destroy(w);
}

static void fill_result(bmeq_edema_result *r, bmeq_edema_region reg[2], bmeq_lesion les[3])
{
	memset(r, 0, sizeof(*r));
	memset(reg, 0, 2 * sizeof(*reg));
	memset(les, 0, 3 * sizeof(*les));
	r->reference_intensity = 123.4567;
	r->threshold = 180.2468;
	snprintf(r->rule_text, sizeof(r->rule_text), "median*1.46");
	r->nregions = 2;
	r->regions = reg;
	reg[0].side = BMEQ_SIDE_RIGHT;
	reg[0].status = BMEQ_HIP_OK;
	reg[0].region_ml = 12.3456;
	reg[0].edema_ml = 1.25;
	reg[0].edema_ml_low = 0.8;
	reg[0].edema_ml_high = 1.7;
	reg[0].edema_fraction = 0.1;
	reg[0].head_ml = 10.0;
	reg[0].head_edema_ml = 1.0;
	reg[0].neck_ml = 2.3456;
	reg[0].neck_edema_ml = 0.25;
	reg[0].lesions = 2;
	reg[0].largest_lesion_ml = 0.75;
	reg[0].edema_to_reference_ratio = 1.8;
	/* A side that was not found has numbers in memory, none in the table. */
	reg[1] = reg[0];
	reg[1].side = BMEQ_SIDE_LEFT;
	reg[1].status = BMEQ_HIP_NOT_FOUND;
	snprintf(reg[1].message, sizeof(reg[1].message), "femoral head not found, see QC");
	r->nlesions = 3;
	r->lesions = les;
	les[0] = (bmeq_lesion){0, BMEQ_PART_HEAD, 0.5, 500, {1.234, -5.678, -0.001}, 2.5, 3.456};
	les[1] = (bmeq_lesion){0, BMEQ_PART_NECK, 0.25, 250, {0.0, 0.0, 0.0}, 1.75, NAN};
	les[2] = (bmeq_lesion){1, BMEQ_PART_HEAD, 0.1, 100, {10.0, 20.0, 30.0}, 1.5, 0.0};
}

static void test_scans_rows(void)
{
	bmeq_edema_result r;
	bmeq_edema_region reg[2];
	bmeq_lesion les[3];
	bmeq_csv *w = NULL;

	fill_result(&r, reg, les);
	/* A scan measured with its T1: where the regions came from, what the
	 * gate removed (results: empty on a side that is not ok), the T1's
	 * registration (the scan's: on every row). */
	/* Its sequence facts (a STIR from DICOM: fluid-sensitive, fat-suppressed)
	 * on every row; a description with a comma is quoted. */
	bmeq_protocol stir = {
		.source = "dicom", .description = "stir_tirm_cor, hips",
		.scanning_sequence = "IR", .sequence_variant = "SK\\SP", .scan_options = "IR",
		.sequence_name = "*tir2d1_13", .manufacturer = "SIEMENS", .model = "Avanto_fit",
		.inversion_time_ms = 160.0, .echo_time_ms = 52.5, .repetition_time_ms = 4000.0,
		.field_strength_t = 1.5, .slice_thickness_mm = 4.0, .slice_spacing_mm = NAN};
	/* The fat suppression judged per side (the left hip's failed: its row
	 * says so whatever its status). */
	bmeq_scan_facts facts = {.regions_from = "t1",
				 .t1_shift_mm = 2.345,
				 .t1_angle_deg = 1.5,
				 .protocol = &stir,
				 .fat_suppression = {"ok", "failed"},
				 .fat_to_muscle = {0.1449, 1.2716},
				 .side_regions_from = {NULL, NULL}};
	/* Regions from the T1, but the left side's from the STIR (a side the
	 * T1 did not find): each row says its own. */
	facts.side_regions_from[1] = "stir";
	reg[0].edema_removed_by_t1_ml = 0.3004;
	reg[1].edema_removed_by_t1_ml = 0.0;
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_scans_rows(w, "01", "1", "a/b.nii.gz", &r, &facts, &extras) == BMEQ_OK);
	CHECK_TEXT(w, "01,1,right,ok,12.346,1.250,0.800,1.700,0.1000,10.000,1.000,2.346,0.250,2,"
		      "0.750,123.457,180.247,median*1.46,auto,1.8000,t1,0.300,2.35,1.50,ok,0.145,"
		      "dicom,yes,\"stir_tirm_cor, hips\",IR,SK\\SP,IR,160.00,52.50,4000.00,1.50,4.00,,"
		      "SIEMENS,Avanto_fit,a/b.nii.gz,,2,x y\r\n"
		      "01,1,left,not_found,,,,,,,,,,,,123.457,180.247,median*1.46,auto,,stir,,2.35,1.50,"
		      "failed,1.272,"
		      "dicom,yes,\"stir_tirm_cor, hips\",IR,SK\\SP,IR,160.00,52.50,4000.00,1.50,4.00,,"
		      "SIEMENS,Avanto_fit,a/b.nii.gz,"
		      "\"femoral head not found, see QC\",2,x y\r\n");
	bmeq_csv_destroy(w);

	/* Nothing known of the acquisition (a NIfTI without sidecar): empty. */
	bmeq_protocol unknown = {.source = "", .inversion_time_ms = NAN, .echo_time_ms = NAN,
				 .repetition_time_ms = NAN, .field_strength_t = NAN,
				 .slice_thickness_mm = NAN, .slice_spacing_mm = NAN};
	facts.protocol = &unknown;
	r.nregions = 1;
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_scans_rows(w, "01", "1", "s", &r, &facts, NULL) == BMEQ_OK);
	CHECK_TEXT(w, "01,1,right,ok,12.346,1.250,0.800,1.700,0.1000,10.000,1.000,2.346,0.250,2,"
		      "0.750,123.457,180.247,median*1.46,auto,1.8000,t1,0.300,2.35,1.50,ok,0.145,"
		      ",,,,,,,,,,,,,,s,\r\n");
	bmeq_csv_destroy(w);
	r.nregions = 2;

	/* A reader's factor shows in threshold_source. */
	r.factor_from_reader = 1;
	r.nregions = 1;
	reg[0].edema_removed_by_t1_ml = NAN; /* no T1 */
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_scans_rows(w, "01", "1", "s", &r, NULL, NULL) == BMEQ_OK);
	CHECK_TEXT(w, "01,1,right,ok,12.346,1.250,0.800,1.700,0.1000,10.000,1.000,2.346,0.250,2,"
		      "0.750,123.457,180.247,median*1.46,reader,1.8000,,,,,,,,,,,,,,,,,,,,,s,\r\n");
	bmeq_csv_destroy(w);
	CHECK(strcmp(bmeq_threshold_source_name(0), "auto") == 0);
	CHECK(strcmp(bmeq_threshold_source_name(1), "reader") == 0);

	/* A scan that failed as a whole: two error rows, every result column
	 * empty, the message quoted as RFC 4180 wants. */
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_scans_error_rows(w, "02", "", "x.nii", "cannot read \"x\"", NULL, &extras) ==
	      BMEQ_OK);
	CHECK_TEXT(w, "02,,right,error,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,x.nii,"
		      "\"cannot read \"\"x\"\"\",2,x y\r\n"
		      "02,,left,error,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,x.nii,"
		      "\"cannot read \"\"x\"\"\",2,x y\r\n");
	bmeq_csv_destroy(w);

	/* A scan refused as the wrong series (a T1 handed in as the STIR) keeps
	 * what its headers say it is; only those columns are filled. */
	bmeq_protocol t1 = {.source = "sidecar", .description = "t1_tse_cor",
			    .scanning_sequence = "SE", .inversion_time_ms = NAN,
			    .echo_time_ms = 6.2, .repetition_time_ms = 434.0,
			    .field_strength_t = 3.0, .slice_thickness_mm = 4.0,
			    .slice_spacing_mm = 5.2, .model = "Avanto_fit"};
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_scans_error_rows(w, "02", "1", "t1.nii.gz", "protocol: T1", &t1, NULL) == BMEQ_OK);
	CHECK_TEXT(w, "02,1,right,error,,,,,,,,,,,,,,,,,,,,,,,sidecar,no,t1_tse_cor,SE,,,,6.20,434.00,"
		      "3.00,4.00,5.20,,Avanto_fit,t1.nii.gz,protocol: T1\r\n"
		      "02,1,left,error,,,,,,,,,,,,,,,,,,,,,,,sidecar,no,t1_tse_cor,SE,,,,6.20,434.00,"
		      "3.00,4.00,5.20,,Avanto_fit,t1.nii.gz,protocol: T1\r\n");
	bmeq_csv_destroy(w);

	/* Every column is named, the last two are scan and message. */
	for (int c = 0; c < BMEQ_SCANS_NCOLUMNS; c++)
		CHECK(bmeq_scans_columns[c] != NULL && bmeq_scans_columns[c][0]);
	CHECK(strcmp(bmeq_scans_columns[BMEQ_SCANS_NCOLUMNS - 1], "message") == 0);
	CHECK(strcmp(bmeq_scans_columns[BMEQ_SCANS_NCOLUMNS - 2], "scan") == 0);
}

static void test_lesions_rows(void)
{
	bmeq_edema_result r;
	bmeq_edema_region reg[2];
	bmeq_lesion les[3];
	bmeq_csv *w = NULL;

	/* Lesions are numbered within their side; -0.00 is written 0.00; an
	 * unknown depth is empty. */
	fill_result(&r, reg, les);
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_lesions_rows(w, "01", "1", &r, &extras) == BMEQ_OK);
	CHECK_TEXT(w, "01,1,right,head,1,0.500,1.23,-5.68,0.00,2.5000,3.46,500,2,x y\r\n"
		      "01,1,right,neck,2,0.250,0.00,0.00,0.00,1.7500,,250,2,x y\r\n"
		      "01,1,left,head,1,0.100,10.00,20.00,30.00,1.5000,0.00,100,2,x y\r\n");
	bmeq_csv_destroy(w);
	/* No lesion, no row. */
	r.nlesions = 0;
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_lesions_rows(w, "01", "1", &r, NULL) == BMEQ_OK);
	CHECK_TEXT(w, "");
	bmeq_csv_destroy(w);
}

static void fill_comparison(bmeq_comparison *c, bmeq_response right, bmeq_response left)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->rule_text, sizeof(c->rule_text), "rule-text");
	bmeq_side_change *x = &c->side[0];
	x->baseline_ml = 4.0;
	x->followup_ml = 2.0;
	x->change_ml = -2.0;
	x->change_pct = -50.0;
	x->resolved_ml = 2.5;
	x->persistent_ml = 1.5;
	x->new_ml = 0.5;
	x->registered = 1;
	x->response = right;
	x = &c->side[1];
	x->baseline_ml = 0.2;
	x->followup_ml = 0.1;
	x->change_ml = -0.1;
	x->change_pct = NAN;
	x->resolved_ml = 9.0; /* not registered: not written */
	x->registered = 0;
	x->response = left;
	x->uncertain = 1;
	snprintf(x->message, sizeof(x->message), "uncertain: could be new, or none");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void test_response_rows(void)
{
	bmeq_comparison c1, c2, c3;
	bmeq_csv *w = NULL, *iv = NULL;
	const int early[2] = {1, 0};

	fill_comparison(&c1, BMEQ_RESPONSE_PARTIAL, BMEQ_RESPONSE_NONE);
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_response_rows(w, "01", "1", "2", &c1, early, &extras) == BMEQ_OK);
	CHECK_TEXT(w, "01,right,1,2,4.000,2.000,-2.000,-50.0,2.500,1.500,0.500,partial,no,"
		      "rule-text,yes,,2,x y\r\n"
		      "01,left,1,2,0.200,0.100,-0.100,,,,,none,yes,rule-text,no,"
		      "\"uncertain: could be new, or none\",2,x y\r\n");
	bmeq_csv_destroy(w);
	CHECK(bmeq_response_rows(NULL, "01", "1", "2", &c1, early, NULL) == BMEQ_E_ARG);

	/* A subject's three visits: the first follow-up's partial response on
	 * the right marks that side for early retreatment on every row, in both
	 * files; the interval rows compare each visit with the one before. */
	fill_comparison(&c2, BMEQ_RESPONSE_STABLE, BMEQ_RESPONSE_STABLE);
	fill_comparison(&c3, BMEQ_RESPONSE_PROGRESSION, BMEQ_RESPONSE_NEW);
	const char *sessions[3] = {"1", "2", "10"};
	const bmeq_comparison *vs_base[3] = {NULL, &c1, &c2};
	const bmeq_comparison *vs_prev[3] = {NULL, &c1, &c3};
	bmeq_subject_visits v = {"01", 3, sessions, vs_base, vs_prev, NULL};
	CHECK(bmeq_csv_create(&w) == BMEQ_OK && bmeq_csv_create(&iv) == BMEQ_OK);
	CHECK(bmeq_response_subject_rows(w, iv, &v) == BMEQ_OK);
	const char *t = bmeq_csv_text(w, NULL), *ti = bmeq_csv_text(iv, NULL);
	CHECK(count(t, "\r\n") == 4 && count(ti, "\r\n") == 4);
	CHECK(strncmp(t, "01,right,1,2,", 13) == 0);
	CHECK(strstr(t, "01,right,1,10,4.000,2.000,-2.000,-50.0,2.500,1.500,0.500,stable,no,"
			"rule-text,yes,\r\n") != NULL);
	CHECK(strstr(ti, "01,right,2,10,4.000,2.000,-2.000,-50.0,2.500,1.500,0.500,progression,no,"
			 "rule-text,yes,\r\n") != NULL);
	CHECK(strstr(ti, "01,left,2,10,0.200,0.100,-0.100,,,,,new,yes,rule-text,no,") != NULL);
	CHECK(count(t, "rule-text,yes,") == 2 && count(ti, "rule-text,yes,") == 2);
	CHECK(count(t, "rule-text,no,") == 2 && count(ti, "rule-text,no,") == 2);
	bmeq_csv_destroy(w);
	bmeq_csv_destroy(iv);

	/* A first follow-up that is not partial: no early retreatment anywhere;
	 * a comparison that was not made writes no rows. */
	const bmeq_comparison *vs_base2[3] = {NULL, &c2, NULL};
	v.vs_baseline = vs_base2;
	v.vs_previous = NULL;
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	CHECK(bmeq_response_subject_rows(w, NULL, &v) == BMEQ_OK);
	t = bmeq_csv_text(w, NULL);
	CHECK(count(t, "\r\n") == 2 && count(t, "rule-text,yes,") == 0);
	bmeq_csv_destroy(w);
}

/* Sides, labels and parts are enums inside; these are their names in the
 * tables (bmeq/hip.h, bmeq_region_side_text). */
static void test_names(void)
{
	bmeq_edema_region g;
	char text[24];

	CHECK(strcmp(bmeq_side_name(BMEQ_SIDE_RIGHT), "right") == 0);
	CHECK(strcmp(bmeq_side_name(BMEQ_SIDE_LEFT), "left") == 0);
	CHECK(strcmp(bmeq_side_name(BMEQ_SIDE_NONE), "") == 0);
	CHECK(bmeq_side_parse("left") == BMEQ_SIDE_LEFT && bmeq_side_parse("Left") == BMEQ_SIDE_NONE);
	CHECK(strcmp(bmeq_part_name(BMEQ_PART_NECK), "neck") == 0);
	CHECK(strcmp(bmeq_part_name(BMEQ_PART_ROI), "roi") == 0);
	for (int s = 0; s < BMEQ_NSIDES; s++)
		for (int p = 0; p < 2; p++) {
			bmeq_label l = bmeq_label_of((bmeq_side)s, (bmeq_part)p);
			CHECK(bmeq_label_side(l) == (bmeq_side)s && bmeq_label_part(l) == (bmeq_part)p);
		}
	CHECK(bmeq_label_of(BMEQ_SIDE_LEFT, BMEQ_PART_NECK) == BMEQ_LABEL_LEFT_NECK);
	CHECK(bmeq_label_side(7) == BMEQ_SIDE_NONE && bmeq_label_part(7) == BMEQ_PART_ROI);
	CHECK(bmeq_label_side(0) == BMEQ_SIDE_NONE);
	memset(&g, 0, sizeof(g));
	g.side = BMEQ_SIDE_NONE;
	g.label = 65535;
	bmeq_region_side_text(&g, text, sizeof(text));
	CHECK(strcmp(text, "label-65535") == 0);
	g.side = BMEQ_SIDE_LEFT;
	bmeq_region_side_text(&g, text, sizeof(text));
	CHECK(strcmp(text, "left") == 0);

	/* A side's status: the words of the status column, each read back as
	 * itself; nothing recorded is ""; a foreign word is never "ok". */
	static const char *const words[] = {"", "ok", "not_found", "not_in_view",
					    "partial", "uncertain", "error"};
	for (int st = BMEQ_HIP_NONE; st <= BMEQ_HIP_ERROR; st++) {
		CHECK(strcmp(bmeq_hip_status_name((bmeq_hip_status)st), words[st]) == 0);
		CHECK(bmeq_hip_status_parse(words[st]) == (bmeq_hip_status)st);
	}
	CHECK(bmeq_hip_status_parse("OK") == BMEQ_HIP_ERROR);
	CHECK(bmeq_hip_status_parse("found") == BMEQ_HIP_ERROR);
	CHECK(strcmp(bmeq_hip_status_name((bmeq_hip_status)99), "") == 0);
	/* What a visit's comparison makes of each. */
	CHECK(bmeq_side_status_of(BMEQ_HIP_OK) == BMEQ_SIDE_OK);
	for (int st = BMEQ_HIP_NOT_FOUND; st <= BMEQ_HIP_UNCERTAIN; st++)
		CHECK(bmeq_side_status_of((bmeq_hip_status)st) == BMEQ_SIDE_NOT_FOUND);
	CHECK(bmeq_side_status_of(BMEQ_HIP_ERROR) == BMEQ_SIDE_ERROR);
	CHECK(bmeq_side_status_of(BMEQ_HIP_NONE) == BMEQ_SIDE_ERROR);
}

static void test_ids(void)
{
	char sub[64], ses[64];

	bmeq_ids_from_path("/d/sub-01_ses-02_acq-STIR_T2w.nii.gz", sub, ses, sizeof(sub));
	CHECK(strcmp(sub, "sub-01") == 0 && strcmp(ses, "ses-02") == 0);
	bmeq_ids_from_path("/d/sub-7/hip.nii.gz", sub, ses, sizeof(sub));
	CHECK(strcmp(sub, "hip") == 0 && strcmp(ses, "") == 0);
	bmeq_ids_from_path("scan.hdr", sub, ses, sizeof(sub));
	CHECK(strcmp(sub, "scan") == 0 && strcmp(ses, "") == 0);
	bmeq_ids_from_path("x_sub-a_ses-b.nii", sub, ses, sizeof(sub));
	CHECK(strcmp(sub, "sub-a") == 0 && strcmp(ses, "ses-b") == 0);
}

int main(void)
{
	test_headers();
	test_scans_rows();
	test_lesions_rows();
	test_response_rows();
	test_names();
	test_ids();
	CHECK_DONE();
}
