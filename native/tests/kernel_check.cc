// Standalone kernel harness (not part of the addon; see scripts/kernel-check.sh):
//   kernel_check check         every compiled SIMD level vs the scalar reference on random shapes
//                              (run by CI under ASan/UBSan: scripts/sanitize.sh, from .ci/run)
//   kernel_check bench [level] matmul throughput (GB/s for T=1, GFLOP/s for batches) + read bandwidth
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../kernels/kernels.h"
#include "../kernels/scalar/scalar.h"
#include "../kernels/dispatch.h"

using namespace rg;

namespace {

std::mt19937_64 rng(12345);
float uni(float a, float b) { return std::uniform_real_distribution<float>(a, b)(rng); }
int64_t irange(int64_t a, int64_t b) { return std::uniform_int_distribution<int64_t>(a, b)(rng); }

struct Weights {
  std::vector<uint8_t> data;
  std::vector<float> scales;
  Matrix m;
};

Weights make_weights(DType t, int64_t rows, int64_t cols) {
  Weights w;
  w.data.resize(static_cast<size_t>(row_bytes(t, cols) * rows) + 64);
  const int64_t n = rows * cols;
  switch (t) {
    case DType::F32: {
      float* p = reinterpret_cast<float*>(w.data.data());
      for (int64_t i = 0; i < n; ++i) p[i] = uni(-1, 1);
      break;
    }
    case DType::BF16: {
      uint16_t* p = reinterpret_cast<uint16_t*>(w.data.data());
      for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(uni(-1, 1));
      break;
    }
    case DType::F16: {
      uint16_t* p = reinterpret_cast<uint16_t*>(w.data.data());
      for (int64_t i = 0; i < n; ++i)  // |v| < 2, sign, exponent and mantissa random
        p[i] = static_cast<uint16_t>((irange(0, 1) << 15) | (irange(1, 15) << 10) | irange(0, 1023));
      if (n > 4) { p[0] = 0x0001; p[1] = 0x83ff; p[2] = 0x7bff; }  // subnormals, max
      break;
    }
    case DType::Q8: {
      int8_t* p = reinterpret_cast<int8_t*>(w.data.data());
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(irange(-128, 127));
      break;
    }
    case DType::Q4: {
      for (int64_t i = 0; i < n / 2; ++i) w.data[i] = static_cast<uint8_t>(irange(0, 255));
      break;
    }
  }
  if (t == DType::Q8 || t == DType::Q4) {
    w.scales.resize(static_cast<size_t>(rows * (cols / kQuantGroup)));
    for (auto& s : w.scales) s = uni(0.001f, 0.02f);
  }
  w.m.data = w.data.data();
  // KERNEL_CHECK_ALIGN64=1: weights start on a cache line, as the model's owned (quantized)
  // matrices do (std::vector data from malloc is only 16-byte aligned).
  if (std::getenv("KERNEL_CHECK_ALIGN64")) {
    const size_t off = (64 - reinterpret_cast<uintptr_t>(w.data.data()) % 64) % 64;
    std::memmove(w.data.data() + off, w.data.data(), w.data.size() - 64);
    w.m.data = w.data.data() + off;
  }
  w.m.dtype = t;
  w.m.rows = rows;
  w.m.cols = cols;
  w.m.scales = w.scales.empty() ? nullptr : w.scales.data();
  return w;
}

const char* dtype_name(DType t) {
  static const char* names[] = {"f32", "bf16", "f16", "q8", "q4"};
  return names[static_cast<int>(t)];
}

int failures = 0;
double worst_matmul = 0;

void fail(const std::string& what) {
  if (++failures < 30) std::printf("FAIL %s\n", what.c_str());
}

// |a - b| <= rtol * scale + atol
bool close(double a, double b, double scale, double rtol, double atol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  return std::fabs(a - b) <= rtol * scale + atol;
}

double worst_fast = 0;

// fast: k.matmul_fast against scalar::matmul_fast (same rounded / quantized activations, so only
// the float32 summation order differs).
void check_matmul(const KernelTable& k, DType t, int64_t T, int64_t rows, int64_t cols, bool with_bias,
                  bool fast = false) {
  Weights w = make_weights(t, rows, cols);
  const int64_t ldx = cols + irange(0, 3), ldy = rows + irange(0, 3);
  std::vector<float> x(static_cast<size_t>(T * ldx)), bias(static_cast<size_t>(rows));
  for (auto& v : x) v = uni(-2, 2);
  for (auto& v : bias) v = uni(-1, 1);
  const int64_t r0 = irange(0, rows / 3), r1 = irange(std::max<int64_t>(r0, rows - rows / 3), rows);
  std::vector<float> ya(static_cast<size_t>(T * ldy), -7.0f), yb = ya;
  const float* b = with_bias ? bias.data() : nullptr;
  (fast ? scalar::matmul_fast : scalar::matmul)(x.data(), ldx, T, w.m, b, ya.data(), ldy, r0, r1);
  (fast ? k.matmul_fast : k.matmul)(x.data(), ldx, T, w.m, b, yb.data(), ldy, r0, r1);
  for (int64_t tt = 0; tt < T; ++tt)
    for (int64_t r = 0; r < rows; ++r) {
      const size_t i = static_cast<size_t>(tt * ldy + r);
      double mag = with_bias ? std::fabs(bias[r]) : 0.0;
      if (r >= r0 && r < r1)
        for (int64_t c = 0; c < cols; ++c) mag += std::fabs(x[tt * ldx + c] * scalar::weight_at(w.m, r, c));
      const double err = std::fabs(ya[i] - yb[i]) / (mag + 1e-30);
      if (r >= r0 && r < r1) (fast ? worst_fast : worst_matmul) = std::max(fast ? worst_fast : worst_matmul, err);
      if (!close(ya[i], yb[i], mag, 1e-5, 0)) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s matmul%s %s T=%lld rows=%lld cols=%lld [%lld,%lld) t=%lld r=%lld: %g vs %g",
                      k.name, fast ? "_fast" : "", dtype_name(t), (long long)T, (long long)rows, (long long)cols, (long long)r0,
                      (long long)r1, (long long)tt, (long long)r, ya[i], yb[i]);
        fail(buf);
        return;
      }
    }
}

