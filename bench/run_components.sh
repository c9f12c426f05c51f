#!/bin/bash
# Times bmeq's connected components against ITK (same process) and
# scipy.ndimage.label (same mask, via a .npy file) and prints the ratios.
# usage: bench/run_components.sh [BUILD_DIR] [extra bench_components args]
# BMEQ_PYTHON selects the interpreter that has Debian's python3-scipy
# (default /usr/bin/python3).
set -euo pipefail
build=${1:-build}
shift || true
py=${BMEQ_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$build/bench/bench_components" --write "$tmp/mask.npy" "$@" | tee "$tmp/bmeq.txt"
if ! "$py" -c 'import scipy.ndimage' 2>/dev/null; then
	echo "scipy not available for $py: scipy comparison skipped" >&2
	exit 0
fi
"$py" "$(dirname "$0")/bench_components_scipy.py" "$tmp/mask.npy" | tee "$tmp/scipy.txt"

get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp"/*.txt; }
awk -v b="$(get bmeq_s)" -v bc="$(get bmeq_cpu_s)" -v s="$(get scipy_s)" -v sc="$(get scipy_cpu_s)" \
	'BEGIN { printf "speedup_vs_scipy %.2f\nspeedup_vs_scipy_cpu %.2f\n", s / b, sc / bc }'
if [ "$(get bmeq_components_26)" = "$(get scipy_components_26)" ] &&
   [ "$(get bmeq_components_6)" = "$(get scipy_components_6)" ]; then
	echo "counts_match_scipy yes"
else
	echo "counts_match_scipy NO"
	exit 1
fi
