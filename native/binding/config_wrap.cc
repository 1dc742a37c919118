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

// A JS array holding make(item) for each item.
template <typename T, typename Make>
static Napi::Array to_array(Napi::Env env, const std::vector<T>& items, Make make) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) out.Set(static_cast<uint32_t>(i), make(items[i]));
  return out;
}

Napi::Value StateLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return to_array(env, state_layout(read_config(info[0])), [&](const LayerStateLayout& l) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", l.kind == BlockKind::Recurrent ? "recurrent" : "attention");
    o.Set("offset", static_cast<double>(l.offset));
    o.Set("floats", static_cast<double>(l.floats));
    return o;
  });
}

Napi::Value ExpectedTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return to_array(env, expected_tensors(read_config(info[0])), [&](const ExpectedTensor& t) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.name);
    o.Set("shape", to_array(env, t.shape, [&](int64_t d) { return Napi::Number::New(env, static_cast<double>(d)); }));
    return o;
  });
}

}  // namespace rg::binding
