// `fast` precision matmul for Q8 / Q4 weights with vpdpbusd (semantics: scalar/matmul_fast.cc).
//
// Activations are quantized once per call, per row in groups of 32 (symmetric int8, the same
// rounding as the reference), and stored biased by +128 as unsigned bytes (vpdpbusd multiplies
// unsigned by signed bytes); the bias is removed by starting each group's integer accumulator at
// -128 * sum(weights of the group).
// Weights are repacked per block of rows into the VNNI layout: for 16 rows at a time, one 64-byte
// vector holds 4 consecutive columns of each of the 16 rows, so a broadcast of 4 activation bytes
// times that vector advances 16 outputs by 4 columns (no horizontal sums). After each group of 32
// columns (8 vpdpbusd) the int32 sums are converted and scaled: acc += float(dot) * w_scale *
// x_scale (3 more operations per 8 vpdpbusd).
//
// Fewer than kRepackMinT tokens (decode) take a matvec that reads the weights as stored (the
// repack would cost more than the product): see `matvec` below.
#include "x86_common.h"

#if RG_X86_SIMD
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../types.h"

#include "target_avx512fast_begin.h"
#include "vec_avx512.h"

namespace rg::avx512 {
namespace {

#ifndef RG_VNNI_MT
#define RG_VNNI_MT 4
#endif
#ifndef RG_VNNI_NV
#define RG_VNNI_NV 2
#endif
#ifndef RG_VNNI_RB
#define RG_VNNI_RB 64
#endif
constexpr int MT = RG_VNNI_MT;  // micro-kernel tokens
constexpr int NV = RG_VNNI_NV;  // micro-kernel vectors of 16 rows
constexpr int64_t RB = RG_VNNI_RB;  // rows per repacked block (multiple of 16)
constexpr int64_t G32 = kQuantGroup;

// x rows -> biased bytes xq[T][K] (q + 128) and scales sx[T][K / 32].
void quantize_x(const float* x, int64_t ldx, int64_t T, int64_t K, uint8_t* xq, float* sx) {
  const int64_t G = K / G32;
  const __m512 lim = _mm512_set1_ps(127.0f);
  const __m512i bias = _mm512_set1_epi32(128);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t g = 0; g < G; ++g) {
      const float* src = x + t * ldx + g * G32;
      uint8_t* dst = xq + t * K + g * G32;
      const __m512 a = _mm512_loadu_ps(src), b = _mm512_loadu_ps(src + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
      if (!(amax > 0.0f) || !std::isfinite(amax)) {
        std::memset(dst, 128, G32);
        sx[t * G + g] = 0.0f;
        continue;
      }
      const __m512 inv = _mm512_set1_ps(127.0f / amax);
      for (int h = 0; h < 2; ++h) {
        __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(h ? b : a, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q = _mm512_min_ps(lim, _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), q));
        const __m512i qi = _mm512_add_epi32(_mm512_cvtps_epi32(q), bias);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * h), _mm512_cvtepi32_epi8(qi));
      }
      sx[t * G + g] = amax / 127.0f;
    }
}

// Rows [r, r + nr) of w (nr <= RB) into the VNNI panel: for vector v (16 rows), group g, step j:
// 64 bytes at ((v * G + g) * 8 + j) * 64, lane l = columns [32g + 4j, +4) of row r + 16v + l.
// Per (v, g): 16 weight scales and 16 corrections -128 * sum(q). Missing rows are zero.
void repack(const Matrix& w, int64_t r, int64_t nr, int8_t* panel, float* sw, int32_t* corr) {
  const int64_t K = w.cols, G = K / G32, nv = (nr + 15) / 16;
  alignas(64) int8_t row[512];
  for (int64_t v = 0; v < nv; ++v)
    for (int64_t l = 0; l < 16; ++l) {
      const int64_t rr = r + 16 * v + l;
      const bool live = 16 * v + l < nr;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t pv = v * G + g;
        if (!live) {
          for (int j = 0; j < 8; ++j) std::memset(panel + (pv * 8 + j) * 64 + 4 * l, 0, 4);
          sw[pv * 16 + l] = 0.0f;
          corr[pv * 16 + l] = 0;
          continue;
        }
        const int8_t* q;
        if (w.dtype == DType::Q8) {
          q = static_cast<const int8_t*>(w.data) + rr * K + g * G32;
        } else {  // Q4: 16 bytes -> 32 values, low nibble first, minus 8
          const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(
              static_cast<const uint8_t*>(w.data) + rr * (K / 2) + g * (G32 / 2)));
          const __m128i m = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
          const __m128i lo = _mm_sub_epi8(_mm_and_si128(bytes, m), eight);
          const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), m), eight);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(row), _mm_unpacklo_epi8(lo, hi));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(row + 16), _mm_unpackhi_epi8(lo, hi));
          q = row;
        }
        int32_t sum = 0;
        for (int k = 0; k < 32; ++k) sum += q[k];
        for (int j = 0; j < 8; ++j) std::memcpy(panel + (pv * 8 + j) * 64 + 4 * l, q + 4 * j, 4);
        sw[pv * 16 + l] = w.scales[rr * G + g];
        corr[pv * 16 + l] = -128 * sum;
      }
    }
}

