#!/usr/bin/env bash
# Builds bmeq and runs the whole test suite: the normal build (all but the tests labelled
# slow); the same suite under AddressSanitizer + UndefinedBehaviorSanitizer with LeakSanitizer's
# leak check (but the browser test, label browser), where any sanitizer report from any process
# (also those whose exit status a test ignores) fails the run; then the fuzz stage: the DICOM reader's libFuzzer target for
# BMEQ_FUZZ_DICOM_SECONDS (default 600) on one core and, on the other, the NIfTI, manifest and
# config targets for BMEQ_FUZZ_SECONDS (default 60) each (scripts/fuzz.sh), with the normal
# build's slow tests beside them: that core would otherwise idle for most of the DICOM lane's
# ten minutes. A fault inside GDCM or its codecs does not fail the stage (fuzz.sh says why; in
# bmeq it fails one scan's reader process); any finding in bmeq's code does.
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

echo "== build and test (RelWithDebInfo; the slow tests run in the fuzz stage)"
BMEQ_BUILD_DIR=$root/build bash "$root/scripts/build.sh"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs" -LE slow

echo "== build and test with ASan + UBSan + LeakSanitizer"
BMEQ_BUILD_DIR=$root/build-asan bash "$root/scripts/build.sh" -DBMEQ_SANITIZE=ON -DBMEQ_BUILD_BENCH=OFF
# Reports go to files (one per process) in a folder every test user can write to, so that
# a leak in a command whose exit status a test does not check still fails the suite.
logs=$root/build-asan/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs" && chmod 1777 "$logs"
LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan_gdcm.supp:print_suppressions=0 \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$logs/asan \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" -LE 'slow|browser'
if [ -n "$(ls -A "$logs")" ]; then
  for f in "$logs"/*; do
    echo "-- $f"
    head -n 60 "$f"
  done
  echo "sanitizer reports above: the suite fails" >&2
  exit 1
fi
echo "no sanitizer reports"

dicom_secs=${BMEQ_FUZZ_DICOM_SECONDS:-600}
echo "== fuzz the DICOM reader for $dicom_secs s; beside it the NIfTI, manifest and config readers" \
	"for ${BMEQ_FUZZ_SECONDS:-60} s each and the normal build's slow tests"
slow_log=$root/build/slow-tests.log
ctest --test-dir "$root/build" --output-on-failure -j1 -L slow >"$slow_log" 2>&1 &
slow=$!
fuzz_rc=0
BMEQ_FUZZ_DICOM_SECONDS=$dicom_secs bash "$root/scripts/fuzz.sh" "${BMEQ_FUZZ_SECONDS:-60}" \
	nifti manifest config dicom || fuzz_rc=$?
slow_rc=0
wait "$slow" || slow_rc=$?
echo "== the slow tests (normal build)"
cat "$slow_log"
[ "$fuzz_rc" -eq 0 ] || { echo "the fuzz stage found a fault in bmeq's code" >&2; exit 1; }
[ "$slow_rc" -eq 0 ] || { echo "a slow test failed" >&2; exit 1; }

echo "== all tests passed"
