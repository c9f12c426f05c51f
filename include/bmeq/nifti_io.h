/* bmeq/nifti_io.h - reading scans and writing volumes and label maps.
 *
 * All NIfTI header interpretation goes through nifti_clib (nifti2_io), whose
 * own messages are silenced and turned into bmeq statuses. bmeq reads exactly
 * the file it is given (nifti_clib's habit of substituting x.nii for x.nii.gz
 * is avoided by reading the bytes ourselves and handing nifti_clib the header),
 * decompresses gzip in one pass, and never returns a partial volume.
 *
 * Thread-safety: every function may be called from several threads at once on
 * different files.
 */
#ifndef BMEQ_NIFTI_IO_H
#define BMEQ_NIFTI_IO_H

#include <stddef.h>
#include <stdint.h>

#include "bmeq/status.h"
#include "bmeq/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NIfTI datatype codes bmeq writes (the values are NIfTI's own). */
enum {
	BMEQ_DT_UINT8 = 2,
	BMEQ_DT_INT16 = 4,
	BMEQ_DT_INT32 = 8,
	BMEQ_DT_FLOAT32 = 16,
	BMEQ_DT_FLOAT64 = 64,
	BMEQ_DT_INT8 = 256,
	BMEQ_DT_UINT16 = 512
};

/* Where the affine of a loaded scan came from. */
typedef enum bmeq_affine_source {
	BMEQ_AFFINE_SFORM = 0,
	BMEQ_AFFINE_QFORM = 1,
	BMEQ_AFFINE_PIXDIM = 2 /* neither form set: diagonal from pixdim (warned) */
} bmeq_affine_source;

/* What was in the file, beside the voxels (for `bmeq info` and provenance). */
typedef struct bmeq_nifti_info {
	int nifti_version;        /* 1 or 2; 0 for ANALYZE 7.5 */
	int64_t dims[8];          /* dim[0..7] as stored */
	double pixdim[8];
	int datatype;             /* NIfTI datatype code */
	const char *datatype_name;/* e.g. "INT16" (static string) */
	int big_endian;           /* 1 when the file is big-endian */
	double scl_slope, scl_inter; /* as stored */
	int scaling_applied;      /* 1 when slope was finite and non-zero */
	int qform_code, sform_code;
	bmeq_affine_source affine_source;
	size_t volume_index;      /* the 3D volume taken from a 4D+ file */
	size_t nvolumes;          /* product of dims 4..7 */
	size_t nonfinite;         /* voxels that are NaN or Inf after scaling */
	int sheared;              /* 1 when the affine's columns are not orthogonal */
	char warning[256];        /* "" or a one-line warning (e.g. no qform/sform) */
} bmeq_nifti_info;

typedef struct bmeq_read_opts {
	long volume;              /* 3D volume to take from a 4D file; -1: file must be 3D */
	uint64_t max_bytes;       /* largest 3D volume accepted, in bytes as float32; files
				     over twice this are refused before they are read.
				     0: only the built-in guard against absurd sizes */
} bmeq_read_opts;

/* Default options: volume = -1, max_bytes = 0. */
void bmeq_read_opts_init(bmeq_read_opts *o);

/* Loads the scan at path (.nii, .nii.gz, .hdr/.img, .hdr.gz/.img.gz; NIfTI-1,
 * NIfTI-2 or ANALYZE 7.5; any scalar datatype in either byte order) as float32
 * with scl_slope/scl_inter applied (a zero or non-finite slope means no
 * scaling). The affine is the sform when its code > 0, else the qform when its
 * code > 0, else a diagonal from pixdim with info->warning set; sheared
 * affines are kept as they are. info may be NULL. opts may be NULL (defaults).
 * Statuses: BMEQ_E_IO (missing, unreadable), BMEQ_E_FORMAT (not NIfTI,
 * truncated header, data or gzip stream), BMEQ_E_UNSUPPORTED (RGB, complex,
 * more than one volume without opts->volume, volume out of range, a volume or
 * file over opts->max_bytes), BMEQ_E_NOMEM (absurd dimensions or no memory). *out is owned by the caller. */
bmeq_status bmeq_nifti_read(const char *path, const bmeq_read_opts *opts,
			    bmeq_volume **out, bmeq_nifti_info *info);

/* The same from memory: hdr/hdr_size hold a header file's bytes (gzip or not)
 * and img/img_size the separate image file of a .hdr/.img pair, or NULL/0
 * when the data follow the header in the same buffer (.nii). name is used in
 * messages only. For fuzzing and tests. */
bmeq_status bmeq_nifti_read_mem(const void *hdr, size_t hdr_size, const void *img,
				size_t img_size, const char *name, const bmeq_read_opts *opts,
				bmeq_volume **out, bmeq_nifti_info *info);

/* How to store a float volume (the phantom writes every variant). */
typedef struct bmeq_write_opts {
	int datatype;          /* BMEQ_DT_*; integers are rounded and clamped */
	double scl_slope;      /* 0: no scaling; else stored = round((v - inter) / slope) */
	double scl_inter;
	int nifti_version;     /* 1 or 2 */
	int qform_code;        /* 0: qform unset; else qform = affine (rigid part) */
	int sform_code;        /* 0: sform unset; else sform = affine */
	int gzip_level;        /* 1..9 for .gz names; 0 = default (6) */
} bmeq_write_opts;

/* Defaults: float32, no scaling, NIfTI-1, qform and sform both set with
 * code grid->xform_code, gzip level 6. */
void bmeq_write_opts_init(bmeq_write_opts *o, const bmeq_grid *g);

/* Writes n = bmeq_grid_nvox(g) float voxels to path (.nii or .nii.gz; the
 * extension decides compression) through a temporary file in the same folder
 * that is renamed into place, so a reader never sees a half-written file.
 * BMEQ_E_WRITE when the folder is not writable or a write fails (disk full);
 * no temporary file is left behind. */
bmeq_status bmeq_nifti_write(const char *path, const bmeq_grid *g, const float *data,
			     const bmeq_write_opts *opts);

/* Writes a label map (datatype BMEQ_DT_UINT8 or BMEQ_DT_UINT16, labels holding
 * nvox elements of that type) on exactly grid g, with the sform set to g's
 * affine and the qform to the same transform, both with g->xform_code, so it
 * overlays in ITK-SNAP and 3D Slicer without flips or shifts. Atomic as above. */
bmeq_status bmeq_nifti_write_labels(const char *path, const bmeq_grid *g, const void *labels,
				    int datatype);

/* Reads a label map or mask at path that must lie on grid g (same dims, affine
 * within 0.01 mm at the corners; else BMEQ_E_GRID) into a uint16 array of
 * nvox labels (non-integer or negative values: BMEQ_E_FORMAT). *out is
 * malloc'ed and owned by the caller (free()). */
bmeq_status bmeq_nifti_read_labels(const char *path, const bmeq_grid *g, uint16_t **out);

#ifdef __cplusplus
}
#endif
#endif
