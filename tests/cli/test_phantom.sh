#!/bin/bash
# test_phantom.sh BMEQ DATA TMP - `bmeq phantom`: a 2 x 3 study (6 scans, so every storage
# variant) is written, loads with `bmeq info` and with nibabel in the intended orientation
# (tests/tools/check_phantom.py), the same seed gives identical voxels, --edema bright keeps the
# truth and brightens the edema, and usage errors exit 2.
set -u
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

"$bmeq" phantom -o "$tmp/a" --subjects 2 --sessions 3 --seed 11 >"$tmp/a.out" 2>"$tmp/a.err" ||
	err "phantom exited $?: $(head -3 "$tmp/a.err")"
[ -s "$tmp/a.err" ] && err "phantom wrote to stderr: $(head -3 "$tmp/a.err")"
n=$(find "$tmp/a" -name '*_acq-STIR_T2w.nii.gz' | wc -l)
[ "$n" -eq 6 ] || err "expected 6 scans, found $n"
[ -f "$tmp/a/sub-02/ses-03/anat/sub-02_ses-03_acq-STIR_T2w.nii.gz" ] || err "BIDS-like path missing"
[ "$(wc -l <"$tmp/a/manifest.csv")" -eq 7 ] || err "manifest.csv should have a header and 6 rows"

# Every scan and truth map reads with bmeq info.
mapfile -t files < <(find "$tmp/a" -name '*.nii.gz' | sort)
"$bmeq" info "${files[@]}" >"$tmp/info.out" 2>"$tmp/info.err" ||
	err "bmeq info failed on the study: $(head -3 "$tmp/info.err")"
grep -q 'orientation *L' "$tmp/info.out" || err "no flipped (L...) scan in the study"

# nibabel: orientation, labels on the grid, variants, datatypes.
if [ -x "$py" ] && "$py" -c 'import nibabel' 2>/dev/null; then
	"$py" "$HERE/../tools/check_phantom.py" "$tmp/a" --require-all-variants >"$tmp/check.out" 2>&1 ||
		err "nibabel check: $(grep FAIL "$tmp/check.out" | head -5)"
else
	echo "SKIP: /usr/bin/python3 with nibabel not available" >&2
fi

# Same seed: identical decoded voxels (compared as bmeq reads them, not as gzip bytes).
"$bmeq" phantom -o "$tmp/b" --subjects 1 --sessions 3 --seed 11 2>"$tmp/b.err" ||
	err "second run exited $?"
for k in 01 02 03; do
	f=sub-01/ses-$k/anat/sub-01_ses-${k}_acq-STIR_T2w.nii.gz
	if [ -x "$py" ] && "$py" -c 'import nibabel' 2>/dev/null; then
		"$py" - "$tmp/a/$f" "$tmp/b/$f" <<'PYEOF' || err "$f differs between runs with the same seed"
import sys, nibabel as nib, numpy as np
a, b = (nib.load(p) for p in sys.argv[1:3])
sys.exit(0 if np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj))
         and np.array_equal(a.affine, b.affine) else 1)
PYEOF
	else
		cmp -s <(gzip -dc "$tmp/a/$f") <(gzip -dc "$tmp/b/$f") || err "$f differs"
	fi
done
# A different seed gives different anatomy.
"$bmeq" phantom -o "$tmp/c" --subjects 1 --sessions 1 --seed 12 2>/dev/null || err "seed 12 run failed"
cmp -s <(gzip -dc "$tmp/a/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz") \
	<(gzip -dc "$tmp/c/sub-01/ses-01/anat/sub-01_ses-01_acq-STIR_T2w.nii.gz") &&
	err "seeds 11 and 12 gave the same scan"

# Edema models: realistic by default, bright on request, recorded in truth.json; both draw the
# same truth (label maps and volumes), only the image differs.
"$bmeq" phantom -o "$tmp/br" --subjects 1 --sessions 1 --seed 11 --edema bright 2>"$tmp/br.err" ||
	err "--edema bright exited $?: $(head -3 "$tmp/br.err")"
