/* test_csv.c - RFC 4180 writer and strict reader, atomic writes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmeq/csv.h"
#include "check.h"

static void test_writer(void)
{
	bmeq_csv *w = NULL;
	size_t len;

	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	const char *hdr[] = {"subject", "note", "edema_ml"};
	CHECK(bmeq_csv_row(w, hdr, 3) == BMEQ_OK);
	bmeq_csv_field(w, "01");
	bmeq_csv_field(w, "a, \"quoted\"\nline");
	bmeq_csv_number(w, 1.23456, 3);
	bmeq_csv_end_row(w);
	bmeq_csv_field(w, " pad");
	bmeq_csv_number(w, -0.0001, 3);
	bmeq_csv_number(w, 0.0 / 0.0, 3);
	bmeq_csv_end_row(w);
	const char *t = bmeq_csv_text(w, &len);
	const char *want = "subject,note,edema_ml\r\n01,\"a, \"\"quoted\"\"\nline\",1.235\r\n"
			   "\" pad\",0.000,\r\n";
	CHECK(strcmp(t, want) == 0);
	CHECK(len == strlen(want));

	/* What the writer writes, the reader reads back unchanged. */
	bmeq_csv_table *tab = NULL;
	CHECK(bmeq_csv_parse(t, len, &tab) == BMEQ_OK);
	if (tab) {
		CHECK(tab->ncols == 3 && tab->nrows == 2);
		CHECK(strcmp(bmeq_csv_cell(tab, 0, 1), "a, \"quoted\"\nline") == 0);
		CHECK(strcmp(bmeq_csv_cell(tab, 1, 0), " pad") == 0);
		CHECK(strcmp(bmeq_csv_cell(tab, 1, 2), "") == 0);
		CHECK(bmeq_csv_column(tab, "edema_ml") == 2);
		CHECK(bmeq_csv_column(tab, "nope") == -1);
		CHECK(strcmp(bmeq_csv_cell(tab, 0, -1), "") == 0);
	}
	bmeq_csv_table_destroy(tab);
	bmeq_csv_destroy(w);
	bmeq_csv_destroy(NULL);
}

static void expect_bad(const char *text, const char *reason)
{
	bmeq_csv_table *tab = NULL;
	bmeq_status st = bmeq_csv_parse(text, strlen(text), &tab);

	CHECK(st == BMEQ_E_FORMAT);
	CHECK(tab == NULL);
	if (!strstr(bmeq_last_error(), reason)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", bmeq_last_error(), reason);
		CHECK(0);
	}
}

static void test_reader(void)
{
	bmeq_csv_table *tab = NULL;
	const char *ok = "\xEF\xBB\xBF subject ,session,path\n\nsub-01,ses-1,a.nii.gz\r\n"
			 "sub-02,ses-1,\"b,c.nii.gz\"";
	CHECK(bmeq_csv_parse(ok, strlen(ok), &tab) == BMEQ_OK);
	if (tab) {
		CHECK(tab->nrows == 2);
		CHECK(strcmp(tab->header[0], "subject") == 0);
		CHECK(strcmp(bmeq_csv_cell(tab, 1, 2), "b,c.nii.gz") == 0);
		CHECK(tab->lines[1] == 4);
	}
	bmeq_csv_table_destroy(tab);

	expect_bad("", "empty");
	expect_bad("a,b\n1,\"open\n", "unterminated");
	expect_bad("a,b\n1,\"x\"y\n", "after a closing quote");
	expect_bad("a,b\n1,x\"y\n", "quote inside");
	expect_bad("a,b\n1,2,3\n", "3 fields");
	expect_bad("a,,b\n", "empty name");
	expect_bad("a,b,a\n", "twice");
	const char nul[] = "a,b\n1,\0\n";
	CHECK(bmeq_csv_parse(nul, sizeof(nul) - 1, &tab) == BMEQ_E_FORMAT);
}

static void test_atomic(void)
{
	char dir[] = "/tmp/bmeq_csv_XXXXXX";
	char path[256];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/out.csv", dir);
	CHECK(bmeq_write_file_atomic(path, "x\r\n", 3) == BMEQ_OK);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && sb.st_size == 3);
	snprintf(path, sizeof(path), "%s/missing/out.csv", dir);
	CHECK(bmeq_write_file_atomic(path, "x", 1) == BMEQ_E_WRITE);
	CHECK(strstr(bmeq_last_error(), "cannot create") != NULL);
	/* A table is written through bmeq_csv_write_file: its text exactly. */
	bmeq_csv *w = NULL;
	CHECK(bmeq_csv_create(&w) == BMEQ_OK);
	bmeq_csv_field(w, "a,b");
	bmeq_csv_number(w, 1.5, 2);
	bmeq_csv_end_row(w);
	snprintf(path, sizeof(path), "%s/out.csv", dir);
	CHECK(bmeq_csv_write_file(w, path) == BMEQ_OK);
	char got[64] = "";
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	size_t n = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
	if (f)
		fclose(f);
	CHECK(n == 12 && memcmp(got, "\"a,b\",1.50\r\n", 12) == 0);
	snprintf(path, sizeof(path), "%s/missing/out.csv", dir);
	CHECK(bmeq_csv_write_file(w, path) == BMEQ_E_WRITE);
	bmeq_csv_destroy(w);
	snprintf(path, sizeof(path), "%s/out.csv", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_writer();
	test_reader();
	test_atomic();
	CHECK_DONE();
}
