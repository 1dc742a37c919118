#include "weights.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace rg {

static std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

static uint64_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16:
    case DType::F16: return 2;
    default: return 0;
  }
}

static float element_f32(DType t, const uint8_t* p, uint64_t i) {
  uint16_t h;
  switch (t) {
    case DType::F32: {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    }
    case DType::BF16: std::memcpy(&h, p + 2 * i, 2); return bf16_to_f32(h);
    case DType::F16: std::memcpy(&h, p + 2 * i, 2); return f16_to_f32(h);
    default: return 0.0f;
  }
}

Weights::Weights(const ModelConfig& c, const std::vector<std::string>& files,
                 const std::vector<TensorSource>& tensors) {
  for (const auto& f : files) files_.push_back(std::make_unique<MappedFile>(f));
  for (const auto& t : tensors) {
    if (t.file < 0 || static_cast<size_t>(t.file) >= files_.size())
      throw std::runtime_error("tensor " + t.name + ": file index out of range");
    const uint64_t esize = dtype_size(t.dtype);
    if (esize == 0) throw std::runtime_error("tensor " + t.name + ": unsupported dtype");
    uint64_t count = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || (d > 0 && count > (UINT64_MAX / 8) / static_cast<uint64_t>(d)))
        throw std::runtime_error("tensor " + t.name + ": invalid shape " + shape_str(t.shape));
      count *= static_cast<uint64_t>(d);
    }
    if (count * esize != t.nbytes)
      throw std::runtime_error("tensor " + t.name + ": byte size does not match shape and dtype");
    const uint64_t fsize = files_[t.file]->size();
    if (t.offset > fsize || t.nbytes > fsize - t.offset)
      throw std::runtime_error("tensor " + t.name + ": data runs past the end of " + files_[t.file]->path());
    if (!tensors_.emplace(t.name, t).second)
      throw std::runtime_error("tensor " + t.name + ": listed twice");
  }

  const int64_t D = c.width, F = c.mlp_width, L = c.lru_width, H = c.num_heads, hd = c.head_dim;
  const int64_t bw = L / H, K = c.conv_width;
  embed = matrix("model.embed_tokens.weight", c.vocab_size, D);
  final_norm = vector_f32("model.final_norm.weight", {D});
  layers.resize(c.blocks.size());
  for (size_t i = 0; i < c.blocks.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& l = layers[i];
    l.kind = c.blocks[i];
    l.temporal_norm = vector_f32(p + "temporal_pre_norm.weight", {D});
    l.channel_norm = vector_f32(p + "channel_pre_norm.weight", {D});
    l.mlp_gate = matrix(p + "mlp_block.gate_proj.weight", F, D);
    l.mlp_up = matrix(p + "mlp_block.up_proj.weight", F, D);
    l.mlp_down = matrix(p + "mlp_block.down_proj.weight", D, F);
    l.bias_gate = vector_f32(p + "mlp_block.gate_proj.bias", {F});
    l.bias_up = vector_f32(p + "mlp_block.up_proj.bias", {F});
    l.bias_down = vector_f32(p + "mlp_block.down_proj.bias", {D});
    const std::string t = p + "temporal_block.";
    if (l.kind == BlockKind::Recurrent) {
      RecurrentWeights& r = l.rec;
      r.linear_x = matrix(t + "linear_x.weight", L, D);
      r.linear_y = matrix(t + "linear_y.weight", L, D);
      r.linear_out = matrix(t + "linear_out.weight", D, L);
      r.bias_x = vector_f32(t + "linear_x.bias", {L});
      r.bias_y = vector_f32(t + "linear_y.bias", {L});
      r.bias_out = vector_f32(t + "linear_out.bias", {D});
      r.conv_w = vector_f32(t + "conv_1d.weight", {L, 1, K});
      r.conv_b = vector_f32(t + "conv_1d.bias", {L});
      std::vector<float> a_param = vector_f32(t + "rg_lru.recurrent_param", {L});
      r.neg_softplus8.resize(L);
      for (int64_t j = 0; j < L; ++j) {
        // Stable softplus, switching to identity above 20 as PyTorch does.
        const float x = a_param[j];
        const float sp = x > 20.0f ? x : std::log1p(std::exp(x));
        r.neg_softplus8[j] = -8.0f * sp;
      }
      // Gates are stored [head, in, out] (applied as x . W); transpose each block to [out, in].
      for (const char* gate : {"input_gate_weight", "recurrent_gate_weight"}) {
        std::vector<float> w = vector_f32(t + "rg_lru." + gate, {H, bw, bw});
        auto buf = std::make_unique<uint8_t[]>(sizeof(float) * H * bw * bw);
        float* out = reinterpret_cast<float*>(buf.get());
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i2 = 0; i2 < bw; ++i2)
            for (int64_t j = 0; j < bw; ++j) out[(h * bw + j) * bw + i2] = w[(h * bw + i2) * bw + j];
        std::vector<Matrix>& dst = std::strcmp(gate, "input_gate_weight") == 0 ? r.gate_x : r.gate_a;
        for (int64_t h = 0; h < H; ++h) dst.push_back(Matrix{out + h * bw * bw, DType::F32, bw, bw, nullptr});
        owned_bytes_ += sizeof(float) * H * bw * bw;
        owned_.push_back(std::move(buf));
      }
      // Gate biases are [H, bw]: laid out like an [L] vector.
      r.gate_x_bias = vector_f32(t + "rg_lru.input_gate_bias", {H, bw});
      r.gate_a_bias = vector_f32(t + "rg_lru.recurrent_gate_bias", {H, bw});
    } else {
      AttentionWeights& a = l.att;
      a.q = matrix(t + "q_proj.weight", H * hd, D);
      a.k = matrix(t + "k_proj.weight", hd, D);
      a.v = matrix(t + "v_proj.weight", hd, D);
      a.o = matrix(t + "o_proj.weight", D, H * hd);
      a.bias_o = vector_f32(t + "o_proj.bias", {D});
    }
  }
}

