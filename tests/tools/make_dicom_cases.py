#!/usr/bin/python3
"""make_dicom_cases.py SRC OUT - DICOM test series made from one real series.

SRC is a folder holding one real single-frame MR series (tests/data/cptac_ucec_pelvis_mri/
dicom_C3N-02978_t1_tse_cor_post). OUT receives one folder per case, each changed from SRC in
one way with pydicom (Debian's python3-pydicom); nothing is committed, so the cases cost no
repository space and say in code what they hold:

  real/          the series unchanged
  named/         patient name, ID, birth date, address, accession number and institution set
                 to recognisable values (the privacy test looks for them in every output), and
                 beside the sequence facts bmeq does record (manufacturer "SIEMENS" and model)
                 the operator, performing physician, station, department, institution address
                 and device serial number
  rescale/       Rescale Slope 1 / Intercept -5 on even slices, 0.5 / 7 on odd ones, stored
                 values chosen so the rescaled image is the real one (per-slice rescale)
  missing/       the middle slice deleted
  uneven/        one slice moved 2 mm along the slice normal
  mixed/         the real series plus a STIR-like second series (another UID, number 30,
                 "stir_tirm_cor", IR, TI 160 ms) in one folder
  stir/          that STIR-like series alone (sequence facts of a fat-suppressed IR image)
  with_sr/       the real series plus a structured report (a non-image object)
  sr_only/       the structured report alone
  truncated/     the real series with one file cut to half its length
  notdicom/      two text files and nothing else
  multiecho/     each slice twice, echo numbers 1 and 2
  fourd/         each slice twice, temporal positions 1 and 2
  badts/         transfer syntax changed to MPEG-2 (GDCM cannot decode it)
  localiser/     three slices in three orientations
  multiframe/    the first slice stored as a 3-frame file (enhanced-style)
  visit2/        a second visit of the named subject: same series, new UIDs, later study date,
                 slice thickness 3 mm (a protocol change)
  visit2_stir/   the STIR-like series in that second visit
  stir_tra/      a second STIR-like series (number 31, "stir_tirm_tra") of the first study
  stir_plain/    the STIR-like series described only as "cor 4mm" (number 32)
"""
import copy
import os
import shutil
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR


def load(src):
    files = sorted(f for f in os.listdir(src) if not f.startswith("."))
    return [(f, pydicom.dcmread(os.path.join(src, f))) for f in files]


def write(folder, name, ds):
    os.makedirs(folder, exist_ok=True)
    ds.save_as(os.path.join(folder, name), write_like_original=False)


def normal(ds):
    iop = np.array(ds.ImageOrientationPatient, float)
    return np.cross(iop[:3], iop[3:])


def renumber(series, number, description, uid=None, study_uid=None):
    """A copy of series as another series (new UIDs)."""
    uid = uid or generate_uid()
    out = []
    for f, ds in series:
        d = copy.deepcopy(ds)
        d.SeriesInstanceUID = uid
        if study_uid:
            d.StudyInstanceUID = study_uid
        d.SeriesNumber = number
        d.SeriesDescription = description
        d.SOPInstanceUID = generate_uid()
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        out.append((f, d))
    return out


def sr_object(like):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SR_CLASS
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SR_CLASS
    ds.Modality = "SR"
    ds.StudyInstanceUID = like.StudyInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 900
    ds.SeriesDescription = "dose report"
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds


