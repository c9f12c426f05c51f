/* itk_dicom.cxx - DICOM series through GDCM (the DICOM library of ITK):
 * listing a folder's series, choosing one, reading it as a bmeq volume.
 *
 * Pixels are decoded per file by gdcm::ImageReader rather than through
 * itk::ImageSeriesReader: the series reader takes one rescale slope and
 * intercept for the whole volume (from the first file) and its own slice
 * order, where a series may rescale each slice differently and bmeq must
 * order, check and flip the slices exactly as dcm2niix does. GDCM still does
 * all the DICOM work (parsing, every transfer syntax it supports, unused high
 * bits); this file only interprets the geometry. */
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <exception>
#include <set>
#include <string>
#include <vector>

#include <dirent.h>
#include <fnmatch.h>
#include <strings.h>
#include <sys/stat.h>

#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmStringFilter.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <zlib.h>

#include "bmeq/dicom.h"
#include "dicom_internal.h"
#include "itk_internal.h"

/* Set only in the reader's child process (dicom_child.c): told each file
 * before GDCM opens it. */
void (*bmeq_dicom_file_hook)(const char *path) = nullptr;

/* No ITK header here (GDCM's only), so that the DICOM fuzz target can build
 * this file with clang, which ITK 5.2's headers refuse. */
