/* nifti_io.c - load scans as float32 volumes, write volumes and label maps.
 *
 * The bytes are read here (whole file, one inflate pass for gzip) and the
 * header is interpreted by nifti_clib (nifti_convert_n[12]hdr2nim), which
 * also handles byte swapping of the header and the qform/sform maths. This
 * keeps bmeq reading exactly the file it was given, makes truncation an error
 * instead of a partial volume, and lets the fuzzer drive the same code from
 * memory. Writing builds the header with nifti_convert_nim2n[12]hdr and
 * streams it with zlib so that every write and close is checked.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nifti2_io.h>
#include <zlib.h>

#include "bmeq/files.h"
#include "bmeq/nifti_io.h"

#define HDR1_SIZE 348
#define HDR2_SIZE 540
/* Upper bound for a file's bytes (header + data), beyond which the header is
 * taken as absurd: 2^31 float64 voxels. */
#define MAX_FILE_BYTES ((uint64_t)1 << 34)
/* The most bytes one compressed byte of deflate can inflate to. */
#define DEFLATE_MAX_RATIO 1032u

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void make_nifti_quiet(void)
{
	nifti_set_debug_level(0);
}

/* ---- bytes in ---------------------------------------------------------- */

typedef struct byte_buf {
	uint8_t *p;
	size_t n;
} byte_buf;

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bmeq_status read_whole_file(const char *path, uint64_t max_bytes, byte_buf *out)
{
	FILE *f;
	long len;
	uint8_t *p;

	out->p = NULL;
	out->n = 0;
	f = fopen(path, "rb");
	if (!f)
		return bmeq_fail(BMEQ_E_IO, "cannot open: %s", strerror(errno));
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fclose(f);
		return bmeq_fail(BMEQ_E_IO, "is a folder, not a scan");
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		int e = errno;
		fclose(f);
		return bmeq_fail(BMEQ_E_IO, "cannot read: %s", e ? strerror(e) : "not a regular file");
	}
	if ((uint64_t)len > MAX_FILE_BYTES) {
		fclose(f);
		return bmeq_fail(BMEQ_E_NOMEM, "file of %ld bytes is too large", len);
	}
	/* The whole file is held while the volume is decoded, so a file far over
	 * the scan size limit is refused before it is read. Twice the limit leaves
	 * room for float64 voxels and headers; 4D files have to fit in it too. */
	if (max_bytes > 0 && (uint64_t)len / 2 > max_bytes) {
		fclose(f);
		return bmeq_fail(BMEQ_E_UNSUPPORTED,
				 "file of %.0f MB is over twice the scan size limit of %.0f MB",
				 (double)len / 1048576.0, (double)max_bytes / 1048576.0);
	}
	p = malloc(len > 0 ? (size_t)len : 1);
	if (!p) {
		fclose(f);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory reading %ld bytes", len);
	}
	if (len > 0 && fread(p, 1, (size_t)len, f) != (size_t)len) {
		int e = errno;
		free(p);
		fclose(f);
		return bmeq_fail(BMEQ_E_IO, "read failed: %s", e ? strerror(e) : "short read");
	}
	fclose(f);
	out->p = p;
	out->n = (size_t)len;
	return BMEQ_OK;
}

