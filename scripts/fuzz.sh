#!/bin/bash
# fuzz.sh [SECONDS] [TARGET...] - builds the libFuzzer targets with clang in build-fuzz (ASan +
# UBSan, coverage-instrumented sources) and runs them side by side, each for SECONDS (default
# 60) of wall time on a scratch copy of its seed corpus; exits non-zero if any finds a crash,
# a leak or a timeout, printing the reproducer (base64) so a CI log alone is enough to keep it. Targets: nifti (the NIfTI reader from memory), manifest (the manifest CSV
# reader), config (the batch configuration parser), dicom (the DICOM series reader, for
# BMEQ_FUZZ_DICOM_SECONDS, default SECONDS); default all four. Crashes are written to
# build-fuzz/artifacts/; save a reproducer under tests/fuzz/regressions/ (nifti) or the target's
# corpus folder so that the fuzz-replay tests keep running it.
set -euo pipefail
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(nifti manifest config dicom)
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
mkdir -p "$build/artifacts" "$build/gdcm-faults"

# inside_gdcm LOG: true when the finding reported in LOG lies inside GDCM or the codec libraries
# it calls (its stack reaches them before any frame of bmeq's code: GDCM never calls back into
# bmeq). For a leak every leaked block's stack must; a timeout or out-of-memory is never GDCM's
# here. In bmeq such a fault fails only its scan: GDCM runs in a child process
# (src/itk/dicom_child.c). libFuzzer stops at the first finding, so the DICOM target is started
# again on its remaining time after one of these, and only a finding in bmeq's code fails.
inside_gdcm() {
	grep -q -E 'ERROR: libFuzzer: (timeout|out-of-memory)' "$1" && return 1
	awk -v ours_at="$root/" '
		/ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)/ { on = 1; leak = /LeakSanitizer/ }
		!on { next }
		/^ *#0 / { if (stack && (leak || n == 0)) { n++; if (!verdict()) bad = 1 } stack = 1; lib = 0; ours = 0; i = 0 }
		/^ *#[0-9]+ / && stack { i++
			if (!lib && $0 ~ /gdcm::|libgdcm|libopenjp2|libCharLS|libjpeg|libpvrg/) lib = i
			if (!ours && (index($0, ours_at "src/") || index($0, ours_at "tests/"))) ours = i }
		function verdict() { return lib && (!ours || lib < ours) }
		END { if (stack && (leak || n == 0)) { n++; if (!verdict()) bad = 1 } exit !(n > 0 && !bad) }
	' "$1"
}

# fuzz_one TARGET SECONDS: the target's whole budget; its log is build-fuzz/fuzz-TARGET.log.
fuzz_one() {
	local t=$1 left=$2 log=$build/fuzz-$1.log work=$build/fuzz-corpus-$1 start rc
	local extra=()
	mkdir -p "$work"
	cp -n "$root"/tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	# The reader's regressions are seeds too: libFuzzer starts by running them.
	[ "$t" = nifti ] && extra=("$root/tests/fuzz/regressions")
	: >"$log"
	while :; do
		start=$SECONDS
		if LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan_gdcm.supp \
			"$build/tests/fuzz/fuzz_$t" -max_total_time="$left" -max_len=65536 \
			-rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
			-artifact_prefix="$build/artifacts/$t-" "$work" "${extra[@]}" >"$log.run" 2>&1; then
			rc=0
		else
			rc=$?
		fi
		cat "$log.run" >>"$log"
		[ "$rc" -eq 0 ] && return 0
		[ "$t" = dicom ] && inside_gdcm "$log.run" || return 1
		echo "fuzz_$t: a fault inside GDCM after $((SECONDS - start)) s: $(grep -m1 '^SUMMARY' "$log.run")"
		for a in "$build/artifacts/$t-"*; do
			[ -f "$a" ] && mv "$a" "$build/gdcm-faults/"
		done
		left=$((left - (SECONDS - start)))
		[ "$left" -gt 5 ] || return 0
	done
}

pids=()
for t in "${targets[@]}"; do
	t_secs=$secs
	[ "$t" = dicom ] && t_secs=$dicom_secs
	echo "== fuzz_$t for $t_secs s (log: $build/fuzz-$t.log)"
	fuzz_one "$t" "$t_secs" &
	pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
	t=${targets[$i]}
	if wait "${pids[$i]}"; then
		runs=$(awk '/^stat::number_of_executed_units:/ { n += $2 } END { print n + 0 }' "$build/fuzz-$t.log")
		secs_run=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/fuzz-$t.log" | tail -n 1)
		echo "fuzz_$t: no finding in bmeq's code in ${runs:-?} runs (${secs_run:-?} per second)"
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
n=$(find "$build/gdcm-faults" -type f | wc -l)
[ "$n" -eq 0 ] || echo "fuzz_dicom: $n fault(s) inside GDCM, each a failed scan in bmeq (reproducers in $build/gdcm-faults/)"
exit "$failed"
