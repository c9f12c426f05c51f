#!/bin/bash
# fuzz.sh [SECONDS] [TARGET...] - builds the libFuzzer targets with clang in build-fuzz (ASan +
# UBSan, coverage-instrumented sources) and runs them side by side, each for SECONDS (default
# 60) of wall time on a scratch copy of its seed corpus; exits non-zero if any finds a crash,
# a leak or a timeout, printing the reproducer (base64) so a CI log alone is enough to keep it. Targets: nifti (the NIfTI reader from memory), manifest (the manifest CSV
# reader), config (the batch configuration parser), dicom (the DICOM series reader, for
# BMEQ_FUZZ_DICOM_SECONDS, default SECONDS); default the first three. Crashes are written to
# build-fuzz/artifacts/; save a reproducer under tests/fuzz/regressions/ (nifti) or the target's
# corpus folder so that the fuzz-replay tests keep running it.
set -euo pipefail
secs=${1:-60}
shift || true
targets=("$@")
# dicom is not yet a default: Debian's GDCM still aborts (assert) on some malformed nested
# items that the pre-parse walk in src/itk/itk_dicom.cxx does not yet refuse (issue 20).
[ ${#targets[@]} -gt 0 ] || targets=(nifti manifest config)
# The DICOM reader (GDCM underneath, issue 20) gets its own, longer budget.
dicom_secs=${BMEQ_FUZZ_DICOM_SECONDS:-$secs}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
jobs=${BMEQ_JOBS:-2}

# The fuzz targets link the layers below the ITK bridge (formats, settings; see
# src/CMakeLists.txt), built here by clang and instrumented for coverage. The ITK bridge itself
# is never built here (ITK 5.2's headers refuse Debian's clang): fuzz_dicom compiles only its
# two files without ITK headers (the DICOM reader over GDCM, the RAS/LPS geometry) with clang++.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DBMEQ_FUZZ=ON -DBMEQ_BUILD_BENCH=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
for t in "${targets[@]}"; do
	cmake --build "$build" -j"$jobs" --target "fuzz_$t"
done
mkdir -p "$build/artifacts"
pids=()
for t in "${targets[@]}"; do
	work=$build/fuzz-corpus-$t
	mkdir -p "$work"
	cp -n "$root"/tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	extra=()
	# The reader's regressions are seeds too: libFuzzer starts by running them.
	[ "$t" = nifti ] && extra=("$root/tests/fuzz/regressions")
	t_secs=$secs
	[ "$t" = dicom ] && t_secs=$dicom_secs
	echo "== fuzz_$t for $t_secs s (log: $build/fuzz-$t.log)"
	LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan_gdcm.supp \
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$t_secs" -max_len=65536 -rss_limit_mb=2048 \
		-timeout=20 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
		"$work" "${extra[@]}" >"$build/fuzz-$t.log" 2>&1 &
	pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
	t=${targets[$i]}
	if wait "${pids[$i]}"; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log")
		secs_run=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/fuzz-$t.log")
		echo "fuzz_$t: no finding in ${runs:-?} runs (${secs_run:-?} per second)"
	else
		failed=1
		echo "fuzz_$t: FINDING (last lines of its log follow)"
		tail -n 40 "$build/fuzz-$t.log"
		for a in "$build/artifacts/$t-"*; do
			[ -f "$a" ] || continue
			echo "-- reproducer $a (base64; save it under tests/fuzz/):"
			base64 "$a" | head -c 100000
			echo
		done
	fi
done
exit "$failed"
