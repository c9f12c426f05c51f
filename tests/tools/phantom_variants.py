#!/usr/bin/python3
"""Two phantom studies of one seed drawn with different options share the truth, not the image.

usage: phantom_variants.py A B --edema | --tissue

Both: the first scan's truth (label maps, and every volume and shape figure of truth.json) is
identical in A and B. Then
  --edema   A realistic, B bright: the edema is at least 20% darker in A;
  --tissue  A classic, B real: normal marrow at the same level in both, and the body's main
            tissue (muscle, the mode of the smoothed image inside the body) at the tables'
            ratio to marrow: about 2.1x (0.9 / 0.42) in A, about 0.8x (0.32 / 0.42) in B.
Prints what it measured; exits 1 when a check fails.
"""
import json
import sys

import nibabel as nib
import numpy as np


def first_scan(d):
    return json.load(open(d + "/truth.json"))["scans"][0]


def load(d, rel, dtype=None):
    return np.asarray(nib.load(d + "/" + rel).dataobj, dtype=dtype)


def same_truth(a, sa, b, sb):
    same = all(sa[s][k] == sb[s][k] for s in ("right", "left") for k in sa[s])
    for k in ("labels", "edema_labels"):
        same &= np.array_equal(load(a, sa[k]), load(b, sb[k]))
    return same


def levels(d, s):
    from scipy import ndimage
    im = nib.load(d + "/" + s["path"])
    img = np.asarray(im.dataobj, dtype=float)
    mm = im.header.get_zooms()[:3]
    heads = np.isin(load(d, s["labels"]), (1, 2))
    ed = load(d, s["edema_labels"]) > 0
    # normal marrow: the heads more than 5 mm inside their surface and from edema
    inner = ndimage.distance_transform_edt(heads, sampling=mm) > 5
    far = ndimage.distance_transform_edt(~ed, sampling=mm) > 5
    marrow = np.median(img[inner & far])
    # muscle, the body's largest tissue: the mode of the smoothed image inside the body
    sm = ndimage.uniform_filter(img, (5, 5, 1))
    hist, edges = np.histogram(sm[sm > 0.15 * marrow], bins=200, range=(0, 4 * marrow))
    return marrow, edges[np.argmax(hist)] + 0.5 * (edges[1] - edges[0])


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("--edema", "--tissue"):
        sys.exit(__doc__)
    a, b, what = sys.argv[1:4]
    sa, sb = first_scan(a), first_scan(b)
    ok = same_truth(a, sa, b, sb)
    print("same truth: %s" % ok)
    if what == "--edema":
        ia, ib = load(a, sa["path"], float), load(b, sb["path"], float)
        ed = load(a, sa["edema_labels"]) > 0
        print("edema mean: realistic %.1f, bright %.1f" % (ia[ed].mean(), ib[ed].mean()))
        ok &= bool(ed.any()) and ia[ed].mean() < 0.8 * ib[ed].mean()
    else:
        ma, ua = levels(a, sa)
        mb, ub = levels(b, sb)
        print("classic: marrow %.1f, body mode %.2fx marrow; real: marrow %.1f, body mode %.2fx"
              % (ma, ua / ma, mb, ub / mb))
        ok &= 0.9 < mb / ma < 1.1 and 1.8 < ua / ma < 2.8 and 0.6 < ub / mb < 1.0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
