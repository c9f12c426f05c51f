/* bmeq/dicom.h - DICOM series: what a folder holds and one series as a volume.
 *
 * Part of the ITK bridge (src/itk/itk_dicom.cxx): files are parsed by GDCM,
 * the DICOM library ITK ships and uses for its own DICOM reading. A folder's
 * series are found from the headers of the files directly in it (no
 * recursion; files that are not DICOM are counted and skipped). One series
 * becomes one bmeq volume the way dcm2niix converts it, so a series and
 * dcm2niix's NIfTI of it hold the same voxels in the same order on the same
 * affine: slices sorted by position along the slice normal (cross product of
 * the row and column directions), rows stored bottom-up (dcm2niix's flip of
 * the second axis), each slice's Rescale Slope/Intercept applied, and the
 * DICOM patient coordinates (LPS) turned into bmeq's RAS through
 * bmeq_itk_grid_from_lps(), the bridge's one conversion.
 *
 * Privacy: no patient-identifying element (name, ID, birth date, address,
 * accession number ...) is ever read; nothing here can put one into a
 * message, a table or a log.
 *
 * Thread-safety: every function may be called from several threads at once.
 */
#ifndef BMEQ_DICOM_H
#define BMEQ_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest text kept from a header element (DICOM's LO is 64 characters). */
#define BMEQ_DICOM_TEXT 68

/* One series of a folder and the sequence facts of its first image. Text is
 * "" and numbers NaN (or -1 for counts and numbers) when the element is
 * absent. */
typedef struct bmeq_dicom_series {
	char uid[BMEQ_DICOM_TEXT];          /* Series Instance UID (0020,000E) */
	long number;                        /* Series Number (0020,0011), -1 if absent */
	char description[BMEQ_DICOM_TEXT];  /* Series Description (0008,103E) */
	char protocol[BMEQ_DICOM_TEXT];     /* Protocol Name (0018,1030) */
	char modality[BMEQ_DICOM_TEXT];     /* (0008,0060) */
	char study_uid[BMEQ_DICOM_TEXT];    /* Study Instance UID (0020,000D) */
	char study_date[BMEQ_DICOM_TEXT];   /* Study Date (0008,0020), YYYYMMDD */
	char image_type[BMEQ_DICOM_TEXT];   /* (0008,0008), values joined by '\' */
	char sop_class[BMEQ_DICOM_TEXT];    /* SOP Class UID (0008,0016) */
	char transfer_syntax[BMEQ_DICOM_TEXT]; /* (0002,0010) */
	char scanning_sequence[BMEQ_DICOM_TEXT]; /* (0018,0020), e.g. "SE\IR" */
	char sequence_variant[BMEQ_DICOM_TEXT];  /* (0018,0021), e.g. "SK\SP\OSP" */
	char scan_options[BMEQ_DICOM_TEXT];      /* (0018,0022), e.g. "FS\IR" */
	char sequence_name[BMEQ_DICOM_TEXT];     /* (0018,0024), e.g. "*tir2d1_13" */
	char manufacturer[BMEQ_DICOM_TEXT];      /* (0008,0070) */
	char model[BMEQ_DICOM_TEXT];             /* (0008,1090) */
	double inversion_time_ms;   /* (0018,0082) */
	double echo_time_ms;        /* (0018,0081) */
	double repetition_time_ms;  /* (0018,0080) */
	double field_strength_t;    /* (0018,0087) */
	double slice_thickness_mm;  /* (0018,0050) */
	double slice_spacing_mm;    /* (0018,0088) Spacing Between Slices as stored */
	double flip_angle_deg;      /* (0018,1314) */
	size_t files;               /* files of this series in the folder */
	size_t rows, columns;       /* of the first image; 0 for a non-image object */
	size_t slices;              /* distinct slice positions */
	size_t echoes;              /* distinct echo numbers (1 when absent) */
	char orientation[4];        /* the volume's orientation letters, "" if unknown */
	char problem[200];          /* "" when the series reads as one 3D volume; else
				       why it cannot (the message bmeq_dicom_read
				       gives), e.g. "multi-echo series (2 echoes)" */
	bmeq_status problem_status; /* BMEQ_OK, or the status bmeq_dicom_read returns */
} bmeq_dicom_series;

