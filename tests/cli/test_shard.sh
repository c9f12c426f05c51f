#!/usr/bin/env bash
# bmeq batch --shard K/N and bmeq merge on one machine: the study (three phantom subjects
# with two visits, plus a subject whose scan is missing) run as 2 shards and merged gives
# tables byte-identical to one batch run and the same provenance but for host, timings
# and jobs (report.html and QC pictures identical too); 5 shards (one of them empty) merge the same; subjects are never split; merge
# refuses missing, repeated, unfinished, foreign and differently configured shards.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
tables="scans.csv lesions.csv response.csv response_interval.csv report.html"
# shellcheck source=same_outputs.sh
. "$(dirname "$0")/same_outputs.sh"
# expect CODE TEXT cmd...: cmd exits CODE and says TEXT on stderr.
expect() {
  local code=$1 text=$2 rc=0
  shift 2
  "$@" >/dev/null 2>"$tmp/err" || rc=$?
  [ "$rc" = "$code" ] || { cat "$tmp/err" >&2; fail "$* exited $rc, expected $code"; }
  grep -q -- "$text" "$tmp/err" || { cat "$tmp/err" >&2; fail "$*: no '$text' in the message"; }
}

"$bmeq" phantom -o "$tmp/study" --subjects 3 --sessions 2 --seed 3 >/dev/null
m=$tmp/study/manifest.csv
echo "04,01,sub-04/ses-01/anat/missing.nii.gz,2024-10-01,0,0.0" >>"$m"

rc=0
"$bmeq" batch "$m" -o "$tmp/single" -j 2 --quiet >/dev/null || rc=$?
[ "$rc" = 6 ] || fail "single run exited $rc, expected 6 (one scan missing)"

# 1. Two shards, merged in either order.
for k in 1 2; do
  rc=0
  "$bmeq" batch "$m" -o "$tmp/s2-$k" --shard "$k/2" -j 1 --quiet >"$tmp/stdout" || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 6 ] || fail "shard $k/2 exited $rc"
  grep -qx "$tmp/s2-$k/shard.csv" "$tmp/stdout" || fail "shard $k/2 does not list shard.csv"
