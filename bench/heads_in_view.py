#!/usr/bin/env python3
"""heads_in_view.py - does bmeq place a femoral head only where there is one?

usage: bench/heads_in_view.py BONE_MRI [--bmeq BIN] [--before BIN] [--work DIR]

Runs `bmeq segment` on scans with and without hips in view and prints, per
scan and side, the status and confidence bmeq reports (and, with --before, what
an older build placed there), then the two distributions the anatomical test
must keep apart: the heads found on real hips and phantom scans, and every
candidate rejected (from <stem>_candidates.csv).

Scans:
  - the two real coronal T1 hips of tests/data (CPTAC-UCEC, CC BY 3.0), whole,
    and cropped (with nibabel, here, into --work) above the hips (from 35 mm
    above the higher head centre up), below the heads (from 40 mm below the
    lower one down) and through the heads (up to 12 mm above the lower one);
  - the four development STIR scans of c-hepburn/Bone_MRI (1003, 1013, 1016,
    4386: oblique coronal sacroiliac-joint scans, no hip in view). BONE_MRI is
    the path of a local copy of that repository, which has no licence: nothing
    of it is copied or kept, and no test needs it. Its other scans are held
    out for an independent check of the finished reader-agreement method and
    are neither opened nor run here;
  - a phantom study (`bmeq phantom --subjects 6 --sessions 2 --t1`, 24 scans,
    every orientation, STIR and T1).
Needs python3-nibabel and python3-numpy.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = ["C3N-00858_t1_tse_cor_post_hipcrop", "C3N-02978_t1_tse_cor_post_hipcrop"]
DEV_STIR = ["Pre_Scans/1003", "Pre_Scans/1013", "Post_Scans/1016", "Post_Scans/4386"]


def crop_si(src, dst, lo, hi):
    """Keeps the slices (along the voxel axis closest to S-I) whose centre lies in [lo, hi] mm."""
    im = nib.load(src)
    a = im.affine
    ax = int(np.argmax(np.abs(a[2, :3])))
    centre = (np.array(im.shape[:3]) - 1) / 2.0
    keep = []
    for q in range(im.shape[ax]):
        ijk = centre.copy()
        ijk[ax] = q
        z = (a @ np.r_[ijk, 1])[2]
        if lo <= z <= hi:
            keep.append(q)
    if not keep:
        return False
    sl = [slice(None)] * 3
    sl[ax] = slice(keep[0], keep[-1] + 1)
    a2 = a.copy()
    off = np.zeros(3)
    off[ax] = keep[0]
    a2[:3, 3] = a[:3, :3] @ off + a[:3, 3]
    out = nib.Nifti1Image(np.asarray(im.dataobj)[tuple(sl)], a2, im.header.copy())
    out.set_qform(a2, 1)
    out.set_sform(a2, 1)
    nib.save(out, dst)
    return True


def segment(bmeq, scan, out):
    """Rows of <stem>_segment.csv and <stem>_candidates.csv (None: not written)."""
    r = subprocess.run([bmeq, "segment", scan, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        return None, None, r.stderr.strip().splitlines()[-1:]
    stem = os.path.basename(scan)
    for ext in (".nii.gz", ".nii"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    rows = list(csv.DictReader(open(os.path.join(out, stem + "_segment.csv"))))
    cpath = os.path.join(out, stem + "_candidates.csv")
    cands = list(csv.DictReader(open(cpath))) if os.path.exists(cpath) else None
    return rows, cands, None


def side_text(row):
    st = row.get("status") or ("found" if row["found"] == "1" else "none")
    conf = row["confidence"]
    return f"{st}" + (f" {float(conf):.2f}" if conf else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bone_mri")
    ap.add_argument("--bmeq", default=os.path.join(ROOT, "build/src/bmeq"))
    ap.add_argument("--before", help="an older bmeq build to compare with")
    ap.add_argument("--work", help="folder for crops and outputs (default: a temporary one)")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="bmeq-heads-")
    os.makedirs(work, exist_ok=True)

    cases = []  # (name, path, has_hips)
    for stem in REAL:
        src = os.path.join(ROOT, "tests/data/cptac_ucec_pelvis_mri", stem + ".nii.gz")
        cases.append((stem[:9] + " whole", src, True))
        rows, _, _ = segment(a.bmeq, src, os.path.join(work, "full_" + stem))
        zs = [float(r["centre_z"]) for r in rows if r["centre_z"]]
        for name, lo, hi in (("above the hips", max(zs) + 35, 1e9),
                             ("below the heads", -1e9, min(zs) - 40),
                             ("through the heads", -1e9, min(zs) + 12)):
            dst = os.path.join(work, f"{stem}_{name.replace(' ', '_')}.nii.gz")
            if crop_si(src, dst, lo, hi):
                cases.append((f"{stem[:9]} {name}", dst, name == "through the heads"))
    for rel in DEV_STIR:
        p = os.path.join(a.bone_mri, "data/images_study/STIR", rel + "_STIR.nii.gz")
        if os.path.exists(p):
            cases.append((f"Bone_MRI {rel.split('/')[1]} STIR (SI joints)", p, False))
        else:
            print(f"missing {p}", file=sys.stderr)
    ph = os.path.join(work, "phantom")
    if not os.path.exists(os.path.join(ph, "manifest.csv")):
        subprocess.run([a.bmeq, "phantom", "-o", ph, "--subjects", "6", "--sessions", "2", "--t1",
                        "--seed", "5"], check=True, capture_output=True)
    phantom = sorted(os.path.join(d, f) for d, _, fs in os.walk(ph) for f in fs
                     if f.endswith(".nii.gz") and "/derivatives/" not in d)

    found_conf, found_cup, rej_conf, rej_cup = [], [], [], []
    print(f"{'scan':44s} {'before (right | left)':28s} after (right | left)")
    for name, path, _ in cases:
        tag = os.path.basename(path).replace(".nii.gz", "")
        before = "-"
        if a.before:
            rows, _, err = segment(a.before, path, os.path.join(work, "before_" + tag))
            before = err[0][:28] if err else " | ".join(
                (f"head {float(r['confidence']):.2f}" if r["found"] == "1" else "none") for r in rows)
        rows, cands, err = segment(a.bmeq, path, os.path.join(work, "after_" + tag))
        after = err[0] if err else " | ".join(side_text(r) for r in rows)
        print(f"{name:44s} {before:28s} {after}")
        for r in rows or []:
            if r.get("status") == "found":
                found_conf.append(float(r["confidence"]))
                found_cup.append(float(r["acetabulum"]))
        for c in cands or []:
            if c["verdict"] != "head":
                rej_conf.append(float(c["confidence"]))
                if c["acetabulum"]:
                    rej_cup.append(float(c["acetabulum"]))
    nph = 0
    for p in phantom:
        rows, cands, err = segment(a.bmeq, p, os.path.join(work, "after_ph"))
        if err:
            print(f"phantom {os.path.basename(p)}: {err}")
            continue
        for r in rows:
            if r.get("status") == "found":
                found_conf.append(float(r["confidence"]))
                found_cup.append(float(r["acetabulum"]))
                nph += 1
        for c in cands or []:
            if c["verdict"] != "head":
                rej_conf.append(float(c["confidence"]))
                if c["acetabulum"]:
                    rej_cup.append(float(c["acetabulum"]))
    print(f"phantom: {nph} of {2 * len(phantom)} heads found ({len(phantom)} scans)")

    def dist(v):
        if not v:
            return "none"
        v = np.array(v)
        return (f"n {len(v)}, min {v.min():.2f}, median {np.median(v):.2f}, max {v.max():.2f}")
    print(f"found heads (real + phantom): confidence {dist(found_conf)}")
    print(f"                              acetabulum {dist(found_cup)}")
    print(f"rejected candidates:          confidence {dist(rej_conf)}")
    print(f"                              acetabulum {dist(rej_cup)}")
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
