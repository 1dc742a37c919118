#include "kernel_case.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include "../model/griffin.h"
#include "../model/quantize.h"

namespace rg::bench {

static void fill_normal(std::vector<float>& v, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, scale);
  for (float& x : v) x = n(rng);
}

KernelCase::KernelCase(const CaseSpec& s, const KernelTable& kernels, int threads)
    : spec_(s), k_(kernels), pool_(threads) {
  if (s.kernel == "matmul") {
    if (s.rows <= 0 || s.cols <= 0 || s.T <= 0) throw std::invalid_argument("matmul needs rows, cols, T >= 1");
    const bool quant = s.dtype == DType::Q8 || s.dtype == DType::Q4;
    if (quant && !quantizable(s.cols)) throw std::invalid_argument("quantized matmul needs cols divisible by 32");
    // Random normal weights, generated once per row block and repeated: statistics matter for
    // quantization, not for timing, and this keeps setup of a 1.3 GB matrix fast.
    const int64_t block = std::min<int64_t>(s.rows, 64);
    std::vector<float> src(static_cast<size_t>(block * s.cols));
    fill_normal(src, 1.0f / std::sqrt(static_cast<float>(s.cols)), 1);
    const size_t wbytes = static_cast<size_t>(row_bytes(s.dtype, s.cols) * s.rows);
    weights_ = OwnedBuffer(wbytes, s.huge_pages);
    if (quant) scales_ = OwnedBuffer(static_cast<size_t>(s.rows * (s.cols / kQuantGroup)) * 4, s.huge_pages);
    std::vector<uint16_t> half(src.size());
    for (size_t i = 0; i < src.size(); ++i) half[i] = f32_to_bf16(src[i]);
    const Matrix src_m{src.data(), DType::F32, block, s.cols, nullptr};
    for (int64_t r0 = 0; r0 < s.rows; r0 += block) {
      const int64_t n = std::min(block, s.rows - r0);
      uint8_t* dst = weights_.data() + r0 * row_bytes(s.dtype, s.cols);
      switch (s.dtype) {
        case DType::F32: std::memcpy(dst, src.data(), n * s.cols * 4); break;
        case DType::BF16:
        case DType::F16:  // timing only: bf16 bit patterns are valid (if different) f16 numbers
          std::memcpy(dst, half.data(), n * s.cols * 2);
          break;
        case DType::Q8:
        case DType::Q4: {
          std::vector<uint8_t> q(static_cast<size_t>(row_bytes(s.dtype, s.cols) * block));
          std::vector<float> sc(static_cast<size_t>(block * (s.cols / kQuantGroup)));
          quantize_rows(src_m, s.dtype, 0, block, q.data(), sc.data());
          std::memcpy(dst, q.data(), n * row_bytes(s.dtype, s.cols));
          std::memcpy(scales_.data() + r0 * (s.cols / kQuantGroup) * 4, sc.data(), n * (s.cols / kQuantGroup) * 4);
          break;
        }
      }
    }
    w_ = Matrix{weights_.data(), s.dtype, s.rows, s.cols, quant ? reinterpret_cast<const float*>(scales_.data()) : nullptr};
    a_.resize(static_cast<size_t>(s.T * s.cols));
    fill_normal(a_, 1.0f, 2);
    out_.resize(static_cast<size_t>(s.T * s.rows));
    bytes_ = static_cast<double>(wbytes) + (quant ? static_cast<double>(scales_.size()) : 0.0) +
             4.0 * static_cast<double>(a_.size() + out_.size());
    flops_ = 2.0 * static_cast<double>(s.rows) * s.cols * s.T;
  } else if (s.kernel == "rglru") {
    if (s.channels <= 0 || s.T <= 0) throw std::invalid_argument("rglru needs channels, T >= 1");
    const size_t n = static_cast<size_t>(s.T * s.channels);
    a_.resize(n), b_.resize(n), c_.resize(n), out_.resize(n);
    d_.resize(static_cast<size_t>(s.channels));
    e_.resize(static_cast<size_t>(s.channels));
    fill_normal(a_, 1.0f, 3), fill_normal(b_, 1.0f, 4), fill_normal(c_, 1.0f, 5);
    for (float& v : d_) v = -8.0f * std::log1p(std::exp(-6.0f));
    bytes_ = 4.0 * (4.0 * static_cast<double>(n) + 2.0 * static_cast<double>(s.channels));
    flops_ = 0;  // transcendental-bound: report time only
  } else if (s.kernel == "attention") {
    if (s.heads <= 0 || s.head_dim <= 0 || s.window <= 0 || s.T <= 0)
      throw std::invalid_argument("attention needs heads, head_dim, window, T >= 1");
    const int64_t qw = s.heads * s.head_dim;
    a_.resize(static_cast<size_t>(s.T * qw));                // q
    b_.resize(static_cast<size_t>(2 * s.T * s.head_dim));    // k, v of the chunk
    c_.resize(static_cast<size_t>(2 * s.window * s.head_dim));  // key and value ring caches
    out_.resize(static_cast<size_t>(s.T * qw));
    fill_normal(a_, 1.0f, 6), fill_normal(b_, 1.0f, 7), fill_normal(c_, 1.0f, 8);
    bytes_ = 4.0 * static_cast<double>(c_.size());
    // Every query row scores and mixes window + 1 positions per head.
    flops_ = 4.0 * static_cast<double>(s.T) * s.heads * (s.window + 1) * s.head_dim;
  } else {
    throw std::invalid_argument("unknown kernel '" + s.kernel + "' (matmul, rglru, attention)");
  }
}

void KernelCase::run() {
  const CaseSpec& s = spec_;
  if (s.kernel == "matmul") {
    const auto fn = s.fast && k_.matmul_fast ? k_.matmul_fast : k_.matmul;
    pool_.parallel_for(w_.rows, matmul_grain(w_, s.T, pool_.size()), [&](int64_t r0, int64_t r1) {
      fn(a_.data(), s.cols, s.T, w_, nullptr, out_.data(), s.rows, r0, r1);
    });
  } else if (s.kernel == "rglru") {
    // Position 1: the recurrence proper (position 0 resets).
    pool_.parallel_for(s.channels, 64, [&](int64_t c0, int64_t c1) {
      k_.rglru(a_.data(), b_.data(), c_.data(), d_.data(), s.T, s.channels, 1, e_.data(), out_.data(), c0, c1);
    });
  } else {
    const int64_t qw = s.heads * s.head_dim, hd = s.head_dim, W = s.window;
    const float* kc = c_.data();
    const float* vc = c_.data() + W * hd;
    // Position far past the window: every cache slot is visible.
    const int64_t pos0 = 4 * W;
    pool_.parallel_for(s.heads, 1, [&](int64_t h0, int64_t h1) {
      std::vector<float> scratch(static_cast<size_t>(W + s.T));
      k_.local_attention(a_.data(), qw, b_.data(), b_.data() + s.T * hd, kc, vc, pos0, s.T, hd, W, h0, h1,
                         out_.data(), qw, scratch.data());
    });
  }
}

}  // namespace rg::bench
