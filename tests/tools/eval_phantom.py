#!/usr/bin/python3
"""Scores bmeq's edema measurement against a phantom study's exact truth.

usage: eval_phantom.py BMEQ STUDY_DIR WORK_DIR [--truth-roi] [--no-bias] [--check]
(extra `bmeq measure` options may be given in the environment as BMEQ_EVAL_ARGS)

Runs `bmeq measure` on every scan of STUDY_DIR (made by `bmeq phantom`), with the
truth head/neck map as --roi when --truth-roi is given (isolates the threshold
stage from segmentation), and compares the edema map with the truth edema map:
per side Dice, volume error, and false edema on edema-free hips. With --check it
exits 1 unless the issue's accuracy targets hold:
  median head-edema volume error <= 10 % for hips with >= 2 mL of head edema,
  median Dice >= 0.80 over those hips, at most 0.5 mL on edema-free hips.
"""
import json
import os
import subprocess
import sys

import nibabel as nib
import numpy as np


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    bmeq, study, work = args
    truth = json.load(open(os.path.join(study, "truth.json")))
    rows = []
    for sc in truth["scans"]:
        scan = os.path.join(study, sc["path"])
        out = os.path.join(work, "sub-%s_ses-%s" % (sc["subject"], sc["session"]))
        cmd = [bmeq, "measure", scan, "-o", out]
        if "--truth-roi" in flags:
            cmd += ["--roi", os.path.join(study, sc["labels"])]
        if "--no-bias" in flags:
            cmd += ["--no-bias-correction"]
        cmd += os.environ.get("BMEQ_EVAL_ARGS", "").split()
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL", scan, r.stderr.strip())
            rows.append(None)
            continue
        stem = os.path.basename(scan).replace(".nii.gz", "")
        got = np.asarray(nib.load(os.path.join(out, stem + "_edema.nii.gz")).dataobj)
        ref = np.asarray(nib.load(os.path.join(study, sc["edema_labels"])).dataobj)
        img = nib.load(scan)
        vox_ml = abs(np.linalg.det(img.affine[:3, :3])) / 1000.0
        for side, labs in (("right", (1, 3)), ("left", (2, 4))):
            g = np.isin(got, labs)
            t = np.isin(ref, labs)
            gh = got == labs[0]
            th = ref == labs[0]
            inter = np.logical_and(g, t).sum()
            dice = 2.0 * inter / (g.sum() + t.sum()) if (g.sum() + t.sum()) else float("nan")
            rows.append(dict(scan=os.path.basename(scan), side=side,
                             orient=sc["acquisition"]["orientation"],
                             truth_ml=sc[side]["edema_ml"], got_ml=g.sum() * vox_ml,
                             truth_head_ml=sc[side]["edema_head_ml"], got_head_ml=gh.sum() * vox_ml,
                             truth_grid_ml=t.sum() * vox_ml, dice=dice))
    ok = [r for r in rows if r]
    print("%-34s %-5s %-8s %8s %8s %8s %8s %6s" % ("scan", "side", "orient", "truth", "got", "t_head", "g_head", "dice"))
    for r in ok:
        print("%-34s %-5s %-8s %8.2f %8.2f %8.2f %8.2f %6.3f" % (
            r["scan"][:34], r["side"], r["orient"], r["truth_ml"], r["got_ml"], r["truth_head_ml"],
            r["got_head_ml"], r["dice"]))
    big = [r for r in ok if r["truth_head_ml"] >= 2.0]
    free = [r for r in ok if r["truth_ml"] == 0.0]
    err = [abs(r["got_head_ml"] - r["truth_head_ml"]) / r["truth_head_ml"] for r in big]
    dices = [r["dice"] for r in big]
    worst_free = max([r["got_ml"] for r in free], default=0.0)
    med_err = float(np.median(err)) if err else float("nan")
    med_dice = float(np.median(dices)) if dices else float("nan")
    print("hips with >= 2 mL head edema: %d, median head volume error %.1f %%, median Dice %.3f"
          % (len(big), 100 * med_err, med_dice))
    print("edema-free hips: %d, largest false edema %.3f mL" % (len(free), worst_free))
    print("failed scans: %d" % rows.count(None))
    if "--check" in flags:
        good = rows.count(None) == 0 and med_err <= 0.10 and med_dice >= 0.80 and worst_free <= 0.5
        print("targets met" if good else "TARGETS NOT MET")
        return 0 if good else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
