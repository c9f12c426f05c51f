#!/usr/bin/env bash
# Builds bmeq and runs the whole test suite: the normal build, then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

echo "== build and test (RelWithDebInfo)"
BMEQ_BUILD_DIR=$root/build bash "$root/scripts/build.sh"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs"

echo "== build and test with ASan + UBSan"
BMEQ_BUILD_DIR=$root/build-asan bash "$root/scripts/build.sh" -DBMEQ_SANITIZE=ON -DBMEQ_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" -LE slow

echo "== all tests passed"