static int is_gzip(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Inflates the first `want` bytes of a (possibly multi-member) gzip stream
 * into out. *got receives how many bytes came out; a stream that ends early or
 * is corrupt gives BMEQ_E_FORMAT unless allow_short is set and the stream
 * ended cleanly. Without allow_short the rest of the stream is inflated into a
 * scratch buffer up to its end, so that the gzip trailer (CRC-32 and length) is
 * checked: a stream cut inside its trailer or with a wrong CRC is refused even
 * when the wanted bytes came out. allow_short is the header peek, which stops
 * early on purpose. */
static bmeq_status gunzip_prefix(const uint8_t *in, size_t n, uint8_t *out, size_t want,
				 size_t *got, int allow_short)
{
	z_stream zs;
	int ret = Z_OK;
	uint8_t scratch[4096];

	memset(&zs, 0, sizeof(zs));
	*got = 0;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return bmeq_fail(BMEQ_E_NOMEM, "zlib: cannot initialise inflate");
	zs.next_in = (Bytef *)(uintptr_t)in;
	while (*got < want || !allow_short) {
		/* zlib counts in uInt: feed at most 1 GiB per call. */
		size_t in_left = n - (size_t)(zs.next_in - in);
		size_t out_left = want - *got;
		zs.avail_in = (uInt)(in_left < (1u << 30) ? in_left : (1u << 30));
		if (out_left > 0) {
			zs.next_out = out + *got;
			zs.avail_out = (uInt)(out_left < (1u << 30) ? out_left : (1u << 30));
		} else {
			/* All wanted bytes are out: drain the rest to reach the trailer. */
			zs.next_out = scratch;
			zs.avail_out = sizeof(scratch);
		}
		uInt before = zs.avail_out;
		ret = inflate(&zs, Z_NO_FLUSH);
		if (out_left > 0)
			*got += before - zs.avail_out;
		if (ret == Z_STREAM_END) {
			/* Concatenated members are legal gzip; skip trailing zero padding. */
			size_t used = (size_t)(zs.next_in - in);
			if (used < n && is_gzip(in + used, n - used)) {
				if (inflateReset(&zs) != Z_OK)
					break;
				continue;
			}
			break;
		}
		if (ret != Z_OK) {
			if (ret == Z_BUF_ERROR && zs.avail_in == 0)
				ret = Z_DATA_ERROR + 100; /* input ran out mid-stream */
			break;
		}
	}
	inflateEnd(&zs);
	if (*got == want && (allow_short || ret == Z_STREAM_END))
		return BMEQ_OK;
	if (ret == Z_STREAM_END && allow_short)
		return BMEQ_OK;
	if (ret == Z_STREAM_END)
		return bmeq_fail(BMEQ_E_FORMAT, "data truncated: need %zu bytes, file holds %zu", want,
				 *got);
	if (ret == Z_DATA_ERROR + 100 || ret == Z_OK)
		return bmeq_fail(BMEQ_E_FORMAT, "gzip stream is truncated (after %zu bytes)", *got);
	return bmeq_fail(BMEQ_E_FORMAT, "gzip stream is corrupt (%s)",
			 zs.msg ? zs.msg : "inflate error");
}

/* Makes `want` bytes of src available from its start: a view for plain data,
 * an inflated copy (in *owned) for gzip. BMEQ_E_FORMAT when shorter. */
static bmeq_status get_prefix(const uint8_t *p, size_t n, size_t want, const uint8_t **view,
			      uint8_t **owned, const char *what)
{
	size_t got;
	bmeq_status st;

	*owned = NULL;
	if (!is_gzip(p, n)) {
		if (n < want)
			return bmeq_fail(BMEQ_E_FORMAT, "%s truncated: need %zu bytes, file has %zu",
					 what, want, n);
		*view = p;
		return BMEQ_OK;
	}
	/* Deflate expands at most 1032:1 (a 258-byte match in two bits), so a
	 * header that claims more than the stream can hold is refused after
	 * inflating what there is, not by allocating what it claims (a fuzzed
	 * 600-byte file asked for 7.8 GB). */
	uint64_t can_hold = (uint64_t)n * DEFLATE_MAX_RATIO;
	size_t cap = (uint64_t)want < can_hold ? want : (size_t)can_hold;
	*owned = malloc(cap ? cap : 1);
	if (!*owned)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory for %zu bytes", cap);
	st = gunzip_prefix(p, n, *owned, cap, &got, 0);
	if (st == BMEQ_OK && cap < want)
		st = bmeq_fail(BMEQ_E_FORMAT, "data truncated: need %zu bytes, file holds %zu", want,
			       got);
	if (st != BMEQ_OK) {
		if (got < want && strstr(bmeq_last_error(), "data truncated"))
			bmeq_fail(BMEQ_E_FORMAT, "%s truncated: need %zu bytes, file holds %zu", what,
				  want, got);
		free(*owned);
		*owned = NULL;
		return st;
	}
	*view = *owned;
	return BMEQ_OK;
}

/* ---- header ------------------------------------------------------------ */

/* Copies the nbytes (at most 8) at p into b in host order, reversing them
 * when swap is set. */
static void host_order(const uint8_t *p, int nbytes, int swap, uint8_t *b)
{
	for (int i = 0; i < nbytes; i++)
		b[i] = p[swap ? nbytes - 1 - i : i];
}

/* Reads a 2-, 4- or 8-byte signed integer at p in host order, byte-swapped
 * when swap is set. */
static int64_t raw_int(const uint8_t *p, int nbytes, int swap)
{
	uint8_t b[8];

	host_order(p, nbytes, swap, b);
	if (nbytes == 2) {
		int16_t v;
		memcpy(&v, b, 2);
		return v;
	}
	if (nbytes == 4) {
		int32_t v;
		memcpy(&v, b, 4);
		return v;
	}
	int64_t v;
	memcpy(&v, b, 8);
	return v;
}

/* Reads a 4- or 8-byte IEEE float at p, byte-swapped when swap is set. */
static double raw_real(const uint8_t *p, int nbytes, int swap)
{
	uint8_t b[8];

	host_order(p, nbytes, swap, b);
	if (nbytes == 4) {
		float v;
		memcpy(&v, b, 4);
		return v;
	}
	double v;
	memcpy(&v, b, 8);
	return v;
}

/* nifti_clib prints to stderr, whatever its debug level, when it refuses a
 * header, and its NIfTI-2 path indexes dim[] with an unchecked dim[0] (a
 * stack overrun found by fuzzing). So the fields it would refuse are checked
 * here first, in the byte order that sizeof_hdr reveals. hdr holds at least
 * 348 bytes (540 for version 2). */
static bmeq_status precheck_header(const uint8_t *hdr, int ver)
{
	int swap = raw_int(hdr, 4, 0) != (ver == 2 ? HDR2_SIZE : HDR1_SIZE);
	int dsize = ver == 2 ? 8 : 2;
	const uint8_t *dim = hdr + (ver == 2 ? 16 : 40);
	int64_t dt = raw_int(hdr + (ver == 2 ? 12 : 70), 2, swap);
	int64_t d0 = raw_int(dim, dsize, swap), d1 = raw_int(dim + dsize, dsize, swap);

	if (d0 < 1 || d0 > 7 || d1 < 1)
		return bmeq_fail(BMEQ_E_FORMAT, "header dimensions are invalid (dim[0]=%lld, dim[1]=%lld)",
				 (long long)d0, (long long)d1);
	/* nifti_clib refuses codes outside its table, and 0 and BINARY as well. */
	if (dt == DT_UNKNOWN || dt == DT_BINARY || !nifti_datatype_is_valid((int)dt, 1) ||
	    !nifti_is_valid_datatype((int)dt))
		return bmeq_fail(BMEQ_E_FORMAT, "header datatype %lld is not a NIfTI datatype",
				 (long long)dt);
	/* Without an sform the voxel size is pixdim[1..3]. nifti_clib quietly turns
	 * a zero, negative or non-finite one into 1 mm, which would scale every
	 * volume by a made-up factor, so such a header is refused here (a
	 * singleton axis may keep any value: its size never enters a volume).
	 * ANALYZE 7.5 headers have no sform field and may carry a negative x size
	 * as a flip flag; they keep the magnitude. */
	int nifti = ver == 2 || memcmp(hdr + 344, "n+1", 4) == 0 || memcmp(hdr + 344, "ni1", 4) == 0;
	int64_t scode = raw_int(hdr + (ver == 2 ? 348 : 254), ver == 2 ? 4 : 2, swap);
	if (nifti && scode <= 0) {
		int rsize = ver == 2 ? 8 : 4;
		const uint8_t *pix = hdr + (ver == 2 ? 104 : 76);
		for (int i = 1; i <= 3 && i <= d0; i++) {
			double px = raw_real(pix + i * rsize, rsize, swap);
			if (raw_int(dim + i * dsize, dsize, swap) > 1 && !(isfinite(px) && px > 0.0))
				return bmeq_fail(BMEQ_E_FORMAT,
						 "voxel size pixdim[%d] is %g: it must be positive "
						 "(no sform gives another)", i, px);
		}
	}
	return BMEQ_OK;
}

/* Interprets the header at the start of p (plain or gzip) with nifti_clib.
 * *nim is owned by the caller (nifti_image_free). */
static bmeq_status parse_header(const uint8_t *p, size_t n, const char *name, nifti_image **nim,
				int *version)
{
	uint8_t hbuf[HDR2_SIZE];
	size_t got = 0;
	int ver;

	*nim = NULL;
	if (is_gzip(p, n)) {
		bmeq_status st = gunzip_prefix(p, n, hbuf, sizeof(hbuf), &got, 1);
		if (st != BMEQ_OK)
			return st;
	} else {
		got = n < sizeof(hbuf) ? n : sizeof(hbuf);
		memcpy(hbuf, p, got);
	}
	if (got < HDR1_SIZE)
		return bmeq_fail(BMEQ_E_FORMAT, "not a NIfTI file (%zu bytes, a header needs 348)", got);
	ver = nifti_header_version((const char *)hbuf, got);
	if (ver == 1 || ver == 0) {
		nifti_1_header h;
		memcpy(&h, hbuf, sizeof(h));
		int sz = h.sizeof_hdr;
		if (sz != HDR1_SIZE) {
			uint8_t *b = (uint8_t *)&sz;
			sz = b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
			if (sz != HDR1_SIZE)
				return bmeq_fail(BMEQ_E_FORMAT, "not a NIfTI or ANALYZE header");
		}
		bmeq_status st = precheck_header(hbuf, 1);
		if (st != BMEQ_OK)
			return st;
		*nim = nifti_convert_n1hdr2nim(h, name);
		*version = memcmp(h.magic, "n+1", 4) == 0 || memcmp(h.magic, "ni1", 4) == 0 ? 1 : 0;
	} else if (ver == 2) {
		nifti_2_header h;
		if (got < HDR2_SIZE)
			return bmeq_fail(BMEQ_E_FORMAT, "NIfTI-2 header truncated (%zu of 540 bytes)", got);
		memcpy(&h, hbuf, sizeof(h));
		bmeq_status st = precheck_header(hbuf, 2);
		if (st != BMEQ_OK)
			return st;
		*nim = nifti_convert_n2hdr2nim(h, name);
		*version = 2;
	} else {
		return bmeq_fail(BMEQ_E_FORMAT, "not a NIfTI file (no valid header size)");
	}
	if (!*nim)
		return bmeq_fail(BMEQ_E_FORMAT, "invalid NIfTI header (rejected by nifti_clib)");
	return BMEQ_OK;
}

static const char *dt_name(int dt)
{
	switch (dt) {
	case DT_UINT8: return "UINT8";
	case DT_INT8: return "INT8";
	case DT_INT16: return "INT16";
	case DT_UINT16: return "UINT16";
	case DT_INT32: return "INT32";
	case DT_UINT32: return "UINT32";
	case DT_INT64: return "INT64";
	case DT_UINT64: return "UINT64";
	case DT_FLOAT32: return "FLOAT32";
	case DT_FLOAT64: return "FLOAT64";
	case DT_FLOAT128: return "FLOAT128";
	case DT_COMPLEX64: return "COMPLEX64";
	case DT_COMPLEX128: return "COMPLEX128";
	case DT_COMPLEX256: return "COMPLEX256";
	case DT_RGB24: return "RGB24";
	case DT_RGBA32: return "RGBA32";
	case DT_BINARY: return "BINARY";
	}
	return "UNKNOWN";
}

static int dt_size(int dt)
{
	switch (dt) {
	case DT_UINT8:
	case DT_INT8: return 1;
	case DT_INT16:
	case DT_UINT16: return 2;
	case DT_INT32:
	case DT_UINT32:
	case DT_FLOAT32: return 4;
	case DT_INT64:
	case DT_UINT64:
	case DT_FLOAT64: return 8;
	}
	return 0;
}

/* ---- voxels ------------------------------------------------------------ */

/* Converts n elements of type dt at raw (any alignment, byte order already
 * native) to float with optional scaling. */
static void convert_to_float(const uint8_t *raw, int dt, size_t n, int scale, double slope,
			     double inter, float *restrict out)
{
#define CONVERT(T)                                                                         \
	do {                                                                               \
		for (size_t i = 0; i < n; i++) {                                           \
			T v;                                                               \
			memcpy(&v, raw + i * sizeof(T), sizeof(T));                        \
			out[i] = scale ? (float)((double)v * slope + inter) : (float)v;    \
		}                                                                          \
	} while (0)
	switch (dt) {
	case DT_UINT8: CONVERT(uint8_t); break;
	case DT_INT8: CONVERT(int8_t); break;
	case DT_INT16: CONVERT(int16_t); break;
	case DT_UINT16: CONVERT(uint16_t); break;
	case DT_INT32: CONVERT(int32_t); break;
	case DT_UINT32: CONVERT(uint32_t); break;
	case DT_INT64: CONVERT(int64_t); break;
	case DT_UINT64: CONVERT(uint64_t); break;
	case DT_FLOAT32: CONVERT(float); break;
	case DT_FLOAT64: CONVERT(double); break;
	}
#undef CONVERT
}

static void swap_bytes(uint8_t *p, size_t n, int size)
{
	for (size_t i = 0; i < n; i++, p += size)
		for (int a = 0, b = size - 1; a < b; a++, b--) {
			uint8_t t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
}

static double col_dot(const bmeq_grid *g, int a, int b)
{
	return g->affine[0][a] * g->affine[0][b] + g->affine[1][a] * g->affine[1][b] +
	       g->affine[2][a] * g->affine[2][b];
}

/* Chooses the affine (sform > qform > pixdim) and fills the grid. */
static bmeq_status make_grid(const nifti_image *nim, bmeq_grid *g, bmeq_nifti_info *info)
{
	memset(g, 0, sizeof(*g));
	g->dim[0] = (size_t)nim->nx;
	g->dim[1] = (size_t)(nim->ny > 0 ? nim->ny : 1);
	g->dim[2] = (size_t)(nim->nz > 0 ? nim->nz : 1);
	if (nim->sform_code > 0) {
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++)
				g->affine[r][c] = nim->sto_xyz.m[r][c];
		info->affine_source = BMEQ_AFFINE_SFORM;
		g->xform_code = nim->sform_code;
	} else if (nim->qform_code > 0) {
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++)
				g->affine[r][c] = nim->qto_xyz.m[r][c];
		info->affine_source = BMEQ_AFFINE_QFORM;
		g->xform_code = nim->qform_code;
	} else {
		g->affine[0][0] = fabs(nim->dx);
		g->affine[1][1] = fabs(nim->dy);
		g->affine[2][2] = fabs(nim->dz);
		g->affine[3][3] = 1.0;
		info->affine_source = BMEQ_AFFINE_PIXDIM;
		g->xform_code = NIFTI_XFORM_SCANNER_ANAT;
		snprintf(info->warning, sizeof(info->warning),
			 "neither sform nor qform is set: orientation assumed from pixdim (RAS), "
			 "left/right is not reliable");
	}
	g->affine[3][0] = g->affine[3][1] = g->affine[3][2] = 0.0;
	g->affine[3][3] = 1.0;
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 4; c++)
			if (!isfinite(g->affine[r][c]))
				return bmeq_fail(BMEQ_E_FORMAT, "affine holds a non-finite value");
	bmeq_grid_update_spacing(g);
	for (int c = 0; c < 3; c++)
		if (!(g->spacing[c] > 1e-6))
			return bmeq_fail(BMEQ_E_FORMAT, "voxel size along axis %d is zero", c + 1);
	double inv[4][4];
	if (bmeq_affine_invert(&g->affine[0][0], &inv[0][0]) != BMEQ_OK)
		return bmeq_fail(BMEQ_E_FORMAT, "affine is singular (voxel axes are not independent)");
	info->sheared = 0;
	for (int a = 0; a < 3; a++)
		for (int b = a + 1; b < 3; b++)
			if (fabs(col_dot(g, a, b)) > 1e-4 * g->spacing[a] * g->spacing[b])
				info->sheared = 1;
	return BMEQ_OK;
}

