/* dicom_internal.h - the DICOM reader in this process, behind bmeq/dicom.h.
 *
 * bmeq_dicom_list, bmeq_dicom_series_files and bmeq_dicom_read (bmeq/dicom.h)
 * run GDCM in a child process (dicom_child.c), because GDCM aborts or
 * crashes on some malformed files and a batch must outlive a bad scan. The
 * functions here are the same readers running GDCM in the calling process:
 * the child calls them, and so does the DICOM fuzz target, which must see
 * GDCM's and bmeq's faults itself (and cannot follow a child's coverage).
 * Arguments, statuses and ownership are those of the public functions.
 * Thread-safety: as bmeq/dicom.h.
 */
#ifndef BMEQ_DICOM_INTERNAL_H
#define BMEQ_DICOM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/dicom.h"

#ifdef __cplusplus
extern "C" {
#endif

bmeq_status bmeq_dicom_list_here(const char *dir, bmeq_dicom_series **out, size_t *n,
				 size_t *skipped);
bmeq_status bmeq_dicom_series_files_here(const char *dir, const char *sel, char ***paths,
					 size_t *n);
bmeq_status bmeq_dicom_read_here(const char *dir, const char *sel, uint64_t max_bytes,
				 bmeq_volume **out, bmeq_dicom_series *info);

/* Called with each file's path before GDCM opens it (listing or reading),
 * when set. NULL in every process but the reader's child, which sets it once
 * before reading (so that a crash can be pinned on its file). */
extern void (*bmeq_dicom_file_hook)(const char *path);

#ifdef __cplusplus
}
#endif
#endif