template <class F>
void compare(const char* name, const KernelTable& k, const std::vector<float>& a, const std::vector<float>& b,
             double rtol, double atol, F&& ctx) {
  for (size_t i = 0; i < a.size(); ++i)
    if (!close(a[i], b[i], std::fabs(a[i]), rtol, atol)) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "%s %s i=%zu: %.9g vs %.9g %s", k.name, name, i, a[i], b[i], ctx().c_str());
      fail(buf);
      return;
    }
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b, double floor) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]) / std::max(floor, std::fabs(double(a[i]))));
  return m;
}

void check_elementwise(const KernelTable& k) {
  for (int rep = 0; rep < 40; ++rep) {
    const int64_t n = rep < 20 ? irange(1, 70) : irange(1, 5000);
    std::vector<float> x(n), w(n), u(n), ya(n), yb(n);
    for (auto& v : x) v = uni(-6, 6);
    for (auto& v : w) v = uni(-1, 1);
    for (auto& v : u) v = uni(-3, 3);
    auto ctx = [&] { return "n=" + std::to_string(n); };
    scalar::rmsnorm(x.data(), w.data(), n, 1e-6f, ya.data());
    k.rmsnorm(x.data(), w.data(), n, 1e-6f, yb.data());
    compare("rmsnorm", k, ya, yb, 1e-5, 1e-7, ctx);
    scalar::gelu(x.data(), n, ya.data());
    k.gelu(x.data(), n, yb.data());
    compare("gelu", k, ya, yb, 1e-5, 1e-6, ctx);
    scalar::gelu_mul(x.data(), u.data(), n, ya.data());
    k.gelu_mul(x.data(), u.data(), n, yb.data());
    compare("gelu_mul", k, ya, yb, 1e-5, 1e-6, ctx);
    std::vector<float> sa = x, sb = x;
    for (auto& v : sa) v *= 10;
    sb = sa;
    scalar::softcap(sa.data(), n, 30.0f);
    k.softcap(sb.data(), n, 30.0f);
    compare("softcap", k, sa, sb, 1e-6, 1e-7, ctx);
  }
  // Accuracy sweeps of the transcendentals over a dense range.
  const int64_t n = 200001;
  std::vector<float> x(n), ya(n), yb(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -12.0f + 24.0f * i / (n - 1);
  scalar::gelu(x.data(), n, ya.data());
  k.gelu(x.data(), n, yb.data());
  std::printf("  %s gelu max rel err vs scalar (|y|>1e-3): %.3g\n", k.name, max_rel(ya, yb, 1e-3));
  {
    double es = 0, ek = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = x[i], u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
      const double ref = v / (1.0 + std::exp(-2.0 * u));
      const double d = std::max(1e-3, std::fabs(ref));
      es = std::max(es, std::fabs(ya[i] - ref) / d);
      ek = std::max(ek, std::fabs(yb[i] - ref) / d);
    }
    std::printf("  gelu max rel err vs float64 (|y|>1e-3): scalar %.3g, %s %.3g\n", es, k.name, ek);
  }
  std::vector<float> sa(n), sb(n);
  for (int64_t i = 0; i < n; ++i) sa[i] = sb[i] = -60.0f + 120.0f * i / (n - 1);
  scalar::softcap(sa.data(), n, 30.0f);
  k.softcap(sb.data(), n, 30.0f);
  std::printf("  %s softcap(30) max rel err vs scalar: %.3g\n", k.name, max_rel(sa, sb, 1e-30));
  for (int64_t i = 0; i < n; ++i) sa[i] = sb[i] = 1e-4f * (i - n / 2);
  scalar::softcap(sa.data(), n, 1.0f);
  k.softcap(sb.data(), n, 1.0f);
  std::printf("  %s tanh max rel err vs scalar (|x|<10): %.3g\n", k.name, max_rel(sa, sb, 1e-30));
  const float big[] = {INFINITY, -INFINITY, 1e30f, -1e30f, 0.0f, -0.0f, 88.0f, -88.0f, 100.0f, -100.0f};
  std::vector<float> bx(big, big + 10), ba(10), bb(10);
  scalar::gelu(bx.data(), 10, ba.data());
  k.gelu(bx.data(), 10, bb.data());
  compare("gelu(special)", k, ba, bb, 1e-6, 1e-30, [] { return std::string(); });
}

