// Module entry: registers the native classes and the kernel functions.
#include <napi.h>

#include "../kernels/dispatch.h"
#include "../runtime/cpu_features.h"
#include "../runtime/cpu_identity.h"
#include "../runtime/thread_pool.h"
#include "addon_data.h"
#include "bench_wrap.h"
#include "config_wrap.h"
#include "kernels_wrap.h"
#include "model_wrap.h"
#include "quantize_wrap.h"
#include "state_wrap.h"

namespace rg::binding {

static Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures f = detect_cpu_features();
  Napi::Object o = Napi::Object::New(env);
  o.Set("best", simd_level_name(best_simd_level()));
  std::string err;
  o.Set("selected", simd_level_name(default_simd_level(&err)));
  if (!err.empty()) o.Set("selectionError", err);
  o.Set("physicalCores", physical_core_count());
  Napi::Object feats = Napi::Object::New(env);
  feats.Set("avx2", f.avx2);
  feats.Set("fma", f.fma);
  feats.Set("f16c", f.f16c);
  feats.Set("avx512f", f.avx512f);
  feats.Set("avx512bw", f.avx512bw);
  feats.Set("avx512vl", f.avx512vl);
  feats.Set("avx512bf16", f.avx512bf16);
  feats.Set("avx512vnni", f.avx512vnni);
  o.Set("features", feats);
  const CpuIdentity id = cpu_identity();
  o.Set("vendor", id.vendor);
  o.Set("modelName", id.model_name);
  o.Set("family", id.family);
  o.Set("model", id.model);
  o.Set("stepping", id.stepping);
  Napi::Object amx = Napi::Object::New(env);
  amx.Set("tile", id.amx_tile);
  amx.Set("bf16", id.amx_bf16);
  amx.Set("int8", id.amx_int8);
  std::string why;
  amx.Set("usable", amx_usable(&why));
  if (!why.empty()) amx.Set("reason", why);
  o.Set("amx", amx);
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by node when this environment shuts down
  Napi::Function model = ModelWrap::Define(env);
  Napi::Function state = StateWrap::Define(env);
  data->model_ctor = Napi::Persistent(model);
  data->state_ctor = Napi::Persistent(state);
  exports.Set("NativeModel", model);
  exports.Set("NativeState", state);
  exports.Set("kernels", define_kernels(env));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo));
  exports.Set("bench", define_bench(env));
  exports.Set("quantize", Napi::Function::New(env, Quantize));
  exports.Set("stateLayout", Napi::Function::New(env, StateLayout));
  exports.Set("expectedTensors", Napi::Function::New(env, ExpectedTensors));
  return exports;
}

}  // namespace rg::binding

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return rg::binding::Init(env, exports);
}

NODE_API_MODULE(recurrentgemma, InitAddon)
