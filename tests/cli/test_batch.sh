#!/usr/bin/env bash
# bmeq batch end to end on a small phantom study with bad scans mixed in:
#   failure isolation (status=error rows, exit 6, the rest measured), identical tables
#   for -j 1 and -j 2, SIGKILL part-way then --resume gives identical tables, --resume
#   reuses finished scans, a second batch on a locked OUT is refused, manifest columns
#   are carried through, bad manifests refuse to start, failing writes and SIGTERM stop
#   it cleanly; the volume's range and a reader's threshold factor (manifest column,
#   resumed per scan), uncertain responses, threshold.band.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
tables="scans.csv lesions.csv response.csv response_interval.csv"
# shellcheck source=same_outputs.sh
. "$(dirname "$0")/same_outputs.sh"

"$bmeq" phantom -o "$tmp/study" --subjects 2 --sessions 2 --seed 11 >/dev/null

# Bad inputs, each its own subject so the good subjects' comparisons are untouched.
bad=$tmp/bad
mkdir -p "$bad"
cp "$data/nifti_reader_js/not-nifti.nii" "$bad/not_nifti.nii"
cp "$data/derived/truncated_gzip_stream.nii.gz" "$bad/truncated.nii.gz"
cp "$data/nibabel/example4d.nii.gz" "$bad/four_d.nii.gz"
/usr/bin/python3 - "$bad" <<'EOF'
import sys, numpy as np, nibabel as nib
d = sys.argv[1]
aff = np.diag([0.8, 0.8, 4.0, 1.0])
nib.save(nib.Nifti1Image(np.zeros((64, 64, 8), np.int16), aff), d + "/all_zero.nii.gz")
a = np.full((64, 64, 8), 100, np.float32); a[3, 3, 3] = np.nan
nib.save(nib.Nifti1Image(a, aff), d + "/nan.nii.gz")
nib.save(nib.Nifti1Image(np.ones((64, 64, 1), np.int16), aff), d + "/single_slice.nii.gz")
EOF
{
  echo "subject,session,path,date,cycle,harris_hip_score"
  tail -n +2 "$tmp/study/manifest.csv" | while IFS=, read -r s ses p date cycle dose; do
    echo "$s,$ses,study/$p,$date,$cycle,\"29,90\""
  done
  echo "b1,01,bad/missing.nii.gz,,0,"
  echo "b2,01,bad/not_nifti.nii,,0,"
  echo "b3,01,bad/truncated.nii.gz,,0,"
  echo "b4,01,bad/four_d.nii.gz,,0,"
  echo "b5,01,bad/all_zero.nii.gz,,0,"
  echo "b6,01,bad/nan.nii.gz,,0,"
  echo "b7,01,bad/single_slice.nii.gz,,0,"
} > "$tmp/manifest.csv"

# 1. Failure isolation and -j 1.
rc=0
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out1" -j 1 --quiet > /dev/null || rc=$?
[ "$rc" = 6 ] || fail "exit code $rc, expected 6 (some scans failed)"
/usr/bin/python3 - "$tmp/out1" <<'EOF'
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/scans.csv", newline="")))
cols = list(csv.reader(open(out + "/scans.csv", newline="")))[0]
want = ["subject", "session", "side", "status", "region_ml", "edema_ml", "edema_ml_low",
        "edema_ml_high", "edema_fraction", "head_ml", "head_edema_ml", "neck_ml", "neck_edema_ml",
        "lesions", "largest_lesion_ml", "reference_intensity", "threshold", "threshold_rule",
        "threshold_source", "edema_to_reference_ratio", "regions_from",
        "edema_removed_by_t1_ml", "t1_shift_mm", "t1_angle_deg", "fat_suppression", "fat_to_muscle", "protocol_source", "fluid_fat_suppressed",
        "series_description", "scanning_sequence", "sequence_variant", "scan_options",
        "inversion_time_ms", "echo_time_ms", "repetition_time_ms", "field_strength_t",
        "slice_thickness_mm", "slice_spacing_mm", "manufacturer", "model", "scan", "message", "cycle",
        "harris_hip_score"]
