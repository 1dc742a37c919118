// How many float32 values one sequence's state keeps per layer: the single native definition,
// used to allocate State and to bound a config in check_config(). lib/state/layout.ts is the
// TypeScript definition (saved-state format, config check, size report); the addon exposes this
// one as `stateLayout(config)` and test/state-layout-mirror.test.ts holds the two together.
// Changing the state's element type means changing both and bumping the saved-state format version.
#pragma once
#include <cstdint>
#include <vector>

#include "config.h"

namespace rg {

// One layer's share of State::data.
//   recurrent: [rg_lru h: L][conv1d inputs: (K-1) x L, oldest first]   = K * L floats
//   attention: [keys: W x hd][values: W x hd], ring slot = position mod W = 2 * W * hd floats
// (one key/value head: multi-query attention; keys are stored after RoPE).
struct LayerStateLayout {
  BlockKind kind;
  int64_t offset;  // in floats, into State::data
  int64_t floats;
};

// Floats of one layer of the given kind.
int64_t layer_state_floats(const ModelConfig& c, BlockKind kind);

// Every layer in model order, packed one after another (also the saved payload's order).
std::vector<LayerStateLayout> state_layout(const ModelConfig& c);

// Floats of the whole state (the sum over state_layout()).
int64_t state_floats(const ModelConfig& c);

}  // namespace rg
