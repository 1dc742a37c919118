// NativeModel: JS handle of a loaded rg::Model (weights mapped, thread pool, kernel table).
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

#include "../model/griffin.h"

namespace rg::binding {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

  // Null after dispose().
  Model* model() const { return model_.get(); }
  std::shared_ptr<Model> shared() const { return model_; }
  uint64_t id() const { return id_; }
  std::atomic<int> running{0};  // forward passes in flight

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<Model> model_;
  uint64_t id_;
};

}  // namespace rg::binding
