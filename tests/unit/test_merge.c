/* test_merge.c - bmeq_merge_run (src/study/merge.c): the shards of a study
 * merged give the tables of one batch run, byte for byte, whatever the number
 * of shards and the order they are given in; folders that are not the
 * finished shards of one study and one configuration are refused, with the
 * reason. The study is small and synthetic (scans with their own regions and
 * reference, so no segmentation or bias correction runs), with a subject
 * whose scan is missing. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmeq/batch.h"
#include "bmeq/csv.h"
#include "bmeq/nifti_io.h"
#include "bmeq/shard.h"
#include "bmeq/study.h"
#include "check.h"

static char tmp[] = "/tmp/bmeq_merge_XXXXXX";

static const char *const tables[] = {"scans.csv", "lesions.csv", "response.csv",
				     "response_interval.csv"};

static void path_of(char *buf, size_t cap, const char *rel)
{
	snprintf(buf, cap, "%s/%s", tmp, rel);
}

/* A 40x30x20 scan of 1 mm voxels: two heads (labels 1, 2) of marrow at
 * 90-110, a right lesion of edge e voxels at 300; the reference is the left
 * head. Writes <stem>.nii.gz, <stem>_roi.nii.gz, <stem>_ref.nii.gz. */
static void write_scan(const char *stem, size_t e)
{
	size_t dim[3] = {40, 30, 20}, n = 40 * 30 * 20;
	double sp[3] = {1, 1, 1}, origin[3] = {-20, -15, -10};
	bmeq_grid g;
	float *v = malloc(n * sizeof(float));
	uint8_t *roi = calloc(n, 1), *ref = calloc(n, 1);
	char path[512], rel[256];

	CHECK(bmeq_grid_make(&g, dim, sp, origin) == BMEQ_OK);
	for (size_t z = 0, i = 0; z < 20; z++)
		for (size_t y = 0; y < 30; y++)
			for (size_t x = 0; x < 40; x++, i++) {
				int in_y = y >= 8 && y <= 19 && z >= 4 && z <= 15;
				roi[i] = in_y && x >= 4 && x <= 15 ? 1 : in_y && x >= 24 && x <= 35 ? 2 : 0;
				ref[i] = roi[i] == 2;
				v[i] = roi[i] ? 100.0f + 0.6f * (float)((int)((i * 37) % 21) - 10 +
									 (int)((i * 53) % 17) - 8)
					      : 50.0f;
				if (x >= 6 && x < 6 + e && y >= 10 && y < 10 + e && z >= 6 && z < 6 + e)
					v[i] = 300.0f;
			}
	snprintf(rel, sizeof(rel), "%s.nii.gz", stem);
	path_of(path, sizeof(path), rel);
	bmeq_write_opts wo;
	bmeq_write_opts_init(&wo, &g);
	CHECK(bmeq_nifti_write(path, &g, v, &wo) == BMEQ_OK);
	snprintf(rel, sizeof(rel), "%s_roi.nii.gz", stem);
	path_of(path, sizeof(path), rel);
	CHECK(bmeq_nifti_write_labels(path, &g, roi, BMEQ_DT_UINT8) == BMEQ_OK);
	snprintf(rel, sizeof(rel), "%s_ref.nii.gz", stem);
	path_of(path, sizeof(path), rel);
	CHECK(bmeq_nifti_write_labels(path, &g, ref, BMEQ_DT_UINT8) == BMEQ_OK);
	free(v);
	free(roi);
	free(ref);
}