void bmeq_read_opts_init(bmeq_read_opts *o)
{
	o->volume = -1;
	o->max_bytes = 0;
}

bmeq_status bmeq_nifti_read_mem(const void *hdr, size_t hdr_size, const void *img,
				size_t img_size, const char *name, const bmeq_read_opts *opts,
				bmeq_volume **out, bmeq_nifti_info *info_out)
{
	bmeq_read_opts defaults;
	bmeq_nifti_info local;
	bmeq_nifti_info *info = info_out ? info_out : &local;
	nifti_image *nim = NULL;
	uint8_t *owned = NULL, *swapped = NULL;
	const uint8_t *data = NULL;
	bmeq_volume *v = NULL;
	bmeq_grid g;
	bmeq_status st;
	int version = 0;

	pthread_once(&quiet_once, make_nifti_quiet);
	*out = NULL;
	memset(info, 0, sizeof(*info));
	if (!opts) {
		bmeq_read_opts_init(&defaults);
		opts = &defaults;
	}
	if (!name)
		name = "(memory)";
	st = parse_header(hdr, hdr_size, name, &nim, &version);
	if (st != BMEQ_OK)
		return st;

	info->nifti_version = version;
	for (int i = 0; i < 8; i++) {
		info->dims[i] = nim->dim[i];
		info->pixdim[i] = nim->pixdim[i];
	}
	info->datatype = nim->datatype;
	info->datatype_name = dt_name(nim->datatype);
	/* nifti_clib's byte order codes: 1 = LSB first, 2 = MSB first. */
	info->big_endian = nim->byteorder == 2;
	info->scl_slope = nim->scl_slope;
	info->scl_inter = nim->scl_inter;
	info->qform_code = nim->qform_code;
	info->sform_code = nim->sform_code;

	int nbyper = dt_size(nim->datatype);
	if (nbyper == 0) {
		st = bmeq_fail(nim->datatype == DT_RGB24 || nim->datatype == DT_RGBA32 ||
					       nim->datatype == DT_COMPLEX64 ||
					       nim->datatype == DT_COMPLEX128 ||
					       nim->datatype == DT_COMPLEX256 ||
					       nim->datatype == DT_FLOAT128 || nim->datatype == DT_BINARY
				       ? BMEQ_E_UNSUPPORTED
				       : BMEQ_E_FORMAT,
			       "datatype %s (%d) is not a supported scalar type",
			       dt_name(nim->datatype), nim->datatype);
		goto done;
	}

	/* Dimensions: reject absurd ones before any allocation. */
	int64_t d[8] = {0, nim->nx, nim->ny, nim->nz, nim->nt, nim->nu, nim->nv, nim->nw};
	size_t nvols = 1, nvox3 = 1;
	for (int i = 1; i <= 7; i++) {
		if (d[i] < 1)
			d[i] = 1;
		if (d[i] > (int64_t)INT32_MAX) {
			st = bmeq_fail(BMEQ_E_NOMEM, "dimension %d is absurd (%lld)", i, (long long)d[i]);
			goto done;
		}
	}
	if (nim->nx < 1 || nim->dim[0] < 1 || nim->dim[0] > 7) {
		st = bmeq_fail(BMEQ_E_FORMAT, "header dimensions are invalid (dim[0]=%lld, nx=%lld)",
			       (long long)nim->dim[0], (long long)nim->nx);
		goto done;
	}
	for (int i = 1; i <= 3; i++) {
		if ((uint64_t)nvox3 * (uint64_t)d[i] > BMEQ_MAX_VOXELS) {
			st = bmeq_fail(BMEQ_E_NOMEM, "image of %lldx%lldx%lld voxels is absurd",
				       (long long)d[1], (long long)d[2], (long long)d[3]);
			goto done;
		}
		nvox3 *= (size_t)d[i];
	}
	/* The configurable limit comes before any voxel is inflated or converted:
	 * the pipeline holds several float copies of the scan, so a scan over the
	 * limit would exhaust memory rather than fail cleanly later. */
	if (opts->max_bytes > 0 && (uint64_t)nvox3 * sizeof(float) > opts->max_bytes) {
		st = bmeq_fail(BMEQ_E_UNSUPPORTED,
			       "scan of %lldx%lldx%lld voxels takes %.0f MB as float32, over the scan "
			       "size limit of %.0f MB",
			       (long long)d[1], (long long)d[2], (long long)d[3],
			       (double)nvox3 * sizeof(float) / 1048576.0,
			       (double)opts->max_bytes / 1048576.0);
		goto done;
	}
	for (int i = 4; i <= 7; i++) {
		if ((uint64_t)nvols * (uint64_t)d[i] > BMEQ_MAX_VOXELS) {
			st = bmeq_fail(BMEQ_E_NOMEM, "%lld volumes is absurd", (long long)d[i]);
			goto done;
		}
		nvols *= (size_t)d[i];
	}
	info->nvolumes = nvols;
	if (opts->volume < 0 && nvols > 1) {
		st = bmeq_fail(BMEQ_E_UNSUPPORTED,
			       "file holds %zu volumes (4D); choose one with --volume N (0-based)", nvols);
		goto done;
	}
	size_t vol = opts->volume < 0 ? 0 : (size_t)opts->volume;
	if (vol >= nvols) {
		st = bmeq_fail(BMEQ_E_UNSUPPORTED, "volume %zu requested but the file holds %zu", vol,
			       nvols);
		goto done;
	}
	info->volume_index = vol;

	st = make_grid(nim, &g, info);
	if (st != BMEQ_OK)
		goto done;

	/* Where the voxels are: after the header in the same buffer, or in the
	 * separate image file of a pair. */
	int pair = nim->nifti_type == NIFTI_FTYPE_NIFTI1_2 || nim->nifti_type == NIFTI_FTYPE_NIFTI2_2 ||
		   nim->nifti_type == NIFTI_FTYPE_ANALYZE;
	const uint8_t *src = hdr;
	size_t src_n = hdr_size;
	uint64_t offset = nim->iname_offset < 0 ? 0 : (uint64_t)nim->iname_offset;
	if (pair) {
		if (!img) {
			st = bmeq_fail(BMEQ_E_IO, "header of a .hdr/.img pair but no image file");
			goto done;
		}
		src = img;
		src_n = img_size;
	} else if (offset < (uint64_t)(version == 2 ? HDR2_SIZE : HDR1_SIZE)) {
		st = bmeq_fail(BMEQ_E_FORMAT, "vox_offset %llu lies inside the header",
			       (unsigned long long)offset);
		goto done;
	}
	uint64_t vol_bytes = (uint64_t)nvox3 * (uint64_t)nbyper;
	uint64_t need = offset + vol_bytes * (uint64_t)(vol + 1);
	if (need > MAX_FILE_BYTES) {
		st = bmeq_fail(BMEQ_E_NOMEM, "header asks for %llu bytes of data: absurd",
			       (unsigned long long)need);
		goto done;
	}
	st = get_prefix(src, src_n, (size_t)need, &data, &owned, "data");
	if (st != BMEQ_OK)
		goto done;
	data += offset + vol_bytes * vol;

	if (nim->byteorder != nifti_short_order() && nbyper > 1) {
		swapped = malloc((size_t)vol_bytes);
		if (!swapped) {
			st = bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			goto done;
		}
		memcpy(swapped, data, (size_t)vol_bytes);
		swap_bytes(swapped, nvox3, nbyper);
		data = swapped;
	}

	st = bmeq_volume_create(&g, &v);
	if (st != BMEQ_OK)
		goto done;
	double slope = nim->scl_slope, inter = nim->scl_inter;
	int scale = isfinite(slope) && slope != 0.0 && isfinite(inter);
	info->scaling_applied = scale;
	convert_to_float(data, nim->datatype, nvox3, scale, slope, inter, v->data);
	for (size_t i = 0; i < nvox3; i++)
		info->nonfinite += !isfinite(v->data[i]);
	*out = v;
	v = NULL;

done:
	free(swapped);
	free(owned);
	bmeq_volume_destroy(v);
	nifti_image_free(nim);
	return st;
}

