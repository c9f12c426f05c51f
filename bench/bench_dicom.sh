#!/bin/bash
# bench_dicom.sh [BUILD] [ROUNDS] - the series of tests/data against dcm2niix's .nii.gz of it,
# read through the same opener (bench_dicom), as a one-thread command reads it (a forked
# reader) and as a batch's worker does (--worker: a started reader program); needs dcm2niix
# (scripts/setup.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
series=$root/tests/data/cptac_ucec_pelvis_mri/dicom_C3N-02978_t1_tse_cor_post
dcm2niix -z y -b n -f ref -o "$work" "$series" >/dev/null
"$build/bench/bench_dicom" "$series" "$work/ref.nii.gz" "${2:-15}"
echo
"$build/bench/bench_dicom" "$series" "$work/ref.nii.gz" "${2:-15}" --worker