grep -q '"edema_model": *"realistic"' "$tmp/a/truth.json" || err "truth.json of the default study: edema_model is not realistic"
grep -q '"edema_model": *"bright"' "$tmp/br/truth.json" || err "truth.json of --edema bright: edema_model is not bright"
if [ -x "$py" ] && "$py" -c 'import nibabel' 2>/dev/null; then
	"$py" "$HERE/../tools/phantom_variants.py" "$tmp/b" "$tmp/br" --edema >"$tmp/var_br.out" 2>&1 ||
		err "bright and realistic studies of one seed should share the truth, not the image: $(cat "$tmp/var_br.out")"
	"$py" "$HERE/../tools/check_phantom.py" "$tmp/br" >"$tmp/check_br.out" 2>&1 ||
		err "nibabel check of --edema bright: $(grep FAIL "$tmp/check_br.out" | head -5)"
fi

# Tissue tables: classic by default, real on request, recorded in truth.json; the same truth.
# On the real table fat and normal marrow sit near muscle (as on real STIR: fat 0.87-1.48x and
# marrow 0.89-1.8x the muscle beside them); on the classic one muscle is twice normal marrow.
"$bmeq" phantom -o "$tmp/re" --subjects 1 --sessions 1 --seed 11 --tissue real 2>"$tmp/re.err" ||
	err "--tissue real exited $?: $(head -3 "$tmp/re.err")"
grep -q '"tissue_model": *"classic"' "$tmp/a/truth.json" || err "truth.json of the default study: tissue_model is not classic"
grep -q '"tissue_model": *"real"' "$tmp/re/truth.json" || err "truth.json of --tissue real: tissue_model is not real"
"$bmeq" phantom -o "$tmp/x" --tissue bright >/dev/null 2>"$tmp/u3.err"
[ $? -eq 2 ] || err "--tissue bright should exit 2"
grep -q '^bmeq: phantom: --tissue: ' "$tmp/u3.err" || err "--tissue bright message: $(cat "$tmp/u3.err")"
if [ -x "$py" ] && "$py" -c 'import nibabel, scipy' 2>/dev/null; then
	"$py" "$HERE/../tools/phantom_variants.py" "$tmp/a" "$tmp/re" --tissue >"$tmp/var_re.out" 2>&1 ||
		err "tissue tables: same truth, and muscle and marrow at their tables' levels: $(cat "$tmp/var_re.out")"
fi

# Usage errors: exit 2 with a bmeq: phantom: message; unwritable output: exit 4.
"$bmeq" phantom >/dev/null 2>"$tmp/u1.err"
[ $? -eq 2 ] || err "missing -o should exit 2"
grep -q '^bmeq: phantom: ' "$tmp/u1.err" || err "usage message format"
"$bmeq" phantom -o "$tmp/x" --subjects 0 >/dev/null 2>&1
[ $? -eq 2 ] || err "--subjects 0 should exit 2"
"$bmeq" phantom -o "$tmp/x" --seed -4 >/dev/null 2>&1
[ $? -eq 2 ] || err "--seed -4 should exit 2"
"$bmeq" phantom -o "$tmp/x" --bogus >/dev/null 2>&1
[ $? -eq 2 ] || err "unknown option should exit 2"
"$bmeq" phantom -o "$tmp/x" --edema dim >/dev/null 2>"$tmp/u2.err"
[ $? -eq 2 ] || err "--edema dim should exit 2"
grep -q '^bmeq: phantom: --edema: ' "$tmp/u2.err" || err "--edema dim message: $(cat "$tmp/u2.err")"
"$bmeq" phantom -o /proc/bmeq-no-such-dir --subjects 1 --sessions 1 >/dev/null 2>&1
[ $? -eq 4 ] || err "unwritable output should exit 4"
"$bmeq" phantom --help | grep -q 'usage: bmeq phantom' || err "--help"

[ "$errors" -eq 0 ] && rm -rf "$tmp"
finish
