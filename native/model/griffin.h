// The Griffin / RecurrentGemma forward pass, composed from kernels. It advances one or several
// independent sequences at once: the rows of all sequences go through every projection together
// (weights are read once per step for the whole batch), while the temporal mixing (Conv1D, RG-LRU,
// local attention) runs per sequence on its own state and position.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../kernels/kernels.h"
#include "../runtime/thread_pool.h"
#include "config.h"
#include "state.h"
#include "weights.h"

namespace rg {

// Output rows per task when a matmul is split over `threads` (shared with the kernel benchmarks so
// they measure the model's own split).
int64_t matmul_grain(const Matrix& w, int64_t T, int threads);

// Arithmetic of the projection matmuls: `Exact` = float32 activations (KernelTable::matmul),
// `Fast` = bf16 / int8 activations (KernelTable::matmul_fast, when the level has one).
enum class Precision { Exact, Fast };

// One sequence's share of a forward call.
struct Segment {
  State* state = nullptr;
  const int32_t* tokens = nullptr;  // validated ids, all < vocab_size
  int64_t count = 0;                // >= 1
  bool all_logits = false;
  float* logits = nullptr;          // [count, V] when all_logits, else [V]
};

class Model {
 public:
  Model(const ModelConfig& config, const std::vector<std::string>& files,
        const std::vector<TensorSource>& tensors, int threads, const KernelTable& kernels,
        const WeightOptions& weight_options = {}, Precision precision = Precision::Exact,
        int spin_micros = ThreadPool::kDefaultSpinMicros);

  const ModelConfig config;
  const Weights weights;

  // Advances every segment's state by its tokens. Segments must use distinct states.
  void forward(std::vector<Segment>& segments);

  // Largest number of rows pushed through the projections together; longer inputs are processed
  // in rounds (the state carries everything between them).
  static constexpr int64_t kMaxRowsPerRound = 256;

  int threads() const { return pool_.size(); }
  int spin_micros() const { return pool_.spin_micros(); }
  const KernelTable& kernels() const { return kernels_; }
  // The precision in effect: Fast only when asked for and the kernel level has a fast matmul.
  Precision precision() const { return projection_matmul_ == kernels_.matmul ? Precision::Exact : Precision::Fast; }

 private:
  struct Round;
  // Rows each segment contributes to the next round (0 = finished or waiting).
  static std::vector<int64_t> plan_round(const std::vector<Segment>& segments,
                                         const std::vector<int64_t>& done);
  void run_round(Round& round);
  using MatmulFn = decltype(KernelTable::matmul);
  // fn defaults to the projection matmul (fast or exact by precision).
  void parallel_matmul(const float* x, int64_t ldx, int64_t rows, const Matrix& w,
                       const float* bias, float* y, int64_t ldy, MatmulFn fn = nullptr);
  void recurrent_block(Round& r, size_t layer, const float* a, float* out);
  void attention_block(Round& r, size_t layer, const float* a, float* out);
  void mlp_block(Round& r, size_t layer, const float* b, float* out);

  ThreadPool pool_;
  const KernelTable& kernels_;
  const MatmulFn projection_matmul_;
};

}  // namespace rg