def main():
    src, out = sys.argv[1], sys.argv[2]
    series = load(src)
    n = len(series)
    mid = n // 2

    def dump(case, items):
        for f, ds in items:
            write(os.path.join(out, case), f, ds)

    dump("real", series)

    named = copy.deepcopy(series)
    for _, ds in named:
        ds.PatientName = "DOE^JANE^Q"
        ds.PatientID = "MRN8675309"
        ds.PatientBirthDate = "19450317"
        ds.PatientAddress = "12 Hawthorn Lane, Springfield"
        ds.AccessionNumber = "ACC55501234"
        ds.InstitutionName = "Saint Elsewhere Hospital"
        ds.ReferringPhysicianName = "WELBY^MARCUS"
        # Next to the elements bmeq's tables and provenance take (manufacturer, model):
        # the ones they must not take.
        ds.Manufacturer = "SIEMENS"
        ds.OperatorsName = "RATCHED^MILDRED"
        ds.PerformingPhysicianName = "KILDARE^JAMES"
        ds.StationName = "ELSEWHERE_MR2"
        ds.InstitutionAddress = "1 Elsewhere Road, Springfield"
        ds.InstitutionalDepartmentName = "Elsewhere Radiology"
        ds.DeviceSerialNumber = "SN77123409"
    dump("named", named)

    resc = copy.deepcopy(series)
    for i, (_, ds) in enumerate(resc):
        slope, inter = (1.0, -5.0) if i % 2 == 0 else (0.5, 7.0)
        a = ds.pixel_array.astype(np.int64)
        # Exact integers: a + 5, or 2a - 14; rescaled they give a again.
        stored = (a - int(inter)) if slope == 1.0 else (2 * a - 14)
        assert stored.min() >= -32768 and stored.max() <= 32767
        ds.PixelData = stored.astype(np.int16).tobytes()
        ds.PixelRepresentation = 1
        ds.BitsStored, ds.HighBit = 16, 15  # 2a - 14 needs more than the 12 bits stored
        ds.RescaleSlope = slope
        ds.RescaleIntercept = inter
    dump("rescale", resc)

    dump("missing", [s for i, s in enumerate(series) if i != mid])

    uneven = copy.deepcopy(series)
    ds = uneven[mid][1]
    ds.ImagePositionPatient = list(np.array(ds.ImagePositionPatient, float) + 2.0 * normal(ds))
    dump("uneven", uneven)

    stir = renumber(series, 30, "stir_tirm_cor")
    for _, ds in stir:
        ds.ScanningSequence = ["IR", "SE"]
        ds.SequenceVariant = ["SK", "SP", "MP"]
        ds.ScanOptions = ["IR"]
        ds.SequenceName = "*tir2d1_13"
        ds.InversionTime = 160
        ds.EchoTime = 56
        ds.RepetitionTime = 4500
    dump("stir", stir)
    dump("mixed", series + [("s" + f, d) for f, d in stir])

    sr = sr_object(series[0][1])
    dump("with_sr", series + [("sr.dcm", sr)])
    dump("sr_only", [("sr.dcm", sr)])

    dump("truncated", series)
    p = os.path.join(out, "truncated", series[mid][0])
    size = os.path.getsize(p)
    with open(p, "r+b") as fh:
        fh.truncate(size // 2)

    os.makedirs(os.path.join(out, "notdicom"), exist_ok=True)
    for name in ("README.txt", "scan.dcm"):
        with open(os.path.join(out, "notdicom", name), "w") as fh:
            fh.write("not a DICOM file\n" * 40)

    me, fd = [], []
    for f, ds in series:
        for e in (1, 2):
            d = copy.deepcopy(ds)
            d.SOPInstanceUID = generate_uid()
            d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
            d.EchoNumbers = e
            me.append(("e%d_%s" % (e, f), d))
            d2 = copy.deepcopy(ds)
            d2.SOPInstanceUID = generate_uid()
            d2.file_meta.MediaStorageSOPInstanceUID = d2.SOPInstanceUID
            d2.TemporalPositionIdentifier = e
            fd.append(("t%d_%s" % (e, f), d2))
    dump("multiecho", me)
    dump("fourd", fd)

    badts = copy.deepcopy(series)
    for f, ds in badts:
        # An encapsulated stream under a syntax GDCM has no decoder for (MPEG-2): the
        # header is fine, the pixels cannot be had.
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"
        ds.PixelData = encapsulate([ds.PixelData])
        ds["PixelData"].is_undefined_length = True
        ds.is_little_endian, ds.is_implicit_VR = True, False
        os.makedirs(os.path.join(out, "badts"), exist_ok=True)
        ds.save_as(os.path.join(out, "badts", f), write_like_original=True)

    loc = renumber(series[:3], 1, "localizer")
    orients = ([1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, -1], [0, 1, 0, 0, 0, -1])
    for (_, ds), o in zip(loc, orients):
        ds.ImageOrientationPatient = o
    dump("localiser", loc)

    f0, d0 = copy.deepcopy(series[0])
    a = d0.pixel_array
    d0.NumberOfFrames = 3
    d0.PixelData = np.concatenate([a, a, a]).astype(a.dtype).tobytes()
    dump("multiframe", [(f0, d0)] + series[1:])

    study2 = generate_uid()
    v2 = renumber(named, 29, "t1_tse_cor lymph nodes CM", study_uid=study2)
    for _, ds in v2:
        ds.StudyDate = "20010315"
        ds.SliceThickness = 3
    dump("visit2", v2)
    v2s = renumber(stir, 30, "stir_tirm_cor", study_uid=study2)
    for _, ds in v2s:
        ds.StudyDate = "20010315"
    dump("visit2_stir", v2s)
    dump("stir_tra", renumber(stir, 31, "stir_tirm_tra"))
    # A STIR whose description says nothing: found by its sequence (IR, TI 160 ms).
    dump("stir_plain", renumber(stir, 32, "cor 4mm"))


if __name__ == "__main__":
    main()
