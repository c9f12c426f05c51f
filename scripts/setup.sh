#!/usr/bin/env bash
# Installs everything bmeq needs to build, test and benchmark on Debian 12, from Debian's
# own packages only. Uses sudo only when not run as root. Safe to run again.
set -euo pipefail

packages=(
  # build
  cmake make gcc g++ pkg-config
  # libraries: nifti_clib (NIfTI-1/2), zlib, ITK 5.2, libpng (QC pictures), nettle (SHA-256)
  libnifti2-dev zlib1g-dev libinsighttoolkit5-dev libpng-dev nettle-dev
  # tests: independent checks with nibabel/scipy, clang + runtime for fuzzing and LeakSanitizer
  python3 python3-numpy python3-scipy python3-nibabel clang libclang-rt-14-dev
  # tests: report.html rendered in a real browser (headless)
  chromium fonts-dejavu-core

)

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
else
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
