#include "state.h"

#include <algorithm>

namespace rg {

State::State(const ModelConfig& c) {
  int64_t offset = 0;
  for (BlockKind kind : c.blocks) {
    layout.push_back({kind, offset});
    offset += kind == BlockKind::Recurrent ? c.lru_width * c.conv_width  // L + (K-1) L
                                           : 2 * c.window * c.head_dim;
  }
  data.assign(static_cast<size_t>(offset), 0.0f);
}

void State::reset() {
  std::fill(data.begin(), data.end(), 0.0f);
  position = 0;
}

}  // namespace rg
