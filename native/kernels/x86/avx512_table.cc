// AVX-512 kernel table. RoPE reuses the scalar kernel (not hot, and it must stay bit-identical).
// matmul_fast is set only when this CPU also has avx512_bf16 and avx512_vnni.
#include "../../runtime/cpu_features.h"
#include "../scalar/scalar.h"
#include "x86_common.h"

namespace rg {

#if RG_X86_SIMD
namespace {

void matmul_fast(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
                 int64_t ldy, int64_t r0, int64_t r1) {
  if (T > 0 && r1 > r0 && w.cols > 0) {
    switch (w.dtype) {
    case DType::BF16:
      if (T >= kFastMinTokensBF16) return avx512::matmul_fast_bf16(x, ldx, T, w, bias, y, ldy, r0, r1);
      break;
    case DType::Q8:
    case DType::Q4:
      if (T >= kFastMinTokensQuant) return avx512::matmul_fast_quant(x, ldx, T, w, bias, y, ldy, r0, r1);
      break;
    default: break;  // F32 / F16: fast == exact
    }
  }
  avx512::matmul(x, ldx, T, w, bias, y, ldy, r0, r1);
}

decltype(KernelTable::matmul_fast) fast_if_supported() {
  const CpuFeatures f = detect_cpu_features();
  return f.avx512bf16 && f.avx512vnni ? matmul_fast : nullptr;
}

}  // namespace
#endif

const KernelTable* avx512_kernels() {
#if RG_X86_SIMD
  static const KernelTable table = {
      "avx512",         avx512::matmul, avx512::rmsnorm, avx512::gelu,
      avx512::gelu_mul, avx512::softcap, avx512::conv1d, avx512::rglru,
      scalar::rope,    avx512::local_attention, fast_if_supported(),
  };
  return &table;
#else
  return nullptr;
#endif
}

}  // namespace rg
