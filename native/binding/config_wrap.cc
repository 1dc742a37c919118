#include "config_wrap.h"

#include "../model/state_layout.h"
#include "../model/tensor_table.h"
#include "convert.h"

namespace rg::binding {

ModelConfig read_config(const Napi::Value& v) {
  const Napi::Object o = get_object(v, "config");
  ModelConfig c;
  const int64_t big = int64_t{1} << 30;
  c.vocab_size = get_int_prop(o, "vocabSize", 1, big);
  c.width = get_int_prop(o, "width", 1, big);
  c.mlp_width = get_int_prop(o, "mlpWidth", 1, big);
  c.lru_width = get_int_prop(o, "lruWidth", 1, big);
  c.num_heads = get_int_prop(o, "numHeads", 1, big);
  c.head_dim = get_int_prop(o, "headDim", 1, big);
  c.window = get_int_prop(o, "window", 1, big);
  c.conv_width = get_int_prop(o, "convWidth", 1, 64);
  c.logits_soft_cap = static_cast<float>(get_number_prop(o, "logitsSoftCap"));
  c.rms_norm_eps = static_cast<float>(get_number_prop(o, "rmsNormEps"));
  c.embed_scale = static_cast<float>(get_number_prop(o, "embedScale"));
  c.rope_theta = static_cast<float>(get_number_prop(o, "ropeTheta"));
  c.rope_dims = get_int_prop(o, "ropeDims", 0, big);
  Napi::Value blocks = o.Get("blockTypes");
  if (!blocks.IsArray()) fail(o.Env(), "ERR_RG_INVALID_ARGUMENT", "blockTypes must be an array");
  Napi::Array arr = blocks.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i)
    c.blocks.push_back(static_cast<BlockKind>(get_int(arr.Get(i), "blockTypes[i]", 0, 1)));
  const std::string problem = check_config(c);
  if (!problem.empty()) fail(o.Env(), "ERR_RG_INVALID_CONFIG", "invalid model config: " + problem, true);
  return c;
}

Napi::Value StateLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<LayerStateLayout> layout = state_layout(read_config(info[0]));
  Napi::Array out = Napi::Array::New(env, layout.size());
  for (size_t i = 0; i < layout.size(); ++i) {
    Napi::Object l = Napi::Object::New(env);
    l.Set("kind", layout[i].kind == BlockKind::Recurrent ? "recurrent" : "attention");
    l.Set("offset", static_cast<double>(layout[i].offset));
    l.Set("floats", static_cast<double>(layout[i].floats));
    out.Set(static_cast<uint32_t>(i), l);
  }
  return out;
}

Napi::Value ExpectedTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<ExpectedTensor> tensors = expected_tensors(read_config(info[0]));
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    Napi::Array shape = Napi::Array::New(env, tensors[i].shape.size());
    for (size_t d = 0; d < tensors[i].shape.size(); ++d)
      shape.Set(static_cast<uint32_t>(d), static_cast<double>(tensors[i].shape[d]));
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", tensors[i].name);
    t.Set("shape", shape);
    out.Set(static_cast<uint32_t>(i), t);
  }
  return out;
}

}  // namespace rg::binding
