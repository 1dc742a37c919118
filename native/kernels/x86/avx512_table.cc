// AVX-512 kernel table. RoPE reuses the scalar kernel (not hot, and it must stay bit-identical).
#include "../scalar/scalar.h"
#include "x86_common.h"

namespace rg {

const KernelTable* avx512_kernels() {
#if RG_X86_SIMD
  static const KernelTable table = {
      "avx512",         avx512::matmul, avx512::rmsnorm, avx512::gelu,
      avx512::gelu_mul, avx512::softcap, avx512::conv1d, avx512::rglru,
      scalar::rope,    avx512::local_attention,
  };
  return &table;
#else
  return nullptr;
#endif
}

}  // namespace rg
