/* test_report_data.c - what the report reads from a batch folder (its data
 * layer, not its pixels): the scans and their order, the completion records,
 * the scans.csv and response.csv rows, baselines, and what it does with
 * missing or odd pieces. The folder is written by hand, as a batch would. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/report/report_internal.h"
#include "bmeq/csv.h"
#include "check.h"

static char out[] = "/tmp/bmeq_report_data_XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	CHECK(bmeq_write_file_atomic(path, text, strlen(text)) == BMEQ_OK);
}

static void mkdir_rel(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	CHECK(bmeq_mkdirs(path) == 0);
}

#define SCANS_HEADER                                                                          \
	"subject,session,side,status,region_ml,edema_ml,edema_ml_low,edema_ml_high,"           \
	"edema_fraction,head_ml,head_edema_ml,neck_ml,neck_edema_ml,lesions,largest_lesion_ml," \
	"reference_intensity,threshold,threshold_rule,threshold_source,edema_to_reference_ratio," \
	"scan,message,cycle\r\n"

static void write_out(void)
{
	mkdir_rel("01/1");
	mkdir_rel("01/2");
	mkdir_rel("02/1");
	write_file("scans.csv",
		   SCANS_HEADER
		   "01,1,right,ok,95.702,1.250,0.800,1.700,0.0131,74.745,1.000,20.957,0.250,1,1.250,"
		   "267.040,389.878,median*1.46,auto,2.1000,s/a1.nii.gz,,1\r\n"
		   "01,1,left,not_found,,,,,,,,,,,,267.040,389.878,median*1.46,auto,,s/a1.nii.gz,"
		   "no head,1\r\n"
		   "01,1,label-7,ok,1.000,0.500,,,,,,,,,,267.040,389.878,median*1.46,auto,,"
		   "s/a1.nii.gz,,1\r\n"
		   "01,2,right,ok,95.000,0.000,0.000,0.136,0.0000,74.000,0.000,21.000,0.000,0,"
		   "0.000,250.000,400.000,median*1.6,reader,,s/a2.nii.gz,,2\r\n"
		   "01,2,left,ok,67.000,31.428,28.575,34.969,0.4691,49.000,21.859,18.000,9.569,1,"
		   "31.428,250.000,400.000,median*1.6,reader,2.4342,s/a2.nii.gz,\"review: low, "
		   "confidence\",2\r\n"
		   "02,1,right,error,,,,,,,,,,,,,,,,,s/b1.nii.gz,cannot read s/b1.nii.gz,1\r\n"
		   "02,1,left,error,,,,,,,,,,,,,,,,,s/b1.nii.gz,cannot read s/b1.nii.gz,1\r\n"
		   "09,1,right,ok,1,1,1,1,1,1,1,1,1,1,1,1,1,median*1.46,auto,1,s/zz.nii.gz,,1\r\n");
	/* 09/1 above has no folder, so no record; it is still a scan of the table. */
	write_file("01/1/scan_record.csv",
		   "key,value\r\nstatus,ok\r\nmessage,\r\nsha256,aa\r\nstem,sub-01_ses-1\r\n"
		   "params,\"bmeq=0.1.0;rule=median*1.46;volume=2;max_scan_mb=1024\"\r\n"
		   "right_found,1\r\nright_centre,88.9849 -1.2731 -4.3827\r\nright_radius,26.1183\r\n"
		   "left_found,0\r\nleft_centre,\r\nleft_radius,0\r\nseconds,1.1\r\n");
	write_file("01/2/scan_record.csv",
		   "key,value\r\nstatus,ok\r\nmessage,\r\nsha256,bb\r\nstem,sub-01_ses-2\r\n"
		   "params,bmeq=0.1.0;volume=-1\r\n"
		   "right_found,1\r\nright_centre,1 2 3\r\nright_radius,24.5\r\n"
		   "left_found,1\r\nleft_centre,not a point\r\nleft_radius,22\r\n");
	/* A damaged record (three columns) counts as none. */
	write_file("02/1/scan_record.csv", "key,value,x\r\nstatus,ok,1\r\n");
	write_file("response.csv",
		   "subject,side,baseline_session,session,baseline_edema_ml,edema_ml,change_ml,"
		   "change_pct,resolved_ml,persistent_ml,new_ml,response,uncertain,response_rule,"
		   "early_retreatment,message,cycle\r\n"
		   "01,right,1,2,1.250,0.000,-1.250,-100.0,1.250,0.000,0.000,complete,no,r,no,,2\r\n"
		   "01,left,1,2,,31.428,,,,,,not_evaluable,no,r,no,baseline side not found,2\r\n"
		   "03,left,1,2,1,1,1,1,1,1,1,stable,no,r,no,,2\r\n");
}

