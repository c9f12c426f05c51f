/* bmeq/scan.h - the one way a scan is opened: a NIfTI file or a DICOM series.
 *
 * A scan reference is a path as the user gives it (command line, manifest,
 * study folder):
 *   - a NIfTI file (.nii, .nii.gz, .hdr/.img ...), read by bmeq_nifti_read;
 *   - a folder of DICOM files holding one image series;
 *   - FOLDER#SERIES: the series of FOLDER chosen by SERIES, a Series Instance
 *     UID, a series number or a description pattern (see bmeq_dicom_choose).
 *     The '#' form is only taken when FOLDER#SERIES itself does not exist, so
 *     no existing path changes meaning. `--series` on the command line and
 *     the manifest's `series` column build it (bmeq_scan_ref).
 * Keeping the choice inside the reference means every stage that stores a
 * scan's path (records, tables, the report) reopens the same series.
 *
 * Thread-safety: every function may be called from several threads at once.
 */
#ifndef BMEQ_SCAN_H
#define BMEQ_SCAN_H

#include <stddef.h>

#include "bmeq/dicom.h"
#include "bmeq/nifti_io.h"
#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What was opened. */
typedef struct bmeq_scan_info {
	int dicom;                  /* 1: a DICOM series (series valid); 0: NIfTI (nifti valid) */
	bmeq_nifti_info nifti;
	bmeq_dicom_series series;
} bmeq_scan_info;

/* Splits ref into the file or folder to open (copied into path, cap bytes)
 * and the series selection (*sel points into ref after '#', or NULL). Returns
 * 1 when ref names a DICOM folder (with or without a selection), 0 otherwise:
 * a path that does not exist is returned as a file, for the reader to report.
 * A path longer than cap is cut only in path, which then fails to open. */
int bmeq_scan_split(const char *ref, char *path, size_t cap, const char **sel);

/* Builds the reference of series sel (NULL or "": none) of path into buf:
 * "path" or "path#sel". BMEQ_E_ARG when path is not a folder but sel is
 * given ("--series applies to DICOM folders") or when buf is too small. */
bmeq_status bmeq_scan_ref(char *buf, size_t cap, const char *path, const char *sel);

/* Opens the scan ref as a float32 volume (NIfTI: bmeq_nifti_read with opts;
 * DICOM: bmeq_dicom_read with opts->max_bytes; opts->volume must then be -1).
 * info may be NULL. Statuses: those of the two readers, and
 * BMEQ_E_UNSUPPORTED for --volume on a DICOM series. A single DICOM file
 * (rather than its folder) is BMEQ_E_FORMAT saying so. */
bmeq_status bmeq_scan_read(const char *ref, const bmeq_read_opts *opts, bmeq_volume **out,
			   bmeq_scan_info *info);

/* SHA-256 of a scan's input (for provenance and --resume): the file's, or
 * for a DICOM series the SHA-256 of its files' SHA-256 digests in slice
 * order, one per line. Statuses as the readers'. */
bmeq_status bmeq_scan_sha256(const char *ref, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