namespace {

/* Runs body and turns any exception (GDCM throws std::exception) into a
 * status, as bmeq_itk::guard does for the rest of the bridge. */
template <typename Body>
bmeq_status guard(const char *what, Body &&body) noexcept
{
	try {
		return body();
	} catch (const std::bad_alloc &) {
		return bmeq_fail(BMEQ_E_NOMEM, "%s: out of memory", what);
	} catch (const std::exception &e) {
		return bmeq_fail(BMEQ_E_FORMAT, "%s: %s", what, e.what());
	} catch (...) {
		return bmeq_fail(BMEQ_E_INTERNAL, "%s: unknown exception", what);
	}
}

/* What bmeq needs from one file's header. Patient-identifying elements are
 * never read. */
struct FileHdr {
	std::string name;  /* file name within the folder */
	std::string uid, study_uid, number, description, protocol, modality, study_date, image_type,
		sop_class, ts, scanning_sequence, sequence_variant, scan_options, sequence_name,
		manufacturer, model, photometric;
	double ti = NAN, te = NAN, tr = NAN, field = NAN, thickness = NAN, spacing = NAN, flip = NAN;
	double iop[6] = {0, 0, 0, 0, 0, 0};
	double ipp[3] = {0, 0, 0};
	double ps[2] = {0, 0};
	bool has_iop = false, has_ipp = false, has_ps = false;
	bool truncated = false; /* uncompressed pixel data end before the file does */
	long rows = 0, cols = 0, frames = 1, samples = 1, echo = -1;
	double slope = 1.0, inter = 0.0;
	double pos = 0.0; /* position along the series' slice normal */
};

/* One series with its files (in slice order once analysed). */
struct Series {
	bmeq_dicom_series info;
	std::vector<FileHdr> files;
	/* Geometry for reading, valid when info.problem is "". */
	bmeq_itk_geometry geo;
	size_t dim[3] = {0, 0, 0};
};

std::string trim(std::string s)
{
	while (!s.empty() && (s.back() == ' ' || s.back() == '\0'))
		s.pop_back();
	size_t b = 0;
	while (b < s.size() && s[b] == ' ')
		b++;
	return s.substr(b);
}

/* Parses n backslash-separated decimal numbers; false unless all are finite. */
bool numbers(const std::string &s, double *v, int n)
{
	const char *p = s.c_str();
	for (int i = 0; i < n; i++) {
		char *end;
		errno = 0;
		double x = std::strtod(p, &end);
		if (end == p || errno || !std::isfinite(x))
			return false;
		v[i] = x;
		while (*end == ' ')
			end++;
		if (i + 1 < n) {
			if (*end != '\\')
				return false;
			end++;
		}
		p = end;
	}
	return true;
}

double number_or_nan(const std::string &s)
{
	double v;
	return numbers(s, &v, 1) ? v : NAN;
}

long integer_or(const std::string &s, long dflt)
{
	double v;
	if (!numbers(s, &v, 1) || v < -2e9 || v > 2e9)
		return dflt;
	return std::lround(v);
}

void copy_text(char *dst, const std::string &s)
{
	std::snprintf(dst, BMEQ_DICOM_TEXT, "%s", s.c_str());
	/* Header text goes into CSV cells and one-line messages. */
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* Silences GDCM's own warnings and errors (they would print to stderr and
 * could echo header values); failures come back as statuses. */
void quiet_gdcm()
{
	static const bool done = [] {
		gdcm::Trace::SetDebug(false);
		gdcm::Trace::SetWarning(false);
		gdcm::Trace::SetError(false);
		return true;
	}();
	(void)done;
}

/* Inflates a raw deflate stream (no zlib header, as DICOM's deflated
 * transfer syntax stores it) into out, at most 64 MB; false when it is not
 * one or inflates beyond that. */
bool inflate_raw(const unsigned char *in, size_t n, std::vector<unsigned char> &out)
{
	z_stream z;
	std::memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return false;
	z.next_in = const_cast<unsigned char *>(in);
	z.avail_in = (uInt)std::min<size_t>(n, 1u << 30);
	const size_t cap = (size_t)64 << 20;
	int rc = Z_OK;
	while (rc == Z_OK) {
		if (out.size() >= cap) {
			rc = Z_MEM_ERROR;
			break;
		}
		size_t at = out.size();
		out.resize(std::min(cap, at + 65536));
		z.next_out = out.data() + at;
		z.avail_out = (uInt)(out.size() - at);
		rc = inflate(&z, Z_NO_FLUSH);
		out.resize(out.size() - z.avail_out);
		if (rc == Z_BUF_ERROR && z.avail_in == 0)
			break; /* a stream cut short: what there is */
	}
	inflateEnd(&z);
	return rc == Z_STREAM_END || rc == Z_BUF_ERROR;
}

/* GDCM allocates every element's declared length before reading it, so a
 * corrupt length of a few GB makes it allocate and clear gigabytes for a
 * 3 kB file, and asserts (aborts) on some malformed elements (both found by
 * fuzz_dicom). Before GDCM sees a file, all its elements are walked here
 * and every defined length must fit in the file. Sequences and items of undefined length are entered, not
 * skipped, so their elements are checked too. Returns false for a file whose
 * lengths do not fit. A deflated data set is inflated first; nothing after
 * the first 8 MB of a file is walked. */
bool lengths_fit(const std::string &path)
{
	FILE *fp = std::fopen(path.c_str(), "rb");
	if (!fp)
		return false;
	struct stat sb;
	if (fstat(fileno(fp), &sb) != 0) {
		std::fclose(fp);
		return false;
	}
	uint64_t fsize = (uint64_t)sb.st_size;
	std::vector<unsigned char> b((size_t)std::min<uint64_t>(fsize, 8u << 20));
	size_t got = b.empty() ? 0 : std::fread(b.data(), 1, b.size(), fp);
	std::fclose(fp);
	if (got != b.size())
		return false;
	size_t n = b.size();
	auto u16 = [&](size_t o, bool le) -> uint32_t {
		return le ? (uint32_t)(b[o] | b[o + 1] << 8) : (uint32_t)(b[o] << 8 | b[o + 1]);
	};
	auto u32 = [&](size_t o, bool le) -> uint32_t {
		return le ? (uint32_t)b[o] | (uint32_t)b[o + 1] << 8 | (uint32_t)b[o + 2] << 16 |
				    (uint32_t)b[o + 3] << 24
			  : (uint32_t)b[o] << 24 | (uint32_t)b[o + 1] << 16 | (uint32_t)b[o + 2] << 8 |
				    (uint32_t)b[o + 3];
	};
	auto long_vr = [](const unsigned char *v) {
		static const char *const vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
						  "SV", "UC", "UN", "UR", "UT", "UV"};
		for (const char *x : vrs)
			if (v[0] == x[0] && v[1] == x[1])
				return true;
		return false;
	};
	/* Only DICOM's own VRs: where GDCM meets anything else it guesses a
	 * recovery this walk cannot follow, so such a file is refused. */
	auto is_vr = [](const unsigned char *v) {
		static const char *const vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL",
						  "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
						  "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC",
						  "UI", "UL", "UN", "UR", "US", "UT", "UV"};
		for (const char *x : vrs)
			if (v[0] == x[0] && v[1] == x[1])
				return true;
		return false;
	};
	size_t o = 0, meta_end = 0;
	bool explicit_vr = true, le = true, meta = false, encap = false;
	/* Open sequences and items, innermost last: where a defined length
	 * ends (SIZE_MAX: undefined, closed by its delimiter) and whether it is
	 * a sequence (holding items only) or an item (holding elements). GDCM
	 * asserts on items out of place, so the nesting is checked too. */
	struct open_t {
		size_t end;
		bool seq;
	};
	std::vector<open_t> open;
	std::string ts;
	if (n >= 132 && std::memcmp(&b[128], "DICM", 4) == 0) {
		o = 132;
		meta = true;
	} else if (n >= 6) {
		explicit_vr = is_vr(&b[4]);
	}
	while (o + 8 <= n) {
		/* Close what ends here; nothing may run past its container. */
		while (!open.empty() && open.back().end != SIZE_MAX && o >= open.back().end) {
			if (o > open.back().end)
				return false;
			open.pop_back();
		}
		if (open.size() > 64)
			return false;
		uint32_t group = u16(o, meta || le), elem = u16(o + 2, meta || le);
		bool in_meta = meta && group == 0x0002;
		if (meta && !in_meta) {
			/* End of the meta information: the data set's own encoding.
			 * Its group length, when given, must say where it ends
			 * (GDCM relies on it). */
			if (meta_end && o != meta_end)
				return false;
			meta = false;
			if (ts == "1.2.840.10008.1.2.1.99") {
				/* Deflated: the lengths count inflated bytes, so the
				 * data set is inflated (at most 64 MB) and walked. */
				std::vector<unsigned char> inf;
				if (!inflate_raw(&b[o], n - o, inf))
					return false;
				b.swap(inf);
				n = b.size();
				fsize = n;
				o = 0;
				ts = "1.2.840.10008.1.2.1";
			}
			explicit_vr = ts != "1.2.840.10008.1.2";
			le = ts != "1.2.840.10008.1.2.2";
			group = u16(o, le);
			elem = u16(o + 2, le);
		}
		const bool lev = in_meta || le;
		const bool in_seq = !open.empty() && open.back().seq;
		if (group == 0xfffe) { /* item and delimiters: a 4-byte length, no VR */
			uint32_t len = u32(o + 4, lev);
			o += 8;
			if (elem == 0xe000 && len != 0xffffffffu && len > fsize - o)
				return false;
			if (encap) {
				if (elem == 0xe000 && len != 0xffffffffu)
					o += len; /* a fragment of compressed pixels: bytes */
				else if (elem == 0xe0dd && len == 0)
					encap = false;
				else
					return false;
			} else if (elem == 0xe000 && in_seq) {
				open.push_back({len == 0xffffffffu ? SIZE_MAX : o + len, false});
			} else if (elem == 0xe00d && len == 0 && !open.empty() && !open.back().seq &&
				   open.back().end == SIZE_MAX) {
				open.pop_back(); /* end of an item of undefined length */
			} else if (elem == 0xe0dd && len == 0 && in_seq && open.back().end == SIZE_MAX) {
				open.pop_back(); /* end of a sequence of undefined length */
			} else {
				return false; /* an item or delimiter out of place */
			}
			continue;
		}
		if (in_seq || encap)
			return false; /* a sequence holds items only */
		uint64_t len;
		bool sq = false;
		if (in_meta || explicit_vr) {
			const unsigned char *vr = &b[o + 4];
			if (!is_vr(vr))
				return false;
			if (long_vr(vr)) {
				if (o + 12 > n)
					return true;
				len = u32(o + 8, lev);
				o += 12;
			} else {
				len = u16(o + 6, lev);
				o += 8;
			}
			sq = vr[0] == 'S' && vr[1] == 'Q';
		} else {
			len = u32(o + 4, lev);
			o += 8;
			sq = len == 0xffffffffu;
		}
		if (group == 0x7fe0 && elem == 0x0010 && len == 0xffffffffu) {
			encap = true; /* encapsulated pixels: fragments follow */
			continue;
		}
		if (len == 0xffffffffu) {
			/* Undefined length: a sequence (or UN holding one); its items
			 * follow, up to its delimiter. */
			open.push_back({SIZE_MAX, true});
			continue;
		}
		if (len > fsize - o)
			return false;
		if (in_meta && elem == 0x0010 && o + len <= n)
			ts = trim(std::string((const char *)&b[o], (size_t)len));
		if (in_meta && elem == 0x0000 && len == 4 && o + 4 <= n)
			meta_end = o + 4 + u32(o, true);
		if (sq) {
			open.push_back({o + (size_t)len, true}); /* walk its items */
			continue;
		}
		o += (size_t)len;
	}
	while (!open.empty() && open.back().end == o)
		open.pop_back();
	/* The walk must end where the file does (GDCM asserts on a file cut
	 * inside its meta information or an element header), unless the file
	 * goes on beyond what was read. */
	if (fsize > n)
		return true;
	return !meta && !encap && open.empty() && o == n;
}