// Tokens [t0, t0 + NT) x vectors [v0, v0 + NVV) of the panel, whole K; y rows r..r+16*NVV.
template <int NT, int NVV>
void micro(const uint8_t* xq, const float* sx, int64_t K, const int8_t* panel, const float* sw,
           const int32_t* corr, float* y, int64_t ldy, int64_t r, int64_t nr, const float* bias) {
  const int64_t G = K / G32;
  __m512 facc[NT * NVV];
  for (int i = 0; i < NT * NVV; ++i) facc[i] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; ++g) {
    __m512i iacc[NT * NVV];
    for (int v = 0; v < NVV; ++v) {
      const __m512i c = _mm512_loadu_si512(corr + (v * G + g) * 16);
      for (int t = 0; t < NT; ++t) iacc[t * NVV + v] = c;
    }
    for (int j = 0; j < 8; ++j) {
      __m512i wv[NVV];
      for (int v = 0; v < NVV; ++v) wv[v] = _mm512_loadu_si512(panel + ((v * G + g) * 8 + j) * 64);
      for (int t = 0; t < NT; ++t) {
        int32_t four;
        std::memcpy(&four, xq + t * K + g * G32 + 4 * j, 4);
        const __m512i xb = _mm512_set1_epi32(four);
        for (int v = 0; v < NVV; ++v) iacc[t * NVV + v] = _mm512_dpbusd_epi32(iacc[t * NVV + v], xb, wv[v]);
      }
    }
    for (int v = 0; v < NVV; ++v) {
      const __m512 s = _mm512_loadu_ps(sw + (v * G + g) * 16);
      for (int t = 0; t < NT; ++t)
        facc[t * NVV + v] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(iacc[t * NVV + v]), s),
                                            _mm512_set1_ps(sx[t * G + g]), facc[t * NVV + v]);
    }
  }
  for (int v = 0; v < NVV; ++v) {
    const int64_t rv = r + 16 * v, n = nr - 16 * v < 16 ? nr - 16 * v : 16;
    if (n <= 0) break;
    const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + rv) : _mm512_setzero_ps();
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ldy + rv, m, _mm512_add_ps(facc[t * NVV + v], b));
  }
}

template <int NT>
void micro_v(const uint8_t* xq, const float* sx, int64_t K, const int8_t* panel, const float* sw,
             const int32_t* corr, float* y, int64_t ldy, int64_t r, int64_t nr, const float* bias, int nv) {
  if constexpr (NV > 1) {
    if (nv < NV) {
      for (int v = 0; v < nv; ++v) {
        const int64_t G = K / G32;
        micro<NT, 1>(xq, sx, K, panel + v * G * 512, sw + v * G * 16, corr + v * G * 16, y, ldy, r + 16 * v,
                     nr - 16 * v, bias);
      }
      return;
    }
  }
  (void)nv;
  micro<NT, NV>(xq, sx, K, panel, sw, corr, y, ldy, r, nr, bias);
}

template <int NT>
void micro_t(const uint8_t* xq, const float* sx, int64_t K, const int8_t* panel, const float* sw,
             const int32_t* corr, float* y, int64_t ldy, int64_t r, int64_t nr, const float* bias, int nv, int nt) {
  if constexpr (NT == 0) {
    (void)xq, (void)sx, (void)K, (void)panel, (void)sw, (void)corr, (void)y, (void)ldy, (void)r, (void)nr,
        (void)bias, (void)nv, (void)nt;
  } else {
    if (nt == NT) micro_v<NT>(xq, sx, K, panel, sw, corr, y, ldy, r, nr, bias, nv);
    else micro_t<NT - 1>(xq, sx, K, panel, sw, corr, y, ldy, r, nr, bias, nv, nt);
  }
}


