#include "weights.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "quantize.h"

namespace rg {

static std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// Element size in bytes for the whole-element dtypes (0 for the packed quantized formats).
static uint64_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16:
    case DType::F16: return 2;
    case DType::Q8: return 1;
    default: return 0;
  }
}

static bool is_quantized(DType t) { return t == DType::Q8 || t == DType::Q4; }

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
                 const std::vector<TensorSource>& tensors, const WeightOptions& options)
    : options_(options) {
  for (const auto& f : files) files_.push_back(std::make_unique<MappedFile>(f));
  for (const auto& t : tensors) {
    if (t.file < 0 || static_cast<size_t>(t.file) >= files_.size())
      throw std::runtime_error("tensor " + t.name + ": file index out of range");
    const uint64_t esize = dtype_size(t.dtype);
    if (esize == 0 && t.dtype != DType::Q4) throw std::runtime_error("tensor " + t.name + ": unsupported dtype");
    if (is_quantized(t.dtype) && (t.shape.size() != 2 || !quantizable(t.shape[1])))
      throw std::runtime_error("tensor " + t.name + ": quantized tensors must be matrices with a multiple of " +
                               std::to_string(kQuantGroup) + " columns, got " + shape_str(t.shape));
    uint64_t count = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || (d > 0 && count > (UINT64_MAX / 8) / static_cast<uint64_t>(d)))
        throw std::runtime_error("tensor " + t.name + ": invalid shape " + shape_str(t.shape));
      count *= static_cast<uint64_t>(d);
    }
    const uint64_t bytes = t.dtype == DType::Q4 ? count / 2 : count * esize;
    if (bytes != t.nbytes)
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
        float* out = reinterpret_cast<float*>(own(sizeof(float) * H * bw * bw, false));
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i2 = 0; i2 < bw; ++i2)
            for (int64_t j = 0; j < bw; ++j) out[(h * bw + j) * bw + i2] = w[(h * bw + i2) * bw + j];
        std::vector<Matrix>& dst = std::strcmp(gate, "input_gate_weight") == 0 ? r.gate_x : r.gate_a;
        for (int64_t h = 0; h < H; ++h) dst.push_back(Matrix{out + h * bw * bw, DType::F32, bw, bw, nullptr});
        stream_bytes_ += sizeof(float) * H * bw * bw;
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

uint8_t* Weights::own(uint64_t bytes, bool huge) {
  owned_.emplace_back(static_cast<size_t>(bytes), huge);
  owned_bytes_ += bytes;
  if (owned_.back().huge()) huge_bytes_ += bytes;
  return owned_.back().data();
}

Matrix Weights::matrix(const std::string& name, int64_t rows, int64_t cols) {
  const TensorSource& t = find(name, {rows, cols});
  const uint8_t* p = bytes_of(t);
  const bool huge = options_.huge_pages;
  Matrix m{p, t.dtype, rows, cols, nullptr};
  if (is_quantized(t.dtype)) {
    // Pre-quantized (written by `recurrentgemma quantize`): the scales travel as a sibling tensor.
    const TensorSource& s = find(name + "_scales", {rows, cols / kQuantGroup});
    if (s.dtype != DType::F32) throw std::runtime_error("tensor " + s.name + " must be F32");
    const uint8_t* sp = bytes_of(s);
    if (huge || reinterpret_cast<uintptr_t>(sp) % 4 != 0) {
      uint8_t* copy = own(s.nbytes, huge);
      std::memcpy(copy, sp, s.nbytes);
      sp = copy;
    }
    if (huge) {
      uint8_t* copy = own(t.nbytes, true);
      std::memcpy(copy, p, t.nbytes);
      m.data = copy;
    }
    m.scales = reinterpret_cast<const float*>(sp);
    stream_bytes_ += t.nbytes + s.nbytes;
    return m;
  }
  const bool want_quant = options_.format != WeightFormat::Stored && quantizable(cols);
  if (want_quant) {
    const DType format = options_.format == WeightFormat::Q8 ? DType::Q8 : DType::Q4;
    const uint64_t data_bytes = static_cast<uint64_t>(rows) * row_bytes(format, cols);
    const uint64_t scale_bytes = static_cast<uint64_t>(rows) * (cols / kQuantGroup) * sizeof(float);
    // Owned anyway, so always on 2 MiB pages.
    uint8_t* data = own(data_bytes, true);
    float* scales = reinterpret_cast<float*>(own(scale_bytes, true));
    // quantize_rows reads whole elements: a misaligned source is quantized from an aligned copy.
    Matrix src = m;
    OwnedBuffer tmp;
    if (reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) != 0) {
      tmp = OwnedBuffer(t.nbytes, false);
      std::memcpy(tmp.data(), p, t.nbytes);
      src.data = tmp.data();
    }
    const int n = std::max(1, std::min<int>(options_.threads, static_cast<int>(rows / 64) + 1));
    std::vector<std::thread> workers;
    auto run = [&](int i) {
      const int64_t r0 = rows * i / n, r1 = rows * (i + 1) / n;
      quantize_rows(src, format, r0, r1, data, scales);
    };
    for (int i = 1; i < n; ++i) workers.emplace_back(run, i);
    run(0);
    for (auto& w : workers) w.join();
    stream_bytes_ += data_bytes + scale_bytes;
    return Matrix{data, format, rows, cols, scales};
  }
  // Kernels read whole elements; a tensor whose offset is not a multiple of its element size
  // (legal in safetensors) gets an aligned private copy, as does every matrix when huge pages
  // are asked for.
  if (huge || reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) != 0) {
    uint8_t* copy = own(t.nbytes, huge);
    std::memcpy(copy, p, t.nbytes);
    m.data = copy;
  }
  stream_bytes_ += t.nbytes;
  return m;
}

std::vector<float> Weights::vector_f32(const std::string& name, std::vector<int64_t> shape) {
  const TensorSource& t = find(name, std::move(shape));
  if (dtype_size(t.dtype) == 0 || is_quantized(t.dtype))
    throw std::runtime_error("tensor " + name + " must be F32, BF16 or F16 (only projection matrices may be quantized)");
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
