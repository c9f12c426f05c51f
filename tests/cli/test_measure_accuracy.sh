#!/usr/bin/env bash
# Edema accuracy on two 12-scan phantom studies (seeds 7 and 2026, the demo's; each covers every
# orientation and storage variant):
#   1. with the truth head/neck map as --roi (the threshold, rim guard, half-maximum and lesion
#      stages alone), seed 7,
#   2. end to end with automatic segmentation, both seeds.
# Targets (issue 6): median head-edema volume error <= 10 % for >= 2 mL lesions, median
# Dice >= 0.80, at most 0.5 mL of edema on edema-free hips (effusions included).
set -euo pipefail
bmeq=$1 data=$2 tmp=$3
here=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$tmp" && mkdir -p "$tmp"
for seed in 7 2026; do
  "$bmeq" phantom -o "$tmp/study$seed" --subjects 4 --sessions 3 --seed "$seed" >/dev/null
done
/usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/study7" "$tmp/truth_roi7" --truth-roi --check
for seed in 7 2026; do
  /usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/study$seed" "$tmp/auto$seed" --check
done
