// AVX2 + FMA kernel table (placeholder until the vector kernels land).
#include "../kernels.h"

namespace rg {
const KernelTable* avx2_kernels() { return nullptr; }
}  // namespace rg
