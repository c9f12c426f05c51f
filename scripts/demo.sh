#!/usr/bin/env bash
# The main job on the embedded demo data: builds bmeq, generates the demo study with
# bmeq's phantom (parameters in data/demo.env; no redistributable STIR hip scans exist)
# and runs the whole pipeline on it with bmeq batch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../data/demo.env
. "$root/data/demo.env"
# Only the bmeq program: the tests and benchmarks are not needed to run it.
BMEQ_BUILD_DIR=$root/build BMEQ_BUILD_TARGET=bmeq bash "$root/scripts/build.sh"
bmeq=$root/build/src/bmeq
demo=$root/build/demo
rm -rf "$demo"
echo "== generating the demo study ($BMEQ_DEMO_SUBJECTS subjects x $BMEQ_DEMO_SESSIONS visits) in $demo/study"
"$bmeq" phantom -o "$demo/study" --subjects "$BMEQ_DEMO_SUBJECTS" --sessions "$BMEQ_DEMO_SESSIONS" \
  --seed "$BMEQ_DEMO_SEED"
echo "== bmeq batch $demo/study/manifest.csv -o $demo/out"
status=0
"$bmeq" batch "$demo/study/manifest.csv" -o "$demo/out" || status=$?
echo
echo "per scan and side:   $demo/out/scans.csv"
echo "response per visit:  $demo/out/response.csv"
echo "lesions:             $demo/out/lesions.csv"
echo "provenance:          $demo/out/provenance.json"
if [ -f "$demo/out/report.html" ]; then
  echo "report:              $demo/out/report.html"
fi
echo "truth of the phantom: $demo/study/truth.json"
exit "$status"
