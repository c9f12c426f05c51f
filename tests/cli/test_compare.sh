#!/bin/bash
# test_compare.sh BMEQ DATA TMP - `bmeq compare`: usage contract, failed scans
# reported as not_evaluable rows, and a phantom pair end to end (classes
# against the phantom's truth where the true change is clear of the cut-offs,
# the change map on the baseline's grid).
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

expect() { # expect CODE DESCRIPTION -- command...
	local want=$1 what=$2
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" != "$want" ]; then
		cat "$tmp/err"
		err "$what: exit $got, expected $want"
	fi
}

# ---- usage ----
expect 0 "help" -- "$bmeq" compare --help
grep -q "usage: bmeq compare BASELINE FOLLOWUP" "$tmp/out" || err "help text"
expect 2 "no scans" -- "$bmeq" compare
expect 2 "one scan" -- "$bmeq" compare a.nii.gz
expect 2 "three scans" -- "$bmeq" compare a.nii.gz b.nii.gz c.nii.gz
expect 2 "unknown option" -- "$bmeq" compare --bogus a.nii.gz b.nii.gz
expect 2 "missing value" -- "$bmeq" compare a.nii.gz b.nii.gz -o
grep -q "^bmeq: compare: " "$tmp/err" || err "diagnostic format"

# ---- bad rule configuration ----
printf 'response.partial_pct = -5\n' >"$tmp/bad.conf"
expect 3 "bad rule config" -- "$bmeq" compare a.nii.gz b.nii.gz --rule-config "$tmp/bad.conf"
grep -q "bad.conf: line 1: response.partial_pct" "$tmp/err" || err "config error names the line"
expect 3 "missing rule config" -- "$bmeq" compare a.nii.gz b.nii.gz --rule-config "$tmp/none.conf"
grep -q "none.conf: cannot read the configuration file: cannot open" "$tmp/err" ||
	err "a missing config says why"
# A folder opens but does not read; an oversized file is refused whole, never cut.
expect 3 "folder as rule config" -- "$bmeq" compare a.nii.gz b.nii.gz --rule-config "$tmp"
grep -q "cannot read the configuration file: read failed" "$tmp/err" ||
	err "a folder as config says why"
head -c 1048577 /dev/zero | tr '\0' '#' >"$tmp/huge.conf"
expect 3 "oversized rule config" -- "$bmeq" compare a.nii.gz b.nii.gz --rule-config "$tmp/huge.conf"
grep -q "huge.conf: cannot read the configuration file: larger than 1048576 bytes" "$tmp/err" ||
	err "an oversized config is refused"
rm -f "$tmp/huge.conf"

# ---- unreadable scans: exit 3, and the table still says not_evaluable ----
expect 3 "missing scans" -- "$bmeq" compare "$tmp/sub-01_ses-1_T2w.nii.gz" \
	"$tmp/sub-01_ses-2_T2w.nii.gz" -o "$tmp/missing"
$py - "$tmp/missing/response.csv" <<'EOF' || err "python check above"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["side"] for r in rows] == ["right", "left"], rows
for r in rows:
    assert r["response"] == "not_evaluable", r
    assert r["subject"] == "sub-01" and r["baseline_session"] == "ses-1" and r["session"] == "ses-2", r
    assert r["edema_ml"] == "" and r["resolved_ml"] == "", r
    assert "baseline:" in r["message"] and "follow-up:" in r["message"], r
EOF

# ---- a phantom pair end to end ----
"$bmeq" phantom -o "$tmp/ph" --subjects 1 --sessions 2 >/dev/null 2>"$tmp/err" ||
	{ echo "FAIL: phantom"; cat "$tmp/err"; exit 1; }
B="$tmp/ph/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz"
F="$tmp/ph/sub-01/ses-02/anat/sub-01_ses-02_acq-STIR_T2w.nii.gz"
printf '# shared configuration\nthreshold.rule = median*1.8\nresponse.measurable_ml = 0.5\n' \
	>"$tmp/rule.conf"
expect 0 "phantom pair" -- "$bmeq" compare "$B" "$F" -o "$tmp/out1" --rule-config "$tmp/rule.conf"
cat "$tmp/out"
$py - "$tmp/out1" "$tmp/ph" "$B" <<'EOF' || err "python check above"
import csv, json, os, sys
import nibabel as nib
import numpy as np
out, ph, base = sys.argv[1:4]
with open(os.path.join(out, "response.csv"), newline="") as f:
    header = f.readline().strip()
    assert header == ("subject,side,baseline_session,session,baseline_edema_ml,edema_ml,"
                      "change_ml,change_pct,resolved_ml,persistent_ml,new_ml,response,uncertain,"
                      "response_rule,early_retreatment,message"), header
rows = list(csv.DictReader(open(os.path.join(out, "response.csv"), newline="")))
assert [r["side"] for r in rows] == ["right", "left"]
truth = json.load(open(os.path.join(ph, "truth.json")))
scans = {s["session"]: s for s in truth["scans"]}
rule = dict(measurable=0.5, partial=30.0, prog_pct=20.0, prog_ml=1.0)

def clear(b, f):
    """The class when the true change is at least 10 points from a cut-off."""
    m = rule["measurable"]
    if abs(b - m) < 0.1 * m or abs(f - m) < 0.1 * m:
        return None
    if b < m:
        return "new" if f >= m else "none"
    if f < m:
        return "complete"
    pct = 100.0 * (f - b) / b
    if abs(pct + rule["partial"]) < 10 or abs(pct - rule["prog_pct"]) < 10:
        return None
    if pct <= -rule["partial"]:
        return "partial"
    if pct >= rule["prog_pct"] and f - b >= rule["prog_ml"]:
        return "progression"
    return "stable"

checked = 0
for r in rows:
    b = scans["01"][r["side"]]["edema_ml"]
    f = scans["02"][r["side"]]["edema_ml"]
    want = clear(b, f)
    print(f"{r['side']}: truth {b:.2f} -> {f:.2f} mL ({want}); bmeq {r['baseline_edema_ml']} -> "
          f"{r['edema_ml']} mL ({r['response']}); resolved {r['resolved_ml']} persistent "
          f"{r['persistent_ml']} new {r['new_ml']}; {r['message']}")
    assert r["response_rule"] == "measurable>=0.5ml;partial<=-30%;progression>=+20%&>=+1ml"
    assert r["early_retreatment"] == ("yes" if r["response"] == "partial" else "no")
    if want is not None:
        checked += 1
        if r["response"] != want:
            print(f"FAIL: {r['side']} class {r['response']}, truth says {want}")
            sys.exit(1)
assert checked >= 1
change = os.path.join(out, "sub-01_ses-02_acq-STIR_T2w_change.nii.gz")
if any(r["resolved_ml"] != "" for r in rows):
    img, ref = nib.load(change), nib.load(base)
    assert img.shape == ref.shape, (img.shape, ref.shape)
    assert np.allclose(img.affine, ref.affine, atol=1e-3), (img.affine, ref.affine)
    vals = set(np.unique(np.asarray(img.dataobj)).tolist())
    assert vals <= {0, 1, 2, 3}, vals
EOF

finish "test_compare: all passed"
