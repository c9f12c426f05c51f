#!/usr/bin/env bash
# One shard of a bmeq study, as a Slurm job-array task (submit.sh submits it).
#
#   sbatch --array=0-$((N-1)) [resources] bmeq-array.sh BMEQ STUDY WORK N [batch options...]
#
# Slurm's array index is 0-based; bmeq's shards are 1-based: task i runs shard i+1 of N
# (`bmeq batch STUDY --shard $((SLURM_ARRAY_TASK_ID + 1))/N`) into WORK/shard-<i+1>.
# -j is the task's CPUs (--cpus-per-task). --resume makes a requeued or resubmitted task
# reuse the scans it had finished (inputs and parameters are checked by SHA-256).
# Scans that fail are error rows in the tables, not a failure of the task (bmeq's exit 6
# becomes 0 here), so the dependent merge still runs and reports them.
#SBATCH --job-name=bmeq-shard
#SBATCH --requeue
set -euo pipefail
if (($# < 4)); then
    echo "usage: sbatch --array=0-\$((N-1)) bmeq-array.sh BMEQ STUDY WORK N [batch options...]" >&2
    exit 2
fi
bmeq=$1 study=$2 work=$3 n=$4
shift 4
: "${SLURM_ARRAY_TASK_ID:?not a job-array task (submit with sbatch --array=0-$((n - 1)))}"
k=$((SLURM_ARRAY_TASK_ID + 1))
if ((k < 1 || k > n)); then
    echo "bmeq-array: task $SLURM_ARRAY_TASK_ID is outside shards 1..$n" >&2
    exit 2
fi
jobs=${SLURM_CPUS_PER_TASK:-1}
echo "bmeq-array: shard $k/$n of $study on $(hostname) with $jobs CPUs -> $work/shard-$k" >&2
rc=0
"$bmeq" batch "$study" -o "$work/shard-$k" --shard "$k/$n" -j "$jobs" --resume --quiet "$@" || rc=$?
if ((rc == 6)); then
    echo "bmeq-array: shard $k/$n: some scans failed (status=error rows); the merge reports them" >&2
    rc=0
fi
exit $rc
