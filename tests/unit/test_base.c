/* test_base.c - the base layer's one atomic write, its one whole-file read,
 * the string buffer, the clock and order statistics by selection. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bmeq/clock.h"
#include "bmeq/files.h"
#include "bmeq/order.h"
#include "bmeq/strbuf.h"
#include "check.h"

/* Number of entries in dir other than . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = malloc(1 << 16);

	*n = 0;
	if (!f || !b) {
		if (f)
			fclose(f);
		free(b);
		return NULL;
	}
	*n = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

static void test_files(void)
{
	char dir[] = "/tmp/bmeq_test_base_XXXXXX";
	char path[600], sub[256];
	size_t n;
	char *b;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/a.csv", dir);
	CHECK(bmeq_write_file_atomic(path, "x,y\r\n", 5) == BMEQ_OK);
	b = slurp(path, &n);
	CHECK(b && n == 5 && memcmp(b, "x,y\r\n", 5) == 0);
	free(b);
	/* Replacing keeps one file and no temporary. */
	CHECK(bmeq_write_file_atomic(path, "z", 1) == BMEQ_OK);
	b = slurp(path, &n);
	CHECK(b && n == 1 && b[0] == 'z');
	free(b);
	CHECK(entries(dir) == 1);

	/* A writer with its own file: the temporary is hidden, in the same folder. */
	char *tmp = NULL;
	snprintf(path, sizeof(path), "%s/b.nii.gz", dir);
	CHECK(bmeq_atomic_begin(path, &tmp) == BMEQ_OK);
	CHECK(tmp && strncmp(tmp, dir, strlen(dir)) == 0 && tmp[strlen(dir)] == '/' &&
	      tmp[strlen(dir) + 1] == '.' && strstr(tmp, "b.nii.gz.tmp") != NULL);
	FILE *f = fopen(tmp, "wb");
	CHECK(f != NULL);
	if (f) {
		fputs("hello", f);
		fclose(f);
	}
	CHECK(bmeq_atomic_commit(tmp, path) == BMEQ_OK);
	b = slurp(path, &n);
	CHECK(b && n == 5 && memcmp(b, "hello", 5) == 0);
	free(b);
	CHECK(entries(dir) == 2);

	/* Abort removes the temporary; commit of a temporary never written fails
	 * naming the final path, and leaves nothing. */
	CHECK(bmeq_atomic_begin(path, &tmp) == BMEQ_OK);
	f = fopen(tmp, "wb");
	if (f)
		fclose(f);
	bmeq_atomic_abort(tmp);
	bmeq_atomic_abort(NULL);
	CHECK(entries(dir) == 2);
	snprintf(path, sizeof(path), "%s/c.json", dir);
	CHECK(bmeq_atomic_begin(path, &tmp) == BMEQ_OK);
	CHECK(bmeq_atomic_commit(tmp, path) == BMEQ_E_WRITE);
	CHECK(strstr(bmeq_last_error(), "c.json") != NULL);
	CHECK(entries(dir) == 2);

	/* No folder: refused, nothing created. */
	snprintf(path, sizeof(path), "%s/none/d.png", dir);
	CHECK(bmeq_write_file_atomic(path, "p", 1) == BMEQ_E_WRITE);
	CHECK(strstr(bmeq_last_error(), "cannot create") != NULL);

	/* Folders with their parents; an existing one is fine. */
	snprintf(sub, sizeof(sub), "%s/e/f/g", dir);
	CHECK(bmeq_mkdirs(sub) == 0);
	CHECK(bmeq_mkdirs(sub) == 0);
	snprintf(path, sizeof(path), "%s/g.html", sub);
	CHECK(bmeq_write_file_atomic(path, "", 0) == BMEQ_OK);
	CHECK(entries(sub) == 1);
	CHECK(bmeq_mkdirs(path) == -1); /* a file, not a folder */

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* The one whole-file reader (CSV tables, configuration files, merge's copies):
 * every byte (NUL and CR included) across the buffer's growth steps, a NUL
 * after them, the size limit exact, and clear failures. */
static void test_read_file(void)
{
	char dir[] = "/tmp/bmeq_test_read_XXXXXX";
	char path[600];
	size_t n = 99, big = 200001;
	char *data = (char *)1, *want = malloc(big);

	CHECK(mkdtemp(dir) != NULL && want != NULL);
	for (size_t i = 0; i < big; i++)
		want[i] = (char)(i * 7 + i / 300);
	want[5] = '\0';
	snprintf(path, sizeof(path), "%s/big.bin", dir);
	CHECK(bmeq_write_file_atomic(path, want, big) == BMEQ_OK);
	CHECK(bmeq_read_file(path, 0, &data, &n) == BMEQ_OK);
	CHECK(data && n == big && memcmp(data, want, big) == 0 && data[big] == '\0');
	free(data);
	/* A limit of exactly the size reads it; one byte less refuses it whole. */
	CHECK(bmeq_read_file(path, big, &data, &n) == BMEQ_OK && n == big);
	free(data);
	CHECK(bmeq_read_file(path, big - 1, &data, &n) == BMEQ_E_FORMAT);
	CHECK(data == NULL && n == 0 && strstr(bmeq_last_error(), "larger than 200000 bytes"));
	/* Empty file: "" and 0. */
	snprintf(path, sizeof(path), "%s/empty.txt", dir);
	CHECK(bmeq_write_file_atomic(path, "", 0) == BMEQ_OK);
	CHECK(bmeq_read_file(path, 10, &data, &n) == BMEQ_OK && n == 0 && data && !data[0]);
	free(data);
	/* Missing file, and a folder (fopen opens it; reading it fails). */
	snprintf(path, sizeof(path), "%s/none.txt", dir);
	CHECK(bmeq_read_file(path, 0, &data, &n) == BMEQ_E_IO && data == NULL);
	CHECK(strstr(bmeq_last_error(), "cannot open") != NULL);
	CHECK(bmeq_read_file(dir, 0, &data, &n) == BMEQ_E_IO && data == NULL);
	CHECK(strstr(bmeq_last_error(), "read failed") != NULL);
	free(want);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

static void test_strbuf(void)
{
	bmeq_strbuf b = BMEQ_STRBUF_INIT;
	char big[5000];

	CHECK(bmeq_strbuf_add(&b, "ab", 2) == BMEQ_OK);
	CHECK(bmeq_strbuf_puts(&b, "cd") == BMEQ_OK);
	CHECK(bmeq_strbuf_printf(&b, "%d-%.2f", 7, 0.5) == BMEQ_OK);
	CHECK(b.len == 10 && strcmp(b.s, "abcd7-0.50") == 0 && b.s[b.len] == '\0');
	/* Long formatted text is never cut. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(bmeq_strbuf_printf(&b, "[%s]", big) == BMEQ_OK);
	CHECK(b.len == 10 + sizeof(big) + 1 && b.s[b.len - 1] == ']' && !b.oom);
	/* Bytes, NUL included. */
	CHECK(bmeq_strbuf_add(&b, "\0z", 2) == BMEQ_OK && b.s[b.len - 1] == 'z');
	bmeq_strbuf_free(&b);
	CHECK(b.s == NULL && b.len == 0 && b.cap == 0);
	bmeq_strbuf_free(&b);
}

static void test_clock(void)
{
	double a = bmeq_clock_seconds(), c = a;

	for (int i = 0; i < 1000; i++) {
		double t = bmeq_clock_seconds();
		CHECK(t >= c);
		c = t;
	}
	struct timespec d = {0, 20000000};
	nanosleep(&d, NULL);
	CHECK(bmeq_clock_seconds() - a >= 0.019);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Every k of arrays with many ties (integer scanner values), all equal,
 * sorted and reverse-sorted: the k-th value a sort gives, nothing larger
 * before it, nothing smaller after it. */
static void test_order(void)
{
	enum { N = 257 };
	float a[N], sorted[N], work[N];
	unsigned seed = 12345u;

	for (int kind = 0; kind < 4; kind++) {
		for (int i = 0; i < N; i++) {
			seed = seed * 1103515245u + 12345u;
			a[i] = kind == 0   ? (float)((seed >> 16) % 17u)
			       : kind == 1 ? 3.0f
			       : kind == 2 ? (float)i
					   : (float)(N - i) * 0.5f;
		}
		memcpy(sorted, a, sizeof(a));
		qsort(sorted, N, sizeof(*sorted), cmp_float);
		for (size_t k = 0; k < N; k++) {
			memcpy(work, a, sizeof(a));
			bmeq_select_float(work, N, k);
			CHECK(work[k] == sorted[k]);
			int ok = 1;
			for (size_t i = 0; i < N; i++)
				ok &= i < k ? work[i] <= work[k] : work[i] >= work[k];
			CHECK(ok);
		}
		CHECK(bmeq_min_float(a, N) == sorted[0]);
	}
	float one = 7.0f;
	bmeq_select_float(&one, 1, 0);
	CHECK(one == 7.0f);
}

int main(void)
{
	test_files();
	test_read_file();
	test_strbuf();
	test_clock();
	test_order();
	CHECK_DONE();
}