void check_recurrence(const KernelTable& k) {
  for (int rep = 0; rep < 60; ++rep) {
    const int64_t L = irange(1, 100), T = irange(1, 9), K = irange(1, 5);
    const int64_t c0 = irange(0, L - 1), c1 = irange(c0 + 1, L);
    std::vector<float> x(T * L), w(L * K), b(L), st(std::max<int64_t>(1, K - 1) * L);
    for (auto* v : {&x, &w, &b, &st})
      for (auto& e : *v) e = uni(-1, 1);
    std::vector<float> sa = st, sb = st, ya(T * L, -3), yb(T * L, -3);
    scalar::conv1d(x.data(), T, L, w.data(), K, b.data(), sa.data(), ya.data(), c0, c1);
    k.conv1d(x.data(), T, L, w.data(), K, b.data(), sb.data(), yb.data(), c0, c1);
    auto ctx = [&] { return "L=" + std::to_string(L) + " T=" + std::to_string(T) + " K=" + std::to_string(K); };
    compare("conv1d.y", k, ya, yb, 1e-5, 1e-6, ctx);
    compare("conv1d.state", k, sa, sb, 0, 0, ctx);

    std::vector<float> gx(T * L), ga(T * L), nsp(L), h(L);
    for (auto& e : gx) e = uni(-4, 4);
    for (auto& e : ga) e = uni(-4, 4);
    for (auto& e : nsp) e = -8.0f * std::log1p(std::exp(uni(-1, 4)));
    for (auto& e : h) e = uni(-1, 1);
    const int64_t pos0 = rep % 3 == 0 ? 0 : irange(1, 100);
    std::vector<float> ha = h, hb = h;
    std::fill(ya.begin(), ya.end(), -3.0f);
    std::fill(yb.begin(), yb.end(), -3.0f);
    scalar::rglru(x.data(), gx.data(), ga.data(), nsp.data(), T, L, pos0, ha.data(), ya.data(), c0, c1);
    k.rglru(x.data(), gx.data(), ga.data(), nsp.data(), T, L, pos0, hb.data(), yb.data(), c0, c1);
    compare("rglru.y", k, ya, yb, 2e-5, 1e-6, ctx);
    compare("rglru.h", k, ha, hb, 2e-5, 1e-6, ctx);
  }
}

