#include "state_wrap.h"

#include <algorithm>
#include <cstring>

#include "addon_data.h"
#include "convert.h"
#include "model_wrap.h"

namespace rg::binding {

Napi::Function StateWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeState",
                                 {InstanceAccessor("position", &StateWrap::Position, nullptr),
                                  InstanceAccessor("byteLength", &StateWrap::ByteLength, nullptr),
                                  InstanceMethod("layers", &StateWrap::Layers),
                                  InstanceMethod("copyFrom", &StateWrap::CopyFrom),
                                  InstanceMethod("reset", &StateWrap::Reset),
                                  InstanceMethod("readData", &StateWrap::ReadData),
                                  InstanceMethod("writeData", &StateWrap::WriteData),
                                  InstanceMethod("dispose", &StateWrap::Dispose)});
}

// new NativeState(nativeModel)
StateWrap::StateWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StateWrap>(info) {
  Napi::Env env = info.Env();
  if (!is_instance(info[0], addon_data(env).model_ctor)) fail(env, "ERR_RG_INVALID_ARGUMENT", "NativeState needs a NativeModel");
  ModelWrap* mw = ModelWrap::Unwrap(info[0].As<Napi::Object>());
  if (!mw || !mw->model()) fail(env, "ERR_RG_DISPOSED", "the model has been disposed");
  config_ = mw->model()->config;
  model_id_ = mw->id();
  try {
    state_ = std::make_shared<State>(config_);
  } catch (const std::bad_alloc&) {
    fail(env, "ERR_RG_OUT_OF_MEMORY", "cannot allocate the state", true);
  }
}

State& StateWrap::checked(Napi::Env env, bool for_write) {
  if (!state_) fail(env, "ERR_RG_DISPOSED", "the state has been disposed");
  if (for_write && state_->busy) fail(env, "ERR_RG_BUSY", "the state is in use by a forward pass");
  return *state_;
}

Napi::Value StateWrap::Position(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(checked(info.Env(), false).position));
}

Napi::Value StateWrap::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(checked(info.Env(), false).byte_length()));
}

static Napi::Float32Array copy_out(Napi::Env env, const float* p, size_t n) {
  Napi::Float32Array a = Napi::Float32Array::New(env, n);
  std::memcpy(a.Data(), p, n * sizeof(float));
  return a;
}

// layers() -> per layer { kind, rgLruState, conv1dState } or { kind, keys, values } (copies).
Napi::Value StateWrap::Layers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = checked(env, true);
  const int64_t L = config_.lru_width, K = config_.conv_width, W = config_.window, hd = config_.head_dim;
  Napi::Array out = Napi::Array::New(env, s.layout.size());
  for (size_t i = 0; i < s.layout.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    if (s.layout[i].kind == BlockKind::Recurrent) {
      o.Set("kind", "recurrent");
      o.Set("rgLruState", copy_out(env, s.rg_lru(i), L));
      o.Set("conv1dState", copy_out(env, s.conv(i, L), (K - 1) * L));
    } else {
      o.Set("kind", "attention");
      o.Set("keys", copy_out(env, s.keys(i), W * hd));
      o.Set("values", copy_out(env, s.values(i, W, hd), W * hd));
    }
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value StateWrap::CopyFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = checked(env, true);
  if (!is_instance(info[0], addon_data(env).state_ctor))
    fail(env, "ERR_RG_INVALID_ARGUMENT", "copyFrom expects a state");
  StateWrap* other = Unwrap(info[0].As<Napi::Object>());
  State& o = other->checked(env, true);
  if (other->model_id_ != model_id_) fail(env, "ERR_RG_FOREIGN_STATE", "the state belongs to a different model");
  s.data = o.data;
  s.position = o.position.load();
  return env.Undefined();
}

Napi::Value StateWrap::Reset(const Napi::CallbackInfo& info) {
  checked(info.Env(), true).reset();
  return info.Env().Undefined();
}

Napi::Value StateWrap::ReadData(const Napi::CallbackInfo& info) {
  State& s = checked(info.Env(), true);
  return copy_out(info.Env(), s.data.data(), s.data.size());
}

// writeData(data: Float32Array of exactly the state's size, position)
Napi::Value StateWrap::WriteData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = checked(env, true);
  Napi::Float32Array a = get_f32(info[0], "state data", s.data.size());
  const int64_t position = get_int(info[1], "position", 0, int64_t{1} << 53);
  std::memcpy(s.data.data(), a.Data(), s.data.size() * sizeof(float));
  s.position = position;
  return env.Undefined();
}

// Always succeeds: a forward pass in flight holds its own reference and frees the state when it ends.
Napi::Value StateWrap::Dispose(const Napi::CallbackInfo& info) {
  state_.reset();
  return info.Env().Undefined();
}

}  // namespace rg::binding