/* For a header path, the image file of its pair (x.hdr -> x.img, x.hdr.gz ->
 * x.img.gz, falling back to the other compression). NULL if none exists. */
static char *pair_image_name(const char *path)
{
	static const char *const subs[][2] = {
		{".hdr.gz", ".img.gz"}, {".hdr.gz", ".img"}, {".hdr", ".img"}, {".hdr", ".img.gz"},
		{".HDR", ".IMG"},
	};
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!ends_with(path, subs[i][0]))
			continue;
		size_t stem = n - strlen(subs[i][0]);
		char *img = malloc(stem + strlen(subs[i][1]) + 1);
		if (!img)
			return NULL;
		memcpy(img, path, stem);
		strcpy(img + stem, subs[i][1]);
		if (access(img, F_OK) == 0)
			return img;
		free(img);
	}
	return NULL;
}

bmeq_status bmeq_nifti_read(const char *path, const bmeq_read_opts *opts, bmeq_volume **out,
			    bmeq_nifti_info *info)
{
	byte_buf h = {0}, im = {0};
	char *hdr_path = NULL, *img_path = NULL;
	bmeq_status st;

	*out = NULL;
	if (!path || !*path)
		return bmeq_fail(BMEQ_E_ARG, "no file name");
	/* Given the .img of a pair, read its header. */
	if (ends_with(path, ".img") || ends_with(path, ".img.gz")) {
		size_t n = strlen(path), stem = n - (ends_with(path, ".gz") ? 7 : 4);
		hdr_path = malloc(stem + 8);
		if (!hdr_path)
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		memcpy(hdr_path, path, stem);
		strcpy(hdr_path + stem, ends_with(path, ".gz") ? ".hdr.gz" : ".hdr");
		img_path = malloc(n + 1);
		if (!img_path) {
			free(hdr_path);
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		}
		strcpy(img_path, path);
	}
	uint64_t max_bytes = opts ? opts->max_bytes : 0;
	st = read_whole_file(hdr_path ? hdr_path : path, max_bytes, &h);
	if (st != BMEQ_OK)
		goto done;
	if (!img_path && (ends_with(path, ".hdr") || ends_with(path, ".hdr.gz") ||
			  ends_with(path, ".HDR"))) {
		img_path = pair_image_name(path);
		if (!img_path) {
			st = bmeq_fail(BMEQ_E_IO, "no .img file beside this .hdr");
			goto done;
		}
	}
	if (img_path) {
		st = read_whole_file(img_path, max_bytes, &im);
		if (st != BMEQ_OK) {
			bmeq_fail(st, "image file of the pair: %s", bmeq_last_error());
			goto done;
		}
	}
	st = bmeq_nifti_read_mem(h.p, h.n, im.p, im.n, path, opts, out, info);
done:
	free(h.p);
	free(im.p);
	free(hdr_path);
	free(img_path);
	return st;
}

