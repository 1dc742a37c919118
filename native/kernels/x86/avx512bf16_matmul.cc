// `fast` precision matmul for BF16 weights with vdpbf16ps (semantics: scalar/matmul_fast.cc).
//
// The weights are used as stored: a BF16 row is already the pairs-of-bf16 layout vdpbf16ps reads,
// so no panel is widened. Activations are rounded to bf16 once per call (vcvtne2ps2bf16, RNE)
// into a zero-padded [T][Kp] buffer. A register-blocked MT x MR (tokens x rows) dot-product
// micro-kernel keeps MT*MR accumulators of 16 float lanes and sums their lanes at the end; every
// vdpbf16ps does 32 multiply-adds, and each step loads MT + MR vectors for MT * MR of them.
// Blocking: whole rows up to KC columns (measured: 87 % of the per-core vdpbf16ps peak at
// K = 2560 vs 60 % with 1024-column blocks), rows in blocks of RB
// (reused by every token tile from L2). MT x MR = 4 x 6 measured best of 4x6, 6x4, 3x8, 5x5.
#include "x86_common.h"

#if RG_X86_SIMD
#include <immintrin.h>

#include <cstdint>

#include "../types.h"

#include "target_avx512fast_begin.h"
#include "vec_avx512.h"

namespace rg::avx512 {
namespace {

#ifndef RG_FAST_MT
#define RG_FAST_MT 4
#endif
#ifndef RG_FAST_MR
#define RG_FAST_MR 6
#endif
#ifndef RG_FAST_KC
#define RG_FAST_KC 8192
#endif
#ifndef RG_FAST_RB
#define RG_FAST_RB 48
#endif
constexpr int MT = RG_FAST_MT;         // micro-kernel tokens
constexpr int MR = RG_FAST_MR;         // micro-kernel rows
constexpr int64_t KC = RG_FAST_KC;     // columns per block (multiple of 32)
constexpr int64_t RB = RG_FAST_RB;     // rows per block

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

inline __m512 dp(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh&>(a), reinterpret_cast<__m512bh&>(b));
}

// Columns [k0, k0 + kc) of T rows of x, rounded to bf16, into out[T][kcp] (zero-padded).
void pack_x(const float* x, int64_t ldx, int64_t T, int64_t k0, int64_t kc, int64_t kcp, uint16_t* out) {
  for (int64_t t = 0; t < T; ++t) {
    const float* src = x + t * ldx + k0;
    uint16_t* dst = out + t * kcp;
    int64_t k = 0;
    for (; k + 32 <= kc; k += 32) {
      const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + k + 16), _mm512_loadu_ps(src + k));
      _mm512_storeu_si512(dst + k, reinterpret_cast<const __m512i&>(b));
    }
    if (k < kc) {
      const int64_t n = kc - k;
      const __m512 lo = V::load_n(src + k, n < 16 ? n : 16);
      const __m512 hi = n > 16 ? V::load_n(src + k + 16, n - 16) : V::zero();
      const __m512bh b = _mm512_cvtne2ps_pbh(hi, lo);
      _mm512_storeu_si512(dst + k, reinterpret_cast<const __m512i&>(b));
      k += 32;
    }
    for (; k < kcp; k += 32) _mm512_storeu_si512(dst + k, _mm512_setzero_si512());
  }
}

// Sums of n <= 64 accumulators.
__attribute__((always_inline)) inline void reduce(const __m512* acc, int n, float* out) {
  for (int i0 = 0; i0 < n; i0 += 16) {
    if (n - i0 >= 16) {
      V::hsum16(acc + i0, out + i0);
    } else {
      __m512 tmp[16];
      for (int i = 0; i < 16; ++i) tmp[i] = i0 + i < n ? acc[i0 + i] : V::zero();
      V::hsum16(tmp, out + i0);
    }
  }
}

