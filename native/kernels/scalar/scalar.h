// The reference kernels, declared for the scalar table and for SIMD variants that reuse a
// reference piece (e.g. a tail loop or a kernel with no vector version yet).
#pragma once
#include "../kernels.h"

namespace rg::scalar {

float weight_at(const Matrix& w, int64_t r, int64_t k);
float gelu_tanh(float x);

void matmul(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
            int64_t ldy, int64_t r0, int64_t r1);
// The `fast` precision reference (matmul_fast.cc) and its activation quantizer (n values -> int8
// and one scale, symmetric, max|x| / 127).
void matmul_fast(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias,
                 float* y, int64_t ldy, int64_t r0, int64_t r1);
void quantize_group(const float* x, int64_t n, int8_t* q, float* scale);
void rmsnorm(const float* x, const float* w, int64_t n, float eps, float* y);
void gelu(const float* x, int64_t n, float* y);
void gelu_mul(const float* g, const float* u, int64_t n, float* y);
void softcap(float* x, int64_t n, float cap);
void conv1d(const float* x, int64_t T, int64_t L, const float* w, int64_t K, const float* bias,
            float* state, float* y, int64_t c0, int64_t c1);
void rglru(const float* x, const float* gate_x, const float* gate_a, const float* neg_softplus8,
           int64_t T, int64_t L, int64_t pos0, float* h, float* y, int64_t c0, int64_t c1);
void rope(float* x, int64_t ldx, int64_t T, int64_t heads, int64_t hd, int64_t rot, int64_t pos0,
          float base);
void local_attention(const float* q, int64_t ldq, const float* k, const float* v, const float* kc,
                     const float* vc, int64_t pos0, int64_t T, int64_t hd, int64_t W, int64_t h0,
                     int64_t h1, float* out, int64_t ldo, float* scratch);

}  // namespace rg::scalar
