// AVX-512 vector layer for the generic SIMD kernels (simd_*.inc). Include only after
// `#pragma GCC target` / `#pragma clang attribute` enabled avx512f/bw/vl/dq + fma + f16c, and only
// inside an anonymous namespace user: everything here has internal linkage.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace {

struct V {
  using R = __m512;
  static constexpr int N = 16;   // float lanes
  static constexpr int P = 32;   // weight elements per load_w block (a = first N, b = last N)

  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float f) { return _mm512_set1_ps(f); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static __mmask16 mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static R load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, R v, int64_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
  static R max(R a, R b) { return _mm512_maskz_max_ps(0xffff, a, b); }  // b when either is NaN
  static R min(R a, R b) { return _mm512_maskz_min_ps(0xffff, a, b); }
  static R sqrt(R a) { return _mm512_sqrt_ps(a); }
  static R abs(R a) { return _mm512_abs_ps(a); }
  static R round(R a) { return _mm512_maskz_roundscale_ps(0xffff, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static R copysign(R mag, R sign) {  // |mag| with the sign of `sign`
    const __m512i m = _mm512_set1_epi32(0x80000000);
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(mag),
                                                         _mm512_castps_si512(sign), m, 0xD8 /* m ? sign : mag */));
  }
  static R select_gt(R a, R b, R t, R f) {  // a > b ? t : f
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), f, t);
  }
  static __m256 hi256(R v) { return _mm512_maskz_extractf32x8_ps(0xff, v, 1); }
  static float hsum(R v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), hi256(v));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(R v) {
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), hi256(v));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // v * 2^n for integral-valued n (handles overflow to inf and gradual underflow).
  static R scale2(R v, R n) { return _mm512_maskz_scalef_ps(0xffff, v, n); }

  // Horizontal sums of 16 vectors: out[i] = sum of lanes of v[i].
  __attribute__((always_inline)) static void hsum16(const R* v, float* out) {
    __m256 h[16];
    for (int i = 0; i < 16; ++i)
      h[i] = _mm256_add_ps(_mm512_castps512_ps256(v[i]),
                           _mm512_maskz_extractf32x8_ps(0xff, v[i], 1));
    for (int g = 0; g < 2; ++g) {
      const __m256* u = h + 8 * g;
      const __m256 s01 = _mm256_hadd_ps(u[0], u[1]), s23 = _mm256_hadd_ps(u[2], u[3]);
      const __m256 s45 = _mm256_hadd_ps(u[4], u[5]), s67 = _mm256_hadd_ps(u[6], u[7]);
      const __m256 a = _mm256_hadd_ps(s01, s23), b = _mm256_hadd_ps(s45, s67);
      const __m256 lo = _mm256_permute2f128_ps(a, b, 0x20), hi = _mm256_permute2f128_ps(a, b, 0x31);
      _mm256_storeu_ps(out + 8 * g, _mm256_add_ps(lo, hi));
    }
  }

  // Weight loaders: P consecutive weights of one row, widened to float. For BF16 and Q4 the two
  // vectors hold the even and the odd elements of the block (perm order, see kPermuted); every
  // other dtype keeps the natural order (a = first N elements, b = the next N).
  static void w_f32(const float* p, R& a, R& b) { a = load(p); b = load(p + N); }
  static void w_bf16(const uint16_t* p, R& a, R& b) {
    const __m512i v = _mm512_loadu_si512(p);
    a = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    b = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  static void w_f16(const uint16_t* p, R& a, R& b) {
    a = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    b = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + N)));
  }
  static void w_q8(const int8_t* p, float s, R& a, R& b) {
    const R sc = set1(s);
    a = mul(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))), sc);
    b = mul(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + N)))), sc);
  }
  // p points at the P/2 bytes holding P nibbles (low nibble = even element).
  static void w_q4(const uint8_t* p, float s, R& a, R& b) {
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m512i eight = _mm512_set1_epi32(8);
    const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(v, _mm512_set1_epi32(15)), eight);
    const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(v, 4), eight);
    const R sc = set1(s);
    a = mul(_mm512_cvtepi32_ps(lo), sc);
    b = mul(_mm512_cvtepi32_ps(hi), sc);
  }
  // Raw quantized values as float (no scale): the streaming kernels scale once per group.
  static void w_q8_raw(const int8_t* p, R& a, R& b) {
    a = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    b = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + N))));
  }
  // vpermps reads only the low 4 bits of each index lane, so a 16-entry table of float(n - 8)
  // turns every nibble into its value without masking, subtracting or converting.
  static void w_q4_raw(const uint8_t* p, R& a, R& b) {
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const R table = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    a = _mm512_permutexvar_ps(v, table);
    b = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), table);
  }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};

}  // namespace