/* Reads the header of path; false when it is not a DICOM file GDCM can parse. */
bool read_header(const std::string &path, FileHdr &h)
{
	if (!lengths_fit(path))
		return false;
	gdcm::Reader r;
	r.SetFileName(path.c_str());
	/* Stops at the pixel data without reading them: listing a tree of
	 * exports reads headers only. */
	const gdcm::Tag pixel_data(0x7fe0, 0x0010);
	std::set<gdcm::Tag> skip;
	skip.insert(pixel_data);
	if (!r.ReadUpToTag(pixel_data, skip))
		return false;
	const size_t data_pos = r.GetStreamCurrentPosition();
	const gdcm::File &f = r.GetFile();
	gdcm::StringFilter sf;
	sf.SetFile(f);
	const gdcm::DataSet &ds = f.GetDataSet();
	auto get = [&](uint16_t g, uint16_t e) -> std::string {
		gdcm::Tag t(g, e);
		if (!ds.FindDataElement(t) || ds.GetDataElement(t).IsEmpty())
			return std::string();
		return trim(sf.ToString(t));
	};
	const gdcm::DataSet &meta = f.GetHeader();
	gdcm::Tag tst(0x0002, 0x0010);
	if (meta.FindDataElement(tst)) {
		const gdcm::ByteValue *bv = meta.GetDataElement(tst).GetByteValue();
		if (bv)
			h.ts = trim(std::string(bv->GetPointer(), bv->GetLength()));
	}
	if (h.ts.empty()) {
		/* A file without meta information: GDCM found the syntax itself. */
		const char *s = gdcm::TransferSyntax::GetTSString(f.GetHeader().GetDataSetTransferSyntax());
		h.ts = s ? s : "";
	}
	h.uid = get(0x0020, 0x000e);
	h.study_uid = get(0x0020, 0x000d);
	h.number = get(0x0020, 0x0011);
	h.description = get(0x0008, 0x103e);
	h.protocol = get(0x0018, 0x1030);
	h.modality = get(0x0008, 0x0060);
	h.study_date = get(0x0008, 0x0020);
	h.image_type = get(0x0008, 0x0008);
	h.sop_class = get(0x0008, 0x0016);
	h.scanning_sequence = get(0x0018, 0x0020);
	h.sequence_variant = get(0x0018, 0x0021);
	h.scan_options = get(0x0018, 0x0022);
	h.sequence_name = get(0x0018, 0x0024);
	h.manufacturer = get(0x0008, 0x0070);
	h.model = get(0x0008, 0x1090);
	h.photometric = get(0x0028, 0x0004);
	h.tr = number_or_nan(get(0x0018, 0x0080));
	h.te = number_or_nan(get(0x0018, 0x0081));
	h.ti = number_or_nan(get(0x0018, 0x0082));
	h.field = number_or_nan(get(0x0018, 0x0087));
	h.thickness = number_or_nan(get(0x0018, 0x0050));
	h.spacing = number_or_nan(get(0x0018, 0x0088));
	h.flip = number_or_nan(get(0x0018, 0x1314));
	h.has_iop = numbers(get(0x0020, 0x0037), h.iop, 6);
	h.has_ipp = numbers(get(0x0020, 0x0032), h.ipp, 3);
	h.has_ps = numbers(get(0x0028, 0x0030), h.ps, 2) && h.ps[0] > 0 && h.ps[1] > 0;
	h.rows = integer_or(get(0x0028, 0x0010), 0);
	h.cols = integer_or(get(0x0028, 0x0011), 0);
	h.frames = integer_or(get(0x0028, 0x0008), 1);
	h.samples = integer_or(get(0x0028, 0x0002), 1);
	h.echo = integer_or(get(0x0018, 0x0086), -1);
	double v = number_or_nan(get(0x0028, 0x1053));
	h.slope = (std::isfinite(v) && v != 0.0) ? v : 1.0;
	v = number_or_nan(get(0x0028, 0x1052));
	h.inter = std::isfinite(v) ? v : 0.0;
	/* GDCM reads a short uncompressed pixel data element without failing
	 * (it warns and pads), so the length is checked here: the file must
	 * hold rows x columns x frames samples after the element's start. */
	long bits = integer_or(get(0x0028, 0x0100), 0);
	if ((h.ts == "1.2.840.10008.1.2" || h.ts == "1.2.840.10008.1.2.1" ||
	     h.ts == "1.2.840.10008.1.2.2") &&
	    h.rows > 0 && h.cols > 0 && h.frames > 0 && bits > 0) {
		struct stat sb;
		double need = (double)data_pos + (double)h.rows * (double)h.cols *
							 (double)h.frames * (double)h.samples *
							 (double)((bits + 7) / 8);
		if (stat(path.c_str(), &sb) == 0 && (double)sb.st_size < need)
			h.truncated = true;
	}
	return true;
}