// ---- decode: weights read as stored ----------------------------------------------------------
//
// For every block of 64 weights of a row (two 32-groups A and B) one vpdpbusd per token sums
// 4 products per int32 lane (lanes hold only group A or only group B), the 16 lanes are converted
// to float and multiplied by their group's w_scale * x_scale, then accumulated. vpdpbusd multiplies
// unsigned by signed bytes, so the weights are the unsigned operand and the quantized activations
// the signed one:
//  - Q8: w + 128 (xor 0x80); the lane starts at -128 * sum of its 4 activations;
//  - Q4: the raw nibble n (weight n - 8); the lane starts at -8 * sum of its 4 activations.
// The starts depend on the activations only, so they are computed once per call. Q4 blocks are
// unpacked without shuffling bytes: zmm bytes 0-31 are the low nibbles (even columns) of the 32
// stored bytes, 32-63 the high nibbles (odd columns); the activations are stored in that order.
// Lanes of group A: Q8 0-7, Q4 0-3 and 8-11.
#ifndef RG_VNNI_REPACK_MIN_T
#define RG_VNNI_REPACK_MIN_T 24
#endif
// From here on the repacked kernel is faster (measured 1 thread, 7680x2560: decode wins at T = 16
// for Q8 and Q4, repack at T = 32 for Q8; Q4 crosses later).
constexpr int64_t kRepackMinT = RG_VNNI_REPACK_MIN_T;
constexpr int kMaxDecodeNT = 4;      // tokens per pass over a row tile (more: several passes, tile in L1)
constexpr int kDecodeRows = 4;       // rows per tile for T > 1

struct DecodeX {
  const int8_t* xs;    // [T][nb * 64] quantized activations in block order, zero-padded
  const float* sxv;    // [T][nb][16] x_scale per lane
  const int32_t* init; // [T][nb][16] lane starts
  int64_t nb;          // blocks of 64 columns (the last may hold only group A)
};

// Block order of the activation bytes (byte p of a 64-column block holds column p for Q8; column
// 2p for p < 32 and 2(p - 32) + 1 otherwise for Q4), and lane l (bytes 4l..4l+3) belongs to group
// A when l < 8 (Q8) or (l & 4) == 0 (Q4).

DecodeX prepare_decode_x(const float* x, int64_t ldx, int64_t T, int64_t K, DType d) {
  const int64_t G = K / G32, nb = (G + 1) / 2;
  const int64_t xs_floats = (T * nb * 64) / 4, v_floats = T * nb * 16;
  float* s0 = x86::scratch(0, static_cast<size_t>(xs_floats + 2 * v_floats + T * (K / 4 + G) + 32));
  int8_t* xs = reinterpret_cast<int8_t*>(s0);
  float* sxv = s0 + xs_floats;
  int32_t* init = reinterpret_cast<int32_t*>(sxv + v_floats);
  uint8_t* xq = reinterpret_cast<uint8_t*>(sxv + 2 * v_floats);  // biased q + 128, natural order
  float* sx = sxv + 2 * v_floats + T * K / 4;
  quantize_x(x, ldx, T, K, xq, sx);
  // Runs once per call (the model calls this once per thread share chunk), so it is vectorised:
  // the scalar form cost as much as streaming ~30 KiB of weights.
  const __m512i neg_c = _mm512_set1_epi32(d == DType::Q8 ? -128 : -8), ones = _mm512_set1_epi8(1);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i sel = d == DType::Q8 ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                                     : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < nb; ++b) {
      int8_t* dst = xs + (t * nb + b) * 64;
      const int64_t n = K - 64 * b < 64 ? K - 64 * b : 64;  // 32 or 64 (K % 32 == 0)
      const __mmask64 live = n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
      // Biased bytes q + 128 back to signed q (xor 0x80); columns past K become 0.
      __m512i v = _mm512_maskz_mov_epi8(live, _mm512_xor_si512(_mm512_maskz_loadu_epi8(live, xq + t * K + 64 * b), flip));
      if (d == DType::Q4) {  // even columns to bytes 0-31, odd columns to 32-63 (block order above)
        const __m256i even = _mm512_cvtepi16_epi8(v), odd = _mm512_cvtepi16_epi8(_mm512_srai_epi16(v, 8));
        v = _mm512_inserti64x4(_mm512_castsi256_si512(even), odd, 1);
      }
      _mm512_store_si512(dst, v);
      // Lane l starts at -c * (sum of its 4 activation bytes): vpdpbusd with ones sums them.
      const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, v);
      _mm512_store_si512(init + (t * nb + b) * 16, _mm512_mullo_epi32(sums, neg_c));
      // Lanes of group A take the scale of group 2b, lanes of group B that of 2b + 1 (0 past K).
      const float sa = sx[t * G + 2 * b], sb = 2 * b + 1 < G ? sx[t * G + 2 * b + 1] : 0.0f;
      const __m512 two = _mm512_mask_mov_ps(_mm512_set1_ps(sa), 0x2, _mm512_set1_ps(sb));
      _mm512_store_ps(sxv + (t * nb + b) * 16, _mm512_permutexvar_ps(sel, two));
    }
  return {xs, sxv, init, nb};
}

