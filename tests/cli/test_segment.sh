#!/bin/bash
# test_segment.sh BMEQ DATA TMP - `bmeq segment`: a real T1 hip gives both heads, a label map on
# the scan's grid and the per-side CSV; --roi replaces the segmentation (other labels reported as
# label-N); a mask on another grid, a missing scan and usage errors get their exit codes.
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
SCAN=$data/cptac_ucec_pelvis_mri/C3N-02978_t1_tse_cor_post_hipcrop.nii.gz
STEM=C3N-02978_t1_tse_cor_post_hipcrop

"$bmeq" segment "$SCAN" -o "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ $rc -eq 0 ] || err "segment exit $rc: $(cat "$tmp/stderr")"
[ -s "$tmp/out/${STEM}_roi.nii.gz" ] || err "no ROI map written"
[ -s "$tmp/out/${STEM}_segment.csv" ] || err "no CSV written"
cmp -s "$tmp/stdout" "$tmp/out/${STEM}_segment.csv" || err "stdout differs from the CSV file"
head -1 "$tmp/stdout" | grep -q '^side,found,reason,centre_x,centre_y,centre_z,radius_mm,head_ml,neck_ml' ||
	err "CSV header: $(head -1 "$tmp/stdout")"
grep -q '^right,1,.*,found,1.000,' "$tmp/stdout" || err "right head not found (status found, in view 1)"
grep -q '^left,1,.*,found,1.000,' "$tmp/stdout" || err "left head not found (status found, in view 1)"
head -1 "$tmp/stdout" | grep -q ',confidence,qc,status,in_view,acetabulum' || err "status columns missing"
# Every candidate tried is listed with its verdict; the two heads among them.
[ "$(grep -c ',head$' "$tmp/out/${STEM}_candidates.csv")" = 2 ] ||
	err "candidates.csv: $(cat "$tmp/out/${STEM}_candidates.csv")"

# The map lies on the scan's grid, holds labels 1-4, and the right head (1) lies at larger x.
$py - "$SCAN" "$tmp/out/${STEM}_roi.nii.gz" <<'PYEOF' || err "ROI map check failed"
import sys, numpy as np, nibabel as nib
s = nib.load(sys.argv[1]); r = nib.load(sys.argv[2])
assert r.shape == s.shape, (r.shape, s.shape)
assert np.allclose(r.affine, s.affine, atol=1e-3)
assert r.get_data_dtype() == np.uint8
L = np.asarray(r.dataobj)
assert set(np.unique(L)) == {0, 1, 2, 3, 4}, np.unique(L)
def cx(l):
    ijk = np.argwhere(L == l).mean(0)
    return (r.affine @ np.r_[ijk, 1])[0]
assert cx(1) > cx(2) + 100, (cx(1), cx(2))
PYEOF

# --roi: the map just written, plus a label 9 region, is read back as the user's regions.
$py - "$tmp/out/${STEM}_roi.nii.gz" "$tmp/user.nii.gz" <<'PYEOF' || err "could not make the user mask"
import sys, numpy as np, nibabel as nib
r = nib.load(sys.argv[1]); L = np.asarray(r.dataobj).copy()
L[0:4, 0:4, 0:2] = 9
nib.save(nib.Nifti1Image(L, r.affine, r.header), sys.argv[2])
PYEOF
"$bmeq" segment "$SCAN" -o "$tmp/roi" --roi "$tmp/user.nii.gz" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ $rc -eq 0 ] || err "--roi exit $rc: $(cat "$tmp/stderr")"
grep -q '^label-9,1,' "$tmp/stdout" || err "label 9 not reported as label-9: $(cat "$tmp/stdout")"
grep -q '^right,1,' "$tmp/stdout" || err "--roi right head missing"

# A mask on another grid: exit 3 with a message naming the grid.
$py - "$tmp/user.nii.gz" "$tmp/small.nii.gz" <<'PYEOF' || err "could not make the small mask"
import sys, numpy as np, nibabel as nib
r = nib.load(sys.argv[1]); L = np.asarray(r.dataobj)[:100]
nib.save(nib.Nifti1Image(L, r.affine), sys.argv[2])
PYEOF
"$bmeq" segment "$SCAN" -o "$tmp/bad" --roi "$tmp/small.nii.gz" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ $rc -eq 3 ] || err "mask on another grid: exit $rc, want 3"
grep -qi 'grid' "$tmp/stderr" || err "grid mismatch message: $(cat "$tmp/stderr")"
grep -q '^bmeq: segment: ' "$tmp/stderr" || err "message format: $(cat "$tmp/stderr")"

# Missing scan: 3; usage errors: 2.
"$bmeq" segment "$tmp/nope.nii.gz" -o "$tmp/x" >/dev/null 2>&1
[ $? -eq 3 ] || err "missing scan: want exit 3"
"$bmeq" segment "$SCAN" >/dev/null 2>&1
[ $? -eq 2 ] || err "no -o: want exit 2"
"$bmeq" segment -o "$tmp/x" >/dev/null 2>&1
[ $? -eq 2 ] || err "no scan: want exit 2"
"$bmeq" segment "$SCAN" "$SCAN" -o "$tmp/x" >/dev/null 2>&1
[ $? -eq 2 ] || err "two scans: want exit 2"

finish "test_segment: all checks passed"
