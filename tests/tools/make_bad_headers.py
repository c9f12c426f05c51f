#!/usr/bin/python3
"""Writes tests/data/generated/bad_*.nii: headers that nifti_clib refuses noisily or mishandles,
found by fuzzing the reader (tests/fuzz). Run once from anywhere (the output is committed):

    /usr/bin/python3 tests/tools/make_bad_headers.py

* bad_dim0_nifti2.nii - a big-endian NIfTI-2 pair header whose dim[0] is out of 1..7 in both
  byte orders: nifti_clib's nifti_convert_n2hdr2nim indexes dim[] with it unchecked (stack
  overrun); bmeq must refuse it before. It is the fuzz regression
  tests/fuzz/regressions/nifti2_unchecked_dim0_stack_overrun without its 3-byte fuzz prefix.
* bad_dim1_nifti1.nii - niivue/low_res.nii.gz unzipped with dim[1] = -5: nifti_clib prints
  "** ERROR ..." to stderr whatever its debug level; bmeq must refuse it silently.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")

with open(os.path.join(HERE, "..", "fuzz", "regressions",
                       "nifti2_unchecked_dim0_stack_overrun"), "rb") as f:
    blob = f.read()[3:]
with open(os.path.join(DATA, "generated", "bad_dim0_nifti2.nii"), "wb") as f:
    f.write(blob)
with gzip.open(os.path.join(DATA, "niivue", "low_res.nii.gz"), "rb") as f:
    nii = bytearray(f.read())
nii[42:44] = struct.pack("<h", -5)
with open(os.path.join(DATA, "generated", "bad_dim1_nifti1.nii"), "wb") as f:
    f.write(bytes(nii))
