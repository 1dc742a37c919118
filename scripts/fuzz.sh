#!/usr/bin/env bash
# Builds the libFuzzer target native/fuzz/fuzz_safetensors_weights.cc with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for a bounded time. It fuzzes the native
# re-validation of checkpoints (rg::check_config, rg::Weights over a real file) and runs a forward
# pass on whatever is accepted. Installs clang with apt when it is missing and apt is usable;
# otherwise skips with a message. Any crash or sanitizer report fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN=${RG_FUZZ_SECONDS:-60}
OUT=build-fuzz
CLANG=${CLANG:-clang++}

if ! command -v "$CLANG" >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "fuzz: installing clang with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null) \
      || { echo "fuzz: SKIPPED — apt-get could not install clang"; exit 0; }
  else
    echo "fuzz: SKIPPED — clang++ is not installed and apt-get is unavailable (or not root)"
    exit 0
  fi
fi

mkdir -p "$OUT/corpus"
# Everything but the N-API binding: kernels, runtime and model, plus the fuzz target.
SOURCES=$(find native/kernels native/runtime native/model -name '*.cc' | sort)
echo "fuzz: building $OUT/fuzz_safetensors_weights"
# shellcheck disable=SC2086
"$CLANG" -std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Wall -Wextra -Werror -pthread native/fuzz/fuzz_safetensors_weights.cc $SOURCES -o "$OUT/fuzz_safetensors_weights"

echo "fuzz: running for ${SECONDS_TO_RUN}s"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  "$OUT/fuzz_safetensors_weights" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$OUT/corpus" 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status) — the crashing input is in ./crash-* or ./leak-*"
  exit "$status"
fi
echo "fuzz: OK — no crash or sanitizer report"
