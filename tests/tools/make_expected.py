#!/usr/bin/python3
"""Records tests/data/expected.tsv and tests/data/rejected.tsv: what bmeq must read from each
test file, obtained independently of bmeq (and of nifti_clib) through nibabel.

This script was run ONCE (Debian 12 python3-nibabel 5.0.0, python3-numpy 1.24; use Debian's
/usr/bin/python3, not a pyenv one) and both tables are committed; the tests never run nibabel.
Run from anywhere:

    /usr/bin/python3 tests/tools/make_expected.py

nibabel is asked only for raw header fields and the unscaled stored voxels; bmeq's own rules are
then applied here explicitly, because nibabel's defaults differ from them:
  * affine: the sform when sform_code > 0, else the qform when qform_code > 0, else
    diag(pixdim[1], pixdim[2], pixdim[3]) with a zero origin (NIfTI "method 1"; nibabel's
    get_best_affine would instead centre the volume and flip x);
  * scaling: value = stored * scl_slope + scl_inter unless scl_slope is 0 or not finite, in which
    case value = stored (scl_inter is ignored then too, as the NIfTI standard says);
  * voxels are float32 after scaling (bmeq's canonical volume);
  * a file with more than one volume (product of dim[4..dim[0]] > 1) is rejected without --volume
    and read as volume 0 with --volume 0 (volume v indexes dims 4..7 flattened, dim 4 fastest);
  * voxel_size is the column norms of that affine (what bmeq reports), pixdim is recorded too;
  * min / max / mean are over the finite voxels of the chosen 3D volume.

Tolerances the tests apply (stated in tests/data/README.md): affine 1e-4 mm per element;
voxel values, min, max: |got - want| <= 1e-5 * (|want| + |scl_inter|) (the inter term covers
float32 cancellation when scl_inter is large, e.g. CT -1024); mean the same; voxel size 1e-5 mm.
"""
import glob
import math
import os

import nibabel as nib
import numpy as np

DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))

# Files bmeq must refuse, with the status class and a keyword its message must hold
# (case-insensitive). Classes are bmeq_status names.
REJECTED = [
    ("nifti_reader_js/not-nifti.nii", "format", "nifti"),
    ("derived/truncated_data_anatomical_BE.nii", "format", "truncated"),
    ("derived/truncated_gzip_stream.nii.gz", "format", "truncated"),
    ("derived/header_only_348bytes.nii", "format", "truncated"),
    ("generated/truncated_gzip_small.nii.gz", "format", "truncated"),
    ("generated/truncated_data_in_gzip.nii.gz", "format", "truncated"),
    ("nibabel/analyze.hdr", "io", "img"),
    ("nibabel/nifti1.hdr", "io", "img"),
    ("nibabel/nifti2.hdr", "io", "img"),
    ("niivue/ct_perfusion.nii.gz", "unsupported", "rgb"),
    ("niivue/complex_image.nii.gz", "unsupported", "complex"),
    ("generated/bad_dim0_nifti2.nii", "format", "dim"),  # from tests/tools/make_bad_headers.py
    ("generated/bad_dim1_nifti1.nii", "format", "dim"),
]
# CIFTI-2 (NIfTI-2 with dims in dim[5], dim[6]): nibabel refuses it, so there is no independent
# expectation for its voxels; bmeq must refuse it without --volume (100 "volumes").
CIFTI = "nibabel/row_major.dconn.nii"

DT_NAMES = {2: "UINT8", 4: "INT16", 8: "INT32", 16: "FLOAT32", 64: "FLOAT64", 256: "INT8",
            512: "UINT16", 768: "UINT32", 1024: "INT64", 1280: "UINT64"}


def raw_header(img):
    """The header as stored in the file (nibabel's loaded header has scl_* reset to NaN)."""
    fm = img.file_map
    hdr_path = (fm["header"] if "header" in fm else fm["image"]).filename
    klass = type(img.header)
    with nib.openers.ImageOpener(hdr_path) as f:
        return klass.from_fileobj(f)


def quat_affine(h):
    """The qform as NIfTI defines it (qfac from pixdim[0], -1 when negative else +1), built from
    nibabel's quaternion routine; pixdim <= 0 is taken as 1 as nifti_clib does."""
    b, c, d = (float(h["quatern_b"]), float(h["quatern_c"]), float(h["quatern_d"]))
    a2 = 1.0 - (b * b + c * c + d * d)
    if a2 < 1e-7:
        # A rotation of 180 degrees: renormalise (b, c, d) as the standard prescribes.
        n = math.sqrt(b * b + c * c + d * d)
        a, b, c, d = 0.0, b / n, c / n, d / n
    else:
        a = math.sqrt(a2)
    r = nib.quaternions.quat2mat([a, b, c, d])
    pix = [float(h["pixdim"][i]) for i in (1, 2, 3)]
    pix = [p if p > 0 else 1.0 for p in pix]
    qfac = -1.0 if float(h["pixdim"][0]) < 0 else 1.0
    m = np.eye(4)
    m[:3, :3] = r @ np.diag([pix[0], pix[1], pix[2] * qfac])
    m[:3, 3] = [float(h["qoffset_x"]), float(h["qoffset_y"]), float(h["qoffset_z"])]
    return m


