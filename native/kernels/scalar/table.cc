#include "scalar.h"

namespace rg {

const KernelTable& scalar_kernels() {
  static const KernelTable table = {
      "scalar",        scalar::matmul, scalar::rmsnorm, scalar::gelu,
      scalar::gelu_mul, scalar::softcap, scalar::conv1d, scalar::rglru,
      scalar::rope,    scalar::local_attention, scalar::matmul_fast,
  };
  return table;
}

}  // namespace rg
