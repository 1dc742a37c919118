// Reference element-wise kernels: RMSNorm, tanh-GELU, logit soft cap, embedding lookup.
#include <cmath>

#include "scalar.h"

namespace rg::scalar {

void rmsnorm(const float* x, const float* w, int64_t n, float eps, float* y) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv * (1.0f + w[i]);
}

// PyTorch gelu(approximate="tanh").
float gelu_tanh(float x) {
  constexpr float kBeta = 0.7978845608028654f;  // sqrt(2 / pi)
  constexpr float kKappa = 0.044715f;
  const float inner = kBeta * (x + kKappa * x * x * x);
  return 0.5f * x * (1.0f + std::tanh(inner));
}

void gelu(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu_tanh(x[i]);
}

void gelu_mul(const float* g, const float* u, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu_tanh(g[i]) * u[i];
}

void softcap(float* x, int64_t n, float cap) {
  if (cap == 0.0f) return;
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace rg::scalar

namespace rg {

void embed_rows(const Matrix& e, const int32_t* tokens, int64_t T, float scale, float* y) {
  for (int64_t t = 0; t < T; ++t) {
    float* row = y + t * e.cols;
    for (int64_t k = 0; k < e.cols; ++k) row[k] = scalar::weight_at(e, tokens[t], k) * scale;
  }
}

}  // namespace rg
