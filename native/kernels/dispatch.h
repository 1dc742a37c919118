// Which kernel table runs: the SIMD levels, which of them this binary and this CPU support, and
// the level the user asked for. The kernels layer owns this (it knows which tables are compiled
// in); native/runtime only reports the CPU's features.
#pragma once
#include <string>

#include "kernels.h"

namespace rg {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

const char* simd_level_name(SimdLevel level);

// Parses "scalar" | "avx2" | "avx512"; false for anything else.
bool parse_simd_level(const std::string& name, SimdLevel* level);

// Compiled into this binary and supported by this CPU.
bool simd_level_available(SimdLevel level);

// Highest level both compiled in and supported by the CPU.
SimdLevel best_simd_level();

// Kernel table for a level; falls back to the scalar table when the level is unavailable.
const KernelTable& kernels_for(SimdLevel level);

// The process-wide default: best_simd_level(), lowered by RECURRENTGEMMA_SIMD=scalar|avx2|avx512.
// When the variable names an unknown or unsupported level, sets *error to a message (and returns
// best_simd_level()); the caller decides whether that is fatal.
SimdLevel default_simd_level(std::string* error);

}  // namespace rg
