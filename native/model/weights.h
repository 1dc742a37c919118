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
#include "../runtime/owned_buffer.h"
#include "config.h"
#include "tensor_table.h"

namespace rg {

// How the big projection matrices (MLP, linear_x/y/out, q/k/v/o, embedding) are held.
enum class WeightFormat : int32_t {
  Stored = 0,  // as in the checkpoint (memory-mapped, or pre-quantized Q8/Q4 tensors)
  Q8 = 1,      // float matrices quantized to int8 at load (scale per group of 32)
  Q4 = 2,      // float matrices quantized to 4 bits at load
};

struct WeightOptions {
  WeightFormat format = WeightFormat::Stored;
  // Copy stored-dtype matrices out of the file mapping into anonymous memory advised onto 2 MiB
  // pages (matrices quantized at load always live in such memory).
  bool huge_pages = false;
  int threads = 1;  // used to quantize at load
};

// Where one tensor lives: described by the TypeScript loader, re-validated here.
struct TensorSource {
  std::string name;
  int32_t file = 0;          // index into the file list
  DType dtype = DType::F32;     // Q8 / Q4 for pre-quantized weights (shape is then the logical
                                // [rows, cols]; the scales are the tensor "<name>_scales")
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
          const std::vector<TensorSource>& tensors, const WeightOptions& options = {});

  Matrix embed;
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  uint64_t mapped_bytes() const;   // bytes of the checkpoint files mapped
  uint64_t owned_bytes() const { return owned_bytes_; }  // bytes copied or converted at load
  // Bytes one decode step streams from memory: every projection matrix (with its scales; the
  // embedding once, for the logits) and the float32 RG-LRU gate blocks.
  uint64_t stream_bytes() const { return stream_bytes_; }
  uint64_t huge_page_candidate_bytes() const { return huge_bytes_; }  // owned bytes advised onto 2 MiB pages
  // Bytes of the file mappings given back after their tensors were copied or quantized at load.
  uint64_t released_bytes() const { return released_bytes_; }
  const WeightOptions& options() const { return options_; }

 private:
  const TensorSource& find(const std::string& name, const std::vector<int64_t>& shape) const;
  Matrix matrix(const ExpectedTensor& e);  // a projection [rows, cols]
  std::vector<float> vector_f32(const ExpectedTensor& e);  // widened to float32
  std::vector<Matrix> gate_blocks(const ExpectedTensor& e);  // RG-LRU gate [H, bw, bw], transposed
  static std::vector<float> neg_softplus8(const std::vector<float>& a_param);
  const uint8_t* bytes_of(const TensorSource& t) const;
  // The tensor's source bytes are no longer read: drop them from the resident set.
  void release(const TensorSource& t);

  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorSource> tensors_;
  uint8_t* own(uint64_t bytes, bool huge);

  WeightOptions options_;
  std::vector<OwnedBuffer> owned_;  // aligned copies, quantized matrices and transposed gates
  uint64_t owned_bytes_ = 0, stream_bytes_ = 0, huge_bytes_ = 0, released_bytes_ = 0;
};

}  // namespace rg
