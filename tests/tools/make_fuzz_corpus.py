#!/usr/bin/python3
"""Writes the seed corpus tests/fuzz/corpus/nifti/ for tests/fuzz/fuzz_nifti.c from tests/data.

Each corpus file is a fuzz input: byte 0 = mode (bit 0 pair, bit 1 volume pick, bits 2-4 the
volume), then either one file, or a little-endian uint16 header length, the header and the image
(see fuzz_nifti.c). Seeds are small (< 64 KB): tiny real headers, both NIfTI versions, both byte
orders, gzip and plain, pairs, 5D, CIFTI, and truncated or corrupted variants of each. Run once
from the repository root (the output is committed):

    /usr/bin/python3 tests/tools/make_fuzz_corpus.py
"""
import gzip
import io
import os
import struct

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
OUT = os.path.join(HERE, "..", "fuzz", "corpus", "nifti")
LIMIT = 64 * 1024


def read(rel):
    with open(os.path.join(DATA, rel), "rb") as f:
        return f.read()


def gunzip(blob):
    return gzip.decompress(blob)


def gz(blob):
    return gzip.compress(blob, mtime=0)


def single(blob, volume=None):
    mode = 0 if volume is None else 2 | (volume << 2)
    return bytes([mode]) + blob


def pair(hdr, img, volume=None):
    mode = 1 if volume is None else 3 | (volume << 2)
    return bytes([mode]) + struct.pack("<H", len(hdr)) + hdr + img


def pair_files(klass, arr, aff, compress):
    """A .hdr/.img pair of arr in memory (nibabel writes both)."""
    img = klass(arr, aff)
    hb, ib = io.BytesIO(), io.BytesIO()
    img.to_file_map({"header": nib.FileHolder(fileobj=hb), "image": nib.FileHolder(fileobj=ib)})
    h, i = hb.getvalue(), ib.getvalue()
    return (gz(h), gz(i)) if compress else (h, i)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    low = read("niivue/low_res.nii.gz")
    std = read("nibabel/standard.nii.gz")
    seeds["low_res_gz"] = single(low)
    seeds["low_res_plain"] = single(gunzip(low))
    seeds["standard_gz"] = single(std)
    seeds["standard_plain"] = single(gunzip(std))
    seeds["minimal_be_q0s0_gz"] = single(read("niivue/minimal.nii.gz"))
    seeds["5d_small"] = single(read("nifti_reader_js/5D_small.nii"))
    seeds["5d_small_vol2"] = single(read("nifti_reader_js/5D_small.nii"), volume=2)
    seeds["cifti_nifti2"] = single(read("nibabel/row_major.dconn.nii"))
    seeds["cifti_nifti2_vol7"] = single(read("nibabel/row_major.dconn.nii"), volume=7)
    seeds["not_nifti"] = single(read("nifti_reader_js/not-nifti.nii"))
    seeds["header_only_be"] = single(read("derived/header_only_348bytes.nii"))
    seeds["draw_ail_gz"] = single(read("niivue/draw.nii.gz"))
    seeds["hippo_gz"] = single(read("niivue/hippo.nii.gz"))
    seeds["complex_gz"] = single(read("niivue/complex_image.nii.gz"))
    seeds["int8_be_gz"] = single(read("generated/dt_int8_be.nii.gz"))
    seeds["uint64_le_gz"] = single(read("generated/dt_uint64_le.nii.gz"))
    seeds["float64_be_gz"] = single(read("generated/dt_float64_be.nii.gz"))
    seeds["uint16_slope_gz"] = single(read("generated/uint16_slope_inter.nii.gz"))
    seeds["nifti2_be_plain"] = single(read("generated/nifti2_int16_be.nii"))
    seeds["air_pair_hdr_only"] = pair(read("nifti_reader_js/air.hdr.gz"), b"")
    anat = read("nibabel/anatomical.nii")
    seeds["anat_be_first_300"] = single(anat[:300])
    seeds["anat_be_first_2000"] = single(anat[:2000])
    seeds["low_res_gz_half"] = single(low[: len(low) // 2])
    seeds["standard_gz_bad_crc"] = single(std[:-8] + b"\0\0\0\0" + std[-4:])
    plain = bytearray(gunzip(low))
    plain[0:4] = struct.pack("<i", 540)  # claims NIfTI-2 size with a NIfTI-1 body
    seeds["low_res_wrong_sizeof"] = single(bytes(plain))
    plain = bytearray(gunzip(low))
    plain[42:44] = struct.pack("<h", 32767)  # dim[1] huge, data far too short
    seeds["low_res_huge_dim"] = single(bytes(plain))
    plain = bytearray(gunzip(low))
    plain[108:112] = struct.pack("<f", 1e9)  # vox_offset far past the end
    seeds["low_res_far_offset"] = single(bytes(plain))
    # Pairs made here from the tiny sform-only file, NIfTI-1 and -2, plain and gzipped.
    src = nib.load(os.path.join(DATA, "niivue", "low_res.nii.gz"))
    arr = np.asanyarray(src.dataobj)
    h1, i1 = pair_files(nib.Nifti1Pair, arr, src.affine, False)
    seeds["pair1_plain"] = pair(h1, i1)
    seeds["pair1_img_short"] = pair(h1, i1[: len(i1) // 2])
    h2, i2 = pair_files(nib.Nifti2Pair, arr.astype(np.int16), src.affine, False)
    seeds["pair2_plain"] = pair(h2, i2)
    hz, iz = pair_files(nib.Nifti1Pair, arr.astype(np.float32), src.affine, True)
    seeds["pair1_gz"] = pair(hz, iz)
    seeds["pair1_gz_img_cut"] = pair(hz, iz[: len(iz) - 5])
    a4 = np.stack([arr, arr + 1, arr + 2], axis=3)
    h4, i4 = pair_files(nib.Nifti1Pair, a4, src.affine, False)
    seeds["pair1_4d_vol1"] = pair(h4, i4, volume=1)
    for name, blob in seeds.items():
        assert len(blob) < LIMIT, (name, len(blob))
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)
    print("%d seeds, %d bytes" % (len(seeds), sum(len(b) for b in seeds.values())))


if __name__ == "__main__":
    main()
