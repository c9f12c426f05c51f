/* scan.c - opening a scan: NIfTI file or DICOM series (bmeq/scan.h). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

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

static void protocol_clear(bmeq_protocol *p)
{
	memset(p, 0, sizeof(*p));
	p->inversion_time_ms = p->echo_time_ms = p->repetition_time_ms = NAN;
	p->field_strength_t = p->slice_thickness_mm = p->slice_spacing_mm = NAN;
}

static void protocol_from_series(bmeq_protocol *p, const bmeq_dicom_series *s)
{
	protocol_clear(p);
	snprintf(p->source, sizeof(p->source), "dicom");
	memcpy(p->description, s->description, sizeof(p->description));
	memcpy(p->scanning_sequence, s->scanning_sequence, sizeof(p->scanning_sequence));
	memcpy(p->sequence_variant, s->sequence_variant, sizeof(p->sequence_variant));
	memcpy(p->scan_options, s->scan_options, sizeof(p->scan_options));
	memcpy(p->sequence_name, s->sequence_name, sizeof(p->sequence_name));
	memcpy(p->manufacturer, s->manufacturer, sizeof(p->manufacturer));
	memcpy(p->model, s->model, sizeof(p->model));
	p->inversion_time_ms = s->inversion_time_ms;
	p->echo_time_ms = s->echo_time_ms;
	p->repetition_time_ms = s->repetition_time_ms;
	p->field_strength_t = s->field_strength_t;
	p->slice_thickness_mm = s->slice_thickness_mm;
	p->slice_spacing_mm = s->slice_spacing_mm;
}

/* A sidecar's text value (string, or an array of strings joined by '\'). */
static void json_text(json_t *o, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (json_is_string(v)) {
		snprintf(out, cap, "%s", json_string_value(v));
	} else if (json_is_array(v)) {
		size_t i, len = 0;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				continue;
			int n = snprintf(out + len, cap - len, "%s%s", len ? "\\" : "",
					 json_string_value(e));
			if (n < 0 || (size_t)n >= cap - len)
				break;
			len += (size_t)n;
		}
	}
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
}

static double json_num(json_t *o, const char *key, double scale)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) * scale : NAN;
}

/* Reads the dcm2niix sidecar of a NIfTI path, when there is one. */
static void protocol_from_sidecar(bmeq_protocol *p, const char *path)
{
	static const char *const ext[] = {".nii.gz", ".nii", ".hdr.gz", ".hdr"};
	char js[4096];
	size_t n = strlen(path);

	protocol_clear(p);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcmp(path + n - e, ext[i]) == 0 && n - e + 6 < sizeof(js)) {
			memcpy(js, path, n - e);
			memcpy(js + n - e, ".json", 6);
			break;
		}
		if (i + 1 == sizeof(ext) / sizeof(ext[0]))
			return;
	}
	json_error_t err;
	json_t *o = json_load_file(js, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		return;
	if (json_is_object(o)) {
		snprintf(p->source, sizeof(p->source), "sidecar");
		json_text(o, "SeriesDescription", p->description, sizeof(p->description));
		json_text(o, "ScanningSequence", p->scanning_sequence, sizeof(p->scanning_sequence));
		json_text(o, "SequenceVariant", p->sequence_variant, sizeof(p->sequence_variant));
		json_text(o, "ScanOptions", p->scan_options, sizeof(p->scan_options));
		json_text(o, "SequenceName", p->sequence_name, sizeof(p->sequence_name));
		json_text(o, "Manufacturer", p->manufacturer, sizeof(p->manufacturer));
		json_text(o, "ManufacturersModelName", p->model, sizeof(p->model));
		/* BIDS times are in seconds. */
		p->inversion_time_ms = json_num(o, "InversionTime", 1000.0);
		p->echo_time_ms = json_num(o, "EchoTime", 1000.0);
		p->repetition_time_ms = json_num(o, "RepetitionTime", 1000.0);
		p->field_strength_t = json_num(o, "MagneticFieldStrength", 1.0);
		p->slice_thickness_mm = json_num(o, "SliceThickness", 1.0);
		p->slice_spacing_mm = json_num(o, "SpacingBetweenSlices", 1.0);
	}
	json_decref(o);
}

/* Case-insensitive: does s hold the word w as one of its '\'-separated
 * values (scan options) or as a token between non-letters (descriptions)? */
static int has_token(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = s; *p; p++) {
		if (p != s && isalpha((unsigned char)p[-1]))
			continue;
		if (strncasecmp(p, w, n) == 0 && !isalpha((unsigned char)p[n]))
			return 1;
	}
	return 0;
}

