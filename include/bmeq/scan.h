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

/* The sequence facts that say what kind of image a scan is: from the DICOM
 * headers, or from the dcm2niix (BIDS) JSON sidecar beside a NIfTI file
 * (x.nii.gz -> x.json; its times in seconds are converted to ms). Text is ""
 * and numbers NaN when unknown. */
typedef struct bmeq_protocol {
	char source[16];            /* "dicom", "sidecar" or "" (nothing known) */
	char description[BMEQ_DICOM_TEXT];
	char scanning_sequence[BMEQ_DICOM_TEXT];
	char sequence_variant[BMEQ_DICOM_TEXT];
	char scan_options[BMEQ_DICOM_TEXT];
	char sequence_name[BMEQ_DICOM_TEXT];
	char manufacturer[BMEQ_DICOM_TEXT];
	char model[BMEQ_DICOM_TEXT];
	double inversion_time_ms, echo_time_ms, repetition_time_ms, field_strength_t,
		slice_thickness_mm, slice_spacing_mm;
} bmeq_protocol;

/* What a scan's protocol says about it as a STIR. */
typedef enum bmeq_protocol_verdict {
	BMEQ_PROTOCOL_UNKNOWN = 0,  /* no facts (a NIfTI file without sidecar) */
	BMEQ_PROTOCOL_FLUID_FS = 1, /* a short-TI inversion recovery, or a T2/PD-weighted
				       image with fat suppression */
	BMEQ_PROTOCOL_OTHER = 2     /* neither: T1-weighted, no fat suppression ... */
} bmeq_protocol_verdict;

/* Classifies p (the rules are in the README, "Protocol check"): a short-TI
 * inversion recovery (IR in the scanning sequence or scan options, TI 80 to
 * 300 ms) or a long-TR, long-TE image (TR >= 1500 ms, TE >= 30 ms) with fat
 * suppression (scan options FS/SFS/FSA/FSP/SPAIR, or FS/FAT/SPAIR/SPIR/STIR/
 * TIRM in the description) is fluid-sensitive and fat-suppressed. why
 * receives a one-line account ("IR, TI 160 ms" or "T1-weighted ..."). */
bmeq_protocol_verdict bmeq_protocol_classify(const bmeq_protocol *p, char *why, size_t cap);

/* Compares a follow-up's protocol with the baseline's: field strength (0.1 T),
 * slice thickness (0.5 mm), and sequence (scanning sequence, or the
 * verdict's kind). Returns 1 and a one-line account in why when they differ,
 * 0 otherwise (also when either is unknown). */
int bmeq_protocol_differs(const bmeq_protocol *base, const bmeq_protocol *fu, char *why,
			  size_t cap);

/* What was opened. */
typedef struct bmeq_scan_info {
	int dicom;                  /* 1: a DICOM series (series valid); 0: NIfTI (nifti valid) */
	bmeq_nifti_info nifti;
	bmeq_dicom_series series;
	bmeq_protocol protocol;     /* from the series, or the NIfTI's sidecar */
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

/* The protocol of the scan ref from its headers alone (no pixel data): the
 * DICOM series' facts, or a NIfTI file's sidecar (source "" without one).
 * Statuses: those of listing and choosing a series; BMEQ_OK for any NIfTI. */
bmeq_status bmeq_scan_protocol(const char *ref, bmeq_protocol *out);

/* SHA-256 of a scan's input (for provenance and --resume): the file's, or
 * for a DICOM series the SHA-256 of its files' SHA-256 digests in slice
 * order, one per line. Statuses as the readers'. */
bmeq_status bmeq_scan_sha256(const char *ref, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
