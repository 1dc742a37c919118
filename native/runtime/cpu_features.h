// The instruction-set extensions this CPU (and its OS) supports. Which kernel level that allows
// is decided in native/kernels/dispatch.h.
#pragma once

namespace rg {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512bf16 = false, avx512vnni = false;
};

CpuFeatures detect_cpu_features();

#if defined(__x86_64__) || defined(_M_X64)
// The CPUID instruction: r = {eax, ebx, ecx, edx} of `leaf` / `sub` (shared with cpu_identity.cc).
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]);
#endif

}  // namespace rg
