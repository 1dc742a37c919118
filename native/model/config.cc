#include "config.h"

#include "state_layout.h"

namespace rg {

std::string check_config(const ModelConfig& c) {
  // Bounds keep every size product far from int64 overflow (largest real model: 9B).
  const int64_t kMaxDim = 1 << 20;
  auto in_range = [&](int64_t v) { return v > 0 && v <= kMaxDim; };
  if (!in_range(c.vocab_size)) return "vocab_size out of range";
  if (!in_range(c.width)) return "hidden_size out of range";
  if (!in_range(c.mlp_width)) return "intermediate_size out of range";
  if (!in_range(c.lru_width)) return "lru_width out of range";
  if (!in_range(c.num_heads)) return "num_attention_heads out of range";
  if (!in_range(c.window)) return "attention_window_size out of range";
  if (c.conv_width < 1 || c.conv_width > 64) return "conv1d_width out of range";
  if (c.width % c.num_heads != 0) return "num_attention_heads must divide hidden_size";
  if (c.lru_width % c.num_heads != 0) return "num_attention_heads must divide lru_width";
  if (c.head_dim != c.width / c.num_heads) return "head_dim must equal hidden_size / num_attention_heads";
  if (c.rope_dims < 0 || c.rope_dims > c.head_dim || c.rope_dims % 2 != 0) return "rotary dims must be even and at most head_dim";
  if (c.blocks.empty() || c.blocks.size() > 4096) return "num_hidden_layers out of range";
  // The window is tied to no tensor's size, so the state must be bounded on its own (same limit as
  // lib/checkpoint/config.ts). The bounds above keep this sum far below int64 overflow.
  if (state_floats(c) * static_cast<int64_t>(sizeof(float)) > kMaxStateBytes)
    return "the state of one sequence would exceed 4 GiB";
  return "";
}

}  // namespace rg
