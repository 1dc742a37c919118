// Per-environment data of the addon: the constructors used to recognise our own objects. Kept per
// napi_env (not in statics) so an addon loaded by several worker threads never sees a constructor
// of an environment that has already shut down.
#pragma once
#include <napi.h>

namespace rg::binding {

struct AddonData {
  Napi::FunctionReference model_ctor;
  Napi::FunctionReference state_ctor;
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// True when v is an object created by the given constructor of this environment.
inline bool is_instance(const Napi::Value& v, const Napi::FunctionReference& ctor) {
  return v.IsObject() && !ctor.IsEmpty() && v.As<Napi::Object>().InstanceOf(ctor.Value());
}

}  // namespace rg::binding