// Tokens [t0, t0 + NT) x rows [r, r + NR): y[t * ldy + r + i]. Each 64-byte block of activations
// (start, bytes, scales) is loaded once for the NR rows; a single token and row alternates two
// accumulators (the fma latency chain would otherwise bound it).
// pf: bytes ahead to prefetch the weights (0: the hardware prefetchers only; stream_tuning.h).
template <DType D, int NT, int NR>
void decode_tile(const DecodeX& dx, int64_t t0, const Matrix& w, int64_t r, const float* bias, float* y,
                 int64_t ldy, int64_t pf) {
  const int64_t K = w.cols, G = K / G32, nb = dx.nb, full = G / 2;
  const __m512i idx = D == DType::Q8 ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                                     : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
  const __m512i shift = _mm512_setr_epi64(0, 0, 0, 0, 0x0004000400040004LL, 0x0004000400040004LL,
                                          0x0004000400040004LL, 0x0004000400040004LL);
  const __m512i low4 = _mm512_set1_epi8(0x0f), flip = _mm512_set1_epi8(static_cast<char>(0x80));
  constexpr int NA = NT * NR == 1 ? 2 : 1;
  __m512 acc[NA][NT * NR];
  for (int j = 0; j < NA; ++j)
    for (int i = 0; i < NT * NR; ++i) acc[j][i] = _mm512_setzero_ps();
  auto weights = [&](int i, int64_t b, bool tail) __attribute__((always_inline)) {
    if constexpr (D == DType::Q8) {
      const int8_t* p = static_cast<const int8_t*>(w.data) + (r + i) * K + 64 * b;
      if (pf) _mm_prefetch(reinterpret_cast<const char*>(p) + pf, _MM_HINT_T0);
      const __m512i v = tail ? _mm512_maskz_loadu_epi8(0xffffffffULL, p) : _mm512_loadu_si512(p);
      return _mm512_xor_si512(v, flip);  // padding bytes become 128, times activation 0
    } else {
      const uint8_t* p = static_cast<const uint8_t*>(w.data) + (r + i) * (K / 2) + 32 * b;
      if (pf && (b & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(p) + pf, _MM_HINT_T0);
      const __m256i h = tail ? _mm256_maskz_loadu_epi8(0xffff, p) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      return _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i64x4(h), shift), low4);
    }
  };
  auto scales = [&](int i, int64_t b, bool tail) __attribute__((always_inline)) {
    const float* sw = w.scales + (r + i) * G + 2 * b;
    if (tail) return _mm512_set1_ps(sw[0]);  // group A only (B lanes are zero)
    double two;
    std::memcpy(&two, sw, 8);
    return _mm512_permutexvar_ps(idx, _mm512_castpd_ps(_mm512_set1_pd(two)));
  };
  auto block = [&](int64_t b, bool tail, __m512* a) __attribute__((always_inline)) {
    __m512i wu[NR];
    __m512 swv[NR];
    for (int i = 0; i < NR; ++i) {
      wu[i] = weights(i, b, tail);
      swv[i] = scales(i, b, tail);
    }
    for (int t = 0; t < NT; ++t) {
      const int64_t o = ((t0 + t) * nb + b) * 16;
      const __m512i start = _mm512_load_si512(dx.init + o);
      const __m512i xb = _mm512_load_si512(dx.xs + (t0 + t) * nb * 64 + 64 * b);
      const __m512 sx = _mm512_load_ps(dx.sxv + o);
      for (int i = 0; i < NR; ++i) {
        const __m512i d = _mm512_dpbusd_epi32(start, wu[i], xb);
        a[t * NR + i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(swv[i], sx), a[t * NR + i]);
      }
    }
  };
  int64_t b = 0;
  if constexpr (NA == 2)
    for (; b + 2 <= full; b += 2) {
      block(b, false, acc[0]);
      block(b + 1, false, acc[NA - 1]);
    }
  for (; b < full; ++b) block(b, false, acc[0]);
  if (b < nb) block(b, true, acc[NA - 1]);
  for (int t = 0; t < NT; ++t)
    for (int i = 0; i < NR; ++i) {
      const float s = _mm512_reduce_add_ps(NA == 2 ? _mm512_add_ps(acc[0][t * NR + i], acc[NA - 1][t * NR + i])
                                                   : acc[0][t * NR + i]);
      y[(t0 + t) * ldy + r + i] = bias ? bias[r + i] + s : s;
    }
}

