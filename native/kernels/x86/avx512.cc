// AVX-512 kernel table (placeholder until the vector kernels land).
#include "../kernels.h"

namespace rg {
const KernelTable* avx512_kernels() { return nullptr; }
}  // namespace rg
