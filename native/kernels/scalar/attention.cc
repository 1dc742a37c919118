// Reference local multi-query attention over a ring-buffer cache, partial RoPE and the ring write.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "scalar.h"

namespace rg::scalar {

// Mirrors the reference: inv_freq and t * inv_freq in float32, then float32 sin/cos.
void rope(float* x, int64_t ldx, int64_t T, int64_t heads, int64_t hd, int64_t rot, int64_t pos0,
          float base) {
  const int64_t n = rot / 2;
  for (int64_t t = 0; t < T; ++t) {
    const float pos = static_cast<float>(pos0 + t);
    for (int64_t i = 0; i < n; ++i) {
      const float exponent = static_cast<float>(2 * i) / static_cast<float>(rot);
      const float inv_freq = 1.0f / std::pow(base, exponent);
      const float theta = pos * inv_freq;
      const float s = std::sin(theta), c = std::cos(theta);
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + t * ldx + h * hd;
        const float x1 = v[i], x2 = v[i + n];
        v[i] = x1 * c - x2 * s;
        v[i + n] = x2 * c + x1 * s;
      }
    }
  }
}

void local_attention(const float* q, int64_t ldq, const float* k, const float* v, const float* kc,
                     const float* vc, int64_t pos0, int64_t T, int64_t hd, int64_t W, int64_t h0,
                     int64_t h1, float* out, int64_t ldo, float* scratch) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t t = 0; t < T; ++t) {
    const int64_t p = pos0 + t;
    const int64_t first = std::max<int64_t>(0, p - W);  // oldest visible position
    for (int64_t h = h0; h < h1; ++h) {
      const float* qh = q + t * ldq + h * hd;
      // Visible keys in position order: cached positions [first, pos0), then chunk rows.
      int64_t n = 0;
      float maxv = -INFINITY;
      auto key_at = [&](int64_t pos) -> const float* {
        return pos < pos0 ? kc + (pos % W) * hd : k + (pos - pos0) * hd;
      };
      for (int64_t pos = first; pos <= p; ++pos, ++n) {
        const float* kr = key_at(pos);
        float dot = 0.0f;
        for (int64_t d = 0; d < hd; ++d) dot += qh[d] * kr[d];
        scratch[n] = dot * scale;
        maxv = std::max(maxv, scratch[n]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        scratch[j] = std::exp(scratch[j] - maxv);
        sum += scratch[j];
      }
      float* o = out + t * ldo + h * hd;
      std::memset(o, 0, sizeof(float) * hd);
      for (int64_t j = 0; j < n; ++j) {
        const int64_t pos = first + j;
        const float* vr = pos < pos0 ? vc + (pos % W) * hd : v + (pos - pos0) * hd;
        const float pj = scratch[j] / sum;
        for (int64_t d = 0; d < hd; ++d) o[d] += pj * vr[d];
      }
    }
  }
}

}  // namespace rg::scalar

namespace rg {

void ring_write(const float* k, const float* v, int64_t pos0, int64_t T, int64_t hd, int64_t W,
                float* kc, float* vc) {
  for (int64_t t = std::max<int64_t>(0, T - W); t < T; ++t) {
    const int64_t slot = (pos0 + t) % W;
    std::memcpy(kc + slot * hd, k + t * hd, sizeof(float) * hd);
    std::memcpy(vc + slot * hd, v + t * hd, sizeof(float) * hd);
  }
}

}  // namespace rg
