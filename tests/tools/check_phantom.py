#!/usr/bin/python3
"""Checks a study written by `bmeq phantom` with nibabel (an independent
NIfTI reader): every scan and truth map loads, the truth maps share the
scan's grid, the patient's left femoral head (label 2) lies at negative RAS x
and the right (label 1) at positive x, label centroids sit on the truth head
centres, the stored datatype / scaling / NIfTI version / qform and sform
codes match truth.json, edema is brighter than normal marrow (and, with the
default realistic edema model, no brighter than real STIR edema: the median
of a hip's edema about its lesions' peak ratio at most), and the study
holds every orientation and storage variant.

usage: check_phantom.py STUDY_DIR [--require-all-variants]
Exit 0 when every check passes; prints one line per failure otherwise."""
import json
import os
import sys

import nibabel as nib
import numpy as np

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def main():
    root = sys.argv[1]
    need_all = "--require-all-variants" in sys.argv
    truth = json.load(open(os.path.join(root, "truth.json")))
    manifest = open(os.path.join(root, "manifest.csv")).read().splitlines()
    check(manifest[0] == "subject,session,path,date,cycle,dose_ng_kg_min", "manifest header")
    check(len(manifest) - 1 == len(truth["scans"]), "one manifest row per scan")
    model = truth.get("edema_model", "bright")
    check(model in ("realistic", "bright"), "edema_model %r" % model)
    subjects = {s["subject"]: s for s in truth["subjects"]}
    seen = {k: set() for k in ("orient", "flip", "dtype", "version", "forms")}
    dt_names = {np.dtype(np.int16): "int16", np.dtype(np.uint16): "uint16",
                np.dtype(np.float32): "float32"}
    for sc in truth["scans"]:
        name = sc["path"]
        acq = sc["acquisition"]
        img = nib.load(os.path.join(root, sc["path"]))
        lab = nib.load(os.path.join(root, sc["labels"]))
        ed = nib.load(os.path.join(root, sc["edema_labels"]))
        hdr = img.header
        version = 2 if isinstance(img, nib.Nifti2Image) else 1
        check(version == acq["nifti_version"], name + ": NIfTI version")
        check(dt_names.get(hdr.get_data_dtype()) == acq["datatype"], name + ": datatype")
        qc, sc_code = int(hdr["qform_code"]), int(hdr["sform_code"])
        check((qc > 0) == (acq["qform_code"] > 0) and (sc_code > 0) == (acq["sform_code"] > 0),
              name + ": qform/sform codes")
        # nibabel moves the scaling from the header into the array proxy on load.
        slope, inter = float(img.dataobj.slope), float(img.dataobj.inter)
        if acq["datatype"] == "uint16":
            check(abs(slope - acq["scl_slope"]) <= 1e-6 * abs(acq["scl_slope"]), name + ": scl_slope")
            check(abs(inter - acq["scl_inter"]) < 1e-4, name + ": scl_inter")
        else:
            check(slope == 1.0 and inter == 0.0, name + ": no scaling")
        codes = "".join(nib.aff2axcodes(img.affine))
        check(codes == acq["orientation_code"], name + ": orientation %s vs %s"
              % (codes, acq["orientation_code"]))
        # Compare world positions of the grid corners. A NIfTI-1 qform stores its
        # quaternion in float32; for rotations near 180 degrees (flipped coronal)
        # nibabel rebuilds it ~1e-4 off (nifti_clib renormalises and is exact), so
        # qform-only NIfTI-1 scans get 0.25 mm, the rest 0.01 mm.
        tol = 0.25 if (qc > 0 and sc_code == 0 and version == 1) else 0.01
        corners = np.array([[i, j, k] for i in (0, img.shape[0] - 1)
                            for j in (0, img.shape[1] - 1) for k in (0, img.shape[2] - 1)])
        for other, what in ((lab, "label"), (ed, "edema")):
            d = np.abs(nib.affines.apply_affine(img.affine, corners)
                       - nib.affines.apply_affine(other.affine, corners)).max()
            check(img.shape == other.shape and d < tol,
                  name + ": %s map on the scan grid (corners %.4f mm apart)" % (what, d))
        seen["orient"].add(acq["orientation"])
        seen["flip"].add(acq["flip_lr"])
        seen["dtype"].add(acq["datatype"])
        seen["version"].add(version)
        seen["forms"].add((qc > 0, sc_code > 0))

        data = np.asarray(img.dataobj, dtype=np.float64)
        labels = np.asarray(lab.dataobj).astype(np.int32)
        edema = np.asarray(ed.dataobj).astype(np.int32)
        check(set(np.unique(labels)) <= {0, 1, 2, 3, 4}, name + ": label values")
        check(np.all((edema == 0) | (edema == labels)), name + ": edema inside its region")
        for label, side, sign in ((1, "right", 1.0), (2, "left", -1.0)):
            ijk = np.argwhere(labels == label)
            check(len(ijk) > 50, name + ": label %d present" % label)
            if len(ijk) == 0:
                continue
            xyz = nib.affines.apply_affine(img.affine, ijk).mean(axis=0)
            check(sign * xyz[0] > 40.0, name + ": label %d at the patient's %s (x=%.1f)"
                  % (label, side, xyz[0]))
            ref = np.array(sc[side]["head_centre_ras"])
            check(np.linalg.norm(xyz - ref) < 3.0, name + ": label %d centroid %.1f mm from truth"
                  % (label, np.linalg.norm(xyz - ref)))
            vox = abs(np.linalg.det(img.affine[:3, :3])) / 1000.0
            for lab_v, key in ((label, "head_grid_ml"), (label + 2, "neck_grid_ml")):
                got = (labels == lab_v).sum() * vox
                check(abs(got - sc[side][key]) < 0.01 + 1e-3 * sc[side][key],
                      name + ": %s %.3f vs %.3f" % (key, got, sc[side][key]))
            # Edema (STIR) brighter than the same head's normal marrow: clearly so
            # with bright edema (2.5-5x), and with realistic edema (1.4-2.6x at full
            # strength, half of it at the truth's edge) brighter, but no more than
            # the hip's brightest lesion at full strength. The normal voxels of a
            # head with diffuse edema are mostly its rim (cortex partial volume),
            # whose median sits a little below normal marrow: 15 % leeway.
            e = data[edema == label]
            if len(e) > 200 and sc[side]["edema_head_ml"] > 1.0:
                normal = data[(labels == label) & (edema == 0)]
                if len(normal) > 200:
                    ratio = np.median(e) / np.median(normal)
                    hip = subjects[sc["subject"]][side]
                    if model == "bright":
                        check(ratio > 1.5, name + ": %s edema %.2fx normal marrow, not > 1.5x"
                              % (side, ratio))
                    else:
                        peak = max(hip["lesion_peak_ratio"])
                        top = 1.15 * min(peak, 2.6)
                        check(1.1 < ratio <= top,
                              name + ": %s edema %.2fx normal marrow, not in (1.1, %.2f]"
                              % (side, ratio, top))
    if need_all:
        check(seen["orient"] == {"coronal", "axial", "oblique"}, "every orientation")
        check(seen["flip"] == {True, False}, "flipped and unflipped storage")
        check(seen["dtype"] == {"int16", "uint16", "float32"}, "every datatype")
        check(seen["version"] == {1, 2}, "NIfTI-1 and NIfTI-2")
        check(seen["forms"] == {(True, True), (True, False), (False, True)},
              "qform-only, sform-only and both")
    print("%d scans checked, %d failures" % (len(truth["scans"]), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
