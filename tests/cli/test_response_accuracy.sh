#!/usr/bin/env bash
# Response classes end to end (issue 7): bmeq batch over the default 6-subject x 3-visit phantom
# study, whose hips follow every trajectory (complete, partial, stable, progression, new
# contralateral, none); every class must be right where the true change is clear of the cut-offs.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
"$bmeq" phantom -o "$tmp/study" --seed 1 > /dev/null
rc=0
"$bmeq" batch "$tmp/study/manifest.csv" -o "$tmp/out" -j 2 --quiet > /dev/null || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: batch exited $rc" >&2; exit 1; }
/usr/bin/python3 "$here/tools/eval_response.py" "$tmp/study" "$tmp/out" --check