/* Finds the series among the files directly in dir. *out (an array of *n
 * entries, sorted by series number then UID) is owned by the caller
 * (bmeq_dicom_series_free). *n may be 0 (no DICOM file). *skipped, when not
 * NULL, receives the number of files that are not DICOM (or hidden, or a
 * DICOMDIR). Statuses: BMEQ_E_IO (dir missing or not a readable folder),
 * BMEQ_E_NOMEM. */
bmeq_status bmeq_dicom_list(const char *dir, bmeq_dicom_series **out, size_t *n, size_t *skipped);

/* Frees an array from bmeq_dicom_list. Accepts NULL. */
void bmeq_dicom_series_free(bmeq_dicom_series *s);

/* Chooses one of the n series by sel: a Series Instance UID (exact), a
 * series number (digits), or else a case-insensitive shell pattern matched
 * against the series description ("*STIR*"). sel NULL or "" means the folder
 * must hold exactly one image series (non-image objects such as structured
 * reports are then ignored). BMEQ_E_ARG when nothing or more than one series
 * matches (the message lists the candidates by number and description),
 * BMEQ_E_FORMAT when there is no DICOM series at all. */
bmeq_status bmeq_dicom_choose(const bmeq_dicom_series *s, size_t n, const char *sel, size_t *index);

/* Reads the series of dir chosen by sel (see bmeq_dicom_choose) as a float32
 * volume (see the top of this file). info, when not NULL, receives the
 * series' description. max_bytes: largest volume accepted as float32 (0: only
 * the guard against absurd sizes). Statuses: BMEQ_E_IO (folder unreadable),
 * BMEQ_E_ARG (no or several series match sel), BMEQ_E_FORMAT (no DICOM
 * series, a truncated or undecodable file, a missing slice or uneven
 * spacing, slices of different size or orientation, a non-image object),
 * BMEQ_E_UNSUPPORTED (a 4D or multi-echo series, multi-frame files, colour
 * images, a transfer syntax GDCM cannot decode, a volume over max_bytes),
 * BMEQ_E_NOMEM. *out is owned by the caller. */
bmeq_status bmeq_dicom_read(const char *dir, const char *sel, uint64_t max_bytes,
			    bmeq_volume **out, bmeq_dicom_series *info);

/* The files of the series of dir chosen by sel, in slice order, as paths
 * (dir joined with each name): for hashing an input. *paths (an array of *n
 * malloc'ed strings) is owned by the caller: free each, then the array.
 * Statuses as bmeq_dicom_choose, and BMEQ_E_IO / BMEQ_E_NOMEM. */
bmeq_status bmeq_dicom_series_files(const char *dir, const char *sel, char ***paths, size_t *n);

/* The DICOM reader's default time limit in seconds (the setting
 * scan.dicom_timeout_s, bmeq/measure.h, has the same default). */
#define BMEQ_DICOM_TIME_LIMIT_DEFAULT 120

/* Sets the time limit of every later call of bmeq_dicom_list,
 * bmeq_dicom_series_files and bmeq_dicom_read in this process: the reader's
 * child (GDCM runs in a child process, src/itk/dicom_child.c) that has not
 * answered within it is killed, and the call fails with BMEQ_E_FORMAT ("F: the
 * DICOM reader did not finish within S s (scan.dicom_timeout_s) and was
 * stopped: ...", F the file it was on). seconds <= 0: no limit. Default
 * BMEQ_DICOM_TIME_LIMIT_DEFAULT. Where the program cannot be started again
 * (no /proc) and the reader runs in the caller, there is no limit.
 * Process-wide rather than an argument: every way to a DICOM series (reading,
 * hashing, the protocol, info, import, the report reopening a scan) reaches
 * the reader, most through functions that take no reader options, and the
 * limit belongs to the isolation in a child, which is the process's. The
 * program sets it once from its settings, before it starts threads; reading
 * it from several threads is safe (atomic). */
void bmeq_dicom_set_time_limit(double seconds);

/* The time limit in seconds (0: none). */
double bmeq_dicom_time_limit(void);

/* Non-zero when the file at path begins like a DICOM Part 10 file (the
 * "DICM" magic at byte 128). */
int bmeq_dicom_is_file(const char *path);

#ifdef __cplusplus
}
#endif
#endif