void check_attention(const KernelTable& k) {
  for (int rep = 0; rep < 40; ++rep) {
    const int64_t hd = rep % 4 == 0 ? 256 : irange(1, 70), H = irange(1, 4), W = irange(1, 40), T = irange(1, 12);
    const int64_t pos0 = rep % 5 == 0 ? 0 : irange(1, 90);
    const int64_t h0 = irange(0, H - 1), h1 = irange(h0 + 1, H);
    const int64_t ldq = H * hd + irange(0, 3), ldo = H * hd + irange(0, 3);
    std::vector<float> q(T * ldq), kk(T * hd), v(T * hd), kc(W * hd), vc(W * hd);
    for (auto* a : {&q, &kk, &v, &kc, &vc})
      for (auto& e : *a) e = uni(-2, 2);
    std::vector<float> oa(T * ldo, -5), ob(T * ldo, -5), scr(W + T + 8);
    scalar::local_attention(q.data(), ldq, kk.data(), v.data(), kc.data(), vc.data(), pos0, T, hd, W, h0, h1,
                            oa.data(), ldo, scr.data());
    k.local_attention(q.data(), ldq, kk.data(), v.data(), kc.data(), vc.data(), pos0, T, hd, W, h0, h1,
                      ob.data(), ldo, scr.data());
    compare("local_attention", k, oa, ob, 1e-5, 1e-6, [&] {
      return "hd=" + std::to_string(hd) + " W=" + std::to_string(W) + " T=" + std::to_string(T) + " pos0=" + std::to_string(pos0);
    });
  }
}

void check_level(const KernelTable& k) {
  std::printf("checking %s\n", k.name);
  const DType types[] = {DType::F32, DType::BF16, DType::F16, DType::Q8, DType::Q4};
  const int64_t Ts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17, 33};
  worst_matmul = 0;
  for (DType t : types)
    for (int64_t T : Ts)
      for (int rep = 0; rep < 4; ++rep) {
        const bool q = t == DType::Q8 || t == DType::Q4;
        int64_t cols = rep == 0 ? irange(1, 40) : rep == 1 ? irange(40, 700) : irange(700, 1700);
        if (q) cols = std::max<int64_t>(1, cols / 32) * 32;
        const int64_t rows = irange(1, rep == 3 ? 150 : 40);
        check_matmul(k, t, T, rows, cols, rep != 1);
      }
  for (DType t : types)  // more columns than one panel block (K blocking)
    for (int64_t T : {1, 6, 11}) check_matmul(k, t, T, 7, t == DType::Q8 || t == DType::Q4 ? 8224 : 8230, true);
  std::printf("  %s matmul worst |err| / sum|x w|: %.3g\n", k.name, worst_matmul);
  if (k.matmul_fast) {
    worst_fast = 0;
    for (DType t : types)
      for (int64_t T : Ts)
        for (int rep = 0; rep < 3; ++rep) {
          const bool q = t == DType::Q8 || t == DType::Q4;
          int64_t cols = rep == 0 ? irange(1, 40) : rep == 1 ? irange(40, 700) : irange(700, 2600);
          if (q) cols = std::max<int64_t>(1, cols / 32) * 32;
          check_matmul(k, t, T, irange(1, rep == 2 ? 150 : 40), cols, rep != 1, true);
        }
    for (DType t : types)
      for (int64_t T : {1, 6, 11}) check_matmul(k, t, T, 37, t == DType::Q8 || t == DType::Q4 ? 3104 : 3110, true, true);
    std::printf("  %s matmul_fast vs scalar fast worst |err| / sum|x w|: %.3g\n", k.name, worst_fast);
  } else {
    std::printf("  %s: no matmul_fast\n", k.name);
  }
  check_elementwise(k);
  check_recurrence(k);
  check_attention(k);
}

// Wall clock, or this thread's CPU time with KERNEL_CHECK_CPUTIME=1 (single-thread runs on a busy
// machine: time spent descheduled is not counted).
double now() {
  static const bool cpu = std::getenv("KERNEL_CHECK_CPUTIME") != nullptr;
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best time of `reps` runs of fn split across `threads` threads over [0, rows).
double time_split(int threads, int reps, int64_t rows, const std::function<void(int64_t, int64_t)>& fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    std::vector<std::thread> pool;
    const int64_t per = (rows + threads - 1) / threads;
    for (int i = 1; i < threads; ++i) pool.emplace_back(fn, std::min(rows, i * per), std::min(rows, (i + 1) * per));
    fn(0, std::min(rows, per));
    for (auto& th : pool) th.join();
    best = std::min(best, now() - t0);
  }
  return best;
}

