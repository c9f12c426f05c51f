#!/usr/bin/env python3
"""Reader agreement: bmeq's edema volume against four radiologists on real STIR.

Usage:
  /usr/bin/python3 bench/reader_agreement.py BONE_MRI [--bmeq build/src/bmeq] [--work DIR]
                                             [--config FILE] [-j N]

BONE_MRI is a local copy of the public repository c-hepburn/Bone_MRI (sacroiliac-joint STIR with
a disease-region ROI, a normal-marrow reference and four readers' inflammation masks, R11 R12 R21
R22). That repository has no licence: this script only reads it where the user keeps it; none of
its files are copied into bmeq, and no test or CI step runs this script.

Only the four development scans (1003, 1013, 1016, 4386) are used. The other four scans of the
repository are held out for an independent check of the finished method and are never opened
here.

What it prints, per scan and in summary:
  - bmeq's edema volume (mL) and its range (edema_ml_low-edema_ml_high), each reader's volume, the
    readers' mean and range, the relative difference to the readers' mean, the Dice of bmeq's
    edema against the readers' majority (voxels that at least 2 of 4 drew), the readers' pairwise
    Dice, and whether the readers' mean lies inside bmeq's range;
  - the median relative difference, Pearson r, Bland-Altman bias and 95% limits (mL) against the
    readers' mean, and the same statistics for each single reader against the mean of the other
    three, all in one run.
The rule's one fitted parameter, the factor K of threshold.rule = median*K, is fitted by
leave-one-out: for each scan K is chosen on the other three (the K of a grid that minimises the
target metric itself, the median relative difference to the readers' mean) and the scan is
measured with it. The leave-one-out medians under two other criteria (mean absolute log ratio,
largest relative difference) are printed too, so that the choice of criterion can be judged.
The leave-one-out figures are the ones that count; the in-sample K (fitted on all four) is printed
for information only. K is searched up to 1.46 (--kmax): the realistic phantom, whose exact
truth includes faint lesions of 1.4-1.7x normal marrow (real edema at the readers' edge is
1.3-2.0x), loses them above it (at 1.50 a 4.8 mL lesion of peak 1.46x vanishes and its
complete response reads as none; at 1.58 the median head volume error is 21%), so the phantom
bounds K from above and the readers choose within the bound.

With --t1 the T1 gate applies, and --t1-weights W1,W2,... adds the rule's second parameter, the
T1 weighting a (t1.weight: the rule reads the smoothed STIR divided by (T1 / normal marrow's
T1)^a). The two are fitted, fold by fold, each to what it governs: for each a of the list, K
is fitted as above (how much edema: the volume); then a is the one whose fitted K gives the
highest median Dice against the readers' majority on the same three scans (where the edema
is: the location; ties go to the smaller a). The fourth scan is measured with that (a, K).

Two modes are run: --roi and --reference (the readers' normal-marrow mask), and --roi only (the
reference found by bmeq), with bmeq's automatic reference median compared to the readers'.
"""
import argparse
import concurrent.futures as cf
import csv
import itertools
import math
import os
import subprocess
import sys

import nibabel as nib
import numpy as np

DEV_SCANS = {"1003": "Pre", "1013": "Pre", "1016": "Post", "4386": "Post"}
READERS = ["R11", "R12", "R21", "R22"]


def paths(root, scan):
    d = os.path.join(root, "data")
    roi_dir = os.path.join(d, "segmentations", "Disease_region_manual_segmentation")
    roi = os.path.join(roi_dir, f"{scan}_disease_region.nii.gz")
    if not os.path.exists(roi):
        roi = os.path.join(roi_dir, "Test_data", f"{scan}_disease_region.nii.gz")
    return {
        "stir": os.path.join(d, "images_study", "STIR", f"{DEV_SCANS[scan]}_Scans", f"{scan}_STIR.nii.gz"),
        "t1": os.path.join(d, "images_study", "T1W", f"{DEV_SCANS[scan]}_Scans", f"{scan}_T1W.nii.gz"),
        "roi": roi,
        "reference": os.path.join(d, "segmentations", "Normal_marrow_manual_segmentation",
                                  f"{scan}_normal_marrow.nii.gz"),
        "readers": [os.path.join(d, "segmentations", "Inflammation_manual_segmentation", r,
                                 f"{scan}_inflammation_{r}.nii.gz") for r in READERS],
    }


