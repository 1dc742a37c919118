// Views of every tensor the forward pass reads. Large matrices point into the memory-mapped
// checkpoint in their stored dtype; small vectors (norms, biases, conv taps) are widened to float32
// once at load; the RG-LRU gate blocks are transposed once into [head, out, in] so the ordinary
// matmul kernel can apply them.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../kernels/types.h"
#include "../runtime/mapped_file.h"
#include "config.h"

namespace rg {

// Where one tensor lives: described by the TypeScript loader, re-validated here.
struct TensorSource {
  std::string name;
  int32_t file = 0;          // index into the file list
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0;       // absolute byte offset in the file
  uint64_t nbytes = 0;
};

struct RecurrentWeights {
  Matrix linear_x, linear_y, linear_out;
  std::vector<float> bias_x, bias_y, bias_out, conv_w, conv_b, neg_softplus8;
  std::vector<float> gate_x_bias, gate_a_bias;  // [H * bw]
  std::vector<Matrix> gate_x, gate_a;  // per head, [bw_out, bw_in]
};

struct AttentionWeights {
  Matrix q, k, v, o;
  std::vector<float> bias_o;
};

struct LayerWeights {
  BlockKind kind = BlockKind::Recurrent;
  std::vector<float> temporal_norm, channel_norm;
  Matrix mlp_gate, mlp_up, mlp_down;
  std::vector<float> bias_gate, bias_up, bias_down;
  RecurrentWeights rec;
  AttentionWeights att;
};

class Weights {
 public:
  // Throws std::runtime_error naming the tensor on any inconsistency.
  Weights(const ModelConfig& config, const std::vector<std::string>& files,
          const std::vector<TensorSource>& tensors);

  Matrix embed;
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  uint64_t mapped_bytes() const;   // bytes of the checkpoint files mapped
  uint64_t owned_bytes() const { return owned_bytes_; }  // bytes copied or converted at load

 private:
  const TensorSource& find(const std::string& name, std::vector<int64_t> shape) const;
  Matrix matrix(const std::string& name, int64_t rows, int64_t cols);
  std::vector<float> vector_f32(const std::string& name, std::vector<int64_t> shape);
  const uint8_t* bytes_of(const TensorSource& t) const;

  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorSource> tensors_;
  std::vector<std::unique_ptr<uint8_t[]>> owned_;  // aligned copies and transposed gates
  uint64_t owned_bytes_ = 0;
};

}  // namespace rg
