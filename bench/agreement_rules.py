#!/usr/bin/env python3
"""Candidate edema rules prototyped on bmeq's own maps of the development scans (issue 22).

Usage:
  /usr/bin/python3 bench/reader_agreement.py BONE_MRI --t1 -j 1 --work WORK
  /usr/bin/python3 bench/agreement_rules.py BONE_MRI --work WORK [--voxel]

BONE_MRI is a local copy of c-hepburn/Bone_MRI (no licence: only read where the user keeps it;
nothing of it is copied into bmeq; no test or CI step runs this script). Development scans 1003,
1013, 1016, 4386 only; the other four are never opened.

It reads the maps that reader_agreement.py --t1 wrote (WORK/roi_reference_t1/<scan>/<K>/: bmeq
with --roi, --reference and --t1 at every K of its grid) and scores rules applied after bmeq's,
or beside it, exactly as the benchmark scores bmeq: leave-one-out, K fitted on the other three
scans by the median relative difference to the readers' mean (K <= 1.46, the realistic
phantom's bound), a rule's second parameter (where it has a list) by the median Dice against
the readers' majority on the same three scans. The first line must reproduce the benchmark's
figures for bmeq as it is.

Image features are taken on the STIR and T1 smoothed as bmeq smooths them (Gaussian 1.5 mm
in-plane, normalised inside the region and the reference mask), without N4; ratios are to the
regions' normal-marrow mode nearest the readers' mask median (the reference bmeq uses with
--reference, on the uncorrected image) and to the readers' mask's T1 median.

  A. lesion-level decisions on bmeq's lesions (26-connected components of its edema map):
     T1-dark OR strongly STIR-bright; locally conspicuous (brighter than the marrow around it at
     5 or 10 mm) OR strongly STIR-bright; far enough from the region's edge OR strongly bright;
  B. a stricter T1 gate (the readers' mask's T1 quantile);
  C. (--voxel, slow) a local reference at voxel level: bmeq's pipeline re-implemented in numpy
     (threshold, rim guard, half-maximum edges, T1 gate, size filter) with the threshold over
     min(global reference, local marrow background);
  D. the best Dice any single threshold of a voxel feature reaches on each scan (an upper bound,
     the threshold chosen per scan with the answer);
  E. the automatic reference: where normal marrow sits in the region against the readers' mask.
"""
import argparse
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reader_agreement as ra  # noqa: E402

SCANS = list(ra.DEV_SCANS)
ST26 = np.ones((3, 3, 3), bool)
BRIGHT = 2.0  # "strongly bright": the top of the 1.3-2.0x range of real edema at the readers' edge


def gsmooth(img, w, sigma_mm, sp, inplane=False):
    """Gaussian smoothing normalised inside w; an axis whose sigma is under half a voxel (or the
    slice axis with inplane) is left alone, as bmeq does."""
    s = [sigma_mm / x if sigma_mm / x >= 0.5 else 0.0 for x in sp]
    if inplane:
        s[2] = 0.0
    a = ndi.gaussian_filter(img * w, s, mode="constant", truncate=3.0)
    b = ndi.gaussian_filter(w.astype(float), s, mode="constant", truncate=3.0)
    # Outside w (where nothing was averaged) 0, so that a later smoothing never meets inf or NaN.
    return np.where(b > 1e-2, a / np.maximum(b, 1e-12), 0.0)


def hist_smooth(v, bins=128):
    lo, hi = np.quantile(v, [0.005, 0.995])
    h, _ = np.histogram(v, bins, (lo, hi))
    k = np.array([1, 6, 15, 20, 15, 6, 1.0])
    return lo, bins / (hi - lo), np.convolve(h, k, "same") / np.convolve(np.ones(bins), k, "same")


