#!/usr/bin/env bash
# setup.sh [--run] - installs what bmeq needs on Debian 12, from Debian's own packages only.
# Without arguments: everything to build, test, fuzz and benchmark. With --run: only what
# building and running bmeq needs (the README's main job), which is a much smaller download.
# Uses sudo only when not run as root. Safe to run again.
set -euo pipefail

packages=(
  # build
  cmake make gcc g++ pkg-config
  # libraries: nifti_clib (NIfTI-1/2), zlib, ITK 5.2, libpng (QC pictures), nettle (SHA-256),
  # jansson (every JSON bmeq writes); the test set below adds to these
  libnifti2-dev zlib1g-dev libinsighttoolkit5-dev libpng-dev nettle-dev libjansson-dev
)
test_packages=(
  # tests: independent checks with nibabel/scipy, clang + runtime for fuzzing and LeakSanitizer
  python3 python3-numpy python3-scipy python3-nibabel clang libclang-rt-14-dev
  # tests: report.html rendered in a real browser (headless)
  chromium fonts-dejavu-core
  # tests: DICOM series made from the real one (pydicom), compressed copies (gdcmconv) and
  # the independent converter bmeq's DICOM reading is checked against (dcm2niix)
  python3-pydicom libgdcm-tools dcm2niix
)
case "${1:-}" in
  --run) ;;
  "") packages+=("${test_packages[@]}") ;;
  *) echo "usage: setup.sh [--run]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
else
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