/* ---- writing ----------------------------------------------------------- */

void bmeq_write_opts_init(bmeq_write_opts *o, const bmeq_grid *g)
{
	memset(o, 0, sizeof(*o));
	o->datatype = BMEQ_DT_FLOAT32;
	o->nifti_version = 1;
	o->qform_code = g && g->xform_code > 0 ? g->xform_code : NIFTI_XFORM_SCANNER_ANAT;
	o->sform_code = o->qform_code;
	o->gzip_level = 6;
}

/* A sink that writes plain or gzip bytes and remembers the first failure. */
typedef struct sink {
	FILE *f;
	gzFile gz;
	int failed;
	int err;
} sink;

static void sink_write(sink *s, const void *p, size_t n)
{
	if (s->failed || n == 0)
		return;
	if (s->gz) {
		const uint8_t *b = p;
		while (n > 0) {
			unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
			if (gzwrite(s->gz, b, chunk) != (int)chunk) {
				int zerr;
				gzerror(s->gz, &zerr);
				s->err = zerr == Z_ERRNO ? errno : EIO;
				s->failed = 1;
				return;
			}
			b += chunk;
			n -= chunk;
		}
	} else if (fwrite(p, 1, n, s->f) != n) {
		s->err = errno ? errno : EIO;
		s->failed = 1;
	}
}

