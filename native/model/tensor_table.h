// The tensors a checkpoint must hold for a config: the single native table of names and shapes
// (the Hugging Face names, docs/MODEL.md "Checkpoint tensors"). rg::Weights loads exactly these and
// the fuzz harness builds its inputs from them; lib/checkpoint/tensors.ts is the TypeScript table,
// and test/tensor-table-mirror.test.ts holds the two together.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config.h"

namespace rg {

// What a tensor is for: which field of rg::Weights it fills.
enum class TensorRole {
  Embed, FinalNorm,
  // every layer
  TemporalNorm, ChannelNorm, MlpGate, MlpGateBias, MlpUp, MlpUpBias, MlpDown, MlpDownBias,
  // recurrent layers
  LinearX, LinearXBias, LinearY, LinearYBias, LinearOut, LinearOutBias, ConvWeight, ConvBias,
  RecurrentParam, InputGate, InputGateBias, RecurrentGate, RecurrentGateBias,
  // attention layers
  QProj, KProj, VProj, OProj, OProjBias,
};

struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t layer;  // -1 for the global tensors
  TensorRole role;
};

// In checkpoint order: the two global tensors, then layer by layer.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& c);

// The projection matrices ([out, in], applied with the matmul kernel): the only tensors that may
// be quantized (Q8 / Q4 with a "<name>_scales" sibling), as lib/checkpoint/quantized.ts says.
bool is_projection(TensorRole role);

// Suffix of the scales tensor that travels with a pre-quantized projection (lib/checkpoint/quantized.ts
// SCALES_SUFFIX): "<name>_scales", F32 [rows, cols / kQuantGroup].
constexpr const char* kScalesSuffix = "_scales";

}  // namespace rg