/* The transfer syntaxes GDCM decodes: uncompressed, deflated, JPEG (lossless
 * and lossy), JPEG-LS, JPEG 2000 and RLE. */
bool ts_supported(const std::string &ts)
{
	static const char *const ok[] = {
		"1.2.840.10008.1.2",      "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.1.99",
		"1.2.840.10008.1.2.2",    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
		"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
		"1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
		"1.2.840.10008.1.2.5"};
	for (const char *s : ok)
		if (ts == s)
			return true;
	return false;
}

bool starts_with(const std::string &s, const char *p)
{
	return s.compare(0, std::strlen(p), p) == 0;
}

void cross(const double a[3], const double b[3], double out[3])
{
	out[0] = a[1] * b[2] - a[2] * b[1];
	out[1] = a[2] * b[0] - a[0] * b[2];
	out[2] = a[0] * b[1] - a[1] * b[0];
}

double dot(const double a[3], const double b[3])
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

void set_problem(Series &s, bmeq_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void set_problem(Series &s, bmeq_status st, const char *fmt, ...)
{
	if (s.info.problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(s.info.problem, sizeof(s.info.problem), fmt, ap);
	va_end(ap);
	s.info.problem_status = st;
}

/* Fills s.info from its files, sorts them along the slice normal and checks
 * that they make one evenly spaced 3D volume; the first failed check is the
 * series' problem. */
void analyse(Series &s)
{
	bmeq_dicom_series &in = s.info;
	const FileHdr &h = s.files[0];

	copy_text(in.uid, h.uid);
	in.number = integer_or(h.number, -1);
	copy_text(in.description, h.description);
	copy_text(in.protocol, h.protocol);
	copy_text(in.modality, h.modality);
	copy_text(in.study_uid, h.study_uid);
	copy_text(in.study_date, h.study_date);
	copy_text(in.image_type, h.image_type);
	copy_text(in.sop_class, h.sop_class);
	copy_text(in.transfer_syntax, h.ts);
	copy_text(in.scanning_sequence, h.scanning_sequence);
	copy_text(in.sequence_variant, h.sequence_variant);
	copy_text(in.scan_options, h.scan_options);
	copy_text(in.sequence_name, h.sequence_name);
	copy_text(in.manufacturer, h.manufacturer);
	copy_text(in.model, h.model);
	in.inversion_time_ms = h.ti;
	in.echo_time_ms = h.te;
	in.repetition_time_ms = h.tr;
	in.field_strength_t = h.field;
	in.slice_thickness_mm = h.thickness;
	in.slice_spacing_mm = h.spacing;
	in.flip_angle_deg = h.flip;
	in.files = s.files.size();
	in.rows = (size_t)std::max(0L, h.rows);
	in.columns = (size_t)std::max(0L, h.cols);
	in.problem_status = BMEQ_OK;
	std::set<long> echoes;
	for (const FileHdr &f : s.files)
		echoes.insert(f.echo);
	in.echoes = echoes.size();

	/* Not an image at all: say what it is. */
	if (starts_with(h.sop_class, "1.2.840.10008.5.1.4.1.1.88."))
		set_problem(s, BMEQ_E_FORMAT, "series %ld is a structured report, not an image", in.number);
	else if (starts_with(h.sop_class, "1.2.840.10008.5.1.4.1.1.11."))
		set_problem(s, BMEQ_E_FORMAT, "series %ld is a presentation state, not an image",
			    in.number);
	else if (h.rows <= 0 || h.cols <= 0)
		set_problem(s, BMEQ_E_FORMAT, "series %ld holds no image (SOP class %s)", in.number,
			    in.sop_class[0] ? in.sop_class : "unknown");
	if (in.problem[0]) {
		in.rows = in.columns = 0;
		return;
	}
	if (!ts_supported(h.ts)) {
		set_problem(s, BMEQ_E_UNSUPPORTED,
			    "transfer syntax %s is not supported (uncompressed, deflate, JPEG, "
			    "JPEG-LS, JPEG 2000 and RLE are)",
			    in.transfer_syntax[0] ? in.transfer_syntax : "(none)");
	}
	for (const FileHdr &f : s.files) {
		if (f.frames > 1)
			set_problem(s, BMEQ_E_UNSUPPORTED,
				    "multi-frame (enhanced) files of %ld frames are not supported: "
				    "export the series as one image per file",
				    f.frames);
		if (f.truncated)
			set_problem(s, BMEQ_E_FORMAT, "%s is truncated (its pixel data end early)",
				    f.name.c_str());
		if (f.samples != 1)
			set_problem(s, BMEQ_E_UNSUPPORTED, "colour images (%ld samples per pixel)",
				    f.samples);
		if (f.ts != h.ts && !ts_supported(f.ts))
			set_problem(s, BMEQ_E_UNSUPPORTED, "transfer syntax %s is not supported",
				    f.ts.c_str());
		if (!f.has_iop || !f.has_ipp || !f.has_ps)
			set_problem(s, BMEQ_E_FORMAT,
				    "%s has no image position, orientation or pixel spacing",
				    f.name.c_str());
		if (f.rows != h.rows || f.cols != h.cols)
			set_problem(s, BMEQ_E_FORMAT, "images of different sizes (%ldx%ld and %ldx%ld)",
				    h.cols, h.rows, f.cols, f.rows);
		for (int c = 0; c < 6 && f.has_iop && h.has_iop; c++)
			if (std::fabs(f.iop[c] - h.iop[c]) > 1e-3) {
				set_problem(s, BMEQ_E_FORMAT,
					    "slices in different orientations (a localiser?)");
				break;
			}
		if (std::fabs(f.ps[0] - h.ps[0]) > 1e-4 || std::fabs(f.ps[1] - h.ps[1]) > 1e-4)
			set_problem(s, BMEQ_E_FORMAT, "slices with different pixel spacings");
	}
	if (in.problem[0])
		return;

	const double *row = h.iop, *col = h.iop + 3;
	double normal[3];
	cross(row, col, normal);
	double nn = std::sqrt(dot(normal, normal));
	if (!(nn > 0.5) || std::fabs(dot(row, row) - 1) > 1e-2 || std::fabs(dot(col, col) - 1) > 1e-2) {
		set_problem(s, BMEQ_E_FORMAT, "image orientation is not two unit vectors");
		return;
	}
	for (double &x : normal)
		x /= nn;
	for (FileHdr &f : s.files)
		f.pos = dot(f.ipp, normal);
	std::stable_sort(s.files.begin(), s.files.end(),
			 [](const FileHdr &a, const FileHdr &b) { return a.pos < b.pos; });

	/* Positions that repeat: echoes or time points of one slice. */
	std::vector<double> pos;
	size_t most = 1, run = 1;
	for (size_t i = 0; i < s.files.size(); i++) {
		if (i > 0 && std::fabs(s.files[i].pos - s.files[i - 1].pos) < 0.01) {
			most = std::max(most, ++run);
			continue;
		}
		run = 1;
		pos.push_back(s.files[i].pos);
	}
	in.slices = pos.size();
	if (in.echoes > 1) {
		set_problem(s, BMEQ_E_UNSUPPORTED,
			    "multi-echo series (%zu echoes at each of %zu slice positions): "
			    "bmeq measures one 3D image",
			    in.echoes, in.slices);
		return;
	}
	if (most > 1) {
		set_problem(s, BMEQ_E_UNSUPPORTED,
			    "4D series (%zu images at one slice position, %zu positions): bmeq "
			    "measures one 3D image",
			    most, in.slices);
		return;
	}
	std::vector<double> steps;
	for (size_t i = 1; i < pos.size(); i++)
		steps.push_back(pos[i] - pos[i - 1]);
	std::vector<double> sorted = steps;
	if (sorted.empty())
		sorted.push_back(1.0); /* a single slice: nothing to check */
	std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
	double med = sorted[sorted.size() / 2];
	/* dcm2niix-like tolerance: DICOM positions carry rounding of a few
	 * micrometres; a real gap is a whole slice. */
	double tol = std::max(0.01, 0.02 * med);
	for (size_t i = 0; i < steps.size(); i++) {
		if (std::fabs(steps[i] - med) <= tol)
			continue;
		double ratio = steps[i] / med;
		if (ratio > 1.5 && std::fabs(ratio - std::round(ratio)) * med <= tol)
			set_problem(s, BMEQ_E_FORMAT,
				    "missing slice: %.0f slice(s) absent between %s and %s (a gap of "
				    "%.2f mm where slices are %.2f mm apart)",
				    std::round(ratio) - 1, s.files[i].name.c_str(),
				    s.files[i + 1].name.c_str(), steps[i], med);
		else
			set_problem(s, BMEQ_E_FORMAT,
				    "uneven slice spacing: %.2f mm between %s and %s where slices "
				    "are %.2f mm apart",
				    steps[i], s.files[i].name.c_str(), s.files[i + 1].name.c_str(), med);
		return;
	}

	/* Geometry, as dcm2niix builds it: i along the row direction, j against
	 * the column direction (rows stored bottom-up, so voxel j = 0 is the last
	 * row), k from the first to the last slice's position. */
	const FileHdr &first = s.files.front(), &last = s.files.back();
	double kvec[3], klen = 0;
	/* A single slice (the pipeline then refuses it as 2D; info shows it) is
	 * as thick as the slice spacing or thickness says, as in dcm2niix. */
	double one = std::isfinite(h.spacing) && h.spacing > 0 ? h.spacing
		: std::isfinite(h.thickness) && h.thickness > 0 ? h.thickness : 1.0;
	for (int r = 0; r < 3; r++) {
		kvec[r] = s.files.size() > 1
			? (last.ipp[r] - first.ipp[r]) / (double)(s.files.size() - 1)
			: normal[r] * one;
		klen += kvec[r] * kvec[r];
	}
	klen = std::sqrt(klen);
	if (!(klen > 1e-6)) {
		set_problem(s, BMEQ_E_FORMAT, "slices do not advance along the slice normal");
		return;
	}
	const double dx = h.ps[1], dy = h.ps[0]; /* Pixel Spacing is row\column spacing */
	for (int r = 0; r < 3; r++) {
		s.geo.origin[r] = first.ipp[r] + (double)(h.rows - 1) * dy * col[r];
		s.geo.direction[r][0] = row[r];
		s.geo.direction[r][1] = -col[r];
		s.geo.direction[r][2] = kvec[r] / klen;
	}
	s.geo.spacing[0] = dx;
	s.geo.spacing[1] = dy;
	s.geo.spacing[2] = klen;
	s.dim[0] = (size_t)h.cols;
	s.dim[1] = (size_t)h.rows;
	s.dim[2] = s.files.size();
	bmeq_grid g;
	if (bmeq_itk_grid_from_lps(&s.geo, s.dim, &g) == BMEQ_OK)
		bmeq_grid_orientation(&g, in.orientation);
}

bool is_dicom_magic(const std::string &path)
{
	FILE *fp = std::fopen(path.c_str(), "rb");
	if (!fp)
		return false;
	char b[132];
	size_t n = std::fread(b, 1, sizeof(b), fp);
	std::fclose(fp);
	return n == sizeof(b) && std::memcmp(b + 128, "DICM", 4) == 0;
}

/* Every series among the regular files directly in dir. broken receives the
 * names of files that start like DICOM but cannot be parsed. */
bmeq_status scan_folder(const char *dir, std::vector<Series> &out, size_t &skipped,
			std::vector<std::string> &broken)
{
	quiet_gdcm();
	DIR *d = opendir(dir);
	if (!d)
		return bmeq_fail(BMEQ_E_IO, "cannot read the folder: %s", std::strerror(errno));
	std::vector<std::string> names;
	while (struct dirent *e = readdir(d)) {
		std::string n = e->d_name;
		if (n == "." || n == "..")
			continue;
		names.push_back(n);
	}
	closedir(d);
	std::sort(names.begin(), names.end());
	std::map<std::string, size_t> by_uid;
	skipped = 0;
	for (const std::string &n : names) {
		std::string path = std::string(dir) + "/" + n;
		struct stat sb;
		if (stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode))
			continue; /* folders are import's business, not a series' */
		if (n[0] == '.' || strcasecmp(n.c_str(), "DICOMDIR") == 0) {
			skipped++;
			continue;
		}
		FileHdr h;
		h.name = n;
		bool ok = false;
		if (bmeq_dicom_file_hook)
			bmeq_dicom_file_hook(path.c_str());
		try {
			ok = read_header(path, h);
		} catch (...) {
			ok = false;
		}
		if (!ok || (h.uid.empty() && h.sop_class.empty())) {
			if (is_dicom_magic(path))
				broken.push_back(n);
			else
				skipped++;
			continue;
		}
		auto it = by_uid.find(h.uid);
		if (it == by_uid.end()) {
			by_uid[h.uid] = out.size();
			out.emplace_back();
			std::memset(&out.back().info, 0, sizeof(out.back().info));
			out.back().files.push_back(std::move(h));
		} else {
			out[it->second].files.push_back(std::move(h));
		}
	}
	for (Series &s : out)
		analyse(s);
	std::stable_sort(out.begin(), out.end(), [](const Series &a, const Series &b) {
		if (a.info.number != b.info.number)
			return a.info.number < b.info.number;
		return std::strcmp(a.info.uid, b.info.uid) < 0;
	});
	return BMEQ_OK;
}

bool has_glob(const char *s)
{
	return std::strpbrk(s, "*?[") != nullptr;
}

bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

bool description_matches(const char *desc, const char *sel)
{
	if (has_glob(sel))
		return fnmatch(sel, desc, FNM_CASEFOLD) == 0;
	return strcasestr(desc, sel) != nullptr;
}

/* "29 "t1_tse_cor", 30 "stir_cor"" for a message: at most six. */
std::string list_series(const bmeq_dicom_series *s, const std::vector<size_t> &which)
{
	std::string out;
	for (size_t i = 0; i < which.size(); i++) {
		if (i == 6) {
			out += ", ...";
			break;
		}
		char buf[128];
		std::snprintf(buf, sizeof(buf), "%s%ld \"%s\"", i ? ", " : "", s[which[i]].number,
			      s[which[i]].description);
		out += buf;
	}
	return out;
}

bmeq_status choose(const bmeq_dicom_series *s, size_t n, const char *sel, size_t *index)
{
	std::vector<size_t> images, match;
	for (size_t i = 0; i < n; i++)
		if (s[i].rows > 0)
			images.push_back(i);
	if (n == 0)
		return bmeq_fail(BMEQ_E_FORMAT, "no DICOM series in the folder");
	if (!sel || !*sel) {
		if (images.size() == 1) {
			*index = images[0];
			return BMEQ_OK;
		}
		if (images.empty())
			return bmeq_fail(s[0].problem_status ? s[0].problem_status : BMEQ_E_FORMAT,
					 "no image series in the folder: %s", s[0].problem);
		std::vector<size_t> all(images);
		return bmeq_fail(BMEQ_E_ARG, "%zu series in one folder; choose one with --series "
				 "(number, UID or description): %s",
				 images.size(), list_series(s, all).c_str());
	}
	for (size_t i = 0; i < n; i++)
		if (std::strcmp(s[i].uid, sel) == 0)
			match.push_back(i);
	if (match.empty() && all_digits(sel)) {
		for (size_t i = 0; i < n; i++)
			if (s[i].number >= 0 && std::strtol(sel, nullptr, 10) == s[i].number)
				match.push_back(i);
	}
	if (match.empty()) {
		for (size_t i : images)
			if (description_matches(s[i].description, sel))
				match.push_back(i);
	}
	if (match.size() == 1) {
		*index = match[0];
		return BMEQ_OK;
	}
	if (match.empty())
		return bmeq_fail(BMEQ_E_ARG, "no series matches --series %s (the folder holds %s)", sel,
				 list_series(s, images).c_str());
	return bmeq_fail(BMEQ_E_ARG, "%zu series match --series %s: %s; be more specific",
			 match.size(), sel, list_series(s, match).c_str());
}

/* Finds and checks the series of dir chosen by sel. */
bmeq_status locate(const char *dir, const char *sel, std::vector<Series> &all, size_t &index)
{
	size_t skipped = 0;
	std::vector<std::string> broken;
	bmeq_status st = scan_folder(dir, all, skipped, broken);
	if (st != BMEQ_OK)
		return st;
	if (!broken.empty())
		return bmeq_fail(BMEQ_E_FORMAT, "%s: a DICOM file that cannot be read (truncated or "
				 "corrupt)",
				 broken[0].c_str());
	std::vector<bmeq_dicom_series> infos;
	for (const Series &s : all)
		infos.push_back(s.info);
	if (all.empty())
		return bmeq_fail(BMEQ_E_FORMAT, "no DICOM files in the folder%s",
				 skipped ? " (its files are not DICOM)" : "");
	if ((st = choose(infos.data(), infos.size(), sel, &index)) != BMEQ_OK)
		return st;
	const bmeq_dicom_series &in = all[index].info;
	if (in.problem[0])
		return bmeq_fail(in.problem_status, "series %ld: %s", in.number, in.problem);
	return BMEQ_OK;
}

/* Decodes one slice into dst (cols x rows floats, rows flipped), applying
 * the file's rescale. */
bmeq_status read_slice(const std::string &path, const FileHdr &h, float *dst)
{
	gdcm::ImageReader r;
	r.SetFileName(path.c_str());
	if (!r.Read())
		return bmeq_fail(BMEQ_E_FORMAT, "truncated or corrupt DICOM file");
	const gdcm::Image &img = r.GetImage();
	const unsigned int *d = img.GetDimensions();
	const gdcm::PixelFormat &pf = img.GetPixelFormat();
	if (d[0] != (unsigned)h.cols || d[1] != (unsigned)h.rows ||
	    (img.GetNumberOfDimensions() > 2 && d[2] > 1))
		return bmeq_fail(BMEQ_E_FORMAT, "the pixel data are %ux%u, the header says %ldx%ld", d[0],
				 d[1], h.cols, h.rows);
	if (pf.GetSamplesPerPixel() != 1)
		return bmeq_fail(BMEQ_E_UNSUPPORTED, "colour image");
	const size_t n = (size_t)h.cols * (size_t)h.rows;
	const unsigned long len = img.GetBufferLength();
	std::vector<char> buf(len);
	if (len == 0 || !img.GetBuffer(buf.data()))
		return bmeq_fail(BMEQ_E_FORMAT, "pixel data cannot be decoded (truncated, or transfer "
				 "syntax %s)",
				 h.ts.c_str());
	auto convert = [&](auto sample) -> bmeq_status {
		using T = decltype(sample);
		if (len < n * sizeof(T))
			return bmeq_fail(BMEQ_E_FORMAT, "pixel data are short");
		const T *p = reinterpret_cast<const T *>(buf.data());
		for (size_t j = 0; j < (size_t)h.rows; j++) {
			const T *src = p + ((size_t)h.rows - 1 - j) * (size_t)h.cols;
			float *o = dst + j * (size_t)h.cols;
			for (size_t i = 0; i < (size_t)h.cols; i++)
				o[i] = (float)((double)src[i] * h.slope + h.inter);
		}
		return BMEQ_OK;
	};
	switch (pf.GetScalarType()) {
	case gdcm::PixelFormat::UINT8: return convert(uint8_t());
	case gdcm::PixelFormat::INT8: return convert(int8_t());
	case gdcm::PixelFormat::UINT16: return convert(uint16_t());
	case gdcm::PixelFormat::INT16: return convert(int16_t());
	case gdcm::PixelFormat::UINT32: return convert(uint32_t());
	case gdcm::PixelFormat::INT32: return convert(int32_t());
	case gdcm::PixelFormat::FLOAT32: return convert(float());
	case gdcm::PixelFormat::FLOAT64: return convert(double());
	default:
		return bmeq_fail(BMEQ_E_UNSUPPORTED, "pixel type %s is not supported",
				 pf.GetScalarTypeAsString());
	}
}

} // namespace

