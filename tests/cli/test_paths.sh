#!/usr/bin/env bash
# test_paths.sh BMEQ DATA TMP - long output paths: a path that fits PATH_MAX (an output
# folder of 4,000 characters) is written under its full name by measure, segment (-o,
# --output and its older alias --out), compare and batch; one that does not fit is a
# one-line `path too long` error with exit 4 (an output could not be written) and no file
# under a cut name, never a silently shortened path.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
bmeq=$(cd "$(dirname "$bmeq")" && pwd)/$(basename "$bmeq")

"$bmeq" phantom -o "$tmp/study" --subjects 1 --sessions 2 --seed 3 > /dev/null
scan=$tmp/study/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz
scan2=$tmp/study/sub-01/ses-02/anat/sub-01_ses-02_acq-STIR_T2w.nii.gz

# long N: a relative folder path of exactly N characters (components of 199 characters:
# each name within NAME_MAX).
long() {
  /usr/bin/python3 -c '
import sys
n = int(sys.argv[1]); parts = []; left = n
while left > 200:
    parts.append("d" * 199); left -= 200
parts.append("e" * left)
p = "/".join(parts); assert len(p) == n; print(p)' "$1"
}
cd "$tmp"
p4000=$(long 4000)

# 1. 4,000 characters fit: every file under its full name.
"$bmeq" measure "$scan" -o "$p4000" > /dev/null 2> err || fail "measure -o <4000>: $(cat err)"
for f in scans.csv lesions.csv sub-01_ses-01_acq-STIR_T2w_roi.nii.gz sub-01_ses-01_acq-STIR_T2w_edema.nii.gz; do
  [ -f "$p4000/$f" ] || fail "measure: $f missing under the 4000-character folder"
done
"$bmeq" segment "$scan" --output "$p4000/seg" > /dev/null 2> err || fail "segment --output: $(cat err)"
[ -f "$p4000/seg/sub-01_ses-01_acq-STIR_T2w_segment.csv" ] || fail "segment: CSV missing"
"$bmeq" segment "$scan" --out "$p4000/seg2" > /dev/null 2> err || fail "segment --out: $(cat err)"
cmp "$p4000/seg/sub-01_ses-01_acq-STIR_T2w_segment.csv" \
    "$p4000/seg2/sub-01_ses-01_acq-STIR_T2w_segment.csv" || fail "--out and --output differ"
"$bmeq" compare "$scan" "$scan2" -o "$p4000/cmp" > /dev/null 2> err || fail "compare: $(cat err)"
[ -f "$p4000/cmp/response.csv" ] || fail "compare: response.csv missing"
"$bmeq" batch "$tmp/study/manifest.csv" -o "$p4000/b" -j 2 --quiet > /dev/null 2> err ||
  fail "batch -o <4000+>: $(cat err)"
[ -f "$p4000/b/01/02/sub-01_ses-02_acq-STIR_T2w_change.nii.gz" ] || fail "batch: change map missing"
[ -f "$p4000/b/report.html" ] || fail "batch: report missing"

# 2. Too long: one line, exit 4, nothing written under a cut name.
p4090=$(long 4090)
expect_too_long() { # WHAT CMD...: exit 4 and one `path too long` line
  local what=$1 rc=0
  shift
  "$@" > /dev/null 2> err || rc=$?
  [ "$rc" = 4 ] || fail "$what: exit $rc, want 4: $(cat err)"
  [ "$(wc -l < err)" = 1 ] || fail "$what: not one line: $(cat err)"
  grep -q "^bmeq: [a-z]*: .*path too long" err || fail "$what: message: $(cat err)"
}
before=$(find . -type f | wc -l)
expect_too_long "measure" "$bmeq" measure "$scan" -o "$p4090"
expect_too_long "segment" "$bmeq" segment "$scan" -o "$p4090"
expect_too_long "compare" "$bmeq" compare "$scan" "$scan2" -o "$p4090"
expect_too_long "batch" "$bmeq" batch "$tmp/study/manifest.csv" -o "$p4090" --quiet
expect_too_long "phantom" "$bmeq" phantom -o "$p4090" --subjects 1 --sessions 1
after=$(find . -type f | wc -l)
[ "$before" = "$after" ] || fail "files were written: $(find . -type f -newer err | head -3)"
echo "ok: 4000-character output paths written whole; longer ones refused with exit 4"
