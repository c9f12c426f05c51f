#!/usr/bin/env bash
# The main job on the embedded demo data: builds bmeq and runs it on data/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BMEQ_BUILD_DIR=$root/build bash "$root/scripts/build.sh"
bmeq=$root/build/src/bmeq
"$bmeq" info "$root"/data/*.nii.gz