bmeq_protocol_verdict bmeq_protocol_classify(const bmeq_protocol *p, char *why, size_t cap)
{
	static const char *const fs_opts[] = {"FS", "SFS", "FSA", "FSP", "FSS", "SPAIR", "FAT"};
	static const char *const fs_desc[] = {"FS", "FAT", "FATSAT", "SPAIR", "SPIR", "STIR", "TIRM",
					      "FSE_FS", "DIXON_W"};
	const double ti = p->inversion_time_ms, te = p->echo_time_ms, tr = p->repetition_time_ms;
	int ir = has_token(p->scanning_sequence, "IR") || has_token(p->scan_options, "IR");
	int fs = 0;

	if (!p->source[0]) {
		snprintf(why, cap, "no DICOM header or sidecar");
		return BMEQ_PROTOCOL_UNKNOWN;
	}
	for (size_t i = 0; i < sizeof(fs_opts) / sizeof(fs_opts[0]); i++)
		fs |= has_token(p->scan_options, fs_opts[i]);
	for (size_t i = 0; i < sizeof(fs_desc) / sizeof(fs_desc[0]); i++)
		fs |= has_token(p->description, fs_desc[i]);
	if (ir && isfinite(ti) && ti >= 80.0 && ti <= 300.0) {
		snprintf(why, cap, "short-TI inversion recovery (TI %.0f ms)", ti);
		return BMEQ_PROTOCOL_FLUID_FS;
	}
	int long_tr = isfinite(tr) && tr >= 1500.0, long_te = isfinite(te) && te >= 30.0;
	if (long_tr && long_te && fs) {
		snprintf(why, cap, "fat-suppressed T2/PD-weighted (TE %.0f ms, TR %.0f ms)", te, tr);
		return BMEQ_PROTOCOL_FLUID_FS;
	}
	if (!isfinite(te) && !isfinite(tr) && !isfinite(ti) && !p->scanning_sequence[0]) {
		snprintf(why, cap, "the %s holds no sequence facts", p->source);
		return BMEQ_PROTOCOL_UNKNOWN;
	}
	const char *kind = ir ? "inversion recovery with a TI that does not null fat"
		: (isfinite(tr) && tr < 1000.0 && isfinite(te) && te < 30.0) ? "T1-weighted"
		: !fs ? "no fat suppression" : "not T2/PD-weighted";
	char tis[32] = "none";
	if (isfinite(ti))
		snprintf(tis, sizeof(tis), "%.0f ms", ti);
	snprintf(why, cap,
		 "not a fluid-sensitive fat-suppressed image: %s (%s%s%s, TI %s, TE %.4g ms, TR %.4g ms)",
		 kind, p->scanning_sequence[0] ? p->scanning_sequence : "-",
		 p->scan_options[0] ? " " : "", p->scan_options, tis, te, tr);
	return BMEQ_PROTOCOL_OTHER;
}

int bmeq_protocol_differs(const bmeq_protocol *a, const bmeq_protocol *b, char *why, size_t cap)
{
	char wa[160], wb[160];
	size_t len = 0;

	why[0] = '\0';
	if (!a->source[0] || !b->source[0])
		return 0;
	if (isfinite(a->field_strength_t) && isfinite(b->field_strength_t) &&
	    fabs(a->field_strength_t - b->field_strength_t) > 0.1)
		len += (size_t)snprintf(why + len, cap - len, "%sfield %.3g T -> %.3g T", len ? ", " : "",
					a->field_strength_t, b->field_strength_t);
	if (len < cap && isfinite(a->slice_thickness_mm) && isfinite(b->slice_thickness_mm) &&
	    fabs(a->slice_thickness_mm - b->slice_thickness_mm) > 0.5)
		len += (size_t)snprintf(why + len, cap - len, "%sslice thickness %.3g mm -> %.3g mm",
					len ? ", " : "", a->slice_thickness_mm, b->slice_thickness_mm);
	if (len < cap && (strcmp(a->scanning_sequence, b->scanning_sequence) != 0 ||
			  bmeq_protocol_classify(a, wa, sizeof(wa)) !=
				  bmeq_protocol_classify(b, wb, sizeof(wb))))
		len += (size_t)snprintf(why + len, cap - len, "%ssequence %s -> %s", len ? ", " : "",
					a->scanning_sequence[0] ? a->scanning_sequence : "-",
					b->scanning_sequence[0] ? b->scanning_sequence : "-");
	return len > 0;
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
		bmeq_status st = bmeq_nifti_read(path, opts, out, info ? &info->nifti : NULL);
		if (st == BMEQ_OK && info)
			protocol_from_sidecar(&info->protocol, path);
		return st;
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
		protocol_from_series(&info->protocol, &s);
		/* The geometry comes from every slice's position and orientation,
		 * never from a guess. */
		info->nifti.affine_source = BMEQ_AFFINE_SFORM;
		info->nifti.datatype_name = "DICOM";
		info->nifti.nvolumes = 1;
		info->nifti.volume_index = 0;
	}
	return BMEQ_OK;
}

bmeq_status bmeq_scan_protocol(const char *ref, bmeq_protocol *out)
{
	char path[4096];
	const char *sel;
	bmeq_dicom_series *s = NULL;
	size_t n = 0, idx = 0;
	bmeq_status st;

	if (!bmeq_scan_split(ref, path, sizeof(path), &sel)) {
		protocol_from_sidecar(out, path);
		return BMEQ_OK;
	}
	protocol_clear(out);
	if ((st = bmeq_dicom_list(path, &s, &n, NULL)) != BMEQ_OK)
		return st;
	if ((st = bmeq_dicom_choose(s, n, sel, &idx)) == BMEQ_OK)
		protocol_from_series(out, &s[idx]);
	bmeq_dicom_series_free(s);
	return st;
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
