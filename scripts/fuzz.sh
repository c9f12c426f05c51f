#!/bin/bash
# fuzz.sh [SECONDS] [TARGET...] - builds the libFuzzer targets with clang in build-fuzz (ASan +
# UBSan, coverage-instrumented sources) and runs them, each for SECONDS (default 60) of wall
# time on a scratch copy of its seed corpus; exits non-zero if any finds a crash, a leak or a
# timeout in bmeq's code, printing the reproducer (base64) so a CI log alone is enough to keep
# it. Targets: nifti (the NIfTI reader from memory), manifest (the manifest CSV reader), config
# (the batch configuration parser), dicom (the DICOM series reader, for BMEQ_FUZZ_DICOM_SECONDS,
# default SECONDS); default all four. With dicom and others, two lanes run side by side (one
# core each): dicom alone, and the others one after another; otherwise all run side by side.
# Crashes are written to build-fuzz/artifacts/; save a reproducer under tests/fuzz/regressions/
# (nifti) or the target's corpus folder so that the fuzz-replay tests keep running it.
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
# libFuzzer's RSS limit (its default; BMEQ_FUZZ_RSS_MB to test this script's handling of it).
rss_mb=${BMEQ_FUZZ_RSS_MB:-2048}

# The fuzz targets link the layers below the ITK bridge (formats, settings; see
# src/CMakeLists.txt), built here by clang and instrumented for coverage. The ITK bridge itself
# is never built here (ITK 5.2's headers refuse Debian's clang): fuzz_dicom compiles only its
# two files without ITK headers (the DICOM reader over GDCM, the RAS/LPS geometry) with clang++.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DBMEQ_FUZZ=ON -DBMEQ_BUILD_BENCH=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# With dicom and others (two lanes), the DICOM target is built first and starts at once; the
# others are built on the other core meanwhile and share the DICOM lane's time (SECONDS each,
# or less so that both lanes end together).
two_lanes=0
case " ${targets[*]} " in *" dicom "*) [ ${#targets[@]} -gt 1 ] && two_lanes=1 ;; esac
if [ "$two_lanes" = 1 ]; then
	cmake --build "$build" -j"$jobs" --target fuzz_dicom
else
	for t in "${targets[@]}"; do
		cmake --build "$build" -j"$jobs" --target "fuzz_$t"
	done
fi
mkdir -p "$build/artifacts" "$build/gdcm-faults"

# inside_gdcm LOG: true when the finding reported in LOG lies inside GDCM or the codec libraries
# it calls (its stack reaches them before any frame of bmeq's code: GDCM never calls back into
# bmeq). For a leak every leaked block's stack must; a timeout or out-of-memory is never GDCM's
# here. In bmeq such a fault fails only its scan: GDCM runs in a child process
# (src/itk/dicom_child.c). libFuzzer stops at the first finding, so the DICOM target is started
# again on its remaining time after one of these, and only a finding in bmeq's code fails.
#
# An AddressSanitizer CHECK in its allocator (a heap chunk's header found overwritten when the
# chunk is freed or leaves the quarantine) counts as GDCM's too: ASan checks every load and
# store of bmeq's instrumented code, and every memcpy/memset/read from any library, and reports
# a bad one at the faulty access with its stack; a chunk overwritten without such a report was
# written by a plain store in uninstrumented code, which here is GDCM and its codecs (CI's run
# of 30282ea met one after 4,446 inputs; its last input alone does not reproduce it, and
# valgrind over the 60,806 inputs of a 10-minute campaign found no invalid write: rare, and in bmeq
# a reader that answered with an error is not used again, src/itk/dicom_child.c).
#
# A timeout counts as GDCM's by the same rule, its stack at the alarm reaching GDCM before bmeq's
# code: CI's run of 98aaddf met GDCM's PVRG JPEG codec waiting (system()) for its external
# decoder, /usr/bin/pvrg-jpeg, which looped on a malformed stream. In bmeq the reader's time
# limit kills the reader's process group with the decoder in it, and the scan fails.
inside_gdcm() {
	grep -q -E 'ERROR: libFuzzer: out-of-memory' "$1" && return 1
	grep -q -E 'AddressSanitizer: CHECK failed: asan_allocator' "$1" && return 0
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

# first_stack_inside_gdcm LOG: true when the first stack after libFuzzer's out-of-memory line
# (the malloc over the limit, or the largest live allocations) reaches GDCM or its codec
# libraries before bmeq's code.
first_stack_inside_gdcm() {
	awk -v ours_at="$root/" '
		/ERROR: libFuzzer: out-of-memory/ { on = 1 }
		!on { next }
		/^ *#[0-9]+ / { seen = 1; i++
			if (!lib && $0 ~ /gdcm::|libgdcm|libopenjp2|libCharLS|libjpeg|libpvrg/) lib = i
			if (!ours && (index($0, ours_at "src/") || index($0, ours_at "tests/"))) ours = i
			next }
		seen { exit }
		END { exit !(lib && (!ours || lib < ours)) }
	' "$1"
}

# out_of_memory TARGET LOG: what a libFuzzer out-of-memory in the DICOM target was. libFuzzer
# checks the process's peak RSS once a second, so the input it names is only the one running
# then. Replayed alone in a fresh process under the same limit: "growth" when it passes (the
# memory grew over many inputs: GDCM's codecs leak on corrupt streams, leaks lsan_gdcm.supp
# suppresses and that stay allocated, while bmeq's own leaks are reported per input by
# LeakSanitizer and fail; in bmeq each read is a child process that ends); "gdcm" when it
# fails alone and its allocation is GDCM's or a codec's (listed with the GDCM faults: in bmeq
# it fails one scan's child); "ours" otherwise. The input is removed from the working corpus
# unless it is growth, so that the next process does not meet it again.
out_of_memory() {
	local t=$1 log=$2 a
	a=$(ls -t "$build/artifacts/$t-oom-"* 2>/dev/null | head -n 1)
	[ -n "$a" ] || { echo ours; return; }
	if LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan_gdcm.supp "$build/tests/fuzz/fuzz_$t" \
		-rss_limit_mb="$rss_mb" -timeout=20 "$a" >"$log.alone" 2>&1; then
		mkdir -p "$build/memory-growth"
		mv "$a" "$build/memory-growth/"
		echo growth
		return
	fi
	rm -f "$build/fuzz-corpus-$t/${a##*-oom-}"
	if first_stack_inside_gdcm "$log.alone"; then
		mv "$a" "$build/gdcm-faults/"
		echo gdcm
	else
		echo ours
	fi
}

# fuzz_one TARGET SECONDS: the target's whole budget; its log is build-fuzz/fuzz-TARGET.log.
fuzz_one() {
	local t=$1 left=$2 log=$build/fuzz-$1.log work=$build/fuzz-corpus-$1 start rc n short=0 fpid
	local extra=() chunk=() asan=
	# ASan keeps freed memory in quarantine to catch its later use (256 MB by default); 64 MB
	# still catches a use soon after the free, and keeps the DICOM target's footprint down.
	[ "$t" = dicom ] && asan=quarantine_size_mb=64
	mkdir -p "$work"
	cp -n "$root"/tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	# The reader's regressions are seeds too: libFuzzer starts by running them.
	[ "$t" = nifti ] && extra=("$root/tests/fuzz/regressions")
	# The DICOM target's memory grows with GDCM's suppressed leaks: a fresh process every
	# BMEQ_FUZZ_DICOM_RUNS inputs (its corpus carries over) keeps it far from the limit.
	[ "$t" = dicom ] && chunk=(-runs="${BMEQ_FUZZ_DICOM_RUNS:-5000}")
	: >"$log"
	while :; do
		start=$SECONDS
		# Each process in a session of its own, killed whole when it ends: GDCM's PVRG
		# codec runs an external decoder (system()), which a malformed stream can leave
		# looping after libFuzzer stopped its caller (it held a core for the rest of
		# CI's run of 98aaddf).
		ASAN_OPTIONS=$asan \
			LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan_gdcm.supp \
			setsid "$build/tests/fuzz/fuzz_$t" -max_total_time="$left" -max_len=65536 \
			-rss_limit_mb="$rss_mb" -timeout=20 -print_final_stats=1 "${chunk[@]}" \
			-artifact_prefix="$build/artifacts/$t-" "$work" "${extra[@]}" >"$log.run" 2>&1 &
		fpid=$!
		if wait "$fpid"; then
			rc=0
		else
			rc=$?
		fi
		kill -KILL -- "-$fpid" 2>/dev/null || true
		cat "$log.run" >>"$log"
		left=$((left - (SECONDS - start)))
		if [ "$rc" -eq 0 ]; then
			# A chunk of the DICOM target done: a fresh process for the time left.
			[ "$t" = dicom ] && [ "$left" -gt 5 ] && continue
			return 0
		fi
		local kind=
		if [ "$t" = dicom ] && grep -q 'ERROR: libFuzzer: out-of-memory' "$log.run"; then
			kind=$(out_of_memory "$t" "$log.run")
		fi
		if [ "$kind" = growth ]; then
			# A process that grows to the limit within a few inputs is not "many
			# inputs": three in a row fail the target.
			n=$(awk '/^#[0-9]+[ \t]/ { n = substr($1, 2) + 0 } END { print n + 0 }' "$log.run")
			if [ "$n" -lt 1000 ]; then short=$((short + 1)); else short=0; fi
			[ "$short" -lt 3 ] || { echo "fuzz_$t: memory reaches ${rss_mb} MB within $n inputs, three times"; return 1; }
			echo "fuzz_$t: memory reached ${rss_mb} MB over $n inputs in $((SECONDS - start)) s (the last input alone stays under it): a fresh process goes on"
		elif [ "$kind" = gdcm ]; then
			echo "fuzz_$t: one input takes over ${rss_mb} MB inside GDCM or a codec: listed in $build/gdcm-faults"
		elif [ -z "$kind" ] && [ "$t" = dicom ] && inside_gdcm "$log.run"; then
			echo "fuzz_$t: a fault inside GDCM after $((SECONDS - start)) s: $(grep -m1 -E '^SUMMARY|CHECK failed' "$log.run")"
			for a in "$build/artifacts/$t-"*; do
				[ -f "$a" ] || continue
				# Out of the working corpus too (a seed can time out), so that
				# the next process does not meet it again.
				rm -f "$work/${a##*-}"
				mv "$a" "$build/gdcm-faults/"
			done
		else
			return 1
		fi
		[ "$left" -gt 5 ] || return 0
	done
}

# Each target's exit status goes to build-fuzz/fuzz-TARGET.rc; a lane runs its targets in turn,
# each for SECONDS (dicom: its own), or for its share of the time left before END (seconds
# since the start of this script) when END is set.
lane() {
	local i=0 n=$#
	for t in "$@"; do
		local t_secs=$secs rc=0
		[ "$t" = dicom ] && t_secs=$dicom_secs
		if [ -n "${end:-}" ]; then
			local share=$(((end - SECONDS) / (n - i)))
			[ "$share" -lt "$t_secs" ] && t_secs=$share
			[ "$t_secs" -ge 10 ] || t_secs=10
		fi
		i=$((i + 1))
		echo "== fuzz_$t for $t_secs s (log: $build/fuzz-$t.log)"
		fuzz_one "$t" "$t_secs" || rc=$?
		echo "$rc" >"$build/fuzz-$t.rc"
	done
}
others=()
has_dicom=0
for t in "${targets[@]}"; do
	rm -f "$build/fuzz-$t.rc"
	if [ "$t" = dicom ]; then has_dicom=1; else others+=("$t"); fi
done
pids=()
if [ "$has_dicom" = 1 ] && [ ${#others[@]} -gt 0 ]; then
	# The DICOM reader's long campaign on one core, the others in turn on the other.
	lane dicom &
	pids+=($!)
	end=$((SECONDS + dicom_secs))
	built=1
	for t in "${others[@]}"; do
		if ! cmake --build "$build" -j1 --target "fuzz_$t" >"$build/build-fuzz_$t.log" 2>&1; then
			cat "$build/build-fuzz_$t.log"
			built=0
		fi
	done
	if [ "$built" = 1 ]; then
		lane "${others[@]}" &
		pids+=($!)
	fi
else
	for t in "${targets[@]}"; do
		lane "$t" &
		pids+=($!)
	done
fi
for p in "${pids[@]}"; do
	wait "$p" || true
done
failed=0
for t in "${targets[@]}"; do
	if [ "$(cat "$build/fuzz-$t.rc" 2>/dev/null)" = 0 ]; then
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
