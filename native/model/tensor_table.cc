#include "tensor_table.h"

namespace rg {

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c) {
  const int64_t D = c.width, F = c.mlp_width, L = c.lru_width, H = c.num_heads, hd = c.head_dim;
  const int64_t bw = L / H, K = c.conv_width;
  using R = TensorRole;
  std::vector<ExpectedTensor> out = {{"model.embed_tokens.weight", {c.vocab_size, D}, -1, R::Embed},
                                     {"model.final_norm.weight", {D}, -1, R::FinalNorm}};
  for (size_t i = 0; i < c.blocks.size(); ++i) {
    const int64_t layer = static_cast<int64_t>(i);
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const std::string t = p + "temporal_block.";
    auto add = [&](std::string name, std::vector<int64_t> shape, R role) {
      out.push_back({std::move(name), std::move(shape), layer, role});
    };
    add(p + "temporal_pre_norm.weight", {D}, R::TemporalNorm);
    add(p + "channel_pre_norm.weight", {D}, R::ChannelNorm);
    add(p + "mlp_block.gate_proj.weight", {F, D}, R::MlpGate);
    add(p + "mlp_block.gate_proj.bias", {F}, R::MlpGateBias);
    add(p + "mlp_block.up_proj.weight", {F, D}, R::MlpUp);
    add(p + "mlp_block.up_proj.bias", {F}, R::MlpUpBias);
    add(p + "mlp_block.down_proj.weight", {D, F}, R::MlpDown);
    add(p + "mlp_block.down_proj.bias", {D}, R::MlpDownBias);
    if (c.blocks[i] == BlockKind::Recurrent) {
      add(t + "linear_x.weight", {L, D}, R::LinearX);
      add(t + "linear_x.bias", {L}, R::LinearXBias);
      add(t + "linear_y.weight", {L, D}, R::LinearY);
      add(t + "linear_y.bias", {L}, R::LinearYBias);
      add(t + "linear_out.weight", {D, L}, R::LinearOut);
      add(t + "linear_out.bias", {D}, R::LinearOutBias);
      add(t + "conv_1d.weight", {L, 1, K}, R::ConvWeight);
      add(t + "conv_1d.bias", {L}, R::ConvBias);
      add(t + "rg_lru.recurrent_param", {L}, R::RecurrentParam);
      // Gates are block-diagonal: H blocks of [bw_in, bw_out] (applied as x . W).
      add(t + "rg_lru.input_gate_weight", {H, bw, bw}, R::InputGate);
      add(t + "rg_lru.input_gate_bias", {H, bw}, R::InputGateBias);
      add(t + "rg_lru.recurrent_gate_weight", {H, bw, bw}, R::RecurrentGate);
      add(t + "rg_lru.recurrent_gate_bias", {H, bw}, R::RecurrentGateBias);
    } else {
      // Multi-query: H query heads, one key/value head.
      add(t + "q_proj.weight", {H * hd, D}, R::QProj);
      add(t + "k_proj.weight", {hd, D}, R::KProj);
      add(t + "v_proj.weight", {hd, D}, R::VProj);
      add(t + "o_proj.weight", {D, H * hd}, R::OProj);
      add(t + "o_proj.bias", {D}, R::OProjBias);
    }
  }
  return out;
}

bool is_projection(TensorRole role) {
  switch (role) {
    case TensorRole::Embed:
    case TensorRole::MlpGate:
    case TensorRole::MlpUp:
    case TensorRole::MlpDown:
    case TensorRole::LinearX:
    case TensorRole::LinearY:
    case TensorRole::LinearOut:
    case TensorRole::QProj:
    case TensorRole::KProj:
    case TensorRole::VProj:
    case TensorRole::OProj: return true;
    default: return false;
  }
}

}  // namespace rg
