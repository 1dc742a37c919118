#include "cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace rg {

#if defined(__x86_64__) || defined(_M_X64)
static void cpuid(int leaf, int sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int out[4];
  __cpuidex(out, leaf, sub);
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(out[i]);
#else
  __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
#endif
}

static unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}
#endif

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  if (!osxsave) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;
  f.fma = ymm_os && ((r[2] >> 12) & 1);
  f.f16c = ymm_os && ((r[2] >> 29) & 1);
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    f.avx2 = ymm_os && ((r[1] >> 5) & 1);
    f.avx512f = zmm_os && ((r[1] >> 16) & 1);
    f.avx512dq = zmm_os && ((r[1] >> 17) & 1);
    f.avx512bw = zmm_os && ((r[1] >> 30) & 1);
    f.avx512vl = zmm_os && ((r[1] >> 31) & 1);
    f.avx512vnni = zmm_os && ((r[2] >> 11) & 1);
    cpuid(7, 1, r);
    f.avx512bf16 = zmm_os && ((r[0] >> 5) & 1);
  }
#endif
  return f;
}

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
