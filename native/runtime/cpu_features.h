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

}  // namespace rg