assert cols == want, cols
bad = {r["subject"]: r for r in rows if r["subject"].startswith("b")}
assert sorted(bad) == ["b%d" % i for i in range(1, 8)], sorted(bad)
for s, r in bad.items():
    assert r["status"] == "error" and r["message"], (s, r)
    assert "\n" not in r["message"]
for key, word in (("b1", "cannot open"), ("b2", "not a NIfTI"), ("b3", "truncated"),
                  ("b4", "volume"), ("b5", "all zero"), ("b6", "NaN"), ("b7", "2D")):
    assert word in bad[key]["message"], (key, bad[key]["message"])
good = [r for r in rows if not r["subject"].startswith("b")]
assert len(good) == 8 and all(r["status"] in ("ok", "not_found") for r in good), good
assert all(r["harris_hip_score"] == "29,90" for r in good)
assert all(r["threshold_source"] == "auto" for r in good), good
# The phantom's NIfTI files have no sidecar: nothing is known of their acquisition.
facts = cols[cols.index("protocol_source"):cols.index("scan")]
assert len(facts) == 14 and all(r[c] == "" for r in rows for c in facts), facts
for r in good:
    if r["status"] == "ok":  # the range holds the volume (a higher factor gives less edema)
        lo, ml, hi = float(r["edema_ml_low"]), float(r["edema_ml"]), float(r["edema_ml_high"])
        assert lo <= ml <= hi, r
    else:
        assert r["edema_ml_low"] == r["edema_ml_high"] == "", r
assert all(r["edema_ml_low"] == r["edema_ml_high"] == r["threshold_source"] == ""
           for r in bad.values())
resp = list(csv.DictReader(open(out + "/response.csv", newline="")))
assert len(resp) == 4, len(resp)  # 2 subjects x 1 follow-up x 2 sides
assert all(r["response"] in ("complete", "partial", "stable", "progression", "new", "none")
           for r in resp), resp
cols = list(csv.reader(open(out + "/response.csv", newline="")))[0]
assert cols[cols.index("response") + 1] == "uncertain", cols
for r in resp:
    assert r["uncertain"] in ("yes", "no"), r
    assert (r["uncertain"] == "yes") == r["message"].startswith("uncertain: class could be "), r
EOF

# 2. -j 2 gives the same bytes: tables, label maps (regions, edema, change) and QC pictures.
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out2" -j 2 --quiet > /dev/null || true
same_tables "$tmp/out1" "$tmp/out2"
maps=0
while IFS= read -r f; do
  cmp -s "$f" "$tmp/out2/${f#"$tmp/out1/"}" || fail "${f#"$tmp/out1/"} differs between -j 1 and -j 2"
  maps=$((maps + 1))
done < <(find "$tmp/out1" -name '*.nii.gz' -o -name '*.png')
[ "$maps" -ge 16 ] || fail "only $maps label maps and pictures compared"

# 3. --resume on a finished run reuses every scan whose input still exists (the missing
#    one is retried: it may have arrived since) and changes nothing.
cp -r "$tmp/out2" "$tmp/out2b"
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out2" -j 2 --resume 2> "$tmp/resume.err" > /dev/null || true
grep -q "10 reused" "$tmp/resume.err" || fail "resume did not reuse every scan: $(cat "$tmp/resume.err")"
same_tables "$tmp/out2" "$tmp/out2b"