__attribute__((target("avx512f"))) float read_sum(const float* p, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  alignas(64) float o[16];
  _mm512_store_ps(o, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float s = 0;
  for (float v : o) s += v;
  return s;
}

void bench(const KernelTable& k, int threads) {
  std::printf("bench %s, %d thread(s)\n", k.name, threads);
  // STREAM-like read of 1 GiB.
  {
    const int64_t n = int64_t(1) << 28;
    float* p = static_cast<float*>(std::aligned_alloc(64, n * 4));
    for (int64_t i = 0; i < n; ++i) p[i] = 1.0f;
    volatile float sink = 0;
    const double t = time_split(threads, 5, n / 64, [&](int64_t a, int64_t b) { sink = sink + read_sum(p + a * 64, (b - a) * 64); });
    std::printf("  read bandwidth (1 GiB, AVX-512 loads): %.1f GB/s\n", n * 4 / t / 1e9);
    std::free(p);
  }
  struct Shape { int64_t rows, cols; };
  for (Shape s : {Shape{7680, 2560}, Shape{256000, 2560}})
    for (DType t : {DType::BF16, DType::F32, DType::F16, DType::Q8, DType::Q4}) {
      if (s.rows == 256000 && t != DType::BF16) continue;
      Weights w = make_weights(t, s.rows, s.cols);
      std::vector<float> x(s.cols), y(s.rows);
      for (auto& v : x) v = uni(-1, 1);
      const double sec = time_split(threads, s.rows > 100000 ? 3 : 20, s.rows, [&](int64_t a, int64_t b) {
        k.matmul(x.data(), s.cols, 1, w.m, nullptr, y.data(), s.rows, a, b);
      });
      const double bytes = double(row_bytes(t, s.cols)) * s.rows + (w.scales.size() * 4.0);
      std::printf("  T=1 %-4s %lldx%lld: %.3f ms  %.1f GB/s\n", dtype_name(t), (long long)s.rows, (long long)s.cols,
                  sec * 1e3, bytes / sec / 1e9);
    }
  for (int64_t T : {8, 64, 256})
    for (DType t : {DType::F32, DType::BF16, DType::F16, DType::Q8, DType::Q4}) {
      const int64_t rows = 7680, cols = 2560;
      Weights w = make_weights(t, rows, cols);
      std::vector<float> x(T * cols), y(T * rows);
      for (auto& v : x) v = uni(-1, 1);
      const double sec = time_split(threads, 5, rows, [&](int64_t a, int64_t b) {
        k.matmul(x.data(), cols, T, w.m, nullptr, y.data(), rows, a, b);
      });
      std::printf("  T=%-3lld %-4s %lldx%lld: %.2f ms  %.1f GFLOP/s\n", (long long)T, dtype_name(t), (long long)rows,
                  (long long)cols, sec * 1e3, 2.0 * T * rows * cols / sec / 1e9);
    }
}

const KernelTable* level_table(const std::string& name) {
  SimdLevel l;
  if (!parse_simd_level(name, &l) || !simd_level_available(l)) return nullptr;
  return &kernels_for(l);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") {
    for (const char* name : {"avx2", "avx512"}) {
      const KernelTable* k = level_table(name);
      if (!k) {
        std::printf("%s: not available, skipped\n", name);
        continue;
      }
      check_level(*k);
    }
    std::printf(failures ? "%d FAILURES\n" : "all checks passed\n", failures);
    return failures ? 1 : 0;
  }
  if (mode == "bench") {
    const KernelTable* k = level_table(argc > 2 ? argv[2] : "avx512");
    const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
    if (!k) return 2;
    bench(*k, threads);
    return 0;
  }
  if (mode == "bw") {  // bw level threads rows cols: read bandwidth and T=1 bf16 matmul, interleaved
    const KernelTable* k = level_table(argc > 2 ? argv[2] : "avx512");
    const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
    const int64_t rows = argc > 4 ? std::atoll(argv[4]) : 256000, cols = argc > 5 ? std::atoll(argv[5]) : 2560;
    if (!k) return 2;
    Weights w = make_weights(DType::BF16, rows, cols);
    std::vector<float> x(cols), y(rows);
    for (auto& v : x) v = uni(-1, 1);
    const int64_t n = int64_t(1) << 28;
    float* p = static_cast<float*>(std::aligned_alloc(64, n * 4));
    for (int64_t i = 0; i < n; ++i) p[i] = 1.0f;
    volatile float sink = 0;
    const double bytes = double(row_bytes(DType::BF16, cols)) * rows;
    double best_read = 0, best_mm = 0;
    for (int rep = 0; rep < 8; ++rep) {
      const double tr = time_split(threads, 1, n / 64, [&](int64_t a, int64_t b) { sink = sink + read_sum(p + a * 64, (b - a) * 64); });
      const double tm = time_split(threads, 1, rows, [&](int64_t a, int64_t b) {
        k->matmul(x.data(), cols, 1, w.m, nullptr, y.data(), rows, a, b);
      });
      best_read = std::max(best_read, n * 4 / tr / 1e9);
      best_mm = std::max(best_mm, bytes / tm / 1e9);
    }
    std::printf("%s %d thr: read %.1f GB/s, T=1 bf16 %lldx%lld matmul %.1f GB/s (%.0f%% of read)\n", k->name, threads,
                best_read, (long long)rows, (long long)cols, best_mm, 100 * best_mm / best_read);
    std::free(p);
    return 0;
  }
  if (mode == "mm" && argc >= 8) {  // mm level threads T dtype rows cols
    const KernelTable* k = level_table(argv[2]);
    const int threads = std::atoi(argv[3]);
    const int64_t T = std::atoll(argv[4]), rows = std::atoll(argv[6]), cols = std::atoll(argv[7]);
    DType t = DType::F32;
    for (int i = 0; i < 5; ++i)
      if (std::string(argv[5]) == dtype_name(static_cast<DType>(i))) t = static_cast<DType>(i);
    if (!k) return 2;
    Weights w = make_weights(t, rows, cols);
    std::vector<float> x(T * cols), y(T * rows);
    for (auto& v : x) v = uni(-1, 1);
    const bool fast = std::getenv("KERNEL_CHECK_FAST") != nullptr;  // time matmul_fast instead
    if (fast && !k->matmul_fast) return 3;
    const double sec = time_split(threads, argc > 8 ? std::atoi(argv[8]) : 10, rows, [&](int64_t a, int64_t b) {
      (fast ? k->matmul_fast : k->matmul)(x.data(), cols, T, w.m, nullptr, y.data(), rows, a, b);
    });
    const double bytes = double(row_bytes(t, cols)) * rows + (w.scales.size() * 4.0);
    std::printf("%s%s %d thr T=%lld %s %lldx%lld: %.3f ms  %.1f GB/s  %.1f GFLOP/s\n", k->name, fast ? "(fast)" : "", threads, (long long)T,
                dtype_name(t), (long long)rows, (long long)cols, sec * 1e3, bytes / sec / 1e9, 2.0 * T * rows * cols / sec / 1e9);
    return 0;
  }
  if (mode == "att" && argc >= 8) {  // att level T window heads head_dim pos0 [reps]: local attention, 1 thread
    const KernelTable* k = level_table(argv[2]);
    const int64_t T = std::atoll(argv[3]), W = std::atoll(argv[4]), H = std::atoll(argv[5]), hd = std::atoll(argv[6]);
    const int64_t pos0 = std::atoll(argv[7]);
    if (!k) return 2;
    std::vector<float> q(T * H * hd), kk(T * hd), v(T * hd), kc(W * hd), vc(W * hd), o(T * H * hd), scr(W + T + 8);
    for (auto* a : {&q, &kk, &v, &kc, &vc})
      for (auto& e : *a) e = uni(-1, 1);
    double best = 1e30;
    for (int r = 0; r < (argc > 8 ? std::atoi(argv[8]) : 3); ++r) {
      const double t0 = now();
      k->local_attention(q.data(), H * hd, kk.data(), v.data(), kc.data(), vc.data(), pos0, T, hd, W, 0, H, o.data(), H * hd,
                         scr.data());
      best = std::min(best, now() - t0);
    }
    std::printf("%s attention T=%lld W=%lld H=%lld hd=%lld pos0=%lld: %.2f ms\n", k->name, (long long)T, (long long)W,
                (long long)H, (long long)hd, (long long)pos0, best * 1e3);
    return 0;
  }
  std::fprintf(stderr, "usage: kernel_check check | bench [level] [threads]\n");
  return 2;
}
