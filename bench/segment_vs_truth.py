#!/usr/bin/python3
"""segment_vs_truth.py - bmeq's femoral heads and necks against a phantom study's exact truth.

usage: bench/segment_vs_truth.py BMEQ STUDY WORK

Runs `bmeq segment` on every STIR of STUDY (made by `bmeq phantom`; outputs under WORK, reused
when present) and prints per hip: orientation, slice thickness, status, edge support
(confidence), the head centre's distance from the truth (mm), the radius error (mm), the neck
volume against the truth's, the angle between bmeq's neck axis and the truth's (degrees), and
the Dice of bmeq's head and neck labels against the truth label map; then the medians and the
worst of those over the hips found. Used for bench/RESULTS.md ("The phantom's STIR tissue
table"; compare `bmeq phantom --tissue real` with the classic table). Needs python3-nibabel and
python3-numpy.
"""
import csv
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np


def dice(a, b):
    den = a.sum() + b.sum()
    return 2.0 * (a & b).sum() / den if den else float("nan")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    bmeq, study, work = sys.argv[1:4]
    truth = json.load(open(os.path.join(study, "truth.json")))
    os.makedirs(work, exist_ok=True)
    rows = []
    print("scan           side  orient   slice  status      conf  dc_mm  dR_mm  neck_ml/true  "
          "axis_deg  head_dice  neck_dice")
    for sc in truth["scans"]:
        name = "sub-%s_ses-%s" % (sc["subject"], sc["session"])
        od = os.path.join(work, name)
        if not os.path.isdir(od):
            subprocess.run([bmeq, "segment", os.path.join(study, sc["path"]), "-o", od],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        seg = [f for f in os.listdir(od) if f.endswith("_segment.csv")] if os.path.isdir(od) else []
        roi = [f for f in os.listdir(od) if f.endswith("_roi.nii.gz")] if os.path.isdir(od) else []
        if not seg:
            print("%s  segment failed" % name)
            continue
        lab = np.asarray(nib.load(os.path.join(od, roi[0])).dataobj) if roi else None
        tl = np.asarray(nib.load(os.path.join(study, sc["labels"])).dataobj)
        acq = sc["acquisition"]
        for r in csv.DictReader(open(os.path.join(od, seg[0]))):
            side = r["side"]
            if side not in ("right", "left"):
                continue
            t = sc[side]
            h = 1 if side == "right" else 2
            line = "%s  %-5s %-8s %5.1f  %-10s" % (name, side, acq["orientation"],
                                                    acq["thickness_mm"], r["status"])
            if r["status"] not in ("found", "partial", "uncertain") or not r["radius_mm"]:
                print(line)
                continue
            c = np.array([float(r["centre_" + a]) for a in "xyz"])
            ax = np.array([float(r["neck_axis_" + a]) for a in "xyz"])
            ang = np.degrees(np.arccos(np.clip(ax @ np.array(t["neck_axis_ras"]), -1, 1)))
            dc = np.linalg.norm(c - np.array(t["head_centre_ras"]))
            dr = float(r["radius_mm"]) - t["head_radius_mm"]
            neck = float(r["neck_ml"]) if r["neck_ml"] else 0.0
            hd = dice(lab == h, tl == h) if lab is not None else float("nan")
            nd = dice(lab == h + 2, tl == h + 2) if lab is not None else float("nan")
            print(line + "  %.2f  %5.1f  %+5.2f  %5.1f/%5.1f  %8.1f  %9.3f  %9.3f" %
                  (float(r["confidence"]), dc, dr, neck, t["neck_ml"], ang, hd, nd))
            if r["status"] == "found":
                rows.append((float(r["confidence"]), dc, ang, hd, nd))
    if rows:
        a = np.array(rows)
        print("found %d hips: edge support %.2f-%.2f; centre error median %.1f mm; neck axis error "
              "median %.1f, largest %.1f deg; head Dice median %.3f, min %.3f; neck Dice median "
              "%.3f, min %.3f" % (len(a), a[:, 0].min(), a[:, 0].max(), np.median(a[:, 1]),
                                  np.median(a[:, 2]), a[:, 2].max(), np.median(a[:, 3]),
                                  a[:, 3].min(), np.median(a[:, 4]), a[:, 4].min()))


if __name__ == "__main__":
    main()