static bmeq_status sink_close(sink *s)
{
	if (s->gz) {
		int r = gzclose(s->gz);
		if (r != Z_OK && !s->failed) {
			s->failed = 1;
			s->err = r == Z_ERRNO ? errno : EIO;
		}
	} else if (s->f) {
		if (fflush(s->f) != 0 && !s->failed) {
			s->failed = 1;
			s->err = errno;
		}
		if (fclose(s->f) != 0 && !s->failed) {
			s->failed = 1;
			s->err = errno;
		}
	}
	s->gz = NULL;
	s->f = NULL;
	return s->failed ? BMEQ_E_WRITE : BMEQ_OK;
}

/* Fills nim's geometry from grid g for the requested forms. */
static void set_geometry(nifti_image *nim, const bmeq_grid *g, int qcode, int scode)
{
	nifti_dmat44 m;
	double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;

	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			m.m[r][c] = g->affine[r][c];
	nifti_dmat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
	nim->dx = nim->pixdim[1] = g->spacing[0];
	nim->dy = nim->pixdim[2] = g->spacing[1];
	nim->dz = nim->pixdim[3] = g->spacing[2];
	nim->qform_code = qcode;
	nim->quatern_b = qb;
	nim->quatern_c = qc;
	nim->quatern_d = qd;
	nim->qoffset_x = qx;
	nim->qoffset_y = qy;
	nim->qoffset_z = qz;
	nim->qfac = qfac < 0 ? -1.0 : 1.0;
	nim->pixdim[0] = nim->qfac;
	nim->sform_code = scode;
	nim->sto_xyz = m;
	nim->xyz_units = NIFTI_UNITS_MM;
}

