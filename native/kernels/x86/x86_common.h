// Shared (ISA-neutral) declarations of the x86 kernel files. Nothing here is compiled for a
// particular ISA: the vector code lives in the avx2_* / avx512_* files, each of which enables its
// ISA with a target pragma *after* including the standard headers, so no inline function or
// template of a shared header is ever instantiated with AVX code (ODR safety).
#pragma once
#include <cstddef>
#include <cstdint>

#include "../kernels.h"
#include "../stream_tuning.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define RG_X86_SIMD 1
#else
#define RG_X86_SIMD 0
#endif

#if RG_X86_SIMD && defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsic headers pass `_mm512_undefined_*()` (a self-initialised variable) as
// the pass-through operand, which -Wall reports as "'__Y' may be used uninitialized" wherever the
// intrinsic is inlined (GCC bug 105593, fixed in GCC 13). The x86 kernel files include this header
// before <immintrin.h>, so the suppression covers exactly those inlined header lines.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rg::x86 {

// Per-thread scratch buffers (64-byte aligned, grown on demand, never shrunk). `slot` selects one
// of a few independent buffers so a kernel can hold several at once. Compiled without any ISA
// extension (scratch.cc).
float* scratch(int slot, size_t floats);

}  // namespace rg::x86

#define RG_DECLARE_KERNELS(ns)                                                                     \
  namespace rg::ns {                                                                               \
  void matmul(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias,         \
              float* y, int64_t ldy, int64_t r0, int64_t r1);                                      \
  void rmsnorm(const float* x, const float* w, int64_t n, float eps, float* y);                   \
  void gelu(const float* x, int64_t n, float* y);                                                  \
  void gelu_mul(const float* g, const float* u, int64_t n, float* y);                              \
  void softcap(float* x, int64_t n, float cap);                                                    \
  void conv1d(const float* x, int64_t T, int64_t L, const float* w, int64_t K, const float* bias, \
              float* state, float* y, int64_t c0, int64_t c1);                                     \
  void rglru(const float* x, const float* gate_x, const float* gate_a,                             \
             const float* neg_softplus8, int64_t T, int64_t L, int64_t pos0, float* h, float* y,   \
             int64_t c0, int64_t c1);                                                              \
  void local_attention(const float* q, int64_t ldq, const float* k, const float* v,                \
                       const float* kc, const float* vc, int64_t pos0, int64_t T, int64_t hd,      \
                       int64_t W, int64_t h0, int64_t h1, float* out, int64_t ldo,                 \
                       float* scratch);                                                            \
  }

#if RG_X86_SIMD
RG_DECLARE_KERNELS(avx2)
RG_DECLARE_KERNELS(avx512)

// The `fast` precision kernels (need avx512_bf16 / avx512_vnni at run time): BF16 weights with
// vdpbf16ps, Q8 / Q4 weights (cols % 32 == 0) with vpdpbusd.
namespace rg::avx512 {
void matmul_fast_bf16(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
                      int64_t ldy, int64_t r0, int64_t r1);
void matmul_fast_quant(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
                       int64_t ldy, int64_t r0, int64_t r1);
}  // namespace rg::avx512
#endif
