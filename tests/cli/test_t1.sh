#!/bin/bash
# test_t1.sh BMEQ DATA TMP - the visit's T1 (issue 17): `bmeq measure SCAN --t1 T1`.
# The fat-suppression check on this real anatomy: working on the STIR-like image (both hips'
# fat_to_muscle within 20%), failed over the right hip when its fat is made four times brighter.
# A real T1 hip is resliced onto a STIR-like grid of another orientation (8 deg oblique),
# 4 mm slices, a 6 mm / 3 deg patient movement and another contrast; bmeq must register the
# T1 back, find the heads on the T1 and carry the regions onto that grid within 3 mm of where
# the T1's own segmentation puts them. Bad T1s (missing, 4D, no overlap, moved far) are error
# rows with exit codes; a batch with a broken T1 measures its other scans.
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
T1=$data/cptac_ucec_pelvis_mri/C3N-02978_t1_tse_cor_post_hipcrop.nii.gz

# The STIR-like target and the T1 variants. M (target world -> T1 world) is saved for the
# checks: a voxel of the target at world x shows the T1 at M x.
$py - "$T1" "$tmp" <<'PYEOF' || err "could not make the test images"
import sys, numpy as np, nibabel as nib
from scipy import ndimage as ndi
t1 = nib.load(sys.argv[1]); out = sys.argv[2]
a = np.asarray(t1.dataobj, dtype=np.float32)
A1 = t1.affine
def rot(axis, deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    i, j = [k for k in range(3) if k != axis]
    R = np.eye(4); R[i, i] = c; R[i, j] = -s; R[j, i] = s; R[j, j] = c
    return R
centre = A1 @ np.r_[(np.array(a.shape) - 1) / 2.0, 1]
# Target grid: coronal tilted 8 deg about the left-right axis, 1 mm in plane, 4 mm slices.
spacing = np.diag([1.0, 1.0, 4.0, 1.0])
base = np.array([[-1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], float)  # i->L, j->S, k->A (coronal)
ext = np.abs(A1[:3, :3]) @ np.array(a.shape, float)
nx, ny, nz = int(ext[0]) + 10, int(ext[2]) + 10, int(ext[1] / 4.0) + 3
Aq = rot(0, 8.0) @ base @ spacing
Aq[:3, 3] = centre[:3] - Aq[:3, :3] @ (np.array([nx, ny, nz]) - 1) / 2.0
# Patient movement between the two series: 3 deg about S-I and 6 mm.
M = np.eye(4); M[:3, 3] = -centre[:3]
M = rot(2, 3.0) @ M
M[:3, 3] += centre[:3] + np.array([4.0, -3.0, 3.2])
# Target voxel v -> world Aq v -> T1 world M Aq v -> T1 voxel inv(A1) M Aq v.
V = np.linalg.inv(A1) @ M @ Aq
img = ndi.affine_transform(a, V[:3, :3], V[:3, 3], output_shape=(nx, ny, nz), order=1, cval=0.0)
# Another contrast: fat dark, water bright (inverted and offset), so only mutual information
# can register it.
stir = np.where(img > 0, 1.2 * img.max() - img, 0).astype(np.float32)
nib.save(nib.Nifti1Image(stir, Aq), f"{out}/stirlike.nii.gz")
# Its fat suppression failed over the patient's right (RAS +x) beyond 40 mm from the middle:
# what is bright on the T1 there (subcutaneous fat, the femur's marrow) four times as bright.
ii, jj, kk = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
wx = Aq[0, 0] * ii + Aq[0, 1] * jj + Aq[0, 2] * kk + Aq[0, 3]
fatty = (img > 0.6 * np.percentile(img, 99)) & (wx > centre[0] + 40.0)
nib.save(nib.Nifti1Image(np.where(fatty, 4.0 * stir, stir).astype(np.float32), Aq),
         f"{out}/stirlike_fsR.nii.gz")
np.savetxt(f"{out}/M.txt", M)
# A 4D T1, a T1 with no overlap, a T1 moved 60 mm.
nib.save(nib.Nifti1Image(np.stack([a, a], -1), A1), f"{out}/t1_4d.nii.gz")
far = A1.copy(); far[:3, 3] += [0, 0, 900.0]
nib.save(nib.Nifti1Image(a, far), f"{out}/t1_nooverlap.nii.gz")
moved = A1.copy(); moved[:3, 3] += [0, 0, 60.0]
nib.save(nib.Nifti1Image(a, moved), f"{out}/t1_moved.nii.gz")
PYEOF

"$bmeq" measure "$tmp/stirlike.nii.gz" --t1 "$T1" --t1-segment -o "$tmp/m" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ $rc -eq 0 ] || err "measure --t1 exit $rc: $(cat "$tmp/stderr")"
"$bmeq" segment "$T1" -o "$tmp/seg" >/dev/null 2>"$tmp/seg.err" || err "segment T1: $(cat "$tmp/seg.err")"
$py - "$tmp" <<'PYEOF' || err "regions from the T1 not carried onto the scan"
import csv, sys, numpy as np, nibabel as nib
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/m/scans.csv")))
for r in rows:
    assert r["status"] == "ok", r
    assert r["regions_from"] == "t1", r["regions_from"]
    # The movement put in: 3 deg and about 6 mm at the hips.
    assert 1.5 <= float(r["t1_angle_deg"]) <= 4.5, r["t1_angle_deg"]
    assert r["edema_removed_by_t1_ml"] != "", r
    # The fat suppression judged on real anatomy through the registration: working.
    assert r["fat_suppression"] == "ok", r["fat_suppression"]
f2m = [float(r["fat_to_muscle"]) for r in rows]
print(f"fat_to_muscle right {f2m[0]:.3f}, left {f2m[1]:.3f}")
assert max(f2m) <= 1.2 * min(f2m), f2m
M = np.loadtxt(f"{d}/M.txt")
roi = nib.load(f"{d}/m/stirlike_roi.nii.gz")
nat = nib.load(f"{d}/seg/C3N-02978_t1_tse_cor_post_hipcrop_roi.nii.gz")
def centroid(img, label):
    L = np.asarray(img.dataobj)
    ijk = np.argwhere(L == label).mean(0)
    return (img.affine @ np.r_[ijk, 1])[:3]
Minv = np.linalg.inv(M)
for label in (1, 2):
    want = (Minv @ np.r_[centroid(nat, label), 1])[:3]
    got = centroid(roi, label)
    err = np.linalg.norm(got - want)
    print(f"head {label}: carried centroid {got.round(1)}, expected {want.round(1)}, {err:.2f} mm")
    assert err <= 3.0, err
PYEOF

# The same scan with its fat suppression failed over the right: the right hip is not
# measured and says why, the left is.
"$bmeq" measure "$tmp/stirlike_fsR.nii.gz" --t1 "$T1" --t1-segment -o "$tmp/fs" >/dev/null 2>"$tmp/fs.err" ||
	err "measure of the failed suppression: $(cat "$tmp/fs.err")"
$py - "$tmp/fs/scans.csv" <<'PYEOF' || err "a failed fat suppression on the right not caught"
import csv, sys
r = {x["side"]: x for x in csv.DictReader(open(sys.argv[1]))}
print("right", r["right"]["status"], r["right"]["fat_to_muscle"], "left", r["left"]["status"], r["left"]["fat_to_muscle"])
assert r["right"]["status"] == "fat_suppression_failed" and r["right"]["edema_ml"] == "", r["right"]
assert r["right"]["fat_suppression"] == "failed" and "fat suppression failed" in r["right"]["message"]
assert r["left"]["status"] == "ok" and r["left"]["fat_suppression"] == "ok", r["left"]
PYEOF

# Bad T1s: each an error row naming the T1, and its exit code.
"$bmeq" measure "$tmp/stirlike.nii.gz" --t1 "$tmp/missing.nii.gz" -o "$tmp/b1" >/dev/null 2>"$tmp/e1"
rc=$?
[ $rc -eq 3 ] || err "missing T1: exit $rc (want 3): $(cat "$tmp/e1")"
grep -q 'T1' "$tmp/e1" || err "missing T1 message: $(cat "$tmp/e1")"
"$bmeq" measure "$tmp/stirlike.nii.gz" --t1 "$tmp/t1_4d.nii.gz" -o "$tmp/b2" >/dev/null 2>"$tmp/e2"
rc=$?
[ $rc -eq 3 ] || err "4D T1: exit $rc (want 3): $(cat "$tmp/e2")"
grep -q 'T1.*4D\|T1.*volume' "$tmp/e2" || err "4D T1 message: $(cat "$tmp/e2")"
for bad in nooverlap moved; do
	"$bmeq" measure "$tmp/stirlike.nii.gz" --t1 "$tmp/t1_$bad.nii.gz" -o "$tmp/b_$bad" >/dev/null 2>"$tmp/e_$bad"
	rc=$?
	[ $rc -eq 5 ] || err "T1 $bad: exit $rc (want 5): $(cat "$tmp/e_$bad")"
	grep -q ',error,.*T1' "$tmp/b_$bad/scans.csv" 2>/dev/null || err "T1 $bad: no error row naming the T1"
done

# A batch: the good visit measured through its T1, the broken one an error row, exit 6.
cp "$tmp/stirlike.nii.gz" "$tmp/stirlike2.nii.gz"
printf 't1.segment = yes\n' >"$tmp/t1seg.conf"
printf 'subject,session,path,t1\nA,1,stirlike.nii.gz,%s\nB,1,stirlike2.nii.gz,t1_nooverlap.nii.gz\n' "$T1" >"$tmp/manifest.csv"
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/batch" -j 2 --quiet --config "$tmp/t1seg.conf" >/dev/null 2>"$tmp/eb"
rc=$?
[ $rc -eq 6 ] || err "batch with one bad T1: exit $rc (want 6): $(cat "$tmp/eb")"
grep -q '^A,1,right,ok,' "$tmp/batch/scans.csv" || err "batch: good visit not measured"
grep -q '^B,1,right,error,' "$tmp/batch/scans.csv" || err "batch: bad T1 not an error row"
grep -q ',t1,' "$tmp/batch/scans.csv" || err "batch: regions_from t1 missing"
# --resume reuses the scan; a changed T1 measures it again.
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/batch" -j 2 --resume --config "$tmp/t1seg.conf" >"$tmp/resume.out" 2>&1
grep -q '(1 failed, 2 reused)' "$tmp/resume.out" || err "resume did not reuse both: $(cat "$tmp/resume.out")"
cp "$tmp/t1_moved.nii.gz" "$tmp/t1_changed.nii.gz"
sed -i 's#^A,1,stirlike.nii.gz,.*#A,1,stirlike.nii.gz,t1_changed.nii.gz#' "$tmp/manifest.csv"
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/batch" -j 2 --resume --config "$tmp/t1seg.conf" >"$tmp/resume2.out" 2>&1
grep -q '(2 failed, 1 reused)' "$tmp/resume2.out" || err "a changed T1 was not measured again: $(cat "$tmp/resume2.out")"

finish "test_t1: ok"