# 4. SIGKILL part-way, then --resume: identical tables.
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out3" -j 1 --quiet > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  n=$( (find "$tmp/out3" -name scan_record.csv 2>/dev/null || true) | wc -l)
  [ "$n" -ge 2 ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ ! -f "$tmp/out3/scans.csv" ] || fail "a killed batch left scans.csv"
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out3" -j 2 --resume --quiet > /dev/null || true
same_tables "$tmp/out1" "$tmp/out3"
leftovers=$(find "$tmp/out3" -name '*.tmp*' | wc -l)
[ "$leftovers" = 0 ] || fail "temporary files left after resume: $leftovers"

# 5. A second batch on the same OUT is refused while the first holds the lock.
/usr/bin/python3 - "$tmp/out1/.bmeq-batch.lock" <<'EOF' &
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
time.sleep(30)
EOF
holder=$!
sleep 1
rc=0
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out1" --quiet > /dev/null 2> "$tmp/lock.err" || rc=$?
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
[ "$rc" = 4 ] || fail "locked OUT: exit $rc, expected 4"
grep -q "another bmeq batch" "$tmp/lock.err" || fail "no lock message: $(cat "$tmp/lock.err")"

# 6. Bad manifests refuse to start with one clear line and exit 3.
printf 'subject,path\n1,a.nii\n' > "$tmp/m_missing.csv"
printf 'subject,session,path\n1,1,"a.nii\n' > "$tmp/m_quote.csv"
printf 'subject,session,path\n1,1,a.nii\n1,1,b.nii\n' > "$tmp/m_dup.csv"
for m in missing quote dup; do
  rc=0
  "$bmeq" batch "$tmp/m_$m.csv" -o "$tmp/out_$m" 2> "$tmp/m.err" > /dev/null || rc=$?
  [ "$rc" = 3 ] || fail "manifest $m: exit $rc, expected 3"
  [ "$(wc -l < "$tmp/m.err")" = 1 ] || fail "manifest $m: not one line: $(cat "$tmp/m.err")"
  [ ! -e "$tmp/out_$m/scans.csv" ] || fail "manifest $m: a table was written"
done
# 7. A write that fails (the file-size limit stands in for a full disk) stops the batch with
#    one clear line and exit 4, and leaves neither temporary files nor a half-written table.
rc=0
(trap '' XFSZ; ulimit -f 8; "$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out_full" -j 2 --quiet) \
  > /dev/null 2> "$tmp/full.err" || rc=$?
