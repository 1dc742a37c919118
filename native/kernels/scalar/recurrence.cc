// Reference temporal-mixing kernels of the recurrent block: causal depthwise Conv1D with carried
// state, and the RG-LRU scan (the gates' linear maps are matmuls done by the model).
#include <cmath>

#include "scalar.h"

namespace rg::scalar {

void conv1d(const float* x, int64_t T, int64_t L, const float* w, int64_t K, const float* bias,
            float* state, float* y, int64_t c0, int64_t c1) {
  const int64_t S = K - 1;  // rows of carried state
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t t = 0; t < T; ++t) {
      float acc = bias[c];
      // Tap k multiplies the input K-1-k rows back; rows before the chunk come from the state.
      for (int64_t k = 0; k < K; ++k) {
        const int64_t src = t - (K - 1) + k;
        const float in = src >= 0 ? x[src * L + c] : state[(S + src) * L + c];
        acc += w[c * K + k] * in;
      }
      y[t * L + c] = acc;
    }
    // New state: the last S inputs of (state ; x), oldest first.
    for (int64_t s = 0; s < S; ++s) {
      const int64_t src = T - S + s;
      state[s * L + c] = src >= 0 ? x[src * L + c] : state[(s + T) * L + c];
    }
  }
}

static float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

void rglru(const float* x, const float* gate_x, const float* gate_a, const float* neg_softplus8,
           int64_t T, int64_t L, int64_t pos0, float* h, float* y, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    float state = h[c];
    for (int64_t t = 0; t < T; ++t) {
      const int64_t i = t * L + c;
      const float gx = sigmoid(gate_x[i]);
      const float ga = sigmoid(gate_a[i]);
      const float log_a = ga * neg_softplus8[c];
      const float a = std::exp(log_a);
      const bool reset = pos0 + t == 0;
      // The reference evaluates sqrt(1 - exp(2 log a)) literally; at a document start the input
      // is not scaled and the previous state is dropped.
      const float multiplier = reset ? 1.0f : std::sqrt(1.0f - std::exp(2.0f * log_a));
      const float input = x[i] * gx * multiplier;
      state = (reset ? 0.0f : a * state) + input;
      y[i] = state;
    }
    h[c] = state;
  }
}

}  // namespace rg::scalar
