// AVX2 kernels: causal Conv1D and RG-LRU scan (generic body in simd_recurrence.inc).
#include "x86_common.h"

#if RG_X86_SIMD
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "../scalar/scalar.h"
#include "../types.h"

#include "target_avx2_begin.h"

#include "vec_avx2.h"
#include "simd_math.inc"

namespace rg::avx2 {
#include "simd_recurrence.inc"
}  // namespace rg::avx2

#include "target_end.h"
#endif  // RG_X86_SIMD
