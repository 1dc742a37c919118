#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (g++, warnings as errors)
# into build-asan/ — never into build/Release, which `npm test` uses —, runs the kernel harness's
# check mode on the same kernel objects, and runs the native-facing tests against the addon
# through RECURRENTGEMMA_ADDON_PATH. Any sanitizer report aborts the test process
# and fails this script. Node itself is not built with ASan, so the runtime is preloaded and leak
# detection (which would report node's own allocations at exit) is off.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${CXX:-g++}
OUT=build-asan
TIME_LIMIT=${RG_SANITIZE_SECONDS:-240}

if ! command -v "$CXX" >/dev/null; then
  echo "sanitize: SKIPPED — no C++ compiler ($CXX) found"
  exit 0
fi
ASAN_LIB=$("$CXX" -print-file-name=libasan.so)
if [ ! -e "$ASAN_LIB" ]; then
  echo "sanitize: SKIPPED — $CXX has no AddressSanitizer runtime (libasan.so)"
  exit 0
fi

NODE_INC=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
NAPI_INC=$(node -p "require('node-addon-api').include_dir")
read -r -a SOURCES <<<"$(node scripts/native-sources.js)"
FLAGS=(-std=c++17 -O1 -g -fPIC -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -Wall -Wextra -Werror -isystem "$NODE_INC" -isystem "$NAPI_INC"
       -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED)

echo "sanitize: compiling ${#SOURCES[@]} sources with $CXX -fsanitize=address,undefined -Wall -Wextra -Werror"
mkdir -p "$OUT/obj"
OBJECTS=()
# Two compilers at a time (the CI machine has two cores).
for src in "${SOURCES[@]}"; do
  obj="$OUT/obj/$(echo "$src" | tr / _).o"
  OBJECTS+=("$obj")
  if [ "$(jobs -rp | wc -l)" -ge 2 ]; then wait -n || { echo "sanitize: FAILED to compile"; exit 1; }; fi
  "$CXX" "${FLAGS[@]}" -c "$src" -o "$obj" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || { echo "sanitize: FAILED to compile"; exit 1; }; done
"$CXX" -shared -fsanitize=address,undefined -o "$OUT/recurrentgemma.node" "${OBJECTS[@]}"

# The standalone kernel harness (native/tests/kernel_check.cc) in check mode: every compiled SIMD
# level against the scalar reference on random shapes, edge tails and long rows that the jest
# kernel tests do not reach, here with the sanitizers watching the kernels' loads and stores. It
# links the kernel objects just built. x86-64 only (the harness uses x86 intrinsics).
if [ "$(uname -m)" = x86_64 ]; then
  echo "sanitize: kernel_check check (SIMD levels vs the scalar reference)"
  KERNEL_OBJECTS=()
  for src in "${SOURCES[@]}"; do
    case "$src" in native/kernels/*|native/runtime/cpu_features.cc) KERNEL_OBJECTS+=("$OUT/obj/$(echo "$src" | tr / _).o") ;; esac
  done
  "$CXX" "${FLAGS[@]}" -pthread native/tests/kernel_check.cc "${KERNEL_OBJECTS[@]}" -o "$OUT/kernel_check"
  ASAN_OPTIONS="abort_on_error=1:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    timeout "$TIME_LIMIT" "$OUT/kernel_check" check
fi

export RECURRENTGEMMA_ADDON_PATH="$PWD/$OUT/recurrentgemma.node"
export LD_PRELOAD="$ASAN_LIB"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export RG_FUZZ_RUNS=${RG_FUZZ_RUNS:-100}

# The RSS-flatness test is left out: ASan's quarantine holds freed memory on purpose.
echo "sanitize: running the native-facing tests against $RECURRENTGEMMA_ADDON_PATH"
timeout "$TIME_LIMIT" npx jest --runInBand \
  test/runtime-errors.test.ts test/concurrency.test.ts test/lifecycle.test.ts test/checkpoint-hostile.test.ts \
  test/checkpoint-validate.test.ts test/checkpoint-fuzz.test.ts test/golden.test.ts \
  test/state-layout-mirror.test.ts test/tensor-table-mirror.test.ts \
  -t '^(?!.*keeps RSS).*$'
echo "sanitize: OK — no sanitizer report"