def modes(v):
    """bmeq's clear modes (>= 25% of the highest) of the 128-bin, 7-tap smoothed histogram."""
    lo, sc, hs = hist_smooth(v)
    n = len(hs)
    return [(b, lo + (b + 0.5) / sc) for b in range(n)
            if hs[b] >= (hs[b - 1] if b else -1) and hs[b] > (hs[b + 1] if b + 1 < n else -1)
            and hs[b] >= 0.25 * hs.max()], lo, sc, hs


def normal_window(v):
    """bmeq's automatic normal-marrow window: the lowest clear mode +- 3 sigma of its lower flank."""
    ms, lo, sc, hs = modes(v)
    peak = ms[0][0]
    b = peak
    while b > 0 and hs[b] > 0.5 * hs[peak]:
        b -= 1
    sig = (peak - b + 0.5) / sc / 1.1774
    c = lo + (peak + 0.5) / sc
    return c - 3 * sig, c + 3 * sig


def load(root):
    D = {}
    for s in SCANS:
        P = ra.paths(root, s)
        img = nib.load(P["stir"])
        sp = np.array(img.header.get_zooms()[:3], float)
        st = np.asarray(img.dataobj, float)
        t1 = np.asarray(nib.load(P["t1"]).dataobj, float)
        roi, ref = ra.mask(P["roi"]), ra.mask(P["reference"])
        readers = [ra.mask(x) for x in P["readers"]]
        d = dict(sp=sp, vml=float(np.prod(sp)) / 1000.0, stir=st, roi=roi, ref=ref,
                 maj=sum(m.astype(np.int32) for m in readers) >= 2)
        d["rmean"] = float(np.mean([m.sum() for m in readers])) * d["vml"]
        sup = roi | ref
        d["S"] = gsmooth(st, sup, 1.5, sp)
        d["T"] = gsmooth(t1, sup, 1.5, sp)
        mm = float(np.median(d["S"][ref]))
        d["refv"] = min((m for _, m in modes(d["S"][roi])[0]), key=lambda m: abs(m - mm))
        d["t1ref"] = float(np.median(d["T"][ref]))
        d["dist"] = ndi.distance_transform_edt(roi, sampling=sp)
        D[s] = d
    return D


def local_background(d, sigma_mm):
    """The marrow level around each voxel, in-plane (as a reader sees a slice): the region's
    smoothed STIR averaged at sigma_mm, again without the voxels 20% above the first pass."""
    b = gsmooth(d["S"], d["roi"], sigma_mm, d["sp"], inplane=True)
    b = gsmooth(d["S"], d["roi"] & (d["S"] < 1.2 * b), sigma_mm, d["sp"], inplane=True)
    return np.where(b > 0, b, np.inf)


def dice(a, b):
    return 2.0 * float((a & b).sum()) / max(1, int(a.sum()) + int(b.sum()))


def size_filter(m, vml):
    lab, n = ndi.label(m, ST26)
    if n == 0:
        return m
    keep = np.bincount(lab.ravel()) >= max(10, int(np.ceil(0.02 / vml)))
    keep[0] = False
    return keep[lab]


def loo(D, table, name):
    """table[s][(K, p)] = (mL, Dice). Leave-one-out as the benchmark: K by the median relative
    difference, then p by the median Dice (ties: the first p)."""
    ks = sorted({k for k, _ in table[SCANS[0]]})
    ps = list(dict.fromkeys(p for _, p in table[SCANS[0]]))
    rm = {s: D[s]["rmean"] for s in SCANS}

    def fit_k(p, tr):
        return min(ks, key=lambda k: (np.median([abs(table[s][(k, p)][0] - rm[s]) / rm[s] for s in tr]), k))

    rel, dcs, cells = [], [], []
    for s in SCANS:
        tr = [x for x in SCANS if x != s]
        best = None
        for p in ps:
            k = fit_k(p, tr)
            dd = float(np.median([table[x][(k, p)][1] for x in tr]))
            if best is None or dd > best[2] + 1e-12:
                best = (p, k, dd)
        p, k, _ = best
        ml, dc = table[s][(k, p)]
        rel.append((ml - rm[s]) / rm[s])
        dcs.append(dc)
        cells.append(f"{s} K{k:.2f}{'' if p is None else f' p{p:g}'} {ml:.2f}/{dc:.2f}")
    print(f"{name:<44} |rel| {np.median(np.abs(rel)):.3f}  Dice {np.median(dcs):.3f}  "
          f"under {max(-np.array(rel)):+.2f}  [{'; '.join(cells)}]")