static void test_read(void)
{
	bmeq_rp_scan *v = NULL;
	size_t n = 0;
	char dir[512];

	CHECK(bmeq_rp_scans_read(NULL, out, &v, &n) == BMEQ_OK);
	CHECK(n == 4);
	if (n != 4) {
		bmeq_rp_scans_free(v, n);
		return;
	}
	/* Order and identity: scans.csv's order, one entry per scan. */
	CHECK(strcmp(v[0].subject, "01") == 0 && strcmp(v[0].session, "1") == 0);
	CHECK(strcmp(v[1].session, "2") == 0 && strcmp(v[2].subject, "02") == 0);
	CHECK(strcmp(v[3].subject, "09") == 0);
	CHECK(strcmp(v[0].path, "s/a1.nii.gz") == 0);
	snprintf(dir, sizeof(dir), "%s/01/2", out);
	CHECK(strcmp(v[1].dir, dir) == 0);

	/* The record: status, stem, volume, heads. */
	CHECK(v[0].has_record && strcmp(v[0].status, "ok") == 0);
	CHECK(strcmp(v[0].stem, "sub-01_ses-1") == 0);
	CHECK(v[0].volume == 2 && v[1].volume == -1);
	CHECK(v[0].found[0] == 1 && v[0].found[1] == 0);
	CHECK_NEAR(v[0].centre[0][0], 88.9849, 1e-9);
	CHECK_NEAR(v[0].centre[0][2], -4.3827, 1e-9);
	CHECK_NEAR(v[0].radius[0], 26.1183, 1e-9);
	/* A head whose centre does not read is not found. */
	CHECK(v[1].found[0] == 1 && v[1].found[1] == 0);
	CHECK_NEAR(v[1].radius[0], 24.5, 1e-9);

	/* scans.csv: per side numbers, range, rule and source; the label-7 row
	 * is no side of the report's. */
	CHECK(strcmp(v[0].side_status[0], "ok") == 0);
	CHECK(strcmp(v[0].side_status[1], "not_found") == 0);
	CHECK_NEAR(v[0].edema_ml[0], 1.25, 1e-12);
	CHECK_NEAR(v[0].edema_ml_low[0], 0.8, 1e-12);
	CHECK_NEAR(v[0].edema_ml_high[0], 1.7, 1e-12);
	CHECK_NEAR(v[0].fraction[0], 0.0131, 1e-12);
	CHECK(isnan(v[0].edema_ml[1]) && isnan(v[0].edema_ml_low[1]));
	CHECK_NEAR(v[0].threshold, 389.878, 1e-9);
	CHECK(strcmp(v[0].rule, "median*1.46") == 0);
	CHECK(strcmp(v[0].threshold_source, "auto") == 0);
	CHECK(strcmp(v[0].side_message[1], "no head") == 0);
	CHECK(strcmp(v[1].rule, "median*1.6") == 0 && strcmp(v[1].threshold_source, "reader") == 0);
	CHECK(strcmp(v[1].side_message[1], "review: low, confidence") == 0);

	/* Baselines: a subject's first scan. */
	CHECK(v[0].is_baseline && v[0].baseline == 0);
	CHECK(!v[1].is_baseline && v[1].baseline == 0);
	CHECK(v[2].is_baseline && v[2].baseline == 2);

	/* No usable record: the table says the scan failed, and why. */
	CHECK(!v[2].has_record && strcmp(v[2].status, "error") == 0);
	CHECK(strcmp(v[2].message, "cannot read s/b1.nii.gz") == 0);
	CHECK(!v[3].has_record && strcmp(v[3].status, "") == 0);
	CHECK(isnan(v[2].threshold) && isnan(v[2].edema_ml[0]));

	/* response.csv: the follow-up's rows; rows of unknown scans ignored. */
	CHECK(!v[0].has_response[0] && !v[0].has_response[1]);
	CHECK(v[1].has_response[0] && v[1].has_response[1]);
	CHECK(strcmp(v[1].response[0], "complete") == 0);
	CHECK(strcmp(v[1].response[1], "not_evaluable") == 0);
	CHECK(strcmp(v[1].early[0], "no") == 0 && v[1].uncertain[0] == 0);
	CHECK_NEAR(v[1].change_ml[0], -1.25, 1e-12);
	CHECK_NEAR(v[1].change_pct[0], -100.0, 1e-12);
	CHECK_NEAR(v[1].resolved_ml[0], 1.25, 1e-12);
	CHECK(v[1].persistent_ml[0] == 0.0 && v[1].new_ml[0] == 0.0);
	CHECK(isnan(v[1].change_ml[1]) && isnan(v[1].resolved_ml[1]));
	CHECK(strcmp(v[1].response_message[1], "baseline side not found") == 0);
	bmeq_rp_scans_free(v, n);
}

