#!/usr/bin/env bash
# Edema accuracy on a 12-scan phantom study (every orientation and storage variant):
#   1. with the truth head/neck map as --roi (the threshold, rim guard and lesion stages alone),
#   2. end to end with automatic segmentation.
# Targets (issue 6): median head-edema volume error <= 10 % for >= 2 mL lesions, median
# Dice >= 0.80, at most 0.5 mL of edema on edema-free hips (effusions included).
set -euo pipefail
bmeq=$1 data=$2 tmp=$3
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$tmp" && mkdir -p "$tmp"
"$bmeq" phantom -o "$tmp/study" --subjects 4 --sessions 3 --seed 7 >/dev/null
/usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/study" "$tmp/truth_roi" --truth-roi --check
/usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/study" "$tmp/auto" --check
