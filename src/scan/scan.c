/* scan.c - opening a scan: NIfTI file or DICOM series (bmeq/scan.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmeq/hash.h"
#include "bmeq/scan.h"

static int is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int exists(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0;
}

int bmeq_scan_split(const char *ref, char *path, size_t cap, const char **sel)
{
	*sel = NULL;
	snprintf(path, cap, "%s", ref);
	if (exists(ref))
		return is_dir(ref);
	const char *hash = strrchr(ref, '#');
	if (!hash || hash == ref)
		return 0;
	size_t n = (size_t)(hash - ref);
	if (n >= cap)
		return 0;
	memcpy(path, ref, n);
	path[n] = '\0';
	if (!is_dir(path)) {
		snprintf(path, cap, "%s", ref);
		return 0;
	}
	*sel = hash + 1;
	return 1;
}

bmeq_status bmeq_scan_ref(char *buf, size_t cap, const char *path, const char *sel)
{
	int n;
	if (!sel || !*sel)
		n = snprintf(buf, cap, "%s", path);
	else if (!is_dir(path))
		return bmeq_fail(BMEQ_E_ARG, "--series %s: %s is not a DICOM folder (--series "
				 "applies to folders of DICOM files)",
				 sel, path);
	else
		n = snprintf(buf, cap, "%s#%s", path, sel);
	if (n < 0 || (size_t)n >= cap)
		return bmeq_fail(BMEQ_E_ARG, "%s: path too long", path);
	return BMEQ_OK;
}

bmeq_status bmeq_scan_read(const char *ref, const bmeq_read_opts *opts, bmeq_volume **out,
			   bmeq_scan_info *info)
{
	char path[4096];
	const char *sel;
	bmeq_read_opts defaults;

	*out = NULL;
	if (!opts) {
		bmeq_read_opts_init(&defaults);
		opts = &defaults;
	}
	if (info)
		memset(info, 0, sizeof(*info));
	if (!bmeq_scan_split(ref, path, sizeof(path), &sel)) {
		if (bmeq_dicom_is_file(path))
			return bmeq_fail(BMEQ_E_FORMAT, "%s is a DICOM file: give the folder that "
					 "holds its series",
					 path);
		return bmeq_nifti_read(path, opts, out, info ? &info->nifti : NULL);
	}
	if (opts->volume >= 0)
		return bmeq_fail(BMEQ_E_UNSUPPORTED, "%s: --volume applies to 4D NIfTI files, not "
				 "to DICOM series",
				 path);
	bmeq_dicom_series s;
	bmeq_status st = bmeq_dicom_read(path, sel, opts->max_bytes, out, &s);
	if (st != BMEQ_OK)
		return st;
	if (info) {
		info->dicom = 1;
		info->series = s;
		/* The geometry comes from every slice's position and orientation,
		 * never from a guess. */
		info->nifti.affine_source = BMEQ_AFFINE_SFORM;
		info->nifti.datatype_name = "DICOM";
		info->nifti.nvolumes = 1;
		info->nifti.volume_index = 0;
	}
	return BMEQ_OK;
}

bmeq_status bmeq_scan_sha256(const char *ref, char hex[65])
{
	char path[4096];
	const char *sel;
	char **files = NULL;
	size_t n = 0;
	bmeq_status st;

	if (!bmeq_scan_split(ref, path, sizeof(path), &sel))
		return bmeq_sha256_file(path, hex);
	if ((st = bmeq_dicom_series_files(path, sel, &files, &n)) != BMEQ_OK)
		return st;
	char *list = malloc(n * 65 + 1);
	if (!list) {
		st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if ((st = bmeq_sha256_file(files[i], list + i * 65)) != BMEQ_OK)
			goto done;
		list[i * 65 + 64] = '\n';
	}
	bmeq_sha256_buffer(list, n * 65, hex);
done:
	free(list);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return st;
}