def mask(path):
    return np.asarray(nib.load(path).dataobj) > 0


def dice(a, b):
    s = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / s if s else 1.0


def voxel_ml(path):
    z = nib.load(path).header.get_zooms()[:3]
    return float(np.prod(z)) / 1000.0


def run_bmeq(job):
    bmeq, p, k, outdir, use_ref, config, bias, reuse, t1, weight = job
    os.makedirs(outdir, exist_ok=True)
    cmd = [bmeq, "measure", p["stir"], "--roi", p["roi"], "-o", outdir, "--rule", f"median*{k:.2f}"]
    if t1:
        cmd += ["--t1", p["t1"]]
    if config:
        cmd += ["--config", config]
    if weight is not None:
        # One more settings file after the user's: the later value of a key wins.
        wconf = os.path.join(outdir, "t1_weight.conf")
        with open(wconf, "w") as f:
            f.write(f"t1.weight = {weight}\n")
        cmd += ["--config", wconf]
    if use_ref:
        cmd += ["--reference", p["reference"]]
    if not bias:
        cmd += ["--no-bias-correction"]
    done = os.path.join(outdir, "scans.csv")
    r = subprocess.CompletedProcess(cmd, 0, "", "")
    if not (reuse and os.path.exists(done)):
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"reader_agreement: {' '.join(cmd)} failed: {r.stderr.strip()}")
    with open(os.path.join(outdir, "scans.csv"), newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["status"] == "ok"]
    ml = sum(float(row["edema_ml"]) for row in rows)
    lo = sum(float(row.get("edema_ml_low") or "nan") for row in rows)
    hi = sum(float(row.get("edema_ml_high") or "nan") for row in rows)
    ref = float(rows[0]["reference_intensity"]) if rows else float("nan")
    stem = os.path.basename(p["stir"]).replace(".nii.gz", "")
    edema = mask(os.path.join(outdir, f"{stem}_edema.nii.gz"))
    return ml, lo, hi, ref, edema


def stats(pred, truth):
    pred, truth = np.asarray(pred, float), np.asarray(truth, float)
    rel = np.abs(pred - truth) / truth
    diff = pred - truth
    r = float(np.corrcoef(pred, truth)[0, 1]) if len(pred) > 1 else float("nan")
    sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else float("nan")
    bias = float(np.mean(diff))
    return float(np.median(rel)), r, bias, bias - 1.96 * sd, bias + 1.96 * sd


def cost_median_rel(table, readers_mean, scans, k):
    return float(np.median([abs(table[s][k][0] - readers_mean[s]) / readers_mean[s] for s in scans]))


def cost_mean_log(table, readers_mean, scans, k):
    return sum(abs(math.log((table[s][k][0] + 0.05) / readers_mean[s])) for s in scans) / len(scans)


def cost_max_rel(table, readers_mean, scans, k):
    return max(abs(table[s][k][0] - readers_mean[s]) / readers_mean[s] for s in scans)


# The fitting criterion is the target metric itself (median relative difference to the readers'
# mean); the two others are printed so that the choice of criterion can be judged.
OBJECTIVES = [("median |rel|", cost_median_rel), ("mean |log ratio|", cost_mean_log),
              ("max |rel|", cost_max_rel)]


