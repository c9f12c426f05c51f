#!/usr/bin/python3
"""How well bmeq places the visit's T1 on a phantom study with T1 twins (issue 17).

usage: t1_accuracy.py BMEQ STUDY WORK [--t1-segment] [-j N] [--reuse]
                      [--check-dice MEDIAN,MIN]

STUDY is made by `bmeq phantom -o STUDY --t1 ...`; its truth.json gives each twin's
motion from its STIR (T1 world from STIR world). Runs `bmeq batch STUDY/manifest.csv -o
WORK` (with --t1-segment: t1.segment = 1, regions found on the T1) and prints, per hip:
  registration  |T(c) - M(c)| mm at the true STIR head centre c, T the transform bmeq
                found (scan record's t1_transform), M the truth: the placement error
                the registration alone makes at the head;
  head centre   |bmeq's head centre - c| mm in the STIR's world (with --t1-segment the
                centre found on the T1 and carried through T: segmentation and
                registration together; else the STIR's own segmentation).
  head Dice     Dice of bmeq's head label (1 right, 2 left; scan's roi map) against the
                phantom's truth head on the STIR grid (derivatives, *_desc-hips_dseg), 0
                for a head not labelled; neck Dice likewise (labels 3, 4);
  status, from  the side's status and regions_from in scans.csv (where the regions came
                from, side by side);
then the median and maximum of each distance over the hips whose head was found, and the
median and minimum head Dice over every hip (a lost head counts 0). --reuse scores an
existing WORK/out without running the batch again. --check-dice M,N exits 1 unless the
head Dice median >= M and minimum >= N (issue 17's target: 0.96,0.92).
"""
import csv
import glob
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np


def dice(a, b):
    s = int(a.sum()) + int(b.sum())
    return 2.0 * int(np.logical_and(a, b).sum()) / s if s else 1.0


def main():
    argv = list(sys.argv[1:])
    for opt in ("-j", "--check-dice"):
        if opt in argv:
            del argv[argv.index(opt):argv.index(opt) + 2]
    args = [a for a in argv if not a.startswith("-")]
    if len(args) != 3:
        sys.exit(__doc__)
    bmeq, study, work = args
    segment = "--t1-segment" in sys.argv
    jobs = sys.argv[sys.argv.index("-j") + 1] if "-j" in sys.argv else "2"
    os.makedirs(work, exist_ok=True)
    cmd = [bmeq, "batch", os.path.join(study, "manifest.csv"), "-o", os.path.join(work, "out"),
           "-j", jobs, "--quiet"]
    if segment:
        cfg = os.path.join(work, "t1segment.conf")
        with open(cfg, "w") as f:
            f.write("t1.segment = 1\n")
        cmd += ["--config", cfg]
    if "--reuse" not in sys.argv:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode not in (0, 6):
            sys.exit(f"batch exited {r.returncode}: {r.stderr[-500:]}")
    truth = json.load(open(os.path.join(study, "truth.json")))
    records, folders = {}, {}
    for p in glob.glob(os.path.join(work, "out", "**", "scan_record.csv"), recursive=True):
        rec = dict(csv.reader(open(p, newline="")))
        records[rec["stem"]] = rec
        folders[rec["stem"]] = os.path.dirname(p)
    rows = {}
    with open(os.path.join(work, "out", "scans.csv"), newline="") as f:
        for row in csv.DictReader(f):
            rows[(row["subject"], row["session"], row["side"])] = row
    reg, cen, hd, nd = [], [], [], []
    print(f"{'scan':<22} {'side':<6} {'registration mm':>16} {'head centre mm':>15} "
          f"{'head Dice':>9} {'neck Dice':>9}  status/from")
    for sc in truth["scans"]:
        stem = os.path.basename(sc["path"]).split(".nii")[0]
        rec = records.get(stem)
        if rec is None or "t1_transform" not in rec:
            print(f"{stem:<22} no record with a T1 transform ({rec and rec.get('message')})")
            continue
        truth_lab = np.asarray(nib.load(os.path.join(study, sc["labels"])).dataobj)
        roi_path = os.path.join(folders[stem], stem + "_roi.nii.gz")
        roi = np.asarray(nib.load(roi_path).dataobj) if os.path.exists(roi_path) else None
        T = np.vstack([np.array(rec["t1_transform"].split(), float).reshape(3, 4), [0, 0, 0, 1]])
        M = np.array(sc["t1"]["motion_from_stir"]["t1_world_from_stir_world"], float)
        for side, hl, nl in (("right", 1, 3), ("left", 2, 4)):
            if roi is None or roi.shape != truth_lab.shape:
                d_head = d_neck = 0.0
            else:
                d_head = dice(roi == hl, truth_lab == hl)
                d_neck = dice(roi == nl, truth_lab == nl)
            hd.append(d_head)
            nd.append(d_neck)
            row = rows.get((sc["subject"], sc["session"], side), {})
            how = f"{row.get('status', '?')}/{row.get('regions_from', '?')}"
            c = np.r_[sc[side]["head_centre_ras"], 1.0]
            e_reg = float(np.linalg.norm((T @ c - M @ c)[:3]))
            found = rec.get(f"{side}_found") == "1"
            e_cen = float("nan")
            if found:
                got = np.array(rec[f"{side}_centre"].split(), float)
                e_cen = float(np.linalg.norm(got - c[:3]))
                reg.append(e_reg)
                cen.append(e_cen)
            print(f"{stem:<22} {side:<6} {e_reg:16.3f} {e_cen:15.3f} {d_head:9.3f} {d_neck:9.3f}  "
                  f"{how}{'' if found else '  (not found)'}")
    if not reg:
        sys.exit("no hip found")
    print(f"{len(reg)} hips: registration median {np.median(reg):.3f} mm, max {np.max(reg):.3f} mm; "
          f"head centre median {np.median(cen):.3f} mm, max {np.max(cen):.3f} mm"
          f" ({'regions from the T1' if segment else 'regions from the STIR'})")
    print(f"{len(hd)} hips: head Dice median {np.median(hd):.3f}, min {np.min(hd):.3f}; "
          f"neck Dice median {np.median(nd):.3f}, min {np.min(nd):.3f}")
    if "--check-dice" in sys.argv:
        want = [float(x) for x in sys.argv[sys.argv.index("--check-dice") + 1].split(",")]
        if np.median(hd) < want[0] or np.min(hd) < want[1]:
            sys.exit(f"FAIL: head Dice median {np.median(hd):.3f} (want >= {want[0]}), "
                     f"min {np.min(hd):.3f} (want >= {want[1]})")


if __name__ == "__main__":
    main()
