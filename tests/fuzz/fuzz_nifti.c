/* fuzz_nifti.c - libFuzzer target for the NIfTI reader (bmeq_nifti_read_mem).
 *
 * Input layout (the seed corpus in tests/fuzz/corpus/nifti follows it):
 *   byte 0       mode: bit 0 set = .hdr/.img pair, bit 1 set = pick volume (byte0 >> 2) & 7
 *   pair mode:   bytes 1-2 = header length L (little-endian, clamped to what is left),
 *                then L header bytes, then the image file's bytes
 *   single mode: the rest is one file (.nii, gzip or not: the reader decides from magic bytes)
 * Every outcome is fine except a crash, a sanitizer report, a leak, a volume whose size does
 * not match its grid, or running out of memory (an input this small never needs much).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/nifti_io.h"
#include "fuzz_nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bmeq_read_opts opts;
	bmeq_volume *v = NULL;
	bmeq_nifti_info info;
	const uint8_t *hdr, *img = NULL;
	size_t hdr_size, img_size = 0;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	bmeq_read_opts_init(&opts);
	if (mode & 2)
		opts.volume = (mode >> 2) & 7;
	if (mode & 1) {
		if (size < 2)
			return 0;
		size_t split = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		split = split < size ? split : size;
		hdr = data;
		hdr_size = split;
		img = data + split;
		img_size = size - split;
	} else {
		hdr = data;
		hdr_size = size;
	}
	bmeq_status st = bmeq_nifti_read_mem(hdr, hdr_size, img, img_size, "fuzz", &opts, &v, &info);
	if (st == BMEQ_OK) {
		/* Touch the last voxel so that ASan sees an allocation shorter than the grid. */
		size_t n = bmeq_grid_nvox(&v->grid);
		if (!v->data || n == 0 || n > BMEQ_MAX_VOXELS)
			abort();
		volatile float last = v->data[n - 1];
		(void)last;
	} else if (v != NULL || bmeq_last_error()[0] == '\0') {
		abort(); /* a failure must leave no volume and give a reason */
	} else if (st == BMEQ_E_NOMEM && strstr(bmeq_last_error(), "out of memory")) {
		/* A small input may not need more memory than the replay allows
		 * (replay.c) or libFuzzer's limit: the reader allocated what a
		 * header claimed rather than what the file holds. */
		abort();
	}
	bmeq_volume_destroy(v);
	return 0;
}
