#!/usr/bin/env bash
# A reader's corrected regions fed back (issue 18, item 3). A phantom subject's three visits
# (about 2 minutes: seven batch runs, each drawing the report). The second visit: its _roi.nii.gz edited (the necks erased, as a reader would
# in ITK-SNAP) and saved under OUT/corrections/01/02/. `bmeq batch --resume` then measures
# that scan again and no other, and redoes the two comparisons that use it (01/02 against the
# baseline, 01/03 against its previous visit) and no other: every other scan record,
# comparison record and change map keeps its (backdated) time, provenance.json counts what
# was reused. The rows of the corrected scan say regions_from=correction and come from the
# corrected regions; every other row is the first run's. A correction with a label bmeq does
# not know, on another grid, or two maps in one folder: an error row for that scan alone
# (exit 6), nothing else rewritten. A corrected map named in the manifest's roi column: the
# same, regions_from=user. Removing the correction brings back the first run's tables.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
cd "$tmp"

"$bmeq" phantom -o study --subjects 1 --sessions 3 --seed 5 >/dev/null
sed '1!s|^\([^,]*\),\([^,]*\),|\1,\2,study/|' study/manifest.csv > manifest.csv
"$bmeq" batch manifest.csv -o out -j 2 --quiet >/dev/null || fail "batch exit $?"
mkdir first && cp out/*.csv first/
stem=$(grep '^stem,' out/01/02/scan_record.csv | cut -d, -f2 | tr -d '\r')
[ -f out/01/03/change_record.csv ] && [ -f out/01/03/change_previous_record.csv ] ||
  fail "no comparison records in out/01/03"

# Every record and map of the run, backdated: a file measured or compared again gets a new time.
backdate() {
  find out -mindepth 2 \( -name '*record.csv' -o -name '*.part.csv' -o -name '*.nii.gz' \) \
    -not -path 'out/corrections/*' -exec touch -d '2000-01-01' {} +
}
# The files (under out/) whose time is not the backdated one.
rewritten() {
  find out -mindepth 2 \( -name '*record.csv' -o -name '*.part.csv' -o -name '*.nii.gz' \) \
    -not -path 'out/corrections/*' -newermt '2000-01-02' | sort
}

edit() {  # MODE [DEST]: the corrected map, from bmeq's regions of 01/02
  local dst=${2:-out/corrections/01/02/${stem}_roi_AB.nii.gz}
  mkdir -p "$(dirname "$dst")"
  /usr/bin/python3 - "first_roi.nii.gz" "$dst" "$1" <<'EOF2'
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
cp "out/01/02/${stem}_roi.nii.gz" first_roi.nii.gz

# --- a correction: only 01/02 and the comparisons using it are redone --------------------
edit necks
backdate
"$bmeq" batch manifest.csv -o out --resume -j 2 2>err >/dev/null || fail "resume exit $?: $(cat err)"
got=$(rewritten | tr '\n' ' ')
# The corrected scan's pictures are drawn again (its pictures_record.csv); 01/03's change
# picture is drawn on the baseline, which did not change, and is kept.
want="out/01/02/change_record.csv out/01/02/lesions.part.csv out/01/02/pictures_record.csv \
out/01/02/scan_record.csv \
out/01/02/scans.part.csv out/01/02/${stem}_change.nii.gz out/01/02/${stem}_edema.nii.gz \
out/01/02/${stem}_roi.nii.gz out/01/03/change_previous_record.csv \
out/01/03/sub-01_ses-03_acq-STIR_T2w_change_previous.nii.gz "
[ "$got" = "$want" ] || fail "rewritten after the correction:
  got:  $got
  want: $want"
/usr/bin/python3 - first out <<'EOF2'
import csv, json, sys
first, out = sys.argv[1:]
rows = lambda d, n: list(csv.DictReader(open(f"{d}/{n}", newline="")))
a, b = rows(first, "scans.csv"), rows(out, "scans.csv")
assert len(a) == len(b) == 6
for x, y in zip(a, b):
    if (y["subject"], y["session"]) != ("01", "02"):
        assert x == y, (x, y)
        continue
    assert y["status"] == "ok" and y["regions_from"] == "correction", y
    assert float(y["neck_ml"]) == 0 and float(x["neck_ml"]) > 0, (x, y)
    assert abs(float(y["head_ml"]) - float(x["head_ml"])) < 0.01, (x, y)
# Comparisons that do not use 01/02 are the first run's rows.
for name, uses in (("response.csv", {"02"}), ("response_interval.csv", {"02", "03"})):
    ra, rb = rows(first, name), rows(out, name)
    assert len(ra) == len(rb) and ra, name
    for x, y in zip(ra, rb):
        if y["subject"] == "01" and y["session"] in uses:
            continue
        assert x == y, (name, x, y)
prov = json.load(open(f"{out}/provenance.json"))
s = prov["summary"]
assert (s["reused_by_resume"], s["comparisons"], s["comparisons_reused_by_resume"]) == (2, 3, 1), s
ins = {(i["subject"], i["session"]): i for i in prov["inputs"]}
c = ins[("01", "02")]
assert c["regions"] == "reader (correction)", c
assert c["correction"].endswith("corrections/01/02/" + c["correction"].split("/")[-1]), c
assert len(c["roi_sha256"]) == 64, c
for k, i in ins.items():
    if k != ("01", "02"):
        assert i["regions"] == "bmeq" and "correction" not in i, i
print("ok: the corrected scan and its two comparisons redone, nothing else")
EOF2
mkdir corrected && cp out/*.csv corrected/

# Nothing changed since: everything reused, the same tables.
backdate
"$bmeq" batch manifest.csv -o out --resume -j 2 --quiet >/dev/null || fail "second resume exit $?"
[ -z "$(rewritten)" ] || fail "a resume with nothing changed rewrote: $(rewritten | tr '\n' ' ')"
for f in scans lesions response response_interval; do
  cmp "corrected/$f.csv" "out/$f.csv" || fail "$f.csv differs when everything was reused"
done

# --- bad corrections: an error row for 01/02, nothing else rewritten ----------------------
for mode in label7 grid; do
  rm -f out/corrections/01/02/*
  edit $mode
  backdate
  rc=0
  "$bmeq" batch manifest.csv -o out --resume -j 2 --quiet >/dev/null 2>err || rc=$?
  [ "$rc" = 6 ] || fail "$mode: exit $rc, expected 6 (an error row)"
  # 01/03's response row changes (its early_retreatment flag reads 01/02's class), so its
  # pictures, keyed on its rows, are drawn again.
  rewritten | grep -v -e '^out/01/02/' -e '^out/01/03/change_previous_record.csv$' \
    -e '^out/01/03/pictures_record.csv$' && fail "$mode: a file of another scan or comparison rewritten"
  /usr/bin/python3 - first out "$mode" <<'EOF2'
import csv, sys
first, out, mode = sys.argv[1:]
rows = lambda d, n: list(csv.DictReader(open(f"{d}/{n}", newline="")))
for x, y in zip(rows(first, "scans.csv"), rows(out, "scans.csv")):
    if (y["subject"], y["session"]) == ("01", "02"):
        assert y["status"] == "error" and y["message"].startswith("correction "), y
        want = "unknown label 7" if mode == "label7" else "grid"
        assert want in y["message"], y["message"]
    else:
        assert x == y, (x, y)
for y in rows(out, "response.csv"):
    if (y["subject"], y["session"]) == ("01", "02"):
        assert y["response"] == "not_evaluable", y
EOF2
done

# Two maps in one correction folder: an error row saying so.
rm -f out/corrections/01/02/*
edit necks
cp "out/corrections/01/02/${stem}_roi_AB.nii.gz" out/corrections/01/02/second.nii.gz
rc=0
"$bmeq" batch manifest.csv -o out --resume --quiet >/dev/null 2>&1 || rc=$?
[ "$rc" = 6 ] || fail "two corrections: exit $rc"
grep -q "two label maps" out/scans.csv || fail "two corrections: no reason in scans.csv"

# --- the correction gone: bmeq's own regions, the first run's tables ----------------------
rm -rf out/corrections
"$bmeq" batch manifest.csv -o out --resume --quiet >/dev/null || fail "resume without corrections"
for f in scans lesions response response_interval; do
  cmp "first/$f.csv" "out/$f.csv" || fail "$f.csv differs once the correction is gone"
done

# --- the corrected map named in the manifest's roi column ---------------------------------
edit necks "$tmp/ab_roi.nii.gz"
/usr/bin/python3 - manifest.csv roi.csv "$tmp/ab_roi.nii.gz" <<'EOF2'
import csv, sys
src, dst, roi = sys.argv[1:]
rows = list(csv.reader(open(src, newline="")))
rows[0].insert(3, "roi")
for r in rows[1:]:
    r.insert(3, roi if (r[0], r[1]) == ("01", "02") else "")
csv.writer(open(dst, "w", newline="")).writerows(rows)
EOF2
backdate
"$bmeq" batch roi.csv -o out --resume -j 2 --quiet >/dev/null || fail "manifest roi: exit $?"
[ "$(rewritten | tr '\n' ' ')" = "$want" ] || fail "manifest roi: rewritten $(rewritten | tr '\n' ' ')"
/usr/bin/python3 - corrected out <<'EOF2'
import csv, json, sys
corrected, out = sys.argv[1:]
rows = lambda d, n: list(csv.DictReader(open(f"{d}/{n}", newline="")))
for x, y in zip(rows(corrected, "scans.csv"), rows(out, "scans.csv")):
    if (y["subject"], y["session"]) == ("01", "02"):
        assert y["regions_from"] == "user", y
        x = dict(x, regions_from="user")
    assert x == y, (x, y)
ins = {(i["subject"], i["session"]): i for i in json.load(open(f"{out}/provenance.json"))["inputs"]}
assert ins[("01", "02")]["regions"] == "reader (manifest roi)", ins[("01", "02")]
EOF2
echo "test_corrections: ok"
