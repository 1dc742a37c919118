// NativeState: JS handle of one sequence's rg::State; mirrors the TS ModelState.
#pragma once
#include <napi.h>

#include <memory>

#include "../model/state.h"

namespace rg::binding {

class ModelWrap;

class StateWrap : public Napi::ObjectWrap<StateWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit StateWrap(const Napi::CallbackInfo& info);

  State* state() const { return state_.get(); }
  // Shared with forward passes in flight, so dispose() during one frees the memory when it ends.
  std::shared_ptr<State> shared() const { return state_; }
  uint64_t model_id() const { return model_id_; }

 private:
  Napi::Value Position(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value Layers(const Napi::CallbackInfo& info);
  Napi::Value CopyFrom(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value ReadData(const Napi::CallbackInfo& info);
  Napi::Value WriteData(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  State& checked(Napi::Env env, bool for_write);

  std::shared_ptr<State> state_;
  ModelConfig config_;
  uint64_t model_id_ = 0;
};

}  // namespace rg::binding