[ "$rc" = 4 ] || fail "failing writes: exit $rc, expected 4"
grep -q "write failed" "$tmp/full.err" || fail "no write error: $(cat "$tmp/full.err")"
[ "$(find "$tmp/out_full" -name '*.tmp*' | wc -l)" = 0 ] || fail "temporary files left behind"
[ ! -e "$tmp/out_full/scans.csv" ] || fail "scans.csv written although writes failed"
# 8. SIGTERM stops cleanly: exit 130, finished scans kept, and --resume completes identically.
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out_term" -j 1 --quiet > /dev/null 2> "$tmp/term.err" &
pid=$!
for _ in $(seq 1 600); do
  n=$( (find "$tmp/out_term" -name scan_record.csv 2>/dev/null || true) | wc -l)
  [ "$n" -ge 1 ] && break
  sleep 0.1
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "SIGTERM: exit $rc, expected 130"
grep -q "rerun with --resume" "$tmp/term.err" || fail "no interruption message: $(cat "$tmp/term.err")"
kept=$(find "$tmp/out_term" -name scan_record.csv | wc -l)
[ "$kept" -ge 1 ] || fail "no finished scan kept after SIGTERM"
"$bmeq" batch "$tmp/manifest.csv" -o "$tmp/out_term" -j 2 --resume --quiet > /dev/null || true
same_tables "$tmp/out1" "$tmp/out_term"
# 9. A reader's threshold factor on one scan (manifest threshold_factor): that scan's rows say
#    reader and its volume moves, the others are the automatic ones; --resume after changing
#    the factor measures that scan alone; a bad factor is a manifest error before any work.
# The reader's scan: the one with the most edema, so a factor well above the automatic one
# (median*1.46 by default) loses some of it.
first=$(/usr/bin/python3 - "$tmp/out1/scans.csv" <<'EOF'
import csv, sys
vol = {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["status"] == "ok":
        key = r["subject"] + "," + r["session"]
        vol[key] = vol.get(key, 0.0) + float(r["edema_ml"])
print(max(sorted(vol), key=lambda k: vol[k]))
EOF
)
reader_manifest() { # FACTOR -> stdout: the good scans, FACTOR on the reader's scan
  echo "subject,session,path,date,threshold_factor,cycle"
  tail -n +2 "$tmp/study/manifest.csv" | while IFS=, read -r s ses p date cycle _; do
    f=""
    [ "$s,$ses" = "$first" ] && f=$1
    echo "$s,$ses,study/$p,$date,$f,$cycle"
  done
}
reader_manifest 3 > "$tmp/m_reader.csv"
"$bmeq" batch "$tmp/m_reader.csv" -o "$tmp/out_reader" -j 2 --quiet > /dev/null ||
  fail "batch with a reader factor exited $?"
/usr/bin/python3 - "$tmp/out1" "$tmp/out_reader" "$first" 3 <<'EOF'
import csv, json, sys
auto_out, out, first, factor = sys.argv[1:5]
subject, session = first.split(",")
rows = list(csv.DictReader(open(out + "/scans.csv", newline="")))
auto = {(r["subject"], r["session"], r["side"]): r
        for r in csv.DictReader(open(auto_out + "/scans.csv", newline=""))}
cols = list(csv.reader(open(out + "/scans.csv", newline="")))[0]
# threshold_factor is read, not carried through: it shows in threshold_rule and threshold_source.
assert "threshold_factor" not in cols and cols[-1] == "cycle", cols
assert len(rows) == 8, rows
moved = 0
for r in rows:
    a = auto[(r["subject"], r["session"], r["side"])]
    if (r["subject"], r["session"]) == (subject, session):
        assert r["threshold_source"] == "reader", r
        assert factor in r["threshold_rule"] and r["threshold_rule"] != a["threshold_rule"], r
        assert r["threshold"] != a["threshold"], (r["threshold"], a["threshold"])
        if r["status"] == "ok":
            assert float(r["edema_ml_low"]) <= float(r["edema_ml"]) <= float(r["edema_ml_high"]), r
            moved += r["edema_ml"] != a["edema_ml"]
    else:
        assert r["threshold_source"] == "auto", r
        for c in ("edema_ml", "edema_ml_low", "edema_ml_high", "threshold", "threshold_rule"):
            assert r[c] == a[c], (c, r, a)
assert moved >= 1, "a reader's factor of %s did not change the volume" % factor
p = json.load(open(out + "/provenance.json"))
assert p["threshold_band"] == 0.15, p["threshold_band"]
for i in p["inputs"]:
    if (i["subject"], i["session"]) == (subject, session):
        assert i["threshold_source"] == "reader" and i["threshold_factor"] == float(factor), i
        assert factor in i["threshold_rule"], i
    else:
        assert i["threshold_source"] == "auto" and "threshold_factor" not in i, i
print("reader factor: %s/%s reader, %d side(s) moved" % (subject, session, moved))
EOF
sub=${first%,*} ses=${first#*,}
rec_other=$(find "$tmp/out_reader" -name scan_record.csv | grep -v "/$sub/$ses/" | head -n 1)
cp "$rec_other" "$tmp/rec_other.before"
cp "$tmp/out_reader/$sub/$ses/scan_record.csv" "$tmp/rec_reader.before"
reader_manifest 2.5 > "$tmp/m_reader.csv"
"$bmeq" batch "$tmp/m_reader.csv" -o "$tmp/out_reader" -j 2 --resume 2> "$tmp/reader.err" > /dev/null ||
  fail "resume with a changed factor exited $?"
grep -q "4 scans (0 failed, 3 reused)" "$tmp/reader.err" ||
  fail "a changed factor did not re-measure exactly its scan: $(cat "$tmp/reader.err")"
cmp -s "$rec_other" "$tmp/rec_other.before" || fail "another scan's record was rewritten"
if cmp -s "$tmp/out_reader/$sub/$ses/scan_record.csv" "$tmp/rec_reader.before"; then
  fail "the changed scan's record was not rewritten"
fi
grep -q "reader_factor=2.5" "$tmp/out_reader/$sub/$ses/scan_record.csv" ||
  fail "the record does not key on the new factor"
/usr/bin/python3 - "$tmp/out_reader" "$first" <<'EOF'
import csv, sys
out, first = sys.argv[1:3]
subject, session = first.split(",")
rows = [r for r in csv.DictReader(open(out + "/scans.csv", newline=""))
        if (r["subject"], r["session"]) == (subject, session)]
assert rows and all(r["threshold_source"] == "reader" and "2.5" in r["threshold_rule"]
                    for r in rows), rows
EOF
# The same study from scratch gives the same tables: resume is exact with a reader's factor.
"$bmeq" batch "$tmp/m_reader.csv" -o "$tmp/out_reader2" -j 1 --quiet > /dev/null ||
  fail "fresh batch with the changed factor exited $?"
same_tables "$tmp/out_reader" "$tmp/out_reader2"
for bad_factor in abc 0 -1 1e999 250; do
  reader_manifest "$bad_factor" > "$tmp/m_badf.csv"
  rc=0
  "$bmeq" batch "$tmp/m_badf.csv" -o "$tmp/out_badf" 2> "$tmp/badf.err" > /dev/null || rc=$?
  [ "$rc" = 3 ] || fail "threshold_factor $bad_factor: exit $rc, expected 3"
  [ "$(wc -l < "$tmp/badf.err")" = 1 ] || fail "threshold_factor $bad_factor: $(cat "$tmp/badf.err")"
  grep -q "manifest line [0-9]*: threshold_factor" "$tmp/badf.err" ||
    fail "threshold_factor $bad_factor: no clear message: $(cat "$tmp/badf.err")"
  [ ! -e "$tmp/out_badf" ] || fail "threshold_factor $bad_factor: work was done"
done
# threshold.band: part of the parameters (a changed band re-measures every scan), checked.
printf 'threshold.band = 0.2\n' > "$tmp/band.conf"
"$bmeq" batch "$tmp/m_reader.csv" -o "$tmp/out_reader" -j 2 --resume --config "$tmp/band.conf" \
  2> "$tmp/band.err" > /dev/null || fail "batch with threshold.band exited $?"
grep -q "4 scans (0 failed, 0 reused)" "$tmp/band.err" || fail "a new band reused scans: $(cat "$tmp/band.err")"
grep -q '"threshold_band": 0.2' "$tmp/out_reader/provenance.json" || fail "band not in provenance"
# threshold_method: the whole method, the T1 gate's sentence last, whole (it outgrew its buffer
# once it named the T1 gate: 556 characters).
grep -q '"threshold_method": "median\*1.46 over .* quantile of the normal marrow'"'"'s T1",' \
  "$tmp/out_reader/provenance.json" || fail "threshold_method incomplete: $(grep threshold_method "$tmp/out_reader/provenance.json")"
printf 'threshold.band = 1\n' > "$tmp/band_bad.conf"
rc=0
"$bmeq" batch "$tmp/m_reader.csv" -o "$tmp/out_band_bad" --config "$tmp/band_bad.conf" \
  2> "$tmp/band_bad.err" > /dev/null || rc=$?
[ "$rc" = 3 ] || fail "threshold.band = 1: exit $rc, expected 3"
grep -q "threshold.band" "$tmp/band_bad.err" || fail "band error: $(cat "$tmp/band_bad.err")"
echo "batch tests passed"
