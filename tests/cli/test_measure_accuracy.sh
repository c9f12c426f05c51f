#!/usr/bin/env bash
# Edema accuracy on two 12-scan phantom studies (seeds 7 and 2026, the demo's; each covers every
# orientation and storage variant), drawn with the phantom's default realistic edema (1.4-2.6x
# normal marrow at full strength, patchy, graded edges; truth = the zone at half strength or more,
# what a reader outlines):
#   1. with the truth head/neck map as --roi (the threshold, rim guard, half-maximum and lesion
#      stages alone),
#   2. end to end with automatic segmentation,
# both seeds each. Targets (issue "Agree with radiologists on real STIR"; the defaults of
# eval_phantom.py): median head-edema volume error <= 10 % for hips with >= 2 mL, median Dice
# >= 0.85, at most 0.5 mL on edema-free hips (effusions included), and the truth volume within
# bmeq's [edema_ml_low, edema_ml_high] on >= 90 % of the sides with edema. Every evaluation runs
# and prints its figures; the test fails if any misses a target.
# 3. seed 2026 drawn with the real STIR tissue table (--tissue real: fat and muscle as dark as
#    marrow), with the truth regions: their edge voxels form a shoulder just below marrow's
#    histogram mode, which the reference must not take (it did, and read 35.8 mL for 2.74).
#    End to end the real table still misses the in-range target (bench/RESULTS.md), so only
#    this stage is checked on it.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
for seed in 7 2026; do
  "$bmeq" phantom -o "$tmp/study$seed" --subjects 4 --sessions 3 --seed "$seed" >/dev/null
done
"$bmeq" phantom -o "$tmp/real2026" --subjects 4 --sessions 3 --seed 2026 --tissue real >/dev/null
status=0
for seed in 7 2026; do
  echo "== seed $seed, truth regions (--truth-roi)"
  /usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/study$seed" "$tmp/truth_roi$seed" \
    --truth-roi --check || status=1
  echo "== seed $seed, end to end"
  /usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/study$seed" "$tmp/auto$seed" \
    --check || status=1
done
echo "== seed 2026, real tissue table, truth regions (--truth-roi)"
/usr/bin/python3 "$here/tools/eval_phantom.py" "$bmeq" "$tmp/real2026" "$tmp/truth_roi_real2026" \
  --truth-roi --check || status=1
exit $status