static bmeq_study *make_study(void)
{
	char path[512];
	bmeq_study *s = NULL;
	FILE *f;

	write_scan("a1", 10);
	write_scan("a2", 6);
	write_scan("c1", 4);
	write_scan("c2", 9);
	path_of(path, sizeof(path), "manifest.csv");
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		exit(1);
	fputs("subject,session,path,roi,reference,cycle\n"
	      "01,1,a1.nii.gz,a1_roi.nii.gz,a1_ref.nii.gz,0\n"
	      "01,2,a2.nii.gz,a2_roi.nii.gz,a2_ref.nii.gz,1\n"
	      "02,1,missing.nii.gz,,,0\n"
	      "03,1,c1.nii.gz,c1_roi.nii.gz,c1_ref.nii.gz,0\n"
	      "03,2,c2.nii.gz,c2_roi.nii.gz,c2_ref.nii.gz,\"1,5\"\n",
	      f);
	CHECK(fclose(f) == 0);
	CHECK(bmeq_study_from_manifest(path, &s) == BMEQ_OK);
	if (!s)
		exit(1);
	return s;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[600];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The four tables of a and b are byte-identical (and not empty). */
static int same_tables(const char *a, const char *b)
{
	int same = 1;
	for (size_t t = 0; t < 4; t++) {
		size_t la = 0, lb = 0;
		char *ta = slurp(a, tables[t], &la), *tb = slurp(b, tables[t], &lb);
		if (!ta || !tb || la != lb || memcmp(ta, tb, la) != 0 || la < 10) {
			fprintf(stderr, "%s differs between %s and %s\n", tables[t], a, b);
			same = 0;
		}
		free(ta);
		free(tb);
	}
	return same;
}

static void run_shards(const bmeq_study *s, const bmeq_batch_opts *o, int nshards,
		       const char *prefix)
{
	for (int k = 1; k <= nshards; k++) {
		char dir[512], rel[64];
		bmeq_batch_summary sum;
		snprintf(rel, sizeof(rel), "%s-%d", prefix, k);
		path_of(dir, sizeof(dir), rel);
		CHECK(bmeq_batch_run_shard(s, k, nshards, dir, o, &sum) == BMEQ_OK);
	}
}

static bmeq_status merge(const char *out_rel, int pictures, const char *const *rels, size_t n,
			 bmeq_batch_summary *sum)
{
	char dirs[8][512], out[512];
	const char *p[8];
	bmeq_merge_opts mo;

	for (size_t i = 0; i < n; i++) {
		path_of(dirs[i], sizeof(dirs[i]), rels[i]);
		p[i] = dirs[i];
	}
	path_of(out, sizeof(out), out_rel);
	bmeq_merge_opts_init(&mo);
	mo.pictures = pictures;
	return bmeq_merge_run(p, n, out, &mo, sum);
}

int main(void)
{
	bmeq_study *s;
	bmeq_batch_opts o;
	bmeq_batch_summary sum;
	char single[512], merged[512], path[600];

	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	s = make_study();
	CHECK(s->n == 5);
	bmeq_batch_opts_init(&o);
	o.jobs = 2;
	o.config_text = "";

	path_of(single, sizeof(single), "single");
	CHECK(bmeq_batch_run(s, single, &o, &sum) == BMEQ_OK);
	CHECK(sum.scans == 5 && sum.failed == 1);

	/* Two shards, merged in either order; four shards (one of them empty,
	 * three subjects) merged the same. */
	run_shards(s, &o, 2, "s2");
	run_shards(s, &o, 4, "s4");
	const char *two[] = {"s2-2", "s2-1"}, *four[] = {"s4-3", "s4-1", "s4-4", "s4-2"};
	CHECK(merge("m2", 0, two, 2, &sum) == BMEQ_OK);
	CHECK(sum.scans == 5 && sum.failed == 1 && sum.comparisons == 2);
	path_of(merged, sizeof(merged), "m2");
	CHECK(same_tables(single, merged));
	CHECK(merge("m4", 1, four, 4, &sum) == BMEQ_OK);
	path_of(merged, sizeof(merged), "m4");
	CHECK(same_tables(single, merged));
	/* Every scan's folder is there, record and maps. */
	path_of(path, sizeof(path), "m4/03/2/scan_record.csv");
	CHECK(access(path, F_OK) == 0);
	path_of(path, sizeof(path), "m4/01/1/a1_edema.nii.gz");
	CHECK(access(path, F_OK) == 0);
	path_of(path, sizeof(path), "m4/provenance.json");
	CHECK(access(path, F_OK) == 0);

	/* Refused: a missing shard, a repeated one, shards of two splits. */
	const char *one[] = {"s2-1"}, *twice[] = {"s2-1", "s2-1"}, *mixed[] = {"s2-1", "s4-2"};
	CHECK(merge("bad", 0, one, 1, &sum) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "shard 2/2 is missing") != NULL);
	CHECK(merge("bad", 0, twice, 2, &sum) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "both shard 1/2") != NULL);
	CHECK(merge("bad", 0, mixed, 2, &sum) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "not shards of one split") != NULL);
	/* The output folder may not be a shard. */
	const char *two_in[] = {"s2-1", "s2-2"};
	CHECK(merge("s2-1", 0, two_in, 2, &sum) == BMEQ_E_ARG);
	/* Other settings in one shard. */
	bmeq_batch_opts other = o;
	other.measure.edema.rule.k = 1.5;
	run_shards(s, &other, 2, "x2");
	const char *cross[] = {"s2-1", "x2-2"}, *both_other[] = {"x2-1", "x2-2"};
	CHECK(merge("bad", 0, cross, 2, &sum) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "different parameters") != NULL);
	/* Both shards with settings the configuration text does not give: this
	 * bmeq cannot write their provenance, so it refuses. */
	CHECK(merge("bad", 0, both_other, 2, &sum) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "other parameters") != NULL);
	/* An unfinished shard (no shard.csv), then a damaged one. */
	char marker[600], moved[600];
	path_of(marker, sizeof(marker), "s2-2/shard.csv");
	path_of(moved, sizeof(moved), "s2-2/shard.csv.away");
	CHECK(rename(marker, moved) == 0);
	CHECK(merge("bad", 0, two_in, 2, &sum) == BMEQ_E_IO);
	CHECK(strstr(bmeq_last_error(), "not a finished shard") != NULL);
	CHECK(bmeq_write_file_atomic(marker, "key,value\r\nformat,x\r\n", 21) == BMEQ_OK);
	CHECK(merge("bad", 0, two_in, 2, &sum) == BMEQ_E_FORMAT);
	CHECK(strstr(bmeq_last_error(), "not a bmeq shard record") != NULL);
	CHECK(rename(moved, marker) == 0);
	/* A scan whose record is gone. */
	path_of(marker, sizeof(marker), "s2-1/01/2/scan_record.csv");
	if (access(marker, F_OK) != 0)
		path_of(marker, sizeof(marker), "s2-2/01/2/scan_record.csv");
	CHECK(unlink(marker) == 0);
	CHECK(merge("bad", 0, two_in, 2, &sum) == BMEQ_E_IO);
	CHECK(strstr(bmeq_last_error(), "01/2 has no complete record") != NULL);

	bmeq_study_destroy(s);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	CHECK_DONE();
}
