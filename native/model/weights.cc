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

  layers.resize(c.blocks.size());
  for (size_t i = 0; i < c.blocks.size(); ++i) layers[i].kind = c.blocks[i];
  using R = TensorRole;
  for (const ExpectedTensor& e : expected_tensors(c)) {
    LayerWeights* l = e.layer >= 0 ? &layers[static_cast<size_t>(e.layer)] : nullptr;
    switch (e.role) {
      case R::Embed: embed = matrix(e); break;
      case R::FinalNorm: final_norm = vector_f32(e); break;
      case R::TemporalNorm: l->temporal_norm = vector_f32(e); break;
      case R::ChannelNorm: l->channel_norm = vector_f32(e); break;
      case R::MlpGate: l->mlp_gate = matrix(e); break;
      case R::MlpGateBias: l->bias_gate = vector_f32(e); break;
      case R::MlpUp: l->mlp_up = matrix(e); break;
      case R::MlpUpBias: l->bias_up = vector_f32(e); break;
      case R::MlpDown: l->mlp_down = matrix(e); break;
      case R::MlpDownBias: l->bias_down = vector_f32(e); break;
      case R::LinearX: l->rec.linear_x = matrix(e); break;
      case R::LinearXBias: l->rec.bias_x = vector_f32(e); break;
      case R::LinearY: l->rec.linear_y = matrix(e); break;
      case R::LinearYBias: l->rec.bias_y = vector_f32(e); break;
      case R::LinearOut: l->rec.linear_out = matrix(e); break;
      case R::LinearOutBias: l->rec.bias_out = vector_f32(e); break;
      case R::ConvWeight: l->rec.conv_w = vector_f32(e); break;
      case R::ConvBias: l->rec.conv_b = vector_f32(e); break;
      case R::RecurrentParam: l->rec.neg_softplus8 = neg_softplus8(vector_f32(e)); break;
      case R::InputGate: l->rec.gate_x = gate_blocks(e); break;
      // Gate biases are [H, bw]: laid out like an [L] vector.
      case R::InputGateBias: l->rec.gate_x_bias = vector_f32(e); break;
      case R::RecurrentGate: l->rec.gate_a = gate_blocks(e); break;
      case R::RecurrentGateBias: l->rec.gate_a_bias = vector_f32(e); break;
      case R::QProj: l->att.q = matrix(e); break;
      case R::KProj: l->att.k = matrix(e); break;
      case R::VProj: l->att.v = matrix(e); break;
      case R::OProj: l->att.o = matrix(e); break;
      case R::OProjBias: l->att.bias_o = vector_f32(e); break;
    }
  }
}

// The RG-LRU decay exponent per channel: log a = gate_a * (-8 softplus(recurrent_param)).
std::vector<float> Weights::neg_softplus8(const std::vector<float>& a_param) {
  std::vector<float> out(a_param.size());
  for (size_t j = 0; j < a_param.size(); ++j) {
    // Stable softplus, switching to identity above 20 as PyTorch does.
    const float x = a_param[j];
    const float sp = x > 20.0f ? x : std::log1p(std::exp(x));
    out[j] = -8.0f * sp;
  }
  return out;
}

// Gates are stored [head, in, out] (applied as x . W); each block is transposed once to
// [out, in] so the ordinary matmul kernel can apply it.
std::vector<Matrix> Weights::gate_blocks(const ExpectedTensor& e) {
  const int64_t H = e.shape[0], bw = e.shape[1];
  std::vector<float> w = vector_f32(e);
  float* out = reinterpret_cast<float*>(own(sizeof(float) * H * bw * bw, false));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < bw; ++i)
      for (int64_t j = 0; j < bw; ++j) out[(h * bw + j) * bw + i] = w[(h * bw + i) * bw + j];
  std::vector<Matrix> blocks;
  for (int64_t h = 0; h < H; ++h) blocks.push_back(Matrix{out + h * bw * bw, DType::F32, bw, bw, nullptr});
  stream_bytes_ += sizeof(float) * H * bw * bw;
  return blocks;
}

const TensorSource& Weights::find(const std::string& name, const std::vector<int64_t>& shape) const {
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

void Weights::release(const TensorSource& t) {
  released_bytes_ += files_[t.file]->release(bytes_of(t), t.nbytes);
}

uint8_t* Weights::own(uint64_t bytes, bool huge) {
  owned_.emplace_back(static_cast<size_t>(bytes), huge);
  owned_bytes_ += bytes;
  if (owned_.back().huge()) huge_bytes_ += bytes;
  return owned_.back().data();
}

Matrix Weights::matrix(const ExpectedTensor& e) {
  const std::string& name = e.name;
  const int64_t rows = e.shape[0], cols = e.shape[1];
  const TensorSource& t = find(name, e.shape);
  const uint8_t* p = bytes_of(t);
  const bool huge = options_.huge_pages;
  Matrix m{p, t.dtype, rows, cols, nullptr};
  if (is_quantized(t.dtype)) {
    // Pre-quantized (written by `recurrentgemma quantize`): the scales travel as a sibling tensor.
    const TensorSource& s = find(name + kScalesSuffix, {rows, cols / kQuantGroup});
    if (s.dtype != DType::F32) throw std::runtime_error("tensor " + s.name + " must be F32");
    const uint8_t* sp = bytes_of(s);
    if (huge || reinterpret_cast<uintptr_t>(sp) % 4 != 0) {
      uint8_t* copy = own(s.nbytes, huge);
      std::memcpy(copy, sp, s.nbytes);
      sp = copy;
      release(s);
    }
    if (huge) {
      uint8_t* copy = own(t.nbytes, true);
      std::memcpy(copy, p, t.nbytes);
      m.data = copy;
      release(t);
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
    release(t);  // int8 / q4 runs would otherwise keep the whole BF16 file resident as well
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
    release(t);
  }
  stream_bytes_ += t.nbytes;
  return m;
}

std::vector<float> Weights::vector_f32(const ExpectedTensor& e) {
  const TensorSource& t = find(e.name, e.shape);
  if (dtype_size(t.dtype) == 0 || is_quantized(t.dtype))
    throw std::runtime_error("tensor " + e.name + " must be F32, BF16 or F16 (only projection matrices may be quantized)");
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