extern "C" bmeq_status bmeq_dicom_list_here(const char *dir, bmeq_dicom_series **out,
					    size_t *n, size_t *skipped)
{
	if (!dir || !out || !n)
		return bmeq_fail(BMEQ_E_ARG, "dicom_list: NULL argument");
	*out = nullptr;
	*n = 0;
	return guard("dicom", [&]() {
		std::vector<Series> all;
		std::vector<std::string> broken;
		size_t sk = 0;
		bmeq_status st = scan_folder(dir, all, sk, broken);
		if (st != BMEQ_OK)
			return st;
		if (skipped)
			*skipped = sk + broken.size();
		if (all.empty())
			return BMEQ_OK;
		bmeq_dicom_series *a = (bmeq_dicom_series *)std::calloc(all.size(), sizeof(*a));
		if (!a)
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		for (size_t i = 0; i < all.size(); i++)
			a[i] = all[i].info;
		*out = a;
		*n = all.size();
		return BMEQ_OK;
	});
}

extern "C" void bmeq_dicom_series_free(bmeq_dicom_series *s)
{
	std::free(s);
}

extern "C" bmeq_status bmeq_dicom_choose(const bmeq_dicom_series *s, size_t n, const char *sel,
					 size_t *index)
{
	if ((!s && n) || !index)
		return bmeq_fail(BMEQ_E_ARG, "dicom_choose: NULL argument");
	return guard("dicom", [&]() { return choose(s, n, sel, index); });
}

