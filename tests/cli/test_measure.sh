#!/usr/bin/env bash
# bmeq measure on one phantom scan: table columns, invariance to the scanner's intensity
# scale and storage (x7 float, uint16 with scl_slope/scl_inter), user --roi/--reference make
# the result depend only on the image inside them, masks on another grid are refused; the
# volume's range, and a reader's --threshold-factor.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

"$bmeq" phantom -o "$tmp/study" --subjects 1 --sessions 1 --seed 3 >/dev/null
scan=$(ls "$tmp"/study/sub-01/ses-01/anat/*_acq-STIR_T2w.nii.gz)
truth_dir=$tmp/study/derivatives/truth/sub-01/ses-01/anat
roi=$(ls "$truth_dir"/*desc-hips_dseg.nii.gz)
edema=$(ls "$truth_dir"/*desc-edema_dseg.nii.gz)

/usr/bin/python3 - "$scan" "$roi" "$edema" "$tmp" <<'EOF'
import sys, numpy as np, nibabel as nib
from scipy import ndimage
scan, roi, edema, tmp = sys.argv[1:]
im = nib.load(scan)
a = np.asarray(im.get_fdata(), np.float64)
hdr = im.header.copy()
# The scanner's scale: x7 as float32.
nib.save(nib.Nifti1Image((a * 7).astype(np.float32), im.affine), tmp + "/times7.nii.gz")
# Stored as uint16 with scl_slope / scl_inter.
lo, hi = a.min(), a.max()
slope = (hi - lo) / 60000.0
u = np.round((a - lo) / slope).astype(np.uint16)
img = nib.Nifti1Image(u, im.affine)
img.header.set_slope_inter(slope, lo)
nib.save(img, tmp + "/scaled_uint16.nii.gz")
# A reference mask of normal marrow: the regions minus the (dilated) truth edema.
r = np.asarray(nib.load(roi).dataobj) > 0
e = ndimage.binary_dilation(np.asarray(nib.load(edema).dataobj) > 0, iterations=3)
ref = (r & ~e).astype(np.uint8)
nib.save(nib.Nifti1Image(ref, im.affine), tmp + "/reference.nii.gz")
# The same scan with everything outside the regions and reference replaced by noise.
keep = r | (ref > 0)
rng = np.random.default_rng(1)
b = np.where(keep, a, rng.uniform(0, 3 * a.max(), a.shape)).astype(np.float32)
nib.save(nib.Nifti1Image(b, im.affine), tmp + "/outside_noise.nii.gz")
# A mask on another grid (cropped by one slice).
nib.save(nib.Nifti1Image(np.asarray(nib.load(roi).dataobj)[..., 1:], im.affine), tmp + "/roi_cropped.nii.gz")
EOF

run() { # run NAME ARGS... -> $tmp/NAME/scans.csv
  local name=$1; shift
  "$bmeq" measure "$@" -o "$tmp/$name" > /dev/null || fail "measure $name exited $?"
}
run base "$scan"
run times7 "$tmp/times7.nii.gz"
run uint16 "$tmp/scaled_uint16.nii.gz"
run user "$scan" --roi "$roi" --reference "$tmp/reference.nii.gz"
run reader "$scan" --threshold-factor 1.3
run user_noise "$tmp/outside_noise.nii.gz" --roi "$roi" --reference "$tmp/reference.nii.gz"

/usr/bin/python3 - "$tmp" <<'EOF'
import csv, sys
tmp = sys.argv[1]
def table(name):
    return list(csv.DictReader(open("%s/%s/scans.csv" % (tmp, name), newline="")))
header = next(csv.reader(open(tmp + "/base/scans.csv", newline="")))
assert header == ["subject", "session", "side", "status", "region_ml", "edema_ml", "edema_ml_low",
                  "edema_ml_high", "edema_fraction", "head_ml", "head_edema_ml", "neck_ml",
                  "neck_edema_ml", "lesions", "largest_lesion_ml", "reference_intensity", "threshold",
                  "threshold_rule", "threshold_source", "edema_to_reference_ratio", "regions_from",
                  "edema_removed_by_t1_ml", "t1_shift_mm", "t1_angle_deg", "fat_suppression", "fat_to_muscle", "protocol_source", "fluid_fat_suppressed",
        "series_description", "scanning_sequence", "sequence_variant", "scan_options",
        "inversion_time_ms", "echo_time_ms", "repetition_time_ms", "field_strength_t",
        "slice_thickness_mm", "slice_spacing_mm", "manufacturer", "model", "scan",
                  "message"], header
base = table("base")
assert [r["side"] for r in base] == ["right", "left"], base
assert all(r["status"] == "ok" for r in base), base
assert base[0]["subject"] == "sub-01" and base[0]["session"] == "ses-01", base[0]
assert sum(float(r["edema_ml"]) for r in base) > 1.0, "the phantom subject has edema"
# The range: the rule's factor +-10 %; the higher threshold gives the lower volume.
for r in base:
    lo, ml, hi = float(r["edema_ml_low"]), float(r["edema_ml"]), float(r["edema_ml_high"])
    assert lo <= ml <= hi, r
    assert r["threshold_source"] == "auto", r
assert sum(float(r["edema_ml_high"]) - float(r["edema_ml_low"]) for r in base) > 0, base
# A reader's factor: the rule's kind with that factor, source reader, another volume; a lower
# factor than the automatic rule's finds more edema.
reader = table("reader")
for b, r in zip(base, reader):
    assert r["threshold_source"] == "reader", r
    assert "1.3" in r["threshold_rule"] and r["threshold_rule"] != b["threshold_rule"], r
    assert float(r["threshold"]) < float(b["threshold"]), (r["threshold"], b["threshold"])
    assert float(r["edema_ml"]) >= float(b["edema_ml"]), (r["edema_ml"], b["edema_ml"])
    assert float(r["edema_ml_low"]) <= float(r["edema_ml"]) <= float(r["edema_ml_high"]), r
assert sum(float(r["edema_ml"]) for r in reader) > sum(float(r["edema_ml"]) for r in base)
for name in ("times7", "uint16"):
    for b, o in zip(base, table(name)):
        for col in ("edema_ml", "region_ml", "head_edema_ml", "neck_edema_ml"):
            x, y = float(b[col]), float(o[col])
            assert abs(x - y) <= 0.01 * max(x, 1.0), (name, b["side"], col, x, y)
# With --roi and --reference the image outside them does not matter.
u, n = table("user"), table("user_noise")
for a, b in zip(u, n):
    for col in ("region_ml", "edema_ml", "head_edema_ml", "neck_edema_ml", "lesions",
                "reference_intensity", "threshold"):
        assert a[col] == b[col], (col, a[col], b[col])
print("measure invariances hold")
EOF

# A mask on another grid is refused with one line and exit 3.
rc=0
"$bmeq" measure "$scan" --roi "$tmp/roi_cropped.nii.gz" -o "$tmp/bad" 2> "$tmp/bad.err" > /dev/null || rc=$?
[ "$rc" = 3 ] || fail "--roi on another grid: exit $rc, expected 3"
grep -q "grid" "$tmp/bad.err" || fail "no grid message: $(cat "$tmp/bad.err")"
[ "$(wc -l < "$tmp/bad.err")" = 1 ] || fail "not one line: $(cat "$tmp/bad.err")"
# A bad reader's factor is a usage error (exit 2) naming the option.
for k in abc 0 -2 101 nan; do
  rc=0
  "$bmeq" measure "$scan" --threshold-factor "$k" -o "$tmp/badk" 2> "$tmp/badk.err" > /dev/null || rc=$?
  [ "$rc" = 2 ] || fail "--threshold-factor $k: exit $rc, expected 2"
  grep -q -- "--threshold-factor" "$tmp/badk.err" || fail "no option in: $(cat "$tmp/badk.err")"
done
echo "measure tests passed"