def lesion_rules(D, work, ks):
    """Features of bmeq's lesions at every K; then the lesion-level rules."""
    feats = {}
    for s in SCANS:
        d = D[s]
        S, T = d["S"], d["T"]
        ratios = [S / d["refv"], T / d["t1ref"]]
        for sig in (5.0, 10.0):
            ratios.append(S / local_background(d, sig))
        tb = gsmooth(T, d["roi"], 10.0, d["sp"], inplane=True)
        tb = np.where(tb > 0, tb, np.inf)
        for k in ks:
            e = ra.mask(os.path.join(work, "roi_reference_t1", s, f"{k:.2f}", f"{s}_STIR_edema.nii.gz"))
            lab, n = ndi.label(e, ST26)
            idx = np.arange(1, n + 1)
            if n == 0:
                feats[(s, k)] = []
                continue
            f = [np.bincount(lab.ravel())[1:]] + [np.asarray(ndi.median(x, lab, idx)) for x in ratios]
            f.append(np.asarray(ndi.median(T / tb, lab, idx)))
            f.append(np.asarray(ndi.median(d["dist"], lab, idx)))
            f.append(np.asarray(ndi.sum(d["maj"], lab, idx)))
            feats[(s, k)] = list(zip(*f))
    # lesion: (voxels, STIR/ref, T1/T1ref, STIR/local5, STIR/local10, T1/T1local10, dist mm, majority voxels)

    def table(params, keep):
        t = {s: {} for s in SCANS}
        for (s, k), L in feats.items():
            for p in params:
                kept = [x for x in L if keep(x, p)]
                v = sum(x[0] for x in kept)
                tp = sum(x[-1] for x in kept)
                t[s][(k, p)] = (v * D[s]["vml"], 2.0 * tp / max(1, v + int(D[s]["maj"].sum())))
        return t

    print("\n== A. lesion-level decisions on bmeq's lesions (roi+reference, --t1)")
    loo(D, table([None], lambda x, p: True), "bmeq as it is (must match the benchmark)")
    for t in (0.9, 1.0, 1.1):
        loo(D, table([None], lambda x, p, t=t: x[2] < t or x[1] > BRIGHT), f"T1 < {t:g}x OR STIR > {BRIGHT:g}x")
    cs = (1.1, 1.15, 1.2, 1.25, 1.3)
    for c in cs:
        loo(D, table([None], lambda x, p, c=c: x[3] > c or x[1] > BRIGHT), f"STIR/local(5 mm) > {c:g} OR STIR > {BRIGHT:g}x")
    for c in cs:
        loo(D, table([None], lambda x, p, c=c: x[4] > c or x[1] > BRIGHT), f"STIR/local(10 mm) > {c:g} OR STIR > {BRIGHT:g}x")
    loo(D, table(list(cs), lambda x, p: x[4] > p or x[1] > BRIGHT), "STIR/local(10 mm) > c (c by Dice) OR bright")
    for c in cs:
        loo(D, table([None], lambda x, p, c=c: x[4] / x[5] > c or x[1] > BRIGHT),
            f"(STIR/local)/(T1/local) 10 mm > {c:g} OR bright")
    for dd in (3, 4, 5, 6):
        loo(D, table([None], lambda x, p, dd=dd: x[6] > dd or x[1] > BRIGHT), f"{dd} mm from the region's edge OR bright")

    print("\n== B. a stricter T1 gate (quantile of the readers' mask's T1; bmeq: 0.975)")
    gt = {s: {} for s in SCANS}
    qs = (0.95, 0.9, 0.85, 0.75)
    for s in SCANS:
        d = D[s]
        lims = {q: np.quantile(d["T"][d["ref"]], q) for q in qs}
        for k in ks:
            e = ra.mask(os.path.join(work, "roi_reference_t1", s, f"{k:.2f}", f"{s}_STIR_edema.nii.gz"))
            for q in qs:
                m = size_filter(e & (d["T"] <= lims[q]), d["vml"])
                gt[s][(k, q)] = (m.sum() * d["vml"], dice(m, d["maj"]))
    for q in qs:
        loo(D, {s: {(k, None): gt[s][(k, q)] for k in ks} for s in SCANS}, f"T1 gate at the {q:g} quantile")
    loo(D, gt, "T1 gate quantile fitted by Dice")


