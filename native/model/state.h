// The fixed-size inference state of one sequence: per recurrent layer the RG-LRU hidden state [L]
// and the last K-1 conv inputs [K-1, L]; per attention layer a ring buffer of W keys and values
// [W, hd] (post-RoPE). One contiguous float buffer, so clone/serialize are plain copies.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "config.h"

namespace rg {

struct LayerStateLayout {
  BlockKind kind;
  int64_t offset;  // in floats, into State::data
  // recurrent: [rg_lru_state L][conv1d_state (K-1) x L]; attention: [keys W x hd][values W x hd]
};

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
