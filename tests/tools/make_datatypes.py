#!/usr/bin/python3
"""Writes tests/data/generated/: one small scan in every scalar NIfTI datatype and both byte
orders, plus a few layouts the copied public files do not cover.

The public test set has no real file in several datatypes (int8, uint16, uint32, int64, uint64)
and few big-endian ones, so this script casts a crop of nibabel/anatomical.nii (MIT) with nibabel
and writes each cast with an explicit byte order. It was run ONCE (Debian python3-nibabel 5.0.0,
python3-numpy 1.24) and its output is committed; the tests never run it. Re-running it gives
the same voxels and headers (gzip timestamps aside). Run from the repository root:

    /usr/bin/python3 tests/tools/make_datatypes.py
"""
import gzip
import os

import nibabel as nib
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
OUT = os.path.join(ROOT, "generated")

# NIfTI code -> numpy type for every scalar type bmeq must read.
TYPES = {
    "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16,
    "int32": np.int32, "uint32": np.uint32, "int64": np.int64, "uint64": np.uint64,
    "float32": np.float32, "float64": np.float64,
}


def base_volume():
    """A 16x20x12 crop of a real anatomical scan (float64), and its affine."""
    img = nib.load(os.path.join(ROOT, "nibabel", "anatomical.nii"))
    data = np.asarray(img.dataobj, dtype=np.float64)[8:24, 10:30, 6:18]
    aff = img.affine.copy()
    aff[:3, 3] = aff[:3, :3] @ np.array([8.0, 10.0, 6.0]) + aff[:3, 3]
    return data, aff


def cast(data, name):
    """Maps the crop into the range of type name, keeping the anatomy visible."""
    t = np.dtype(TYPES[name])
    if t.kind == "f":
        return (data * 0.37 - 11.5).astype(t)
    info = np.iinfo(t)
    lo = max(info.min, -30000) if t.kind == "i" else 0
    hi = min(info.max, 60000)
    scaled = lo + (data - data.min()) / (data.max() - data.min()) * (hi - lo)
    return np.clip(np.round(scaled), info.min, info.max).astype(t)


def save(img, path, order):
    """Writes img with byte order order ('<' or '>') to path (.nii or .nii.gz)."""
    hdr = img.header
    hdr_be = hdr.as_byteswapped(order) if hdr.endianness != order else hdr
    arr = np.asanyarray(img.dataobj)
    arr = arr.astype(arr.dtype.newbyteorder(order))
    klass = type(img)
    out = klass(arr, img.affine, hdr_be)
    out.header.set_data_dtype(arr.dtype)
    out.set_qform(img.affine, 1)
    out.set_sform(img.affine, 1)
    nib.save(out, path)
    # nibabel writes in the header's byte order; check rather than trust it.
    check = nib.load(path)
    assert check.header.endianness == order, (path, check.header.endianness)


def main():
    os.makedirs(OUT, exist_ok=True)
    data, aff = base_volume()
    for name in TYPES:
        for order, tag in (("<", "le"), (">", "be")):
            arr = cast(data, name)
            img = nib.Nifti1Image(arr, aff, dtype=arr.dtype)
            save(img, os.path.join(OUT, "dt_%s_%s.nii.gz" % (name, tag)), order)
    # uint16 with scaling and NIfTI-2 big-endian int16, uncompressed.
    arr = cast(data, "uint16")
    img = nib.Nifti1Image(arr, aff, dtype=np.uint16)
    img.header.set_slope_inter(0.25, -100.0)
    nib.save(img, os.path.join(OUT, "uint16_slope_inter.nii.gz"))
    raw = nib.load(os.path.join(OUT, "uint16_slope_inter.nii.gz"))
    assert float(raw.dataobj.slope) == 0.25 and float(raw.dataobj.inter) == -100.0
    arr = cast(data, "int16")
    img2 = nib.Nifti2Image(arr, aff, dtype=np.int16)
    save(img2, os.path.join(OUT, "nifti2_int16_be.nii"), ">")
    # A gzip stream cut short (small sibling of derived/truncated_gzip_stream.nii.gz).
    with open(os.path.join(OUT, "dt_float32_le.nii.gz"), "rb") as f:
        blob = f.read()
    with open(os.path.join(OUT, "truncated_gzip_small.nii.gz"), "wb") as f:
        f.write(blob[: len(blob) * 2 // 3])
    # A valid gzip stream whose .nii inside is cut short (data end missing).
    with gzip.open(os.path.join(OUT, "dt_int16_le.nii.gz"), "rb") as f:
        nii = f.read()
    with gzip.open(os.path.join(OUT, "truncated_data_in_gzip.nii.gz"), "wb") as f:
        f.write(nii[: len(nii) - 1000])


if __name__ == "__main__":
    main()
