#!/usr/bin/env bash
# Identifiers exactly as given and a reader's sign-off read back (issue 18).
# One phantom subject's two visits listed twice in a manifest, as "sub-99" (sessions
# "ses-01", "ses-02") and as "99 A" (sessions "1", "2"): every table keeps each label as
# written, the second gets a sanitised folder. Then `bmeq batch --resume --review`: a
# `review` column in scans.csv and both response tables (before the manifest's columns),
# nothing measured again, an excluded side not_evaluable with the reader's reason, the
# other rows unchanged; without --review the tables are the first run's. Bad review.csv
# lines stop the batch (exit 3) with one line naming the line.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
cd "$tmp"

"$bmeq" phantom -o study --subjects 1 --sessions 2 --seed 5 >/dev/null
{
  echo "subject,session,path,date,cycle"
  echo "sub-99,ses-01,study/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz,2024-12-12,0"
  echo "sub-99,ses-02,study/sub-01/ses-02/anat/sub-01_ses-02_acq-STIR_T2w.nii.gz,2025-01-23,1"
  echo "99 A,1,study/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz,2024-12-12,0"
  echo "99 A,2,study/sub-01/ses-02/anat/sub-01_ses-02_acq-STIR_T2w.nii.gz,2025-01-23,1"
} > manifest.csv
"$bmeq" batch manifest.csv -o out -j 2 --quiet >/dev/null || fail "batch exit $?"
[ -f out/sub-99/ses-02/scan_record.csv ] || fail "no folder out/sub-99/ses-02"
[ -f out/99_A/2/scan_record.csv ] || fail "no sanitised folder out/99_A/2"
mkdir first && cp out/*.csv first/

# Bad review files: exit 3, one line naming the file and the line, nothing written.
head='subject,session,side,decision,comment,reader,time'
bad() {
  local want=$1 line=$2 rc=0
  printf '%s\n%s\n' "$head" "$line" > bad.csv
  "$bmeq" batch manifest.csv -o out --resume --quiet --review bad.csv >/dev/null 2>err || rc=$?
  [ "$rc" = 3 ] || fail "bad review ($line): exit $rc, expected 3"
  [ "$(wc -l < err)" = 1 ] || fail "bad review ($line): $(cat err)"
  grep -q "bad.csv.*$want" err || fail "bad review ($line): $(cat err)"
}
bad 'line 2: subject "99" session' '99,1,right,accepted,,AB,2026-01-02T10:00:00Z'
bad 'line 2: decision "maybe"' 'sub-99,ses-01,right,maybe,,AB,2026-01-02T10:00:00Z'
bad 'line 2: side "both"' 'sub-99,ses-01,both,accepted,,AB,2026-01-02T10:00:00Z'
bad 'line 2: time' 'sub-99,ses-01,right,accepted,,AB,02/01/2026'
cmp first/scans.csv out/scans.csv || fail "a refused review changed scans.csv"

cat > review.csv <<'EOR'
subject,session,side,decision,comment,reader,time
sub-99,ses-01,right,accepted,,AB,2026-01-02T10:00:00.000Z
sub-99,ses-02,left,excluded,"motion, both slabs",AB,2026-01-02T10:01:00.000Z
99 A,2,right,needs_correction,neck region too short,CD,2026-01-02T10:02:00.000Z
EOR
"$bmeq" batch manifest.csv -o out --resume -j 2 --review review.csv 2>err >/dev/null ||
  fail "batch --review exit $?: $(cat err)"
grep -q "4 reused" err || fail "--review measured scans again: $(cat err)"

/usr/bin/python3 - first out <<'EOF2'
import csv, sys
first, out = sys.argv[1:]
def rows(d, name):
    with open(f"{d}/{name}", newline="") as f:
        r = csv.reader(f)
        head = next(r)
        return head, [dict(zip(head, x)) for x in r]
for name in ("scans.csv", "response.csv", "response_interval.csv", "lesions.csv"):
    h0, r0 = rows(first, name)
    h1, r1 = rows(out, name)
    assert {r["subject"] for r in r0} == {"sub-99", "99 A"}, (name, {r["subject"] for r in r0})
    if name == "lesions.csv":
        assert h0 == h1 and r0 == r1, "lesions.csv changed"
        continue
    sess = {r["session"] for r in r0}
    assert sess == ({"ses-02", "2"} if name.startswith("response") else {"ses-01", "ses-02", "1", "2"}), sess
    assert "review" not in h0, (name, h0)
    # review comes after bmeq's columns, before the manifest's.
    assert h1 == h0[:h0.index("cycle")] + ["review"] + h0[h0.index("cycle"):], (name, h1)
    assert len(r0) == len(r1)
    for a, b in zip(r0, r1):
        key = (b["subject"], b["session"], b["side"])
        want = {("sub-99", "ses-01", "right"): "accepted", ("sub-99", "ses-02", "left"): "excluded",
                ("99 A", "2", "right"): "needs_correction"}.get(key, "")
        assert b["review"] == want, (name, key, b["review"])
        excluded = name.startswith("response") and key == ("sub-99", "ses-02", "left")
        if excluded:
            assert b["response"] == "not_evaluable", b
            assert "excluded by reader AB: motion, both slabs" in b["message"], b["message"]
            assert a["response"] != "not_evaluable", a
        else:
            del b["review"]
            assert a == b, (name, a, b)
print("ok review")
EOF2

# Without --review the tables are the first run's again.
"$bmeq" batch manifest.csv -o out --resume --quiet >/dev/null
for f in scans response response_interval; do
  cmp "first/$f.csv" "out/$f.csv" || fail "$f.csv differs without --review"
done
echo "test_review: ok"
