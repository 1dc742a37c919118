#include "state.h"

#include <algorithm>

namespace rg {

State::State(const ModelConfig& c) : layout(state_layout(c)) {
  data.assign(static_cast<size_t>(state_floats(c)), 0.0f);
}

void State::reset() {
  std::fill(data.begin(), data.end(), 0.0f);
  position = 0;
}

}  // namespace rg