// sums[t * NR + i] = dot(xt[t], w[i]) over kc columns (xt zero-padded to a multiple of 32, the
// weight rows are not: the last partial block is a masked load).
template <int NT, int NR>
void micro(const uint16_t* xt, int64_t ldxt, const uint16_t* w, int64_t ldw, int64_t kc, float* sums) {
  __m512 acc[NT * NR];
  for (int i = 0; i < NT * NR; ++i) acc[i] = V::zero();
  const int64_t full = kc / 32 * 32;
  for (int64_t k = 0; k < full; k += 32) {
    __m512i xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = _mm512_loadu_si512(xt + t * ldxt + k);
    for (int i = 0; i < NR; ++i) {
      const __m512i wv = _mm512_loadu_si512(w + i * ldw + k);
      for (int t = 0; t < NT; ++t) acc[t * NR + i] = dp(acc[t * NR + i], xv[t], wv);
    }
  }
  if (full < kc) {
    const __mmask32 m = static_cast<__mmask32>((uint64_t{1} << (kc - full)) - 1);
    __m512i xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = _mm512_loadu_si512(xt + t * ldxt + full);
    for (int i = 0; i < NR; ++i) {
      const __m512i wv = _mm512_maskz_loadu_epi16(m, w + i * ldw + full);
      for (int t = 0; t < NT; ++t) acc[t * NR + i] = dp(acc[t * NR + i], xv[t], wv);
    }
  }
  float all[(NT * NR + 15) / 16 * 16];  // hsum16 writes whole groups of 16
  reduce(acc, NT * NR, all);
  for (int i = 0; i < NT * NR; ++i) sums[i] = all[i];
}

template <int NT>
void micro_rows(const uint16_t* xt, int64_t ldxt, const uint16_t* w, int64_t ldw, int64_t kc, int nr, float* sums) {
  if (nr == MR) return micro<NT, MR>(xt, ldxt, w, ldw, kc, sums);
  for (int i = 0; i < nr; ++i) {  // edge rows: one at a time
    float s[NT];
    micro<NT, 1>(xt, ldxt, w + i * ldw, ldw, kc, s);
    for (int t = 0; t < NT; ++t) sums[t * nr + i] = s[t];
  }
}

template <int NT>
void micro_tokens(const uint16_t* xt, int64_t ldxt, const uint16_t* w, int64_t ldw, int64_t kc, int nt, int nr,
                  float* sums) {
  if constexpr (NT == 0) {
    (void)xt, (void)ldxt, (void)w, (void)ldw, (void)kc, (void)nt, (void)nr, (void)sums;
  } else {
    if (nt == NT) micro_rows<NT>(xt, ldxt, w, ldw, kc, nr, sums);
    else micro_tokens<NT - 1>(xt, ldxt, w, ldw, kc, nt, nr, sums);
  }
}

inline void write_out(const float* sums, int nt, int nr, int64_t t0, int64_t r, const float* bias, bool first,
                      float* y, int64_t ldy) {
  for (int t = 0; t < nt; ++t) {
    float* yt = y + (t0 + t) * ldy + r;
    for (int i = 0; i < nr; ++i) {
      const float s = sums[t * nr + i];
      yt[i] = first ? (bias ? bias[r + i] + s : s) : yt[i] + s;
    }
  }
}

}  // namespace

void matmul_fast_bf16(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
                      int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t K = w.cols;
  const int64_t kcmax = K < KC + KC / 2 ? K : KC;  // avoid a tiny last block
  const int64_t kcpmax = round_up(kcmax, 32);
  uint16_t* xb = reinterpret_cast<uint16_t*>(x86::scratch(0, static_cast<size_t>(T * kcpmax / 2 + 16)));
  const uint16_t* W = static_cast<const uint16_t*>(w.data);
  float sums[MT * MR];
  for (int64_t k0 = 0; k0 < K; k0 += kcmax) {
    const int64_t kc = K - k0 < kcmax ? K - k0 : kcmax, kcp = round_up(kc, 32);
    const bool first = k0 == 0;
    pack_x(x, ldx, T, k0, kc, kcp, xb);
    for (int64_t rb = r0; rb < r1; rb += RB) {
      const int64_t nrb = r1 - rb < RB ? r1 - rb : RB;
      for (int64_t t0 = 0; t0 < T; t0 += MT) {
        const int nt = static_cast<int>(T - t0 < MT ? T - t0 : MT);
        for (int64_t i = 0; i < nrb; i += MR) {
          const int nr = static_cast<int>(nrb - i < MR ? nrb - i : MR);
          micro_tokens<MT>(xb + t0 * kcp, kcp, W + (rb + i) * K + k0, K, kc, nt, nr, sums);
          write_out(sums, nt, nr, t0, rb + i, bias, first, y, ldy);
        }
      }
    }
  }
}

}  // namespace rg::avx512

#include "target_end.h"
#endif  // RG_X86_SIMD
