#!/bin/bash
# test_phantom_t1.sh BMEQ DATA TMP - `bmeq phantom --t1` and `--fatsat-failure` (issue 17):
# - the STIR scans, their truth maps and their truth are the same with and without the
#   twins (byte for byte);
# - each T1 twin lies on its own grid (another affine, 3.5-4.5 mm slices, a wider field of
#   view, axial beside a coronal STIR), its truth maps on that grid with the head labels'
#   centroids at the truth centres, which are the STIR's moved by the recorded motion
#   (1-6 degrees); the manifest names it in a `t1` column after `path`;
# - a fat-suppression failure changes the STIR only inside its band (truth maps identical,
#   voxels outside the band identical), and there it makes bmeq report edema on an
#   edema-free hip (> 0.5 mL without the T1); with `bmeq measure --t1` the twin is
#   registered and the gate never adds edema (issue 17's <= 0.5 mL there: not met yet).
# About 60 s (two subjects, one visit each, three studies).
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

need_python

for v in plain:"" twin:"--t1" fs:"--t1 --fatsat-failure"; do
	name=${v%%:*}
	# shellcheck disable=SC2086 # the flags are words
	"$bmeq" phantom -o "$tmp/$name" --subjects 2 --sessions 1 --seed 11 ${v#*:} \
		>"$tmp/$name.out" 2>"$tmp/$name.err" || err "phantom $name exited $?: $(head -3 "$tmp/$name.err")"
done

# The STIR and its truth do not change with the twins.
for f in sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz sub-02/ses-01/anat/sub-02_ses-01_acq-STIR_T2w.nii.gz \
	derivatives/truth/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_desc-hips_dseg.nii.gz \
	derivatives/truth/sub-02/ses-01/anat/sub-02_ses-01_acq-STIR_desc-edema_dseg.nii.gz; do
	cmp -s "$tmp/plain/$f" "$tmp/twin/$f" || err "$f differs with --t1"
done

"$py" - "$tmp" <<'PYEOF' || err "T1 twin geometry or truth"
import csv, json, sys
import nibabel as nib, numpy as np
tmp = sys.argv[1]
bad = []
plain, twin = (json.load(open(f"{tmp}/{d}/truth.json")) for d in ("plain", "twin"))
# The STIR's truth is the same; the twin adds t1_path and t1.
for a, b in zip(plain["scans"], twin["scans"]):
    if {k: v for k, v in b.items() if k not in ("t1", "t1_path")} != a:
        bad.append(f"STIR truth of {a['subject']} changed with --t1")
rows = list(csv.reader(open(f"{tmp}/twin/manifest.csv", newline="")))
if rows[0] != ["subject", "session", "path", "t1", "date", "cycle", "dose_ng_kg_min"]:
    bad.append(f"manifest header {rows[0]}")
if list(csv.reader(open(f"{tmp}/plain/manifest.csv", newline="")))[0][3] != "date":
    bad.append("a study without twins has a t1 column")
orients = []
for row, sc in zip(rows[1:], twin["scans"]):
    t = sc["t1"]
    if row[3] != t["path"] or row[3] != sc["t1_path"] or not row[3].endswith("_T1w.nii.gz"):
        bad.append(f"manifest t1 {row[3]} vs truth {t['path']}")
    if row[2].rsplit("/", 1)[0] != row[3].rsplit("/", 1)[0]:
        bad.append("the T1 is not beside its STIR")
    stir = nib.load(f"{tmp}/twin/{sc['path']}")
    t1 = nib.load(f"{tmp}/twin/{t['path']}")
    lab = nib.load(f"{tmp}/twin/{t['labels']}")
    ed = nib.load(f"{tmp}/twin/{t['edema_labels']}")
    if np.allclose(stir.affine, t1.affine, atol=0.5):
        bad.append("T1 affine equals the STIR's")
    for m in (lab, ed):
        if m.shape != t1.shape or not np.allclose(m.affine, t1.affine, atol=1e-4):
            bad.append("T1 truth map not on the T1 grid")
    zs = np.linalg.norm(t1.affine[:3, :3], axis=0)
    zs_stir = np.linalg.norm(stir.affine[:3, :3], axis=0)
    thick = t["acquisition"]["thickness_mm"]
    if not 3.5 <= thick <= 4.5 or abs(zs[2] - thick - t["acquisition"]["gap_mm"]) > 1e-3:
        bad.append(f"T1 slices {thick} mm, spacing {zs[2]}")
    if t1.shape[0] * zs[0] <= stir.shape[0] * zs_stir[0]:
        bad.append("T1 field of view not wider than the STIR's")
    orients.append((sc["acquisition"]["orientation"], t["acquisition"]["orientation"]))
    M = np.array(t["motion_from_stir"]["t1_world_from_stir_world"])
    if not 1.0 <= t["motion_from_stir"]["rotation_deg"] <= 6.0:
        bad.append(f"motion {t['motion_from_stir']['rotation_deg']} deg")
    labs = np.asarray(lab.dataobj)
    for side, l in (("right", 1), ("left", 2)):
        ijk = np.argwhere(labs == l)
        c = (t1.affine @ np.c_[ijk, np.ones(len(ijk))].T)[:3].mean(axis=1)
        truth = np.array(t[side]["head_centre_ras"])
        moved = (M @ np.r_[sc[side]["head_centre_ras"], 1.0])[:3]
        if np.linalg.norm(c - truth) > 1.5:
            bad.append(f"{side} head labels {np.linalg.norm(c - truth):.2f} mm from the T1 truth")
        if np.linalg.norm(moved - truth) > 0.01:
            bad.append(f"{side} T1 centre is not the STIR's moved ({np.linalg.norm(moved - truth):.3f} mm)")
        if np.linalg.norm(truth - np.array(sc[side]["head_centre_ras"])) < 1.0:
            bad.append(f"{side} head did not move between the series")
    print(sc["subject"], orients[-1], "motion", t["motion_from_stir"]["rotation_deg"], "deg",
          t["motion_from_stir"]["head_shift_mm"], "mm")
if not any(a != b for a, b in orients):
    bad.append(f"no T1 in another orientation than its STIR: {orients}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PYEOF

# The failure: truth maps as without it, voxels outside its band as without it, brighter
# marrow of the edema-free hip inside it.
"$py" - "$tmp" >"$tmp/fs_sides" <<'PYEOF' || err "fat-suppression failure in the STIR"
import json, sys
import nibabel as nib, numpy as np
tmp = sys.argv[1]
bad = []
plain, fs = (json.load(open(f"{tmp}/{d}/truth.json")) for d in ("plain", "fs"))
for a, b in zip(plain["scans"], fs["scans"]):
    f = b["fatsat_failure"]
    for k in ("labels", "edema_labels"):
        if not np.array_equal(np.asarray(nib.load(f"{tmp}/plain/{a[k]}").dataobj),
                              np.asarray(nib.load(f"{tmp}/fs/{b[k]}").dataobj)):
            bad.append(f"{k} changed by the failure")
    ia = nib.load(f"{tmp}/plain/{a['path']}")
    ib = nib.load(f"{tmp}/fs/{b['path']}")
    va, vb = np.asarray(ia.dataobj, dtype=float), np.asarray(ib.dataobj, dtype=float)
    # Distance of each voxel from the failure's edge along axis i (mm).
    n0, sp0 = va.shape[0], np.linalg.norm(ib.affine[:3, 0])
    i = np.arange(n0, dtype=float)
    d = ((i + 0.5) if f["edge_voxel"] == "i=0" else (n0 - 0.5 - i)) * sp0
    out = d >= f["none_from_mm"] + 0.01
    # uint16 scans take their slope from the data's maximum, which the band may raise:
    # equal within one quantisation step of either.
    steps = [x for x in (ia.header.get_slope_inter()[0], ib.header.get_slope_inter()[0])
             if x is not None and np.isfinite(x)]
    tol = 1.01 * max(steps) if steps else 0.0
    if not np.all(np.abs(va[out] - vb[out]) <= tol + 1e-6 * np.abs(va[out])):
        bad.append(f"subject {b['subject']}: voxels outside the band changed")
    side = f["edge"]
    clear = b[side]["edema_ml"] == 0.0
    if clear and not 0.2 <= f[side]["head_fraction_at_half_level"] <= 0.8:
        bad.append(f"subject {b['subject']}: band covers {f[side]['head_fraction_at_half_level']} of the {side} head")
    if clear:
        print(b["subject"], side)
    else:
        bad.append(f"subject {b['subject']}: the band is over a hip with edema though the other is clear")
for x in bad:
    print("FAIL:", x, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF

# bmeq reports the failure as edema on the edema-free hip without the T1. With the T1 (its
# twin on another grid, registered), the measurement runs and the gate only ever removes:
# never more edema than without, and edema_removed_by_t1_ml says how much. Issue 17's target,
# <= 0.5 mL on these hips with the gate, is NOT met yet: the gate removes T1-bright voxels,
# and marrow under a failed fat suppression keeps normal marrow's T1 (20.1 and 35.4 mL remain
# on seed 5); a check of the fat beside the marrow is the next step (see issue 17's note).
while read -r sub side; do
	stir=$tmp/fs/sub-$sub/ses-01/anat/sub-${sub}_ses-01_acq-STIR_T2w.nii.gz
	t1=$tmp/fs/sub-$sub/ses-01/anat/sub-${sub}_ses-01_T1w.nii.gz
	"$bmeq" measure "$stir" -o "$tmp/m$sub" >"$tmp/m$sub.out" 2>&1 || err "measure $sub: $(tail -2 "$tmp/m$sub.out")"
	ml=$("$py" -c 'import csv,sys; print(next(r["edema_ml"] for r in csv.DictReader(open(sys.argv[1])) if r["side"] == sys.argv[2]))' \
		"$tmp/m$sub/scans.csv" "$side" 2>/dev/null)
	echo "subject $sub $side hip (edema-free, fat suppression failed): $ml mL without the T1"
	"$py" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0.5 else 1)' "${ml:-0}" ||
		err "subject $sub $side: the failure gave only ${ml:-nothing} mL without the T1 (want > 0.5)"
	"$bmeq" measure "$stir" --t1 "$t1" -o "$tmp/g$sub" >"$tmp/g$sub.out" 2>&1 ||
		err "measure --t1 $sub: $(tail -2 "$tmp/g$sub.out")"
	"$py" - "$tmp/g$sub/scans.csv" "$tmp/m$sub/scans.csv" "$side" <<'PYEOF' || err "subject $sub $side: the T1 path"
import csv, sys
g = {r["side"]: r for r in csv.DictReader(open(sys.argv[1]))}
m = {r["side"]: r for r in csv.DictReader(open(sys.argv[2]))}
side = sys.argv[3]
for s in ("right", "left"):
    assert g[s]["status"] == m[s]["status"], (s, g[s]["status"], m[s]["status"])
    assert g[s]["t1_shift_mm"] != "" and float(g[s]["t1_angle_deg"]) < 15, g[s]
    if g[s]["status"] == "ok":
        assert float(g[s]["edema_ml"]) <= float(m[s]["edema_ml"]) + 1e-9, (s, g[s]["edema_ml"], m[s]["edema_ml"])
        assert float(g[s]["edema_removed_by_t1_ml"]) >= 0, g[s]
print(f"{side} hip: {g[side]['edema_ml']} mL with the T1 gate ({g[side]['edema_removed_by_t1_ml']} mL removed)")
PYEOF
done <"$tmp/fs_sides"
[ -s "$tmp/fs_sides" ] || err "no edema-free hip under a failed fat suppression"

# Usage: the flags take no value.
"$bmeq" phantom --help | grep -q -- '--fatsat-failure' || err "--help does not name --fatsat-failure"

[ "$errors" -eq 0 ] && rm -rf "$tmp"
finish
