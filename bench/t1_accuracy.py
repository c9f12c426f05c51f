#!/usr/bin/python3
"""How well bmeq places the visit's T1 on a phantom study with T1 twins (issue 17).

usage: t1_accuracy.py BMEQ STUDY WORK [--t1-segment] [-j N]

STUDY is made by `bmeq phantom -o STUDY --t1 ...`; its truth.json gives each twin's
motion from its STIR (T1 world from STIR world). Runs `bmeq batch STUDY/manifest.csv -o
WORK` (with --t1-segment: t1.segment = 1, regions found on the T1) and prints, per hip:
  registration  |T(c) - M(c)| mm at the true STIR head centre c, T the transform bmeq
                found (scan record's t1_transform), M the truth: the placement error
                the registration alone makes at the head;
  head centre   |bmeq's head centre - c| mm in the STIR's world (with --t1-segment the
                centre found on the T1 and carried through T: segmentation and
                registration together; else the STIR's own segmentation).
then the median and maximum of each over the hips whose head was found.
"""
import csv
import glob
import json
import os
import subprocess
import sys

import numpy as np


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
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
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 6):
        sys.exit(f"batch exited {r.returncode}: {r.stderr[-500:]}")
    truth = json.load(open(os.path.join(study, "truth.json")))
    records = {}
    for p in glob.glob(os.path.join(work, "out", "**", "scan_record.csv"), recursive=True):
        rec = dict(csv.reader(open(p, newline="")))
        records[rec["stem"]] = rec
    reg, cen = [], []
    print(f"{'scan':<22} {'side':<6} {'registration mm':>16} {'head centre mm':>15}")
    for sc in truth["scans"]:
        stem = os.path.basename(sc["path"]).split(".nii")[0]
        rec = records.get(stem)
        if rec is None or "t1_transform" not in rec:
            print(f"{stem:<22} no record with a T1 transform ({rec and rec.get('message')})")
            continue
        T = np.vstack([np.array(rec["t1_transform"].split(), float).reshape(3, 4), [0, 0, 0, 1]])
        M = np.array(sc["t1"]["motion_from_stir"]["t1_world_from_stir_world"], float)
        for side in ("right", "left"):
            c = np.r_[sc[side]["head_centre_ras"], 1.0]
            e_reg = float(np.linalg.norm((T @ c - M @ c)[:3]))
            found = rec.get(f"{side}_found") == "1"
            e_cen = float("nan")
            if found:
                got = np.array(rec[f"{side}_centre"].split(), float)
                e_cen = float(np.linalg.norm(got - c[:3]))
                reg.append(e_reg)
                cen.append(e_cen)
            print(f"{stem:<22} {side:<6} {e_reg:16.3f} {e_cen:15.3f}{'' if found else '  (not found)'}")
    if not reg:
        sys.exit("no hip found")
    print(f"{len(reg)} hips: registration median {np.median(reg):.3f} mm, max {np.max(reg):.3f} mm; "
          f"head centre median {np.median(cen):.3f} mm, max {np.max(cen):.3f} mm"
          f" ({'regions from the T1' if segment else 'regions from the STIR'})")


if __name__ == "__main__":
    main()
