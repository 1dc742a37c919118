// The kernel interface: every kernel is a pure function over raw buffers and sizes. One table of
// function pointers per instruction-set level; the scalar table is the reference the tests compare
// every other level against. Ranges ([r0, r1), [c0, c1), [h0, h1)) let the model split one call
// across threads without the kernel knowing about threads.
#pragma once
#include <cstdint>

#include "types.h"

namespace rg {

struct KernelTable {
  const char* name;

  // y[t * ldy + r] = bias[r] + sum_k x[t * ldx + k] * W[r, k], for t in [0, T), r in [r0, r1).
  // bias may be null. Accumulates in float32; weights are widened from their stored dtype.
  void (*matmul)(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias,
                 float* y, int64_t ldy, int64_t r0, int64_t r1);

  // y = x / sqrt(mean(x^2) + eps) * (1 + w), over n channels. y may alias x.
  void (*rmsnorm)(const float* x, const float* w, int64_t n, float eps, float* y);

  // y = gelu_tanh(x) (y may alias x).
  void (*gelu)(const float* x, int64_t n, float* y);

  // y = gelu_tanh(g) * u (y may alias g or u).
  void (*gelu_mul)(const float* g, const float* u, int64_t n, float* y);

  // x = cap * tanh(x / cap), in place; cap == 0 leaves x unchanged.
  void (*softcap)(float* x, int64_t n, float cap);

  // Causal depthwise Conv1D with K taps over channels [c0, c1) of a chunk of T rows.
  // x, y: [T, L] (row stride L). w: [L, K] (HF conv_1d.weight [L, 1, K]; tap K-1 = current row).
  // state: [K-1, L] previous inputs, oldest first; updated to the last K-1 inputs.
  void (*conv1d)(const float* x, int64_t T, int64_t L, const float* w, int64_t K,
                 const float* bias, float* state, float* y, int64_t c0, int64_t c1);

  // RG-LRU over channels [c0, c1) of a chunk of T rows starting at absolute position pos0.
  // x: conv output [T, L]; gate_x, gate_a: pre-sigmoid gate activations [T, L];
  // neg_softplus8: -8 * softplus(recurrent_param) [L]; h: hidden state [L], updated in place;
  // y: [T, L] (the hidden state after each row). Position 0 resets the state (a = 0, multiplier 1).
  void (*rglru)(const float* x, const float* gate_x, const float* gate_a,
                const float* neg_softplus8, int64_t T, int64_t L, int64_t pos0, float* h,
                float* y, int64_t c0, int64_t c1);

  // In-place partial rotary embedding of `heads` vectors of size hd per row, for T rows at
  // positions pos0 + t. Rotates the first `rot` dims (rotate-half pairing inside them).
  void (*rope)(float* x, int64_t ldx, int64_t T, int64_t heads, int64_t hd, int64_t rot,
               int64_t pos0, float base);

  // Local multi-query attention for heads [h0, h1) of T query rows at positions pos0 + t.
  // q: [T, ldq] (head h at column h * hd, post-RoPE); k, v: the chunk's own keys/values [T, hd];
  // kc, vc: ring cache [W, hd] holding positions < pos0 in slot (pos mod W).
  // Query at position p sees positions [p - W, p]. out: [T, ldo]. scratch: >= W + T floats.
  void (*local_attention)(const float* q, int64_t ldq, const float* k, const float* v,
                          const float* kc, const float* vc, int64_t pos0, int64_t T, int64_t hd,
                          int64_t W, int64_t h0, int64_t h1, float* out, int64_t ldo,
                          float* scratch);

  // The `fast` precision matmul (same contract as matmul, reduced-precision activations; exact
  // semantics in scalar/matmul_fast.cc). Null when the level has no faster instruction for it:
  // callers fall back to `matmul`.
  void (*matmul_fast)(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias,
                      float* y, int64_t ldy, int64_t r0, int64_t r1);
};

// `fast` rounds / quantizes activations only for calls with at least this many tokens (rows of
// x). BF16: fewer tokens (decode) are bound by weight bandwidth, where the exact kernels are as
// fast (measured), so they run exact. Q8 / Q4: always quantized; decode reads the int8 / nibble
// weights as stored with integer dot products, faster than widening them to float (measured).
constexpr int64_t kFastMinTokensBF16 = 4;
constexpr int64_t kFastMinTokensQuant = 1;

// The reference implementation (plain C++, no intrinsics).
const KernelTable& scalar_kernels();

// Kernel tables for the SIMD levels compiled into this binary; null when not compiled in.
const KernelTable* avx2_kernels();
const KernelTable* avx512_kernels();

// Embedding lookup (any dtype, row by row): y[t, :] = E[tokens[t], :] * scale. Tokens must be
// validated by the caller.
void embed_rows(const Matrix& e, const int32_t* tokens, int64_t T, float scale, float* y);

// Copies the chunk's last min(T, W) keys/values into the ring cache slots (pos mod W).
void ring_write(const float* k, const float* v, int64_t pos0, int64_t T, int64_t hd, int64_t W,
                float* kc, float* vc);

}  // namespace rg