/* A unique temporary name in path's folder that keeps its extension (nifti
 * tools decide compression from it). */
static bmeq_status write_image(const char *path, const bmeq_grid *g, const void *data,
			       int datatype, const bmeq_write_opts *o)
{
	int64_t dims[8] = {3, (int64_t)g->dim[0], (int64_t)g->dim[1], (int64_t)g->dim[2], 1, 1, 1, 1};
	nifti_image *nim;
	uint8_t hdr[HDR2_SIZE + 4];
	size_t hlen;
	int gz = ends_with(path, ".gz");
	sink s = {0};
	char *tmp;
	bmeq_status st = BMEQ_OK;

	pthread_once(&quiet_once, make_nifti_quiet);
	if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
		return bmeq_fail(BMEQ_E_ARG, "%s: output name must end in .nii or .nii.gz", path);
	if (o->nifti_version != 1 && o->nifti_version != 2)
		return bmeq_fail(BMEQ_E_ARG, "NIfTI version must be 1 or 2");
	nim = nifti_make_new_nim(dims, datatype, 0);
	if (!nim)
		return bmeq_fail(BMEQ_E_NOMEM, "cannot build a NIfTI header");
	set_geometry(nim, g, o->qform_code, o->sform_code);
	nim->scl_slope = o->scl_slope;
	nim->scl_inter = o->scl_slope != 0.0 ? o->scl_inter : 0.0;
	nim->nifti_type = o->nifti_version == 2 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
	nim->iname_offset = o->nifti_version == 2 ? HDR2_SIZE + 4 : HDR1_SIZE + 4;
	snprintf(nim->descrip, sizeof(nim->descrip), "bmeq %s", bmeq_version());
	memset(hdr, 0, sizeof(hdr));
	if (o->nifti_version == 2) {
		nifti_2_header h2;
		if (nifti_convert_nim2n2hdr(nim, &h2) != 0)
			st = bmeq_fail(BMEQ_E_INTERNAL, "nifti_clib could not build the header");
		memcpy(hdr, &h2, HDR2_SIZE);
		hlen = HDR2_SIZE + 4;
	} else {
		nifti_1_header h1;
		if (nifti_convert_nim2n1hdr(nim, &h1) != 0)
			st = bmeq_fail(BMEQ_E_INTERNAL, "nifti_clib could not build the header");
		memcpy(hdr, &h1, HDR1_SIZE);
		hlen = HDR1_SIZE + 4;
	}
	nifti_image_free(nim);
	if (st != BMEQ_OK)
		return st;

	/* zlib writes the file itself, so under a temporary name from the one
	 * atomic-write routine, which then flushes it, renames it into place and
	 * flushes the folder (bmeq/files.h). */
	if ((st = bmeq_atomic_begin(path, &tmp)) != BMEQ_OK)
		return st;
	if (gz) {
		char mode[8];
		int level = o->gzip_level >= 1 && o->gzip_level <= 9 ? o->gzip_level : 6;
		snprintf(mode, sizeof(mode), "wb%d", level);
		s.gz = gzopen(tmp, mode);
		if (s.gz)
			gzbuffer(s.gz, 1 << 17);
	} else {
		s.f = fopen(tmp, "wb");
	}
	if (!s.gz && !s.f) {
		int e = errno;
		free(tmp);
		return bmeq_fail(BMEQ_E_WRITE, "%s: cannot create: %s", path, strerror(e ? e : EIO));
	}
	sink_write(&s, hdr, hlen);
	int nbyper = dt_size(datatype);
	sink_write(&s, data, bmeq_grid_nvox(g) * (size_t)nbyper);
	st = sink_close(&s);
	if (st != BMEQ_OK) {
		bmeq_atomic_abort(tmp);
		return bmeq_fail(BMEQ_E_WRITE, "%s: write failed: %s", path, strerror(s.err ? s.err : EIO));
	}
	return bmeq_atomic_commit(tmp, path);
}

