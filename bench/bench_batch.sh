#!/usr/bin/env bash
# Batch throughput with 1 and 2 workers on a 12-scan phantom study (issue 8: 2 workers must give
# at least 1.7x the throughput of 1), and the tables' byte-identity between the two runs.
# usage: bench/bench_batch.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
build=${1:?usage: bench_batch.sh BUILD_DIR [WORK_DIR]}
work=${2:-$(mktemp -d)}
bmeq=$build/src/bmeq
rm -rf "$work/study" "$work/j1" "$work/j2"
"$bmeq" phantom -o "$work/study" --subjects 4 --sessions 3 --seed 7 > /dev/null
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
t1=$(t "$bmeq" batch "$work/study/manifest.csv" -o "$work/j1" -j 1 --quiet)
t2=$(t "$bmeq" batch "$work/study/manifest.csv" -o "$work/j2" -j 2 --quiet)
echo "12 scans + 16 comparisons: -j 1 ${t1} s, -j 2 ${t2} s wall"
echo "throughput ratio (-j 2 / -j 1): $(echo "scale=2; $t1 / $t2" | bc)x (target >= 1.7x on 2 free cores)"
for f in scans.csv lesions.csv response.csv response_interval.csv; do
  cmp -s "$work/j1/$f" "$work/j2/$f" && echo "$f identical for -j 1 and -j 2" || echo "$f DIFFERS"
done