static void test_study_order(void)
{
	/* With the study given, its scans and order rule, not the table's. */
	char *subjects[3] = {"02", "01", "01"}, *sessions[3] = {"1", "2", "1"};
	char *paths[3] = {"p/b1", "p/a2", "p/a1"};
	bmeq_scan_item items[3];
	bmeq_study s;
	bmeq_rp_scan *v = NULL;
	size_t n = 0;

	memset(items, 0, sizeof(items));
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 3; i++) {
		items[i].subject = subjects[i];
		items[i].session = sessions[i];
		items[i].path = paths[i];
	}
	s.n = 3;
	s.items = items;
	CHECK(bmeq_rp_scans_read(&s, out, &v, &n) == BMEQ_OK);
	CHECK(n == 3);
	if (n == 3) {
		CHECK(strcmp(v[0].subject, "02") == 0 && strcmp(v[0].path, "p/b1") == 0);
		CHECK(strcmp(v[1].session, "2") == 0 && v[1].is_baseline);
		/* 01/1 comes after 01/2 in this study: 01/2 is its baseline. */
		CHECK(!v[2].is_baseline && v[2].baseline == 1);
		CHECK_NEAR(v[2].edema_ml[0], 1.25, 1e-12);
	}
	bmeq_rp_scans_free(v, n);
}

static void test_bad_folders(void)
{
	bmeq_rp_scan *v = NULL;
	size_t n = 7;
	char path[512];

	/* No response.csv: no responses, not an error. */
	snprintf(path, sizeof(path), "%s/response.csv", out);
	CHECK(unlink(path) == 0);
	CHECK(bmeq_rp_scans_read(NULL, out, &v, &n) == BMEQ_OK);
	CHECK(n == 4 && !v[1].has_response[0]);
	bmeq_rp_scans_free(v, n);
	/* scans.csv without its key columns, or missing: an error. */
	write_file("scans.csv", "subject,session,side\r\n01,1,right\r\n");
	CHECK(bmeq_rp_scans_read(NULL, out, &v, &n) == BMEQ_E_FORMAT);
	CHECK(v == NULL && n == 0);
	CHECK(strstr(bmeq_last_error(), "not a bmeq scans table") != NULL);
	snprintf(path, sizeof(path), "%s/scans.csv", out);
	CHECK(unlink(path) == 0);
	CHECK(bmeq_rp_scans_read(NULL, out, &v, &n) == BMEQ_E_IO);
	bmeq_rp_scans_free(NULL, 0);
}

int main(void)
{
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		return 1;
	}
	write_out();
	test_read();
	test_study_order();
	test_bad_folders();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", out);
	CHECK_DONE();
}
