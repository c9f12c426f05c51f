#!/usr/bin/env bash
# Every kind of bad scan in one batch: each gives status=error rows (both sides) with a
# one-line message that names the problem, the good subject is measured and compared as
# if alone, and the batch exits 6. Covered here: permission denied, truncated data, a bare
# header, RGB, Inf voxels, absurd dimensions, zero and negative voxel sizes without an
# sform, neither qform nor sform, a scan without a femoral head, an ROI and a reference
# mask on another grid, and a scan over the configured size limit. (Missing, not NIfTI,
# truncated gzip, 4D, NaN, all-zero and 2D scans are in test_batch.sh.)
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=unprivileged.sh
. "$(dirname "$0")/unprivileged.sh"

"$bmeq" phantom -o "$work/study" --subjects 1 --sessions 2 --seed 5 >/dev/null
good=$work/study/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz
bad=$work/bad
mkdir -p "$bad"
cp "$data/derived/truncated_data_anatomical_BE.nii" "$bad/truncated_data.nii"
cp "$data/derived/header_only_348bytes.nii" "$bad/header_only.nii"
cp "$data/niivue/ct_perfusion.nii.gz" "$bad/rgb.nii.gz"
cp "$data/totalsegmentator/example_mr_sm.nii.gz" "$bad/abdomen.nii.gz"
cp "$good" "$bad/locked.nii.gz"
chmod 000 "$bad/locked.nii.gz"
/usr/bin/python3 - "$bad" "$good" <<'EOF'
import gzip, struct, sys
import numpy as np, nibabel as nib
d, good = sys.argv[1], sys.argv[2]
im = nib.load(good)
a = np.asarray(im.dataobj, dtype=np.float32)
b = a.copy(); b[10, 10, 5] = np.inf
nib.save(nib.Nifti1Image(b, im.affine), d + "/inf.nii.gz")
# Neither form: the patient's left and right are unknown.
c = nib.Nifti1Image(a, im.affine); c.set_qform(None, 0); c.set_sform(None, 0)
nib.save(c, d + "/no_forms.nii.gz")
# A header that claims 30000^3 voxels over a few bytes of data.
h = nib.Nifti1Header(); h.set_data_dtype(np.int16); h.set_data_shape((30000, 30000, 30000))
open(d + "/absurd.nii", "wb").write(h.binaryblock + b"\0" * 104)
# qform only, pixdim[3] patched to 0 and to -4 (nibabel would repair it on save).
q = nib.Nifti1Image(a[:64, :64, :8].astype(np.int16), np.diag([0.8, 0.8, 4.0, 1.0]))
q.set_qform(np.diag([0.8, 0.8, 4.0, 1.0]), 1); q.set_sform(None, 0)
raw = bytearray(q.header.binaryblock) + b"\0" * 4 + np.asarray(q.dataobj).tobytes(order="F")
for name, v in (("zero_voxel", 0.0), ("negative_voxel", -4.0)):
    r = bytearray(raw); struct.pack_into("<f", r, 76 + 12, v)
    open(d + "/" + name + ".nii", "wb").write(r)
# Masks on another grid than the scan's.
nib.save(nib.Nifti1Image(np.ones((32, 32, 8), np.uint8), np.eye(4)), d + "/other_grid_mask.nii.gz")
# 1000x1000x20 zeros: 76 MB as float32, over the 50 MB limit below, a tiny file.
nib.save(nib.Nifti1Image(np.zeros((1000, 1000, 20), np.int16), im.affine), d + "/huge.nii.gz")
EOF
{
  echo "subject,session,path,roi,reference"
  tail -n +2 "$work/study/manifest.csv" | while IFS=, read -r s ses p _; do
    echo "$s,$ses,study/$p,,"
  done
  echo "b01,01,bad/locked.nii.gz,,"
  echo "b02,01,bad/truncated_data.nii,,"
  echo "b03,01,bad/header_only.nii,,"
  echo "b04,01,bad/rgb.nii.gz,,"
  echo "b05,01,bad/inf.nii.gz,,"
  echo "b06,01,bad/absurd.nii,,"
  echo "b07,01,bad/zero_voxel.nii,,"
  echo "b08,01,bad/negative_voxel.nii,,"
  echo "b09,01,bad/no_forms.nii.gz,,"
  echo "b10,01,bad/abdomen.nii.gz,,"
  echo "b11,01,study/${good#"$work/study/"},bad/other_grid_mask.nii.gz,"
  echo "b12,01,study/${good#"$work/study/"},,bad/other_grid_mask.nii.gz"
  echo "b13,01,bad/huge.nii.gz,,"
} >"$work/manifest.csv"
echo "scan.max_mb = 50" >"$work/bmeq.conf"
give "$work/out"

