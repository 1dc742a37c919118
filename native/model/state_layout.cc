#include "state_layout.h"

namespace rg {

int64_t layer_state_floats(const ModelConfig& c, BlockKind kind) {
  // L (RG-LRU hidden state) + (K-1) L (the conv taps' previous inputs) = K L.
  if (kind == BlockKind::Recurrent) return c.lru_width * c.conv_width;
  return 2 * c.window * c.head_dim;
}

std::vector<LayerStateLayout> state_layout(const ModelConfig& c) {
  std::vector<LayerStateLayout> out;
  out.reserve(c.blocks.size());
  int64_t offset = 0;
  for (BlockKind kind : c.blocks) {
    const int64_t n = layer_state_floats(c, kind);
    out.push_back({kind, offset, n});
    offset += n;
  }
  return out;
}

int64_t state_floats(const ModelConfig& c) {
  int64_t total = 0;
  for (BlockKind kind : c.blocks) total += layer_state_floats(c, kind);
  return total;
}

}  // namespace rg
