// libFuzzer target for the native re-validation of checkpoints (built by scripts/fuzz.sh with
// clang -fsanitize=fuzzer,address,undefined; not part of the addon).
//
// Each input describes a small model config, a weights file and a list of TensorSource entries
// that is mostly right but perturbed (wrong offsets, sizes, shapes, dtypes, file indexes, names,
// duplicates, data cut short). rg::check_config and rg::Weights must reject what is wrong with a
// std::exception and never read outside the file; what they accept must run a forward pass and
// produce a state without any sanitizer report. A few inputs also throw raw 64-bit configs at
// check_config, whose size arithmetic must not overflow.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "../kernels/dispatch.h"
#include "../model/config.h"
#include "../model/griffin.h"
#include "../model/state.h"
#include "../model/tensor_table.h"
#include "../model/weights.h"

namespace {

uint64_t elem_size(rg::DType t) { return t == rg::DType::F32 ? 4 : 2; }

std::string temp_path() {
  static const std::string p = "/tmp/rg-fuzz-weights-" + std::to_string(getpid()) + ".bin";
  return p;
}

void fuzz_raw_config(FuzzedDataProvider& in) {
  rg::ModelConfig c;
  for (int64_t* f : {&c.vocab_size, &c.width, &c.mlp_width, &c.lru_width, &c.num_heads, &c.head_dim,
                     &c.window, &c.conv_width, &c.rope_dims})
    *f = in.ConsumeBool() ? in.ConsumeIntegral<int64_t>() : in.ConsumeIntegralInRange<int64_t>(-2, 1 << 21);
  c.blocks.resize(in.ConsumeIntegralInRange<size_t>(0, 5000));
  for (auto& b : c.blocks) b = in.ConsumeBool() ? rg::BlockKind::Attention : rg::BlockKind::Recurrent;
  (void)rg::check_config(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0) {
    fuzz_raw_config(in);
    return 0;
  }

  rg::ModelConfig c;
  c.num_heads = in.ConsumeIntegralInRange<int64_t>(1, 3);
  c.head_dim = 2 * in.ConsumeIntegralInRange<int64_t>(1, 4);
  c.width = c.num_heads * c.head_dim;
  c.lru_width = c.num_heads * in.ConsumeIntegralInRange<int64_t>(1, 4);
  c.mlp_width = in.ConsumeIntegralInRange<int64_t>(1, 12);
  c.vocab_size = in.ConsumeIntegralInRange<int64_t>(1, 16);
  c.window = in.ConsumeIntegralInRange<int64_t>(1, 6);
  c.conv_width = in.ConsumeIntegralInRange<int64_t>(1, 4);
  c.rope_dims = c.head_dim / 2 * 2;
  c.blocks.resize(in.ConsumeIntegralInRange<size_t>(1, 3));
  for (auto& b : c.blocks) b = in.ConsumeBool() ? rg::BlockKind::Attention : rg::BlockKind::Recurrent;
  if (!rg::check_config(c).empty()) return 0;

  // Lay the tensors out one after another (with random misalignment), then perturb entries.
  std::vector<rg::TensorSource> tensors;
  uint64_t end = in.ConsumeIntegralInRange<uint64_t>(0, 3);
  for (const rg::ExpectedTensor& e : rg::expected_tensors(c)) {
    rg::TensorSource t;
    t.name = e.name;
    t.shape = e.shape;
    const int dt = in.ConsumeIntegralInRange<int>(0, 2);
    t.dtype = dt == 0 ? rg::DType::F32 : dt == 1 ? rg::DType::BF16 : rg::DType::F16;
    uint64_t count = 1;
    for (int64_t d : e.shape) count *= static_cast<uint64_t>(d);
    t.nbytes = count * elem_size(t.dtype);
    t.offset = end + in.ConsumeIntegralInRange<uint64_t>(0, 2);
    end = t.offset + t.nbytes;
    switch (in.ConsumeIntegralInRange<int>(0, 24)) {
      case 0: t.offset = in.ConsumeIntegral<uint64_t>(); break;
      case 1: t.nbytes = in.ConsumeIntegral<uint64_t>(); break;
      case 2: t.nbytes += in.ConsumeIntegralInRange<int>(-4, 4); break;
      case 3: if (!t.shape.empty()) t.shape[0] = in.ConsumeIntegral<int64_t>(); break;
      case 4: t.shape.push_back(in.ConsumeIntegralInRange<int64_t>(0, 3)); break;
      case 5: t.dtype = static_cast<rg::DType>(in.ConsumeIntegralInRange<int>(0, 9)); break;
      case 6: t.file = in.ConsumeIntegralInRange<int32_t>(-1, 2); break;
      case 7: t.name += "x"; break;
      case 8: continue;  // dropped
      case 9: tensors.push_back(t); break;  // listed twice
      default: break;
    }
    tensors.push_back(t);
  }

  // The file: fuzz bytes, cut short or padded so that some tensors run past its end.
  const int64_t adjust = in.ConsumeIntegralInRange<int64_t>(-16, 4);
  const uint64_t want = static_cast<int64_t>(end) + adjust > 0 ? end + adjust : 0;
  std::vector<uint8_t> file = in.ConsumeRemainingBytes<uint8_t>();
  file.resize(static_cast<size_t>(std::min<uint64_t>(want, 1 << 20)), 0x3c);
  FILE* f = std::fopen(temp_path().c_str(), "wb");
  if (!f) return 0;
  if (!file.empty()) std::fwrite(file.data(), 1, file.size(), f);
  std::fclose(f);

  try {
    rg::Model model(c, {temp_path()}, tensors, 1, rg::kernels_for(rg::SimdLevel::Scalar));
    // Accepted: the weights (arbitrary bit patterns, NaN included) must run without reports.
    rg::State state(c);
    const int32_t tokens[2] = {0, static_cast<int32_t>(c.vocab_size - 1)};
    std::vector<float> logits(static_cast<size_t>(2 * c.vocab_size));
    std::vector<rg::Segment> segs(1);
    segs[0].state = &state;
    segs[0].tokens = tokens;
    segs[0].count = 2;
    segs[0].all_logits = true;
    segs[0].logits = logits.data();
    model.forward(segs);
  } catch (const std::exception&) {
    // Rejected with a message: the expected outcome for a broken entry.
  }
  return 0;
}
