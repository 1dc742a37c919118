#!/bin/sh
# Builds and runs the standalone kernel harness (native/tests/kernel_check.cc) against the kernel
# sources directly (no N-API). Usage: scripts/kernel-check.sh [check | bench [level] [threads]]
set -e
cd "$(dirname "$0")/.."
mkdir -p build/native-tests
${CXX:-g++} -std=c++17 -O3 -Wall -Wextra -pthread -o build/native-tests/kernel_check \
  native/tests/kernel_check.cc native/kernels/scalar/*.cc native/kernels/x86/*.cc native/runtime/cpu_features.cc
exec build/native-tests/kernel_check "$@"