def bmeq_affine(h):
    if int(h["sform_code"]) > 0:
        m = np.eye(4)
        m[0], m[1], m[2] = h["srow_x"], h["srow_y"], h["srow_z"]
        assert np.allclose(m, h.get_sform(), atol=1e-6)
        return m, "sform"
    if int(h["qform_code"]) > 0:
        q = quat_affine(h)
        # Cross-check against nibabel's own qform where nibabel accepts the header.
        try:
            ref = h.get_qform()
        except Exception:  # nibabel refuses e.g. negative pixdim; ours follows the standard
            ref = q
        assert np.allclose(q, ref, atol=1e-5), (q, ref)
        return q, "qform"
    return np.diag([float(h["pixdim"][1]), float(h["pixdim"][2]), float(h["pixdim"][3]), 1.0]), \
        "pixdim"


def scaled_volume(img, h, volume):
    raw = np.asanyarray(img.dataobj.get_unscaled())
    slope, inter = float(h["scl_slope"]), float(h["scl_inter"])
    scaling = math.isfinite(slope) and slope != 0.0
    nd = int(h["dim"][0])
    dims = [int(h["dim"][i]) for i in range(1, nd + 1)]
    nx, ny, nz = (dims + [1, 1, 1])[:3]
    flat = raw.reshape((nx, ny, nz, -1), order="F")
    vol = flat[..., volume].astype(np.float64)
    if scaling:
        vol = vol * slope + inter
    return vol.astype(np.float32), slope, inter, dims, flat.shape[3]


def sample_indices(shape):
    """Corners, centre and a few seeded pseudo-random voxels, plus the first maximum."""
    nx, ny, nz = shape
    idx = [(0, 0, 0), (nx - 1, ny - 1, nz - 1), (nx // 2, ny // 2, nz // 2),
           (nx // 3, (2 * ny) // 3, nz // 4)]
    rng = np.random.RandomState(12345)
    for _ in range(4):
        idx.append((int(rng.randint(nx)), int(rng.randint(ny)), int(rng.randint(nz))))
    return idx


def fmt(x):
    return repr(float(x)) if math.isfinite(x) else "nan"


def row(rel, volume):
    path = os.path.join(DATA, rel)
    img = nib.load(path)
    h = raw_header(img)
    version = 2 if isinstance(h, nib.Nifti2Header) else 1
    aff, source = bmeq_affine(h)
    vol, slope, inter, dims, nvols = scaled_volume(img, h, max(volume, 0))
    idx = sample_indices(vol.shape)
    finite = vol[np.isfinite(vol)]
    amax = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(vol), vol, -np.inf))),
                            vol.shape)
    idx.append(tuple(int(i) for i in amax))
    samples = ";".join("%d,%d,%d=%s" % (i, j, k, fmt(vol[i, j, k])) for i, j, k in idx)
    spacing = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))
    orient = "".join(nib.orientations.aff2axcodes(aff))
    mean = float(finite.astype(np.float64).mean()) if finite.size else float("nan")
    return [rel, str(volume), str(version), "x".join(str(d) for d in dims),
            ",".join(fmt(s) for s in spacing),
            ",".join(fmt(float(h["pixdim"][i])) for i in (1, 2, 3)),
            DT_NAMES[int(h["datatype"])], str(int(h["datatype"])),
            "1" if h.endianness == ">" else "0", fmt(slope), fmt(inter),
            str(int(h["qform_code"])), str(int(h["sform_code"])), source,
            ",".join(fmt(v) for v in aff.reshape(-1)), orient, str(nvols), samples,
            fmt(finite.min() if finite.size else float("nan")),
            fmt(finite.max() if finite.size else float("nan")), fmt(mean),
            str(vol.size - finite.size)]


COLUMNS = ["path", "volume", "nifti_version", "dims", "voxel_size", "pixdim", "datatype",
           "datatype_code", "big_endian", "scl_slope", "scl_inter", "qform_code", "sform_code",
           "affine_source", "affine", "orientation", "nvolumes", "samples", "min", "max", "mean",
           "nonfinite"]


def candidates():
    skip = {r[0] for r in REJECTED} | {CIFTI}
    out = []
    for p in sorted(glob.glob(os.path.join(DATA, "**", "*"), recursive=True)):
        rel = os.path.relpath(p, DATA)
        if os.path.isdir(p) or rel in skip:
            continue
        if not (rel.endswith(".nii") or rel.endswith(".nii.gz") or rel.endswith(".hdr")
                or rel.endswith(".hdr.gz")):
            continue
        out.append(rel)
    return out


def main():
    rows, rejected = [], [list(r) for r in REJECTED]
    for rel in candidates():
        img = nib.load(os.path.join(DATA, rel))
        h = raw_header(img)
        nd = int(h["dim"][0])
        nvols = int(np.prod([int(h["dim"][i]) for i in range(4, nd + 1)] or [1]))
        if nvols > 1:
            rejected.append([rel, "unsupported", "volume"])
            rows.append(row(rel, 0))
        else:
            rows.append(row(rel, -1))
    rejected.append([CIFTI, "unsupported", "volume"])
    with open(os.path.join(DATA, "expected.tsv"), "w") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    with open(os.path.join(DATA, "rejected.tsv"), "w") as f:
        f.write("path\tstatus\treason_keyword\n")
        for r in rejected:
            f.write("\t".join(r) + "\n")
    print("%d valid rows, %d rejected" % (len(rows), len(rejected)))


if __name__ == "__main__":
    main()
