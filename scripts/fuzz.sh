#!/bin/bash
# fuzz.sh [SECONDS] - builds the libFuzzer target for the NIfTI reader with clang in build-fuzz
# (ASan + UBSan, coverage-instrumented reader) and runs it for SECONDS (default 60) on a scratch
# copy of the seed corpus. Crashes are written to build-fuzz/artifacts/; save a reproducer under
# tests/fuzz/regressions/ so that the fuzz-replay test keeps running it.
set -euo pipefail
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
jobs=${BMEQ_JOBS:-2}

# Only the C compiler matters (the fuzz target compiles the reader's sources itself); C++ stays
# g++ because ITK 5.2's headers refuse Debian's clang, and the ITK bridge is not built here.
CC=clang CXX=g++ cmake -S "$root" -B "$build" -DBMEQ_FUZZ=ON -DBMEQ_BUILD_BENCH=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_nifti
work=$build/fuzz-corpus
mkdir -p "$work" "$build/artifacts"
cp -n "$root"/tests/fuzz/corpus/nifti/* "$work"/ 2>/dev/null || true
# The regressions are seeds too: libFuzzer starts by running them.
"$build/tests/fuzz/fuzz_nifti" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
	-timeout=20 -print_final_stats=1 -artifact_prefix="$build/artifacts/" \
	"$work" "$root/tests/fuzz/regressions"
