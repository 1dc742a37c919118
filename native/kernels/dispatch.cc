#include "dispatch.h"

#include <cstdlib>

#include "../runtime/cpu_features.h"

namespace rg {

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar: return "scalar";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Avx512: return "avx512";
  }
  return "scalar";
}

bool parse_simd_level(const std::string& name, SimdLevel* level) {
  for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512}) {
    if (name == simd_level_name(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool simd_level_available(SimdLevel level) {
  static const CpuFeatures f = detect_cpu_features();
  switch (level) {
    case SimdLevel::Scalar: return true;
    case SimdLevel::Avx2: return avx2_kernels() && f.avx2 && f.fma && f.f16c;
    case SimdLevel::Avx512:
      return avx512_kernels() && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.f16c;
  }
  return false;
}

SimdLevel best_simd_level() {
  if (simd_level_available(SimdLevel::Avx512)) return SimdLevel::Avx512;
  if (simd_level_available(SimdLevel::Avx2)) return SimdLevel::Avx2;
  return SimdLevel::Scalar;
}

const KernelTable& kernels_for(SimdLevel level) {
  if (!simd_level_available(level)) return scalar_kernels();
  switch (level) {
    case SimdLevel::Avx512: return *avx512_kernels();
    case SimdLevel::Avx2: return *avx2_kernels();
    default: return scalar_kernels();
  }
}

SimdLevel default_simd_level(std::string* error) {
  const SimdLevel best = best_simd_level();
  const char* env = std::getenv("RECURRENTGEMMA_SIMD");
  if (!env || !*env) return best;
  SimdLevel want;
  if (!parse_simd_level(env, &want)) {
    if (error) *error = std::string("RECURRENTGEMMA_SIMD must be scalar, avx2 or avx512, got '") + env + "'";
    return best;
  }
  if (!simd_level_available(want)) {
    if (error) *error = std::string("RECURRENTGEMMA_SIMD=") + env + " is not supported by this CPU or binary (best: " + simd_level_name(best) + ")";
    return best;
  }
  return want;
}

}  // namespace rg