const TensorSource& Weights::find(const std::string& name, std::vector<int64_t> shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::runtime_error("missing tensor " + name);
  if (it->second.shape != shape)
    throw std::runtime_error("tensor " + name + " has shape " + shape_str(it->second.shape) +
                             ", expected " + shape_str(shape));
  return it->second;
}

const uint8_t* Weights::bytes_of(const TensorSource& t) const {
  return files_[t.file]->data() + t.offset;
}

Matrix Weights::matrix(const std::string& name, int64_t rows, int64_t cols) {
  const TensorSource& t = find(name, {rows, cols});
  const uint8_t* p = bytes_of(t);
  // Kernels read whole elements; a tensor whose offset is not a multiple of its element size
  // (legal in safetensors) gets an aligned private copy.
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) != 0) {
    auto buf = std::make_unique<uint8_t[]>(t.nbytes);
    std::memcpy(buf.get(), p, t.nbytes);
    p = buf.get();
    owned_bytes_ += t.nbytes;
    owned_.push_back(std::move(buf));
  }
  return Matrix{p, t.dtype, rows, cols, nullptr};
}

std::vector<float> Weights::vector_f32(const std::string& name, std::vector<int64_t> shape) {
  const TensorSource& t = find(name, std::move(shape));
  const uint64_t n = t.nbytes / dtype_size(t.dtype);
  std::vector<float> out(n);
  const uint8_t* p = bytes_of(t);
  for (uint64_t i = 0; i < n; ++i) out[i] = element_f32(t.dtype, p, i);
  owned_bytes_ += n * sizeof(float);
  return out;
}

uint64_t Weights::mapped_bytes() const {
  uint64_t total = 0;
  for (const auto& f : files_) total += f->size();
  return total;
}

}  // namespace rg