rc=0
"${as_user[@]}" "$user_bmeq" batch "$work/manifest.csv" -o "$work/out/run" --config "$work/bmeq.conf" \
  -j 2 --quiet >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 6 ] || { cat "$tmp/err" >&2; fail "exit $rc, expected 6 (some scans failed)"; }
/usr/bin/python3 - "$work/out/run" <<'EOF'
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/scans.csv", newline="")))
want = {
    "b01": "Permission denied", "b02": "truncated", "b03": "truncated", "b04": "RGB",
    "b05": "Inf", "b06": "absurd", "b07": "pixdim[3] is 0", "b08": "pixdim[3] is -4",
    "b09": "neither qform nor sform", "b10": "no femoral head in view",
    "b11": "--roi", "b12": "--reference", "b13": "scan size limit of 50 MB",
}
got = {}
for r in rows:
    got.setdefault(r["subject"], []).append(r)
for s, word in want.items():
    rs = got.get(s, [])
    assert [r["side"] for r in rs] == ["right", "left"], (s, rs)
    for r in rs:
        assert r["status"] == "error", (s, r)
        m = r["message"]
        assert word.lower() in m.lower(), (s, word, m)
        assert "\n" not in m and len(m) < 300, (s, m)
        assert r["edema_ml"] == "" and r["region_ml"] == "", (s, r)
# The grid errors say which grids differ.
assert "grid" in got["b11"][0]["message"] and "grid" in got["b12"][0]["message"]
ok = got.pop("01")
assert len(ok) == 4 and all(r["status"] == "ok" for r in ok), ok
assert sorted(got) == sorted(want), sorted(got)
resp = list(csv.DictReader(open(out + "/response.csv", newline="")))
assert [r["subject"] for r in resp] == ["01", "01"], resp
lesions = list(csv.DictReader(open(out + "/lesions.csv", newline="")))
assert all(r["subject"] == "01" for r in lesions), "lesion rows for a failed scan"
EOF
# The report shows the failures too.
for s in b01 b06 b13; do
  grep -q ">$s<" "$work/out/run/report.html" || fail "report.html does not list $s"
done

# bmeq measure gives the same reasons as one line on stderr with exit 3 or 5.
expect() {
  local code=$1 text=$2 rc=0
  shift 2
  "${as_user[@]}" "$@" >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" = "$code" ] || { cat "$tmp/err" >&2; fail "$* exited $rc, expected $code"; }
  [ "$(wc -l <"$tmp/err")" = 1 ] || fail "$*: not one line: $(cat "$tmp/err")"
  grep -q -- "$text" "$tmp/err" || fail "$*: no '$text' in: $(cat "$tmp/err")"
}
give "$work/m"
expect 3 "Permission denied" "$user_bmeq" measure "$bad/locked.nii.gz" -o "$work/m"
expect 3 "pixdim\[3\] is 0" "$user_bmeq" measure "$bad/zero_voxel.nii" -o "$work/m"
expect 5 "no femoral head in view" "$user_bmeq" measure "$bad/abdomen.nii.gz" -o "$work/m"
expect 3 "scan size limit of 20 MB" "$user_bmeq" measure "$bad/huge.nii.gz" -o "$work/m" \
  --max-scan-mb 20
expect 3 "grid" "$user_bmeq" measure "$good" -o "$work/m" --roi "$bad/other_grid_mask.nii.gz"
expect 3 "scan size limit of 20 MB" "$user_bmeq" segment "$bad/huge.nii.gz" -o "$work/m" \
  --max-scan-mb 20
echo "bad inputs: all checks passed"
