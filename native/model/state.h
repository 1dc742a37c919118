// The fixed-size inference state of one sequence, laid out as state_layout.h says: one contiguous
// float buffer, so clone/serialize are plain copies.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "config.h"
#include "state_layout.h"

namespace rg {

class State {
 public:
  explicit State(const ModelConfig& config);

  // Atomic because JS may read it while a forward pass advances it on a worker thread.
  std::atomic<int64_t> position{0};
  std::vector<float> data;
  std::vector<LayerStateLayout> layout;

  float* rg_lru(size_t layer) { return data.data() + layout[layer].offset; }
  float* conv(size_t layer, int64_t L) { return rg_lru(layer) + L; }
  float* keys(size_t layer) { return data.data() + layout[layer].offset; }
  float* values(size_t layer, int64_t W, int64_t hd) { return keys(layer) + W * hd; }

  void reset();
  uint64_t byte_length() const { return data.size() * sizeof(float); }

  // Set while a forward pass uses the state, so a second concurrent call is refused.
  std::atomic<bool> busy{false};
};

}  // namespace rg
