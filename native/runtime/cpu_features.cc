#include "cpu_features.h"

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace rg {

#if defined(__x86_64__) || defined(_M_X64)
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int out[4];
  __cpuidex(out, static_cast<int>(leaf), static_cast<int>(sub));
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

}  // namespace rg
