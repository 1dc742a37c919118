#!/bin/sh
# Builds and runs the standalone kernel harness (native/tests/kernel_check.cc) against the kernel
# sources directly (no N-API). Usage: scripts/kernel-check.sh [check | bench [level] [threads]]
set -e
cd "$(dirname "$0")/.."
# tmp/ is git-ignored; build/ is wiped by node-gyp rebuild.
OUT=${KERNEL_CHECK_OUT:-tmp/native-tests}
mkdir -p "$OUT"
${CXX:-g++} -std=c++17 -O3 -Wall -Wextra -pthread -o "$OUT/kernel_check" \
  native/tests/kernel_check.cc native/kernels/scalar/*.cc native/kernels/x86/*.cc native/kernels/dispatch.cc native/runtime/cpu_features.cc ${KERNEL_CHECK_FLAGS:-}
exec "$OUT/kernel_check" "$@"
