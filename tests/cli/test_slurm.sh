#!/usr/bin/env bash
# A real one-node Slurm cluster on loopback (scripts/ci/slurm-cluster.sh) runs the phantom
# study through scripts/slurm/submit.sh: a job array of 2 shards and a merge that depends
# on it. The merged tables must be byte-identical to a local `bmeq batch` of the same
# manifest, and provenance the same but for host and timings. A second submission whose
# shards fail must get its merge cancelled (afterok + kill-on-invalid-dep), not left
# pending. The cluster is always stopped and removed, on failure too.
#
# Needs root and Debian's slurm-wlm and munge (installed by the cluster script when
# missing). Without root, or when Slurm cannot be installed or started, it is skipped
# (exit 77), except under CI=true or BMEQ_REQUIRE_SLURM=1, where that is a failure.
set -euo pipefail
bmeq=$(realpath "$1") tmp=$3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
required=0
[ "${CI:-}" = true ] || [ "${BMEQ_REQUIRE_SLURM:-0}" = 1 ] && required=1
skip() {
  ((required)) && fail "$* (CI=true / BMEQ_REQUIRE_SLURM=1: the Slurm test must run)"
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || { echo "SKIP: the test cluster needs root"; exit 77; }

# shellcheck source=../../scripts/ci/slurm-cluster.sh
source "$root/scripts/ci/slurm-cluster.sh"
# shellcheck source=same_outputs.sh
. "$root/tests/cli/same_outputs.sh"
rm -rf "$tmp" && mkdir -p "$tmp"
# A short folder: munge's socket path must fit in 108 bytes.
cluster=$(mktemp -d /tmp/bmeq-slurm.XXXXXX)
cleanup() {
  bmeq_slurm_down "$cluster"
  rm -rf "$cluster"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
bmeq_slurm_install || skip "slurm-wlm/munge cannot be installed"
bmeq_slurm_up "$cluster" || skip "the one-node Slurm cluster did not start"

"$bmeq" phantom -o "$tmp/study" --subjects 3 --sessions 2 --seed 3 >/dev/null
manifest=$tmp/study/manifest.csv
"$bmeq" batch "$manifest" -o "$tmp/local" -j 2 --quiet >/dev/null

logs() {
  local f
  for f in "$1"/logs/* "$cluster"/log/slurmctld.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
  done >&2
}
state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
# wait_final JOBID SECONDS: prints the job's final state, or TIMEOUT_WAITING.
wait_final() {
  local i s=
  for ((i = 0; i < $2 * 2; i++)); do
    s=$(state "$1")
    case $s in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
        echo "$s"; return 0 ;;
    esac
    sleep 0.5
  done
  echo "TIMEOUT_WAITING($s)"
}

# 1. The study as 2 shards plus the merge.
ids=$(bash "$root/scripts/slurm/submit.sh" -n 2 -o "$tmp/slurm" -c 1 -m 1G -t 10 -M 1G -T 5 \
  -b "$bmeq" "$manifest")
array=$(awk '$1 == "array" { print $2 }' <<<"$ids")
merge=$(awk '$1 == "merge" { print $2 }' <<<"$ids")
[[ $array =~ ^[0-9]+$ && $merge =~ ^[0-9]+$ ]] || fail "submit.sh printed '$ids'"
scontrol -o show job "$merge" | grep -q "Dependency=afterok:${array}" ||
  fail "merge job $merge does not depend on array $array: $(scontrol -o show job "$merge")"
s=$(wait_final "$merge" 150)
[ "$s" = COMPLETED ] || { logs "$tmp/slurm.shards"; fail "merge job ended $s"; }
for k in 0 1; do
  s=$(state "${array}_$k")
  [ "$s" = COMPLETED ] || { logs "$tmp/slurm.shards"; fail "array task $k ended $s"; }
  grep -q "shard $((k + 1))/2" "$tmp/slurm.shards/logs/shard-$k.out" ||
    fail "task $k did not run shard $((k + 1))/2"
done
tables="scans.csv lesions.csv response.csv response_interval.csv report.html"
same_tables "$tmp/local" "$tmp/slurm"
same_provenance "$tmp/local" "$tmp/slurm"
/usr/bin/python3 - "$tmp/slurm/provenance.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
assert s["scans"] == 6 and s["comparisons"] == 3, s
PY

# 2. Shards that fail: the merge is cancelled, not left waiting.
printf 'not,a\nmanifest\n' >"$tmp/broken.csv"
ids=$(bash "$root/scripts/slurm/submit.sh" -n 2 -o "$tmp/broken" -c 1 -m 256M -t 5 -M 256M -T 5 \
  -b "$bmeq" "$tmp/broken.csv")
array=$(awk '$1 == "array" { print $2 }' <<<"$ids")
merge=$(awk '$1 == "merge" { print $2 }' <<<"$ids")
s=$(wait_final "$merge" 60)
[ "$s" = CANCELLED ] || { logs "$tmp/broken.shards"; fail "merge after failed shards ended $s, expected CANCELLED"; }
[ "$(state "${array}_0")" = FAILED ] || fail "a shard of a broken manifest did not fail"
[ ! -e "$tmp/broken/scans.csv" ] || fail "a merge ran after failed shards"
echo "slurm: all checks passed"
