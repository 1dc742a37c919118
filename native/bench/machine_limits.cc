#include "machine_limits.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "../runtime/cpu_features.h"
#include "../runtime/cpu_identity.h"
#include "amx_peak.h"
#include "../runtime/owned_buffer.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define RG_X86 1
#endif

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own AVX-512 headers (_mm512_extract*: GCC bug 105593), a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rg::bench {

using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// --- read bandwidth -----------------------------------------------------------------------------

#if defined(RG_X86) && defined(__GNUC__)
__attribute__((target("avx512f"))) static double sum_avx512(const float* p, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  double s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; i < n; ++i) s += p[i];
  return s;
}

__attribute__((target("avx2"))) static double sum_avx2(const float* p, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  double s = 0;
  for (float v : lanes) s += v;
  for (; i < n; ++i) s += p[i];
  return s;
}
#endif

static double sum_scalar(const float* p, int64_t n) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) a[j] += p[i + j];
  double s = 0;
  for (float v : a) s += v;
  for (; i < n; ++i) s += p[i];
  return s;
}

ReadResult read_bandwidth(ThreadPool& pool, uint64_t bytes, int passes, bool huge_pages) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float)) / 1024 * 1024;
  OwnedBuffer buf(static_cast<size_t>(n) * sizeof(float), huge_pages);
  float* p = reinterpret_cast<float*>(buf.data());
  const int threads = pool.size();
  // First touch from the threads that will read, so pages are faulted in (and THP collapsed).
  pool.parallel_for(threads, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = n * t / threads, e = n * (t + 1) / threads;
      for (int64_t i = b; i < e; ++i) p[i] = static_cast<float>(i & 1023) * 1e-3f;
    }
  });
  const CpuFeatures f = detect_cpu_features();
  double (*sum)(const float*, int64_t) = sum_scalar;
#if defined(RG_X86) && defined(__GNUC__)
  if (f.avx512f) sum = sum_avx512;
  else if (f.avx2) sum = sum_avx2;
#endif
  ReadResult r;
  r.huge_pages = buf.huge();
  std::vector<double> partial(static_cast<size_t>(threads), 0.0);
  for (int pass = 0; pass < std::max(1, passes); ++pass) {
    const auto t0 = Clock::now();
    // One chunk per thread: each streams a contiguous slice, as a matmul split by rows does.
    pool.parallel_for(threads, 1, [&](int64_t a, int64_t b) {
      for (int64_t t = a; t < b; ++t) {
        const int64_t lo = (n * t / threads) / 16 * 16, hi = t + 1 == threads ? n : (n * (t + 1) / threads) / 16 * 16;
        partial[static_cast<size_t>(t)] += sum(p + lo, hi - lo);
      }
    });
    const double s = seconds_since(t0);
    r.gb_per_s = std::max(r.gb_per_s, static_cast<double>(n) * sizeof(float) / s / 1e9);
  }
  for (double v : partial) r.checksum += v;
  return r;
}

// --- compute peaks ------------------------------------------------------------------------------

#if defined(RG_X86) && defined(__GNUC__)
// Twelve independent accumulator chains hide the 4-cycle latency on two FMA pipes.
__attribute__((target("avx512f"))) static double fma_loop(int64_t iters, float* sink) {
  __m512 a[12];
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(static_cast<float>(j));
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm512_fmadd_ps(a[j], x, y);
  __m512 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, a[j]);
  *sink += _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * 12 * 16 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_loop(int64_t iters, float* sink) {
  __m512 a[12];
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3380);
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(static_cast<float>(j));
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm512_dpbf16_ps(a[j], x, y);
  __m512 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, a[j]);
  *sink += _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * 12 * 16 * 4;
}

__attribute__((target("avx512f,avx512vnni"))) static double int8_loop(int64_t iters, float* sink) {
  __m512i a[12];
  const __m512i x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(-1);
  for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_epi32(j);
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm512_dpbusd_epi32(a[j], x, y);
  __m512i s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm512_add_epi32(s, a[j]);
  *sink += static_cast<float>(_mm512_reduce_add_epi32(s));
  return static_cast<double>(iters) * 12 * 16 * 8;
}

__attribute__((target("avx2,fma"))) static double fma_loop_avx2(int64_t iters, float* sink) {
  __m256 a[12];
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int j = 0; j < 12; ++j) a[j] = _mm256_set1_ps(static_cast<float>(j));
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 12; ++j) a[j] = _mm256_fmadd_ps(a[j], x, y);
  __m256 s = a[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, a[j]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  for (float v : lanes) *sink += v;
  return static_cast<double>(iters) * 12 * 8 * 2;
}
#endif

double compute_peak(ThreadPool& pool, PeakKind kind, double seconds) {
  double (*loop)(int64_t, float*) = nullptr;
#if defined(RG_X86) && defined(__GNUC__)
  const CpuFeatures f = detect_cpu_features();
  switch (kind) {
    case PeakKind::Fma32: loop = f.avx512f ? fma_loop : (f.avx2 && f.fma ? fma_loop_avx2 : nullptr); break;
    case PeakKind::DotBf16: loop = f.avx512bf16 ? bf16_loop : nullptr; break;
    case PeakKind::DotInt8: loop = f.avx512vnni ? int8_loop : nullptr; break;
    case PeakKind::AmxBf16:
      if (amx_usable() && cpu_identity().amx_bf16) loop = [](int64_t n, float*) { return amx_bf16_loop(n); };
      break;
    case PeakKind::AmxInt8:
      if (amx_usable() && cpu_identity().amx_int8) loop = [](int64_t n, float*) { return amx_int8_loop(n); };
      break;
  }
#else
  (void)kind;
#endif
  if (!loop) return 0;
  // Calibrate the iteration count on one thread, then run it on all threads at once.
  float sink = 0;
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = Clock::now();
    loop(iters, &sink);
    const double s = seconds_since(t0);
    if (s > 0.02 || iters > (int64_t{1} << 40)) {
      iters = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iters) * seconds / std::max(s, 1e-6) / 3));
      break;
    }
    iters *= 4;
  }
  const int threads = pool.size();
  double best = 0;
  std::vector<float> sinks(static_cast<size_t>(threads), 0.0f);
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> ops(static_cast<size_t>(threads), 0.0);
    const auto t0 = Clock::now();
    pool.parallel_for(threads, 1, [&](int64_t a, int64_t b) {
      for (int64_t t = a; t < b; ++t) ops[static_cast<size_t>(t)] = loop(iters, &sinks[static_cast<size_t>(t)]);
    });
    const double s = seconds_since(t0);
    double total = 0;
    for (double o : ops) total += o;
    best = std::max(best, total / s);
  }
  return best + 0 * sink;
}

}  // namespace rg::bench
