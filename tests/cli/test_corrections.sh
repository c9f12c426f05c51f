#!/usr/bin/env bash
# A reader's corrected regions fed back (issue 18, item 3): one phantom subject's two visits;
# the follow-up's _roi.nii.gz edited (its necks erased, as a reader would in ITK-SNAP) and
# saved under OUT/corrections/<subject>/<session>/; `bmeq batch --resume` measures that scan
# again and no other (the baseline's record is byte-identical and not rewritten), the
# follow-up's rows come from the corrected regions and say so, provenance.json names the
# correction; the response is redone from it. A correction on another grid or with a label
# bmeq does not know is an error row for that scan alone; removing the correction restores
# the first run's tables.
set -euo pipefail
bmeq=$1 data=$2 tmp=$3
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

"$bmeq" phantom -o study --subjects 1 --sessions 2 --seed 5 >/dev/null
sed 's|^\([^,]*\),\([^,]*\),|\1,\2,study/|' study/manifest.csv > manifest.csv
"$bmeq" batch manifest.csv -o out -j 2 --quiet >/dev/null || fail "batch exit $?"
mkdir first && cp out/*.csv first/
cp out/01/01/scan_record.csv base_record.csv
stem=$(grep '^stem,' out/01/02/scan_record.csv | cut -d, -f2)

edit() {  # edit.py MODE: writes the corrected map into out/corrections/01/02/
  mkdir -p out/corrections/01/02
  /usr/bin/python3 - "out/01/02/${stem}_roi.nii.gz" "out/corrections/01/02/${stem}_roi_AB.nii.gz" "$1" <<'EOF2'
import sys
import nibabel as nib, numpy as np
src, dst, mode = sys.argv[1:]
img = nib.load(src)
lab = np.asarray(img.dataobj).astype(np.uint8)
if mode == "necks":
    lab[lab >= 3] = 0
elif mode == "label7":
    lab[lab == 3] = 7
elif mode == "grid":
    lab = lab[:-4]
out = nib.Nifti1Image(lab, img.affine)
out.set_qform(img.affine, 1); out.set_sform(img.affine, 1)
nib.save(out, dst)
EOF2
}

edit necks
touch -d '2000-01-01' out/01/01/scan_record.csv
"$bmeq" batch manifest.csv -o out --resume -j 2 2>err >/dev/null || fail "resume exit $?: $(cat err)"
grep -q "1 reused" err || fail "not exactly one scan reused: $(cat err)"
cmp base_record.csv out/01/01/scan_record.csv || fail "the baseline's record changed"
[ "$(stat -c %Y out/01/01/scan_record.csv)" = "$(date -d 2000-01-01 +%s)" ] ||
  fail "the baseline was measured again"
/usr/bin/python3 - first out <<'EOF2'
import csv, json, sys
first, out = sys.argv[1:]
rows = lambda d, n: list(csv.DictReader(open(f"{d}/{n}", newline="")))
a, b = rows(first, "scans.csv"), rows(out, "scans.csv")
for x, y in zip(a, b):
    if y["session"] == "01":
        assert x == y, (x, y)
        continue
    assert y["status"] == "ok" and float(y["neck_ml"]) == 0 and float(x["neck_ml"]) > 0, (x, y)
    assert abs(float(y["head_ml"]) - float(x["head_ml"])) < 0.01, (x, y)
    assert "regions drawn by a reader (corrections: " in y["message"], y["message"]
ra, rb = rows(first, "response.csv"), rows(out, "response.csv")
assert [r["side"] for r in rb] == ["right", "left"]
prov = json.load(open(f"{out}/provenance.json"))
ins = {(i["subject"], i["session"]): i for i in prov["inputs"]}
assert ins[("01", "02")]["regions"] == "reader (correction)", ins[("01", "02")]
assert ins[("01", "02")]["correction"].endswith("corrections/01/02/" +
    ins[("01", "02")]["correction"].split("/")[-1]), ins[("01", "02")]
assert len(ins[("01", "02")]["roi_sha256"]) == 64
assert ins[("01", "01")]["regions"] == "bmeq", ins[("01", "01")]
print("ok: corrected necks measured, baseline reused")
EOF2

for mode in label7 grid; do
  rm -f out/corrections/01/02/*
  edit $mode
  rc=0
  "$bmeq" batch manifest.csv -o out --resume -j 2 --quiet >/dev/null 2>err || rc=$?
  [ "$rc" = 6 ] || fail "$mode: exit $rc, expected 6 (an error row)"
  /usr/bin/python3 - out "$mode" <<'EOF2'
import csv, sys
out, mode = sys.argv[1:]
rows = list(csv.DictReader(open(f"{out}/scans.csv", newline="")))
for r in rows:
    if r["session"] == "02":
        assert r["status"] == "error" and r["message"].startswith("correction "), r
        assert ("unknown label 7" if mode == "label7" else "grid") in r["message"], r["message"]
    else:
        assert r["status"] == "ok", r
EOF2
done
cmp base_record.csv out/01/01/scan_record.csv || fail "a bad correction touched the baseline"

# Two maps in one correction folder: an error row saying so.
edit necks
cp "out/corrections/01/02/${stem}_roi_AB.nii.gz" out/corrections/01/02/second.nii.gz
rc=0
"$bmeq" batch manifest.csv -o out --resume --quiet >/dev/null 2>&1 || rc=$?
[ "$rc" = 6 ] || fail "two corrections: exit $rc"
grep -q "two label maps" out/scans.csv || fail "two corrections: no reason in scans.csv"

rm -rf out/corrections
"$bmeq" batch manifest.csv -o out --resume --quiet >/dev/null || fail "resume without corrections"
for f in scans lesions response response_interval; do
  cmp "first/$f.csv" "out/$f.csv" || fail "$f.csv differs once the correction is gone"
done
echo "test_corrections: ok"
