#!/usr/bin/env bash
# Submits a bmeq study to Slurm: a job array of N shards and a merge that runs when all
# of them have succeeded. Prints the two job ids ("array JOBID" and "merge JOBID").
#
#   scripts/slurm/submit.sh -n N -o OUT [options] STUDY [-- batch options...]
#
#   STUDY              a study folder or manifest.csv (as for bmeq batch)
#   -n N               shards (array tasks 0..N-1 run shards 1..N; whole subjects each)
#   -o OUT             merged output (tables, provenance.json, per-scan folders)
#   -w WORK            shard folders WORK/shard-K and logs WORK/logs (default OUT.shards)
#   -p PARTITION       partition (default: the cluster's default)
#   -c CPUS            CPUs per shard task, used as bmeq -j (default 4)
#   -m MEM             memory per shard task, sbatch syntax (default 4G)
#   -t TIME            time limit per shard task (default 02:00:00)
#   -C CPUS, -M MEM, -T TIME   CPUs (QC pictures), memory and time limit of the merge job
#                      (default 1, 2G, 00:30:00)
#   -b BMEQ            the bmeq program (default: bmeq on PATH)
#   -A ACCOUNT         account to charge (default: none given)
#   -- ...             passed to every `bmeq batch` (e.g. --config FILE --pattern GLOB)
#
# Paths are made absolute, so the jobs do not depend on the folder they start in; every
# path must be visible from the compute nodes (a shared file system). The merge is
# submitted with --dependency=afterok:<array> and --kill-on-invalid-dep=yes: if a shard
# fails, the merge is cancelled rather than left pending forever. Resubmitting after a
# failure reuses the finished scans (the shards run with --resume).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
n= out= work= partition= cpus=4 mem=4G time=02:00:00 mcpus=1 mmem=2G mtime=00:30:00 bmeq=bmeq account=
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while getopts "n:o:w:p:c:m:t:C:M:T:b:A:h" opt; do
    case $opt in
        n) n=$OPTARG ;; o) out=$OPTARG ;; w) work=$OPTARG ;; p) partition=$OPTARG ;;
        c) cpus=$OPTARG ;; m) mem=$OPTARG ;; t) time=$OPTARG ;; C) mcpus=$OPTARG ;; M) mmem=$OPTARG ;;
        T) mtime=$OPTARG ;; b) bmeq=$OPTARG ;; A) account=$OPTARG ;; *) usage ;;
    esac
done
shift $((OPTIND - 1))
(($# >= 1)) || usage
study=$1
shift
[[ ${1:-} == -- ]] && shift
[[ $n =~ ^[1-9][0-9]*$ && -n $out ]] || usage
[[ $cpus =~ ^[1-9][0-9]*$ && $mcpus =~ ^[1-9][0-9]*$ ]] ||
    { echo "submit.sh: -c and -C need a number of CPUs" >&2; exit 2; }
if [[ $bmeq != */* ]]; then
    bmeq=$(command -v "$bmeq") || { echo "submit.sh: $bmeq not found on PATH (use -b)" >&2; exit 2; }
fi
[[ -x $bmeq ]] || { echo "submit.sh: $bmeq is not executable" >&2; exit 2; }
[[ -e $study ]] || { echo "submit.sh: $study: no such study" >&2; exit 2; }
bmeq=$(realpath "$bmeq") study=$(realpath "$study") out=$(realpath -m "$out")
work=$(realpath -m "${work:-$out.shards}")
mkdir -p "$work/logs"

common=()
[[ -n $partition ]] && common+=(--partition="$partition")
[[ -n $account ]] && common+=(--account="$account")

array=$(sbatch --parsable "${common[@]}" --array="0-$((n - 1))" --cpus-per-task="$cpus" \
    --mem="$mem" --time="$time" --output="$work/logs/shard-%a.out" \
    "$here/bmeq-array.sh" "$bmeq" "$study" "$work" "$n" "$@")
array=${array%%;*}   # --parsable may add ";cluster"
merge=$(sbatch --parsable "${common[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --cpus-per-task="$mcpus" --mem="$mmem" --time="$mtime" --output="$work/logs/merge.out" \
    "$here/bmeq-merge.sh" "$bmeq" "$work" "$n" "$out")
merge=${merge%%;*}
echo "array $array"
echo "merge $merge"
