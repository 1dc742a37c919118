#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rg {

void quantize_rows(const Matrix& src, DType format, int64_t r0, int64_t r1, uint8_t* data, float* scales) {
  const int64_t n = src.cols, groups = n / kQuantGroup;
  const float qmax = format == DType::Q8 ? 127.0f : 7.0f;
  const float qmin = format == DType::Q8 ? -127.0f : -8.0f;
  float row[kQuantGroup];
  // Group by group through a small stack buffer: no allocation.
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      // Widen this group's 32 weights.
      const int64_t k0 = g * kQuantGroup;
      switch (src.dtype) {
        case DType::F32:
          std::memcpy(row, static_cast<const float*>(src.data) + r * n + k0, sizeof(row));
          break;
        case DType::BF16:
          for (int64_t k = 0; k < kQuantGroup; ++k) row[k] = bf16_to_f32(static_cast<const uint16_t*>(src.data)[r * n + k0 + k]);
          break;
        case DType::F16:
          for (int64_t k = 0; k < kQuantGroup; ++k) row[k] = f16_to_f32(static_cast<const uint16_t*>(src.data)[r * n + k0 + k]);
          break;
        default:
          std::fill(row, row + kQuantGroup, 0.0f);
      }
      float amax = 0.0f;
      for (float v : row) amax = std::max(amax, std::fabs(v));
      const float scale = amax / qmax;
      const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
      scales[r * groups + g] = scale;
      if (format == DType::Q8) {
        int8_t* out = reinterpret_cast<int8_t*>(data) + r * n + k0;
        for (int64_t k = 0; k < kQuantGroup; ++k)
          out[k] = static_cast<int8_t>(std::min(qmax, std::max(qmin, std::nearbyint(row[k] * inv))));
      } else {
        uint8_t* out = data + r * (n / 2) + k0 / 2;
        for (int64_t k = 0; k < kQuantGroup; k += 2) {
          const int lo = static_cast<int>(std::min(qmax, std::max(qmin, std::nearbyint(row[k] * inv)))) + 8;
          const int hi = static_cast<int>(std::min(qmax, std::max(qmin, std::nearbyint(row[k + 1] * inv)))) + 8;
          out[k / 2] = static_cast<uint8_t>(lo | (hi << 4));
        }
      }
    }
  }
}

}  // namespace rg
