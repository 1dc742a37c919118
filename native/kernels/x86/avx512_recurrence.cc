// AVX-512 kernels: causal Conv1D and RG-LRU scan (generic body in simd_recurrence.inc).
#include "x86_common.h"

#if RG_X86_SIMD
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "../scalar/scalar.h"
#include "../types.h"

#include "target_avx512_begin.h"
#define RG_SIMD_WIDE 1
#include "vec_avx512.h"
#include "simd_math.inc"

namespace rg::avx512 {
#include "simd_recurrence.inc"
}  // namespace rg::avx512

#include "target_end.h"
#endif  // RG_X86_SIMD