done
rc=0
"$bmeq" merge "$tmp/s2-2" "$tmp/s2-1" -o "$tmp/m2" --quiet >/dev/null || rc=$?
[ "$rc" = 6 ] || fail "merge exited $rc, expected 6 (the failed scan is carried through)"
same_tables "$tmp/single" "$tmp/m2"
same_provenance "$tmp/single" "$tmp/m2"
# Every scan folder is in the merged output, change maps included.
for d in "$tmp"/single/0*/0*; do
  rel=${d#"$tmp/single/"}
  for f in "$d"/*; do
    [ -f "$tmp/m2/$rel/$(basename "$f")" ] || fail "merged output lacks $rel/$(basename "$f")"
  done
done
ls "$tmp"/m2/01/02/*_change.nii.gz >/dev/null || fail "no change map in the merged output"
n=0
for f in "$tmp"/single/*/*/*_qc.png; do
  cmp -s "$f" "$tmp/m2/${f#"$tmp/single/"}" || fail "QC picture ${f#"$tmp/single/"} differs"
  n=$((n + 1))
done
[ "$n" -ge 9 ] || fail "only $n QC pictures in the single run"
# The viewer's slice mosaics and the study figures are the single run's too.
n=0
for f in "$tmp"/single/*/*/*_slices*.png "$tmp"/single/figures/*.png "$tmp"/single/study_summary.csv; do
  cmp -s "$f" "$tmp/m2/${f#"$tmp/single/"}" || fail "${f#"$tmp/single/"} differs after merge"
  n=$((n + 1))
done
[ "$n" -ge 20 ] || fail "only $n slice mosaics and figures in the single run"
# --no-pictures keeps the shards' pictures: same tables and pictures; the page lacks only
# the reason for the failed scan's missing picture.
"$bmeq" merge "$tmp/s2-1" "$tmp/s2-2" -o "$tmp/m2np" --no-pictures --quiet >/dev/null || [ $? = 6 ] ||
  fail "merge --no-pictures"
for t in $tables; do
  [ "$t" = report.html ] || cmp -s "$tmp/single/$t" "$tmp/m2np/$t" || fail "--no-pictures: $t differs"
done
grep -q "01" "$tmp/m2np/report.html" || fail "--no-pictures: no report.html"
for f in "$tmp"/single/*/*/*_qc.png; do
  cmp -s "$f" "$tmp/m2np/${f#"$tmp/single/"}" || fail "--no-pictures: ${f#"$tmp/single/"} differs"
done

# Shards run again with --resume reuse their scans and comparisons; the merge counts both.
for k in 1 2; do
  "$bmeq" batch "$m" -o "$tmp/s2-$k" --shard "$k/2" -j 1 --resume --quiet >/dev/null || [ $? = 6 ] ||
    fail "shard $k/2 --resume"
done
"$bmeq" merge "$tmp/s2-1" "$tmp/s2-2" -o "$tmp/m2r" --no-pictures --quiet >/dev/null || [ $? = 6 ] ||
  fail "merge of resumed shards"
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
t = sys.argv[1]
def summary(d):
    return json.load(open(f"{t}/{d}/provenance.json"))["summary"]
m = summary("m2r")
for key in ("reused_by_resume", "comparisons_reused_by_resume"):
    shards = sum(summary(f"s2-{k}")[key] for k in (1, 2))
    assert shards > 0 and m[key] == shards, (key, m[key], shards)
PY

# Shards hold whole subjects, disjoint, covering the study, balanced (4 and 3 scans).
/usr/bin/python3 - "$tmp" <<'PY'
import csv, sys
t = sys.argv[1]
def subjects(d):
    return [r["subject"] for r in csv.DictReader(open(f"{t}/{d}/scans.csv", newline=""))]
a, b = subjects("s2-1"), subjects("s2-2")
assert not set(a) & set(b), (a, b)
assert sorted(set(a) | set(b)) == ["01", "02", "03", "04"], (a, b)
def scans(d):
    return int(dict(csv.reader(open(f"{t}/{d}/shard.csv", newline="")))["scans"])
assert sorted([scans("s2-1"), scans("s2-2")]) == [3, 4], (scans("s2-1"), scans("s2-2"))
PY

# 2. Five shards for four subjects: one shard is empty, the merge is the same.
for k in 1 2 3 4 5; do
  "$bmeq" batch "$m" -o "$tmp/s5-$k" --shard "$k/5" -j 1 --quiet >/dev/null || [ $? = 6 ] ||
    fail "shard $k/5 failed"
done
empty=0
for k in 1 2 3 4 5; do
  [ "$(wc -l <"$tmp/s5-$k/scans.csv")" = 1 ] && empty=$((empty + 1))
done
[ "$empty" = 1 ] || fail "expected exactly one empty shard of 5, got $empty"
"$bmeq" merge "$tmp"/s5-{5,3,1,4,2} -o "$tmp/m5" --quiet >/dev/null || [ $? = 6 ] || fail "merge of 5"
same_tables "$tmp/single" "$tmp/m5"
same_provenance "$tmp/single" "$tmp/m5"

# 3. Refusals (exit 3 unless said otherwise), with a message that says why.
expect 3 "shard 2/2 is missing" "$bmeq" merge "$tmp/s2-1" -o "$tmp/bad"
expect 3 "both shard 1/2" "$bmeq" merge "$tmp/s2-1" "$tmp/s2-1" -o "$tmp/bad"
expect 3 "not shards of one split" "$bmeq" merge "$tmp/s2-1" "$tmp/s5-2" -o "$tmp/bad"
expect 2 "one of the shard folders" "$bmeq" merge "$tmp/s2-1" "$tmp/s2-2" -o "$tmp/s2-1"
expect 3 "not a finished shard" "$bmeq" merge "$tmp/s2-1" "$tmp/single" -o "$tmp/bad"
cp -r "$tmp/s2-2" "$tmp/unfinished" && rm "$tmp/unfinished/shard.csv"
expect 3 "not a finished shard" "$bmeq" merge "$tmp/s2-1" "$tmp/unfinished" -o "$tmp/bad"
# Another study (only the subject without a scan: its shard 2/2 is empty and instant).
head -n 1 "$m" >"$tmp/study/other.csv" && tail -n 1 "$m" >>"$tmp/study/other.csv"
k2=$(/usr/bin/python3 -c "import csv,sys; print(dict(csv.reader(open(sys.argv[1])))['shard'])" "$tmp/s2-2/shard.csv")
"$bmeq" batch "$tmp/study/other.csv" -o "$tmp/other" --shard 2/2 -j 1 --quiet >/dev/null ||
  fail "shard of the other study"
expect 3 "different studies" "$bmeq" merge "$tmp/s2-1" "$tmp/other" -o "$tmp/bad"
# Other parameters (a shard.csv as another configuration would have written it).
cp -r "$tmp/s2-2" "$tmp/otherparams"
sed -i 's/rule=median\*1\.46;/rule=median*2.5;/' "$tmp/otherparams/shard.csv"
grep -q 'median\*2.5' "$tmp/otherparams/shard.csv" || fail "could not make the other-parameters shard"
expect 3 "different parameters" "$bmeq" merge "$tmp/s2-1" "$tmp/otherparams" -o "$tmp/bad"
# A damaged study table.
cp -r "$tmp/s2-1" "$tmp/damaged" && echo "x" >>"$tmp/damaged/shard_study.csv"
expect 3 "changed since the shard finished" "$bmeq" merge "$tmp/damaged" "$tmp/s2-2" -o "$tmp/bad"
[ "$k2" = 2 ] || fail "shard.csv says shard $k2, expected 2"
[ ! -e "$tmp/bad/scans.csv" ] || fail "a refused merge wrote tables"

# 4. Usage errors.
for bad in 0/2 3/2 1/0 a/b 1/2x 2; do
  expect 2 "--shard" "$bmeq" batch "$m" -o "$tmp/u" --shard "$bad"
done
expect 2 "need shard folders" "$bmeq" merge -o "$tmp/u"
expect 2 "need shard folders" "$bmeq" merge "$tmp/s2-1"
"$bmeq" merge --help | grep -q "usage: bmeq merge" || fail "merge --help"
echo "shard/merge: all checks passed"
