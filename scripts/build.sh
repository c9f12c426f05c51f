#!/usr/bin/env bash
# Configures and builds bmeq into build/ (or $BMEQ_BUILD_DIR). Extra arguments go to cmake's
# configure step; BMEQ_BUILD_TARGET builds one target only (e.g. bmeq, without tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BMEQ_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build" -j"$(nproc)" ${BMEQ_BUILD_TARGET:+--target "$BMEQ_BUILD_TARGET"}