def fit_k(table, readers_mean, scans, grid, cost=cost_median_rel):
    """The grid's K with the lowest cost on scans (ties: the smaller K)."""
    return min(grid, key=lambda k: (cost(table, readers_mean, scans, k), k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bone_mri", help="local copy of c-hepburn/Bone_MRI")
    ap.add_argument("--bmeq", default=os.path.join(os.path.dirname(__file__), "..", "build", "src", "bmeq"))
    ap.add_argument("--work", default="/tmp/bmeq-reader-agreement")
    ap.add_argument("--config", help="bmeq settings file (key = value) applied to every run")
    ap.add_argument("--kmin", type=float, default=1.10)
    ap.add_argument("--kmax", type=float, default=1.46,
                    help="largest K searched (1.46: above it the realistic phantom's faint lesions are lost)")
    ap.add_argument("--kstep", type=float, default=0.02)
    ap.add_argument("-j", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--t1", action="store_true",
                    help="give bmeq each scan's T1 (--t1): the T1 gate applies")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the measurements already in --work (same bmeq and settings only)")
    ap.add_argument("--t1-weights", metavar="A1,A2,...",
                    help="with --t1: the T1 weightings a (t1.weight) to fit, fold by fold, by Dice")
    a = ap.parse_args()

    grid = [round(x, 2) for x in np.arange(a.kmin, a.kmax + 1e-9, a.kstep)]
    scans = list(DEV_SCANS)
    P = {s: paths(a.bone_mri, s) for s in scans}
    readers, rmean, majority, pairwise, refmed = {}, {}, {}, {}, {}
    for s in scans:
        vml = voxel_ml(P[s]["stir"])
        ms = [mask(x) for x in P[s]["readers"]]
        readers[s] = [float(m.sum()) * vml for m in ms]
        rmean[s] = float(np.mean(readers[s]))
        majority[s] = sum(m.astype(np.int32) for m in ms) >= 2
        pairwise[s] = float(np.median([dice(x, y) for x, y in itertools.combinations(ms, 2)]))
        img = np.asarray(nib.load(P[s]["stir"]).dataobj, dtype=np.float64)
        refmed[s] = float(np.median(img[mask(P[s]["reference"])]))

    weights = [None] if a.t1_weights is None else [float(x) for x in a.t1_weights.split(",")]
    modes = [("roi+reference", True, True), ("roi only", False, True)]
    results = {}
    with cf.ThreadPoolExecutor(max_workers=a.j) as ex:
        for name, use_ref, bias in modes:
            folder = name.replace(" ", "_").replace("+", "_") + ("_t1" if a.t1 else "")
            jobs = {(w, s, k): ex.submit(run_bmeq, (a.bmeq, P[s], k,
                                                    os.path.join(a.work, folder + ("" if w is None else f"_w{w:g}"), s, f"{k:.2f}"),
                                                    use_ref, a.config, bias, a.reuse, a.t1, w))
                    for w in weights for s in scans for k in grid}
            tables = {w: {s: {} for s in scans} for w in weights}
            for (w, s, k), fut in jobs.items():
                ml, lo, hi, ref, edema = fut.result()
                tables[w][s][k] = (ml, lo, hi, ref, dice(edema, majority[s]))
            results[name] = tables
        # The automatic reference, compared on the same (uncorrected) image as the readers'.
        noref = {s: ex.submit(run_bmeq, (a.bmeq, P[s], grid[0], os.path.join(a.work, "auto_reference", s),
                                         False, a.config, False, a.reuse, False, None)) for s in scans}
        auto_ref = {s: noref[s].result()[3] for s in scans}

    def fit(tables, train, cost=cost_median_rel):
        """(a, K) for the training scans: K by the volume, then a by the median Dice."""
        best = None
        for w in weights:
            k = fit_k(tables[w], rmean, train, grid, cost)
            d = float(np.median([tables[w][s][k][4] for s in train]))
            if best is None or d > best[2]:
                best = (w, k, d)
        return best[0], best[1]

    print(f"bmeq {a.bmeq}; config {a.config or '(defaults)'}; K grid {grid[0]}-{grid[-1]} step {a.kstep}"
          f"; {'with each scan' + chr(39) + 's T1 (--t1)' if a.t1 else 'STIR only'}"
          + ("" if a.t1_weights is None else f"; T1 weights a in {{{a.t1_weights}}}, fitted by Dice"))
    print(f"development scans only: {', '.join(scans)} "
          "(the repository's other four scans are held out and never opened)")
    main_tables = results[modes[0][0]]
    for name, _, _ in modes:
        tables = results[name]
        iw, ik = fit(main_tables, scans)
        insample = f"K {ik:.2f}" + ("" if iw is None else f", a {iw:g}")
        if tables is main_tables:
            print(f"\n== {name}: leave-one-out (fitted on the other three scans); in-sample {insample}")
        else:
            ow, ok = fit(tables, scans)
            print(f"\n== {name}: the same rule (each fold's parameters as fitted above, with the readers' "
                  f"reference); fitted on this mode instead, in-sample K would be {ok:.2f}"
                  + ("" if ow is None else f", a {ow:g}"))
        print(f"{'scan':>5} {'a':>5} {'K':>5} {'bmeq mL':>8} {'range mL':>15} {'readers mL (R11 R12 R21 R22)':>30} "
              f"{'mean':>7} {'rel':>6} {'Dice':>5} {'rdrDice':>7} {'in range':>8}")
        pred, truth, dices, inrange, under = [], [], [], [], []
        for s in scans:
            w, k = fit(main_tables, [x for x in scans if x != s])
            ml, lo, hi, ref, dc = tables[w][s][k]
            rel = (ml - rmean[s]) / rmean[s]
            inside = lo <= rmean[s] <= hi if not math.isnan(lo) else None
            pred.append(ml)
            truth.append(rmean[s])
            dices.append(dc)
            inrange.append(inside)
            under.append(-rel)
            rd = " ".join(f"{x:.2f}" for x in readers[s])
            ws = "-" if w is None else f"{w:g}"
            print(f"{s:>5} {ws:>5} {k:5.2f} {ml:8.2f} {lo:7.2f}-{hi:<7.2f} {rd:>30} {rmean[s]:7.2f} {rel:+6.2f} "
                  f"{dc:5.2f} {pairwise[s]:7.2f} {str(inside):>8}")
        for oname, cost in (OBJECTIVES[1:] if tables is main_tables else []):
            alt = []
            for s in scans:
                w, k = fit(tables, [x for x in scans if x != s], cost)
                alt.append(abs(tables[w][s][k][0] - rmean[s]) / rmean[s])
            print(f"  (K fitted by {oname} instead: leave-one-out median |rel diff| {np.median(alt):.3f})")
        if len(weights) > 1 and tables is main_tables:
            for w in weights:
                row = []
                for s in scans:
                    k = fit_k(tables[w], rmean, [x for x in scans if x != s], grid)
                    row.append((abs(tables[w][s][k][0] - rmean[s]) / rmean[s], tables[w][s][k][4]))
                print(f"  (a fixed at {w:g}: leave-one-out median |rel diff| {np.median([r[0] for r in row]):.3f}, "
                      f"Dice median {np.median([r[1] for r in row]):.3f})")
        med, r, bias, l1, l2 = stats(pred, truth)
        print(f"bmeq vs readers' mean: median |rel diff| {med:.3f}, Pearson r {r:.4f}, "
              f"Bland-Altman bias {bias:+.2f} mL (95% limits {l1:+.2f} to {l2:+.2f}), "
              f"Dice vs majority median {np.median(dices):.3f}, largest under-call {max(under):.2f}, "
              f"readers' mean inside bmeq's range on {sum(1 for x in inrange if x)}/{len(scans)}")
        print("targets: median |rel| <= 0.35, no under-call > 0.75, Dice median >= 0.30, r >= 0.98")
    print("\n== each single reader against the mean of the other three")
    for i, rd in enumerate(READERS):
        pred = [readers[s][i] for s in scans]
        truth = [np.mean([readers[s][j] for j in range(4) if j != i]) for s in scans]
        med, r, bias, l1, l2 = stats(pred, truth)
        print(f"{rd}: median |rel diff| {med:.3f}, Pearson r {r:.4f}, bias {bias:+.2f} mL "
              f"(95% limits {l1:+.2f} to {l2:+.2f})")
    print("\n== automatic reference (--roi only, no bias correction) against the readers' reference mask")
    for s in scans:
        print(f"{s}: bmeq {auto_ref[s]:.1f}, readers' mask median {refmed[s]:.1f}, "
              f"ratio {auto_ref[s] / refmed[s]:.3f}")


if __name__ == "__main__":
    main()