def rim_guard(m, d, rim_mm=2.5):
    lab, n = ndi.label(m, ST26)
    if n == 0:
        return m
    inner = np.concatenate([[False], np.asarray(ndi.maximum(d["dist"] >= rim_mm, lab, np.arange(1, n + 1)), bool)])
    return m & inner[lab]


def halfmax(m, S, roi, R, K, steps):
    """Each lesion's edge at half its contrast over its own reference (median of R over it),
    never below halfway to the threshold; growth up to steps voxels (5 mm in-plane)."""
    lab, n = ndi.label(m, ST26)
    if n == 0:
        return m
    idx = np.arange(1, n + 1)
    med = np.asarray(ndi.median(S, lab, idx))
    r = np.asarray(ndi.median(R, lab, idx))
    thr = np.concatenate([[np.inf], np.maximum(r + 0.5 * (med - r), 0.5 * (r + K * r))])
    T = thr[lab]
    m = m & (S > T)
    T = np.where(m, T, np.inf)
    for _ in range(steps):
        nb = ndi.minimum_filter(T, footprint=ST26, mode="constant", cval=np.inf)
        add = ~m & roi & (S > nb)
        if not add.any():
            break
        m = m | add
        T = np.where(add, nb, T)
    return m


def voxel_rules(D, ks):
    print("\n== C. voxel level, bmeq re-implemented in numpy (no N4; roi+reference, T1 gate 0.975)")
    for sig in (None, 5.0, 10.0):
        t = {s: {} for s in SCANS}
        for s in SCANS:
            d = D[s]
            S, roi, ref = d["S"], d["roi"], d["refv"]
            R = np.full(S.shape, ref) if sig is None else np.minimum(ref, local_background(d, sig))
            lim = np.quantile(d["T"][d["ref"]], 0.975)
            steps = int(np.ceil(5.0 / d["sp"].min()))
            for k in ks:
                m = roi & (S > k * R)
                m = halfmax(rim_guard(m, d), S, roi, R, k, steps)
                m = size_filter(m & (d["T"] <= lim), d["vml"])
                t[s][(k, None)] = (m.sum() * d["vml"], dice(m, d["maj"]))
        loo(D, t, "global reference (bmeq's rule, numpy)" if sig is None
            else f"over min(reference, local marrow at {sig:g} mm)")