template <DType D, int NR>
void decode_rows(const DecodeX& dx, int64_t T, const Matrix& w, int64_t r, const float* bias, float* y, int64_t ldy,
                 int64_t pf) {
  for (int64_t t0 = 0; t0 < T; t0 += kMaxDecodeNT) {
    const int64_t pft = t0 == 0 ? pf : 0;  // later passes find the tile in L1
    switch (T - t0 < kMaxDecodeNT ? T - t0 : kMaxDecodeNT) {
      case 1: decode_tile<D, 1, NR>(dx, t0, w, r, bias, y, ldy, pft); break;
      case 2: decode_tile<D, 2, NR>(dx, t0, w, r, bias, y, ldy, pft); break;
      case 3: decode_tile<D, 3, NR>(dx, t0, w, r, bias, y, ldy, pft); break;
      default: decode_tile<D, kMaxDecodeNT, NR>(dx, t0, w, r, bias, y, ldy, pft); break;
    }
  }
}

template <DType D>
void decode(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y, int64_t ldy,
            int64_t r0, int64_t r1) {
  const DecodeX dx = prepare_decode_x(x, ldx, T, w.cols, D);
  const int64_t pf = stream_tuning().prefetch_bytes;
  int64_t r = r0;
  if (T > 1)  // several tokens: rows in tiles sharing the activation loads
    for (; r + kDecodeRows <= r1; r += kDecodeRows) decode_rows<D, kDecodeRows>(dx, T, w, r, bias, y, ldy, pf);
  for (; r < r1; ++r) decode_rows<D, 1>(dx, T, w, r, bias, y, ldy, pf);  // one token: one sequential stream
}

}  // namespace

void matmul_fast_quant(const float* x, int64_t ldx, int64_t T, const Matrix& w, const float* bias, float* y,
                       int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t K = w.cols, G = K / G32;
  if (T < kRepackMinT) {
    if (w.dtype == DType::Q8) return decode<DType::Q8>(x, ldx, T, w, bias, y, ldy, r0, r1);
    return decode<DType::Q4>(x, ldx, T, w, bias, y, ldy, r0, r1);
  }
  // scratch 0: quantized x then its scales; scratch 1: the panel, its scales and corrections.
  float* s0 = x86::scratch(0, static_cast<size_t>(T * K / 4 + T * G + 16));
  uint8_t* xq = reinterpret_cast<uint8_t*>(s0);
  float* sx = s0 + T * K / 4;
  float* s1 = x86::scratch(1, static_cast<size_t>(RB * K / 4 + 2 * RB * G));
  int8_t* panel = reinterpret_cast<int8_t*>(s1);
  float* sw = s1 + RB * K / 4;
  int32_t* corr = reinterpret_cast<int32_t*>(sw + RB * G);
  quantize_x(x, ldx, T, K, xq, sx);
  for (int64_t rb = r0; rb < r1; rb += RB) {
    const int64_t nrb = r1 - rb < RB ? r1 - rb : RB;
    repack(w, rb, nrb, panel, sw, corr);
    const int64_t nvec = (nrb + 15) / 16;
    for (int64_t t0 = 0; t0 < T; t0 += MT) {
      const int nt = static_cast<int>(T - t0 < MT ? T - t0 : MT);
      for (int64_t v0 = 0; v0 < nvec; v0 += NV) {
        const int nv = static_cast<int>(nvec - v0 < NV ? nvec - v0 : NV);
        micro_t<MT>(xq + t0 * K, sx + t0 * G, K, panel + v0 * G * 512, sw + v0 * G * 16, corr + v0 * G * 16,
                    y + t0 * ldy, ldy, rb + 16 * v0, nrb - 16 * v0, bias, nv, nt);
      }
    }
  }
}

}  // namespace rg::avx512

#include "target_end.h"
#endif  // RG_X86_SIMD