extern "C" bmeq_status bmeq_dicom_series_files_here(const char *dir, const char *sel,
						    char ***paths, size_t *n)
{
	if (!dir || !paths || !n)
		return bmeq_fail(BMEQ_E_ARG, "dicom_series_files: NULL argument");
	*paths = nullptr;
	*n = 0;
	return guard("dicom", [&]() {
		std::vector<Series> all;
		size_t index = 0;
		bmeq_status st = locate(dir, sel, all, index);
		if (st != BMEQ_OK)
			return st;
		const std::vector<FileHdr> &f = all[index].files;
		char **p = (char **)std::calloc(f.size(), sizeof(*p));
		if (!p)
			return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
		for (size_t i = 0; i < f.size(); i++) {
			std::string full = std::string(dir) + "/" + f[i].name;
			p[i] = strdup(full.c_str());
			if (!p[i]) {
				for (size_t j = 0; j < i; j++)
					std::free(p[j]);
				std::free(p);
				return bmeq_fail(BMEQ_E_NOMEM, "out of memory");
			}
		}
		*paths = p;
		*n = f.size();
		return BMEQ_OK;
	});
}

extern "C" bmeq_status bmeq_dicom_read_here(const char *dir, const char *sel,
					    uint64_t max_bytes, bmeq_volume **out,
					    bmeq_dicom_series *info)
{
	if (!dir || !out)
		return bmeq_fail(BMEQ_E_ARG, "dicom_read: NULL argument");
	*out = nullptr;
	return guard("dicom", [&]() {
		std::vector<Series> all;
		size_t index = 0;
		bmeq_status st = locate(dir, sel, all, index);
		if (st != BMEQ_OK)
			return st;
		const Series &s = all[index];
		if (s.dim[1] > BMEQ_MAX_VOXELS / s.dim[0] ||
		    s.dim[2] > BMEQ_MAX_VOXELS / (s.dim[0] * s.dim[1]))
			return bmeq_fail(BMEQ_E_NOMEM, "series %ld of %zux%zux%zu voxels is too large",
					 s.info.number, s.dim[0], s.dim[1], s.dim[2]);
		const size_t slice = s.dim[0] * s.dim[1];
		if (max_bytes && (uint64_t)slice * s.dim[2] * sizeof(float) > max_bytes)
			return bmeq_fail(BMEQ_E_UNSUPPORTED,
					 "series %ld is %.0f MB as float32, over the limit of %.0f MB",
					 s.info.number,
					 (double)slice * (double)s.dim[2] * 4.0 / 1048576.0,
					 (double)max_bytes / 1048576.0);
		bmeq_grid g;
		if ((st = bmeq_itk_grid_from_lps(&s.geo, s.dim, &g)) != BMEQ_OK)
			return st;
		bmeq_volume *v = nullptr;
		if ((st = bmeq_volume_create(&g, &v)) != BMEQ_OK)
			return st;
		for (size_t k = 0; k < s.dim[2]; k++) {
			std::string path = std::string(dir) + "/" + s.files[k].name;
			if (bmeq_dicom_file_hook)
				bmeq_dicom_file_hook(path.c_str());
			if ((st = read_slice(path, s.files[k], v->data + k * slice)) != BMEQ_OK) {
				bmeq_fail(st, "%s: %s", s.files[k].name.c_str(), bmeq_last_error());
				bmeq_volume_destroy(v);
				return st;
			}
		}
		if (info)
			*info = s.info;
		*out = v;
		return BMEQ_OK;
	});
}

extern "C" int bmeq_dicom_is_file(const char *path)
{
	return path && is_dicom_magic(path);
}
