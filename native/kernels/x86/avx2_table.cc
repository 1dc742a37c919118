// AVX2 kernel table. RoPE reuses the scalar kernel (not hot, and it must stay bit-identical).
#include "../scalar/scalar.h"
#include "x86_common.h"

namespace rg {

const KernelTable* avx2_kernels() {
#if RG_X86_SIMD
  static const KernelTable table = {
      "avx2",         avx2::matmul, avx2::rmsnorm, avx2::gelu,
      avx2::gelu_mul, avx2::softcap, avx2::conv1d, avx2::rglru,
      scalar::rope,    avx2::local_attention, nullptr,  // no fast matmul: avx2 has neither bf16 dot nor VNNI-512
  };
  return &table;
#else
  return nullptr;
#endif
}

}  // namespace rg
