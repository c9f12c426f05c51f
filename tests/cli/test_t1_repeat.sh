#!/usr/bin/env bash
# test_t1_repeat.sh BMEQ DATA TMP - the T1 path repeats exactly (issue 17). The T1's
# registration evaluates its metric on at most 5,000 random points per level, drawn from a
# fixed seed, and the gate reads the T1 only over the regions' box: measured again, and
# with one or two workers, a phantom study with T1 twins gives byte-identical tables,
# scan records (but for the run time), region and edema maps; `measure --t1` twice gives
# the same scans.csv. Every scan's T1 must have been registered (else nothing was tested).
# About 80 s (three batches of four scans with their comparisons and reports).
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
tables="scans.csv lesions.csv response.csv response_interval.csv"
# shellcheck source=same_outputs.sh
. "$(dirname "$0")/same_outputs.sh"

"$bmeq" phantom -o "$tmp/study" --subjects 2 --sessions 2 --seed 5 --t1 >/dev/null
for run in j1:1 j1b:1 j2:2; do
  "$bmeq" batch "$tmp/study/manifest.csv" -o "$tmp/${run%%:*}" -j "${run#*:}" --quiet >/dev/null ||
    fail "batch -j ${run#*:} exited $?"
done

# Every row measured, each with a registered T1 (t1_shift_mm filled in).
/usr/bin/python3 - "$tmp/j1/scans.csv" <<'EOF' || fail "the T1 path did not run on every scan"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 8, len(rows)
for r in rows:
    assert r["status"] == "ok", (r["subject"], r["session"], r["status"], r["message"])
    assert r["t1_shift_mm"] != "" and r["edema_removed_by_t1_ml"] != "", r
EOF

same_tables "$tmp/j1" "$tmp/j1b"
same_tables "$tmp/j1" "$tmp/j2"
n=0
while IFS= read -r f; do
  rel=${f#"$tmp/j1/"}
  for other in j1b j2; do
    case $f in
    *scan_record.csv)
      cmp -s <(grep -v '^seconds,' "$f") <(grep -v '^seconds,' "$tmp/$other/$rel") ||
        fail "$rel differs between j1 and $other" ;;
    *) cmp -s "$f" "$tmp/$other/$rel" || fail "$rel differs between j1 and $other" ;;
    esac
  done
  n=$((n + 1))
done < <(find "$tmp/j1" -name scan_record.csv -o -name '*_roi.nii.gz' -o -name '*_edema.nii.gz')
[ "$n" -ge 12 ] || fail "only $n records and maps compared"
grep -q '^t1_transform,' "$(find "$tmp/j1" -name scan_record.csv | head -1)" ||
  fail "no t1_transform in the scan records"

# measure --t1, twice.
stir=$tmp/study/sub-01/ses-02/anat/sub-01_ses-02_acq-STIR_T2w.nii.gz
t1=$tmp/study/sub-01/ses-02/anat/sub-01_ses-02_T1w.nii.gz
for m in m1 m2; do
  "$bmeq" measure "$stir" --t1 "$t1" -o "$tmp/$m" >/dev/null 2>&1 || fail "measure --t1 ($m) exited $?"
done
tables="scans.csv lesions.csv" same_tables "$tmp/m1" "$tmp/m2"
[ "$(wc -l < "$tmp/m1/scans.csv")" -eq 3 ] || fail "measure --t1: not one row per side"
echo "T1 path: 3 batches and 2 measures identical ($n records and maps)"
rm -rf "$tmp"
