/* fuzz_dicom.c - libFuzzer target for the DICOM series reader (bmeq/dicom.h): the bytes are
 * written as the one file of a folder, which is listed and then read as a series (a single
 * slice is read, so pixel decoding runs; a two-file copy with the same bytes checks the 4D
 * refusal path). Any bytes either give a volume with a finite affine and a single-line
 * status, or an error with a one-line reason; never a crash, a leak or a hang.
 *
 * The reader is C++ around GDCM; the fuzz build compiles it with clang++ and links Debian's
 * GDCM, which is not instrumented: coverage guides the mutations through bmeq's own header
 * interpretation and geometry, and ASan sees GDCM's reads through its interceptors.
 *
 * It calls the readers that run GDCM in this process (dicom_internal.h), not the public ones,
 * which run it in a child (dicom_child.c): a fault must stop the fuzzer here, and libFuzzer
 * cannot follow a child's coverage. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/itk/dicom_internal.h"
#include "bmeq/dicom.h"
#include "fuzz_nifti.h"

static char dir[64];

static void cleanup(void)
{
	char p[96];
	snprintf(p, sizeof(p), "%s/a.dcm", dir);
	remove(p);
	snprintf(p, sizeof(p), "%s/b.dcm", dir);
	remove(p);
	rmdir(dir);
}

static int put(const char *name, const uint8_t *data, size_t size)
{
	char p[96];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f)
		return -1;
	int ok = fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void check_message(void)
{
	const char *m = bmeq_last_error();
	if (!m[0] || strchr(m, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/bmeq_fuzz_dicomXXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	char b[96];
	snprintf(b, sizeof(b), "%s/b.dcm", dir);
	remove(b);
	if (put("a.dcm", data, size) != 0)
		abort();

	bmeq_dicom_series *s = NULL;
	size_t n = 0, skipped = 0;
	if (bmeq_dicom_list_here(dir, &s, &n, &skipped) != BMEQ_OK)
		check_message();
	else if (n + skipped != 1)
		abort(); /* one file: one series, or one skipped file */
	bmeq_dicom_series_free(s);

	bmeq_volume *v = NULL;
	bmeq_dicom_series info;
	bmeq_status st = bmeq_dicom_read_here(dir, NULL, 64u << 20, &v, &info);
	if (st == BMEQ_OK) {
		if (!v || v->grid.dim[2] != 1)
			abort();
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++)
				if (!isfinite(v->grid.affine[r][c]))
					abort();
		bmeq_volume_destroy(v);
		/* The same image twice at one position: refused as 4D, never read. */
		if (put("b.dcm", data, size) != 0)
			abort();
		if (bmeq_dicom_read_here(dir, NULL, 64u << 20, &v, NULL) == BMEQ_OK)
			abort();
		check_message();
	} else {
		if (v)
			abort();
		check_message();
	}
	return 0;
}
