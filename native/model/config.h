// The architecture hyper-parameters the forward pass needs, already validated by the caller
// (lib/checkpoint parses config.json; the binding re-checks ranges with check_config()).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rg {

enum class BlockKind : int32_t { Recurrent = 0, Attention = 1 };

struct ModelConfig {
  int64_t vocab_size = 0;
  int64_t width = 0;        // D
  int64_t mlp_width = 0;    // F, per branch (HF intermediate_size / 2)
  int64_t lru_width = 0;    // L
  int64_t num_heads = 0;    // H
  int64_t head_dim = 0;     // hd = D / H
  int64_t window = 0;       // W
  int64_t conv_width = 4;   // K
  float logits_soft_cap = 30.0f;
  float rms_norm_eps = 1e-6f;
  float embed_scale = 1.0f;  // bf16(sqrt(D)) or 1
  float rope_theta = 10000.0f;
  int64_t rope_dims = 0;     // rotated dims per head (hd * partial_rotary_factor)
  std::vector<BlockKind> blocks;  // one per layer
};

// Largest per-sequence state accepted (lib/checkpoint/config.ts MAX_STATE_BYTES).
constexpr int64_t kMaxStateBytes = int64_t{1} << 32;

// Returns an empty string when the config is usable, else what is wrong.
std::string check_config(const ModelConfig& c);

}  // namespace rg
