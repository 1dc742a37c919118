// Which SIMD level this CPU (and this binary) supports, and which one the user asked for.
#pragma once
#include <string>

#include "../kernels/kernels.h"

namespace rg {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512bf16 = false, avx512vnni = false;
};

CpuFeatures detect_cpu_features();
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
// Returns false in `ok` and a message when the variable names an unknown or unsupported level.
SimdLevel default_simd_level(std::string* error);

}  // namespace rg
