#!/usr/bin/env bash
# test_settings.sh BMEQ DATA TMP - the settings table (bmeq/settings.h) is the one source:
#   1. the README's settings table and configuration example are `bmeq settings` output;
#   2. every setting of a configuration file that changes results, changed in turn (each
#      run adds one more to the file), makes `bmeq batch --resume` measure the scan again
#      (scan settings, the --resume key) or changes the response rule that classifies
#      (response settings: comparisons are redone on every run), and provenance.json's
#      settings show the new value; a setting that changes no result (-j, the DICOM
#      reader's time limit) reuses the scan.
# One scan with its regions and reference given (no segmentation, no bias correction, no
# comparison): each run takes a second or two, whatever the setting.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

# 1. The README shows the table's own output between its markers.
readme_block() { # MARKER: the lines between "<!-- MARKER -->" and the next "<!-- end -->"
  awk -v m="<!-- $1 -->" '$0 == m { on = 1; next } on && /^<!-- end -->$/ { exit } on' \
    "$root/README.md" | sed '/^```/d'
}
"$bmeq" settings --markdown > "$tmp/table.md"
readme_block "bmeq settings --markdown" > "$tmp/readme_table.md"
diff "$tmp/table.md" "$tmp/readme_table.md" > "$tmp/diff" ||
  fail "README's settings table is not bmeq settings --markdown: $(cat "$tmp/diff")"
"$bmeq" settings > "$tmp/config"
readme_block "bmeq settings" > "$tmp/readme_config"
diff "$tmp/config" "$tmp/readme_config" > "$tmp/diff" ||
  fail "README's configuration example is not bmeq settings: $(cat "$tmp/diff")"
# With its T1, so that the T1's settings (which change nothing without one) are checked too.
"$bmeq" phantom -o "$tmp/study" --subjects 1 --sessions 1 --seed 5 --t1 > /dev/null
hips=derivatives/truth/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_desc-hips_dseg.nii.gz
printf 'subject,session,path,roi,reference,t1\n01,01,%s,%s,%s,%s\n' \
  sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz "$hips" "$hips" \
  sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz > "$tmp/study/one.csv"

# 2. Resume after each change.
run() { # CONF JOBS: batch --resume; prints the number of scans reused
  local rc=0
  "$bmeq" batch "$tmp/study/one.csv" -o "$tmp/out" -j "$2" --resume --config "$1" \
    > /dev/null 2> "$tmp/err" || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 6 ] || fail "batch with $(tail -1 "$1") exited $rc: $(cat "$tmp/err")"
  sed -n 's/.*(\([0-9]*\) failed, \([0-9]*\) reused).*/\2/p' "$tmp/err"
}
rule_text() { /usr/bin/python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["response_rule"])' "$tmp/out/provenance.json"; }
setting_in_provenance() { /usr/bin/python3 - "$tmp/out/provenance.json" "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["settings"]
key, want = sys.argv[2], sys.argv[3]
got = s[key]
ok = str(got) == want if isinstance(got, str) else float(got) == float(want)
sys.exit(0 if ok else f"provenance.json settings[{key}] = {got!r}, want {want}")
PY
}

"$bmeq" settings --tsv > "$tmp/rows.tsv"
# The printed configuration is a valid one (every default reads back); each change is
# appended, and a later line wins.
conf=$tmp/changed.conf
cp "$tmp/config" "$conf"
reused=$(run "$conf" 2)
[ "$reused" = 0 ] || fail "first run reused $reused scans"
checked=0
{
  read -r _header
  while IFS='|' read -r key type changes config flag default example; do
    [ "$config" = yes ] || continue
    before=$(rule_text)
    echo "$key = $example" >> "$conf"
    reused=$(run "$conf" 2)
    case $changes in
    none) # a setting of how, not what (the DICOM reader's time limit): the scan is reused
      [ "$reused" = 1 ] || fail "$key = $example: a setting that changes no result re-measured the scan" ;;
    scan) [ "$reused" = 0 ] || fail "$key = $example: --resume reused $reused scans measured with $key = $default" ;;
    response)
      [ "$reused" = 1 ] || fail "$key = $example: a response setting re-measured the scan"
      [ "$(rule_text)" != "$before" ] || fail "$key = $example: response_rule unchanged: $before" ;;
    esac
    setting_in_provenance "$key" "$example" || fail "$key not in provenance.json"
    checked=$((checked + 1))
  done
} < <(tr '\t' '|' < "$tmp/rows.tsv")
[ "$checked" -ge 19 ] || fail "only $checked settings checked"

# A setting that changes nothing: another -j reuses every scan.
reused=$(run "$conf" 1)
[ "$reused" = 1 ] || fail "-j 1 after -j 2: --resume did not reuse the scan"
echo "ok: $checked settings each made --resume redo their part; -j did not"