def oracle(D):
    print("\n== D. best Dice of one threshold per scan, chosen with the answer (an upper bound)")

    def best(f, roi, maj):
        v, y = f[roi], maj[roi]
        o = np.argsort(-v)
        tp = np.cumsum(y[o])
        return float(np.max(2.0 * tp / (np.arange(1, len(v) + 1) + y.sum())))

    rows = {}
    for s in SCANS:
        d = D[s]
        lS = np.log(d["S"] / d["refv"])
        lL = np.log(d["S"] / local_background(d, 5.0))
        lT = np.log(np.maximum(d["T"] / d["t1ref"], 0.1))
        tl = gsmooth(d["T"], d["roi"], 5.0, d["sp"], inplane=True)
        tl = np.where(tl > 0, tl, np.inf)
        lTl = np.log(np.maximum(d["T"] / tl, 0.1))
        feats = {"STIR": lS, "STIR - 0.5 T1": lS - 0.5 * lT, "STIR - T1": lS - lT, "STIR/local(5)": lL,
                 "STIR/local - 0.5 T1/local": lL - 0.5 * lTl,
                 "(STIR + STIR/local)/2 - 0.5 T1": 0.5 * (lS + lL) - 0.5 * lT}
        for k, f in feats.items():
            rows.setdefault(k, []).append(best(np.nan_to_num(f, nan=-9, neginf=-9, posinf=-9), d["roi"], d["maj"] & d["roi"]))
    for k, v in rows.items():
        print(f"{k:<32} " + " ".join(f"{s} {x:.2f}" for s, x in zip(SCANS, v)) + f"  median {np.median(v):.3f}")


def auto_reference(D):
    print("\n== E. where normal marrow sits: candidate automatic references / the readers' mask median")
    for s in SCANS:
        d = D[s]
        S, roi, mm = d["S"], d["roi"], float(np.median(d["S"][d["ref"]]))
        zs = np.nonzero(roi.any((0, 1)))[0]
        per = [modes(S[..., z][roi[..., z]])[0][0][1] / mm for z in zs if roi[..., z].sum() > 500]
        mid = np.zeros_like(roi)
        mid[..., zs[len(zs) // 3: len(zs) - len(zs) // 3]] = True
        lowest = lambda sel: modes(S[sel])[0][0][1] / mm  # noqa: E731
        w0, w1 = normal_window(S[roi])
        win = roi & (S >= w0) & (S <= w1)
        x = d["stir"]
        m1 = gsmooth(x, roi, 5.0, d["sp"], inplane=True)
        m2 = gsmooth(x * x, roi, 5.0, d["sp"], inplane=True)
        cv = np.sqrt(np.maximum(m2 - m1 * m1, 0)) / np.where(m1 > 0, m1, np.inf)
        homog = win & (cv <= np.quantile(cv[win], 0.25))
        fat = roi & (d["T"] >= np.quantile(d["T"][roi], 0.75))
        print(f"{s}: lowest mode of the region {lowest(roi):.3f}; per slice {min(per):.2f}-{max(per):.2f}; "
              f"middle third of slices {lowest(roi & mid):.3f}; > 5 mm inside {lowest(roi & (d['dist'] > 5)):.3f}; "
              f"T1 in the region's top quarter (median) {np.median(S[fat]) / mm:.3f}; "
              f"most homogeneous quarter of the window (median) {np.median(S[homog]) / mm:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bone_mri")
    ap.add_argument("--work", required=True, help="reader_agreement.py --t1's --work folder")
    ap.add_argument("--kmin", type=float, default=1.10)
    ap.add_argument("--kmax", type=float, default=1.46)
    ap.add_argument("--kstep", type=float, default=0.02)
    ap.add_argument("--voxel", action="store_true", help="also C (numpy pipeline; slow)")
    a = ap.parse_args()
    ks = [round(x, 2) for x in np.arange(a.kmin, a.kmax + 1e-9, a.kstep)]
    D = load(a.bone_mri)
    print(f"development scans only: {', '.join(SCANS)}; K grid {ks[0]}-{ks[-1]} step {a.kstep}; "
          "leave-one-out: K by the median |rel diff|, a listed second parameter by the median Dice")
    print("columns: median |rel diff|, Dice median, largest under-call; per scan K, mL / Dice")
    lesion_rules(D, a.work, ks)
    if a.voxel:
        voxel_rules(D, [round(x, 2) for x in np.arange(a.kmin, a.kmax + 1e-9, 0.04)])
    oracle(D)
    auto_reference(D)


if __name__ == "__main__":
    main()
