// Reference of the `fast` precision matmul: defines exactly what the SIMD fast kernels compute (up
// to float32 summation order).
//  - BF16 weights: every activation is rounded to bfloat16 (round-to-nearest-even); the products
//    bf16 x bf16 are exact in float32 and are summed in float32 (what vdpbf16ps does).
//  - Q8 / Q4 weights: each activation row is quantized in groups of kQuantGroup columns, the
//    groups of the weight scales: scale_x = max|x| / 127, q = round_even(x * (127 / max|x|)) in
//    [-127, 127] (a zero group quantizes to 0). Each group's integer dot product (exact in int32)
//    is multiplied by the weight scale, then by scale_x, and summed over groups in float32.
//  - F32 / F16 weights: fast is exact (no cheaper instruction for them).
//  - Fewer than kFastMinTokensBF16 / kFastMinTokensQuant tokens: exact (kernels.h; the latter is 1).
#include <cmath>
#include <vector>

#include "../kernels.h"
#include "scalar.h"

namespace rg::scalar {

void quantize_group(const float* x, int64_t n, int8_t* q, float* scale) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::fabs(x[i]) > amax ? std::fabs(x[i]) : amax;
  if (!(amax > 0.0f) || !std::isfinite(amax)) {  // zero group (or non-finite input): contributes 0
    for (int64_t i = 0; i < n; ++i) q[i] = 0;
    *scale = 0.0f;
    return;
  }
  const float inv = 127.0f / amax;
  for (int64_t i = 0; i < n; ++i) {
    float v = std::nearbyint(x[i] * inv);  // default rounding mode: nearest, ties to even
    v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
    q[i] = static_cast<int8_t>(v);
  }
  *scale = amax / 127.0f;
}

static int qweight_at(const Matrix& w, int64_t r, int64_t k) {
  if (w.dtype == DType::Q8) return static_cast<const int8_t*>(w.data)[r * w.cols + k];
  const uint8_t byte = static_cast<const uint8_t*>(w.data)[r * (w.cols / 2) + k / 2];
  return ((k & 1) ? (byte >> 4) : (byte & 0xf)) - 8;
}

void matmul_fast(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias,
                 float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t K = w.cols;
  if (w.dtype == DType::BF16 && T >= kFastMinTokensBF16) {
    std::vector<float> xb(static_cast<size_t>(T * K)), row(static_cast<size_t>(K));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < K; ++k) xb[t * K + k] = bf16_to_f32(f32_to_bf16(x[t * ldx + k]));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t k = 0; k < K; ++k) row[k] = weight_at(w, r, k);
      for (int64_t t = 0; t < T; ++t) {
        float acc = 0.0f;
        for (int64_t k = 0; k < K; ++k) acc += xb[t * K + k] * row[k];
        y[t * ldy + r] = bias ? acc + bias[r] : acc;
      }
    }
    return;
  }
  if ((w.dtype == DType::Q8 || w.dtype == DType::Q4) && T >= kFastMinTokensQuant) {
    const int64_t G = K / kQuantGroup;  // the loader guarantees K % kQuantGroup == 0
    std::vector<int8_t> qx(static_cast<size_t>(T * K));
    std::vector<float> sx(static_cast<size_t>(T * G));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t g = 0; g < G; ++g)
        quantize_group(x + t * ldx + g * kQuantGroup, kQuantGroup, qx.data() + t * K + g * kQuantGroup,
                       sx.data() + t * G + g);
    std::vector<int> qw(static_cast<size_t>(K));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t k = 0; k < K; ++k) qw[k] = qweight_at(w, r, k);
      const float* sw = w.scales + r * G;
      for (int64_t t = 0; t < T; ++t) {
        float acc = 0.0f;
        for (int64_t g = 0; g < G; ++g) {
          int32_t dot = 0;
          for (int64_t k = g * kQuantGroup; k < (g + 1) * kQuantGroup; ++k) dot += qx[t * K + k] * qw[k];
          acc += static_cast<float>(dot) * sw[g] * sx[t * G + g];
        }
        y[t * ldy + r] = bias ? acc + bias[r] : acc;
      }
    }
    return;
  }
  matmul(x, ldx, T, w, bias, y, ldy, r0, r1);
}

}  // namespace rg::scalar
