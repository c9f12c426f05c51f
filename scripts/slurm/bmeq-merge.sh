#!/usr/bin/env bash
# Joins the N shard folders of a bmeq study once every array task has succeeded
# (submit.sh submits it with --dependency=afterok:<array job>).
#
#   sbatch --dependency=afterok:JOBID --kill-on-invalid-dep=yes bmeq-merge.sh BMEQ WORK N OUT
#
# Writes OUT exactly as `bmeq batch` on one machine would (tables and report byte-identical);
# the QC pictures are redrawn with the job's CPUs (--cpus-per-task).
# Some failed scans (bmeq's exit 6) are reported in the log and the tables, not as a failed job.
#SBATCH --job-name=bmeq-merge
set -euo pipefail
if (($# != 4)); then
    echo "usage: sbatch --dependency=afterok:JOBID bmeq-merge.sh BMEQ WORK N OUT" >&2
    exit 2
fi
bmeq=$1 work=$2 n=$3 out=$4
shards=()
for ((k = 1; k <= n; k++)); do
    shards+=("$work/shard-$k")
done
rc=0
"$bmeq" merge "${shards[@]}" -o "$out" -j "${SLURM_CPUS_PER_TASK:-1}" || rc=$?
if ((rc == 6)); then
    echo "bmeq-merge: merged; some scans failed (see the status=error rows in $out/scans.csv)" >&2
    rc=0
fi
exit $rc
