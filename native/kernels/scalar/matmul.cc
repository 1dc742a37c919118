// Reference matrix product over every weight dtype: one dot product per (row, output).
#include <vector>

#include "../kernels.h"
#include "scalar.h"

namespace rg::scalar {

float weight_at(const Matrix& w, int64_t r, int64_t k) {
  switch (w.dtype) {
    case DType::F32: return static_cast<const float*>(w.data)[r * w.cols + k];
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(w.data)[r * w.cols + k]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(w.data)[r * w.cols + k]);
    case DType::Q8: {
      const int8_t q = static_cast<const int8_t*>(w.data)[r * w.cols + k];
      return static_cast<float>(q) * w.scales[r * (w.cols / kQuantGroup) + k / kQuantGroup];
    }
    case DType::Q4: {
      const uint8_t byte = static_cast<const uint8_t*>(w.data)[r * (w.cols / 2) + k / 2];
      const int nib = (k & 1) ? (byte >> 4) : (byte & 0xf);
      return static_cast<float>(nib - 8) * w.scales[r * (w.cols / kQuantGroup) + k / kQuantGroup];
    }
  }
  return 0.0f;
}

void matmul(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
            int64_t ldy, int64_t r0, int64_t r1) {
  // Widen one weight row at a time, then take its dot product with every input row.
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t k = 0; k < w.cols; ++k) row[k] = weight_at(w, r, k);
    for (int64_t t = 0; t < T; ++t) {
      const float* xt = x + t * ldx;
      float acc = 0.0f;
      for (int64_t k = 0; k < w.cols; ++k) acc += xt[k] * row[k];
      y[t * ldy + r] = bias ? acc + bias[r] : acc;
    }
  }
}

}  // namespace rg::scalar