/* Stores float v as datatype dt with the given scaling, rounding and clamping
 * integers. */
static void store_value(float v, int dt, double slope, double inter, uint8_t *dst)
{
	double x = v;

	if (slope != 0.0)
		x = (x - inter) / slope;
	if (dt == DT_FLOAT32) {
		float f = (float)x;
		memcpy(dst, &f, 4);
		return;
	}
	if (dt == DT_FLOAT64) {
		memcpy(dst, &x, 8);
		return;
	}
	if (!isfinite(x))
		x = 0.0;
	x = nearbyint(x);
#define STORE(T, lo, hi)                                                                   \
	do {                                                                               \
		T t = (T)(x < (lo) ? (lo) : x > (hi) ? (hi) : x);                           \
		memcpy(dst, &t, sizeof(T));                                                \
	} while (0)
	switch (dt) {
	case DT_UINT8: STORE(uint8_t, 0.0, 255.0); break;
	case DT_INT8: STORE(int8_t, -128.0, 127.0); break;
	case DT_INT16: STORE(int16_t, -32768.0, 32767.0); break;
	case DT_UINT16: STORE(uint16_t, 0.0, 65535.0); break;
	case DT_INT32: STORE(int32_t, -2147483648.0, 2147483647.0); break;
	}
#undef STORE
}

bmeq_status bmeq_nifti_write(const char *path, const bmeq_grid *g, const float *data,
			     const bmeq_write_opts *opts)
{
	size_t n = bmeq_grid_nvox(g);
	int nbyper = dt_size(opts->datatype);
	uint8_t *buf;
	bmeq_status st;

	if (nbyper == 0 || opts->datatype == DT_UINT32 || opts->datatype == DT_INT64 ||
	    opts->datatype == DT_UINT64)
		return bmeq_fail(BMEQ_E_ARG, "cannot write datatype %d", opts->datatype);
	if (!isfinite(opts->scl_slope) || !isfinite(opts->scl_inter))
		return bmeq_fail(BMEQ_E_ARG, "scl_slope and scl_inter must be finite");
	if (opts->datatype == DT_FLOAT32 && opts->scl_slope == 0.0)
		return write_image(path, g, data, DT_FLOAT32, opts);
	buf = malloc(n * (size_t)nbyper);
	if (!buf)
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		store_value(data[i], opts->datatype, opts->scl_slope, opts->scl_inter,
			    buf + i * (size_t)nbyper);
	st = write_image(path, g, buf, opts->datatype, opts);
	free(buf);
	return st;
}

bmeq_status bmeq_nifti_write_labels(const char *path, const bmeq_grid *g, const void *labels,
				    int datatype)
{
	bmeq_write_opts o;

	if (datatype != BMEQ_DT_UINT8 && datatype != BMEQ_DT_UINT16)
		return bmeq_fail(BMEQ_E_ARG, "label maps are uint8 or uint16");
	bmeq_write_opts_init(&o, g);
	o.datatype = datatype;
	return write_image(path, g, labels, datatype, &o);
}

bmeq_status bmeq_nifti_read_labels(const char *path, const bmeq_grid *g, uint16_t **out)
{
	bmeq_volume *v = NULL;
	bmeq_status st;
	uint16_t *lab;
	size_t n;

	*out = NULL;
	st = bmeq_nifti_read(path, NULL, &v, NULL);
	if (st != BMEQ_OK)
		return st;
	/* 0.01 mm absorbs float32 rounding of affines written by other tools. */
	if (!bmeq_grid_same(&v->grid, g, 1e-2)) {
		st = bmeq_fail(BMEQ_E_GRID,
			       "mask grid (%zux%zux%zu) differs from the scan's (%zux%zux%zu) or is "
			       "placed differently",
			       v->grid.dim[0], v->grid.dim[1], v->grid.dim[2], g->dim[0], g->dim[1],
			       g->dim[2]);
		bmeq_volume_destroy(v);
		return st;
	}
	n = bmeq_grid_nvox(g);
	lab = malloc(n * sizeof(*lab));
	if (!lab) {
		bmeq_volume_destroy(v);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		float x = v->data[i];
		if (!(x >= 0.0f && x <= 65535.0f) || x != nearbyintf(x)) {
			free(lab);
			bmeq_volume_destroy(v);
			return bmeq_fail(BMEQ_E_FORMAT, "mask holds a non-label value (%g)", (double)x);
		}
		lab[i] = (uint16_t)x;
	}
	bmeq_volume_destroy(v);
	*out = lab;
	return BMEQ_OK;
}
