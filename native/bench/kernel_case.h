// One kernel call at a fixed shape, set up once with random inputs, run repeatedly by a
// benchmark harness. Each case reports the bytes it must move and the flops it must do per run,
// so the harness can turn a time into GB/s and GFLOP/s. Work is split over the pool exactly as
// the model splits it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../kernels/kernels.h"
#include "../runtime/owned_buffer.h"
#include "../runtime/thread_pool.h"

namespace rg::bench {

struct CaseSpec {
  std::string kernel;         // "matmul" | "rglru" | "attention"
  DType dtype = DType::BF16;  // matmul weights
  int64_t rows = 0, cols = 0; // matmul: W [rows, cols]
  int64_t T = 1;              // rows of activations per call (1 = decode)
  int64_t channels = 0;       // rglru width
  int64_t heads = 0, head_dim = 0, window = 0;  // attention
  bool huge_pages = true;
  bool fast = false;  // matmul: the level's `fast` matmul (as a model loaded with precision 'fast')
};

class KernelCase {
 public:
  // Throws std::invalid_argument for an unknown kernel or a bad shape.
  KernelCase(const CaseSpec& spec, const KernelTable& kernels, int threads);
  void run();
  double bytes_per_run() const { return bytes_; }
  double flops_per_run() const { return flops_; }
  int threads() const { return pool_.size(); }

 private:
  CaseSpec spec_;
  const KernelTable& k_;
  ThreadPool pool_;
  Matrix w_;
  OwnedBuffer weights_, scales_;
  std::vector<float> a_, b_, c_, d_, e_, out_;
  double bytes_ = 0, flops_ = 0;
};

}  // namespace rg::bench
