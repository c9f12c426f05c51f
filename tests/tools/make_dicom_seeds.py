#!/usr/bin/python3
"""make_dicom_seeds.py SRC_SLICE OUT - the DICOM fuzz target's seed corpus.

From one real slice (tests/data/cptac_ucec_pelvis_mri/dicom_C3N-02978_t1_tse_cor_post/1-20.dcm)
a 16x16 crop, with the patient module blanked, stored in every transfer syntax bmeq reads
(explicit and implicit little endian, explicit big endian, deflate with pydicom; RLE, JPEG
lossless, JPEG-LS and JPEG 2000 with gdcmconv), plus a rescaled, a multi-frame and a
structured-report object. Run once; the output is committed as tests/fuzz/corpus/dicom.
"""
import copy
import os
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ExplicitVRLittleEndian, ImplicitVRLittleEndian)

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
ds = pydicom.dcmread(src)
a = ds.pixel_array[180:196, 180:196].copy()
ds.Rows, ds.Columns = a.shape
ds.PixelData = a.astype(np.int16).tobytes()
for kw in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge",
           "ReferencedImageSequence"):
    if kw in ds:
        delattr(ds, kw)


def save(name, d, ts, little, implicit):
    d = copy.deepcopy(d)
    d.file_meta.TransferSyntaxUID = ts
    d.is_little_endian, d.is_implicit_VR = little, implicit
    d.save_as(os.path.join(out, name), write_like_original=False)


save("explicit_le.dcm", ds, ExplicitVRLittleEndian, True, False)
save("implicit_le.dcm", ds, ImplicitVRLittleEndian, True, True)
save("explicit_be.dcm", ds, ExplicitVRBigEndian, False, False)
save("deflated.dcm", ds, DeflatedExplicitVRLittleEndian, True, False)
r = copy.deepcopy(ds)
r.RescaleSlope, r.RescaleIntercept = 0.5, -3
save("rescaled.dcm", r, ExplicitVRLittleEndian, True, False)
m = copy.deepcopy(ds)
m.NumberOfFrames = 2
m.PixelData = np.concatenate([a, a]).astype(np.int16).tobytes()
save("multiframe.dcm", m, ExplicitVRLittleEndian, True, False)
sr = copy.deepcopy(ds)
for kw in ("PixelData", "Rows", "Columns", "ImagePositionPatient", "ImageOrientationPatient"):
    delattr(sr, kw)
sr.SOPClassUID = sr.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"
save("report.dcm", sr, ExplicitVRLittleEndian, True, False)
for opt, name in (("--rle", "rle"), ("--jpeg", "jpeg_lossless"), ("--jpegls", "jpegls"),
                  ("--j2k", "j2k")):
    subprocess.run(["gdcmconv", opt, os.path.join(out, "explicit_le.dcm"),
                    os.path.join(out, name + ".dcm")], check=True)
