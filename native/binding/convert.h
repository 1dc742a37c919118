// Argument conversion and validation for the binding layer: every value crossing from JavaScript
// is checked here and turned into a JS exception with a `code`, never trusted.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "../kernels/types.h"

namespace rg::binding {

inline Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message,
                              bool range = false) {
  Napi::Error e = range ? static_cast<Napi::Error>(Napi::RangeError::New(env, message))
                        : static_cast<Napi::Error>(Napi::TypeError::New(env, message));
  e.Set("code", Napi::String::New(env, code));
  return e;
}

[[noreturn]] inline void fail(Napi::Env env, const std::string& code, const std::string& message,
                              bool range = false) {
  throw make_error(env, code, message, range);
}

inline int64_t get_int(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) fail(env, "ERR_RG_INVALID_ARGUMENT", what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d))
    fail(env, "ERR_RG_INVALID_ARGUMENT", what + " must be an integer");
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    fail(env, "ERR_RG_OUT_OF_RANGE", what + " is out of range", true);
  return static_cast<int64_t>(d);
}

inline int64_t get_int_prop(const Napi::Object& o, const char* key, int64_t lo, int64_t hi) {
  return get_int(o.Get(key), key, lo, hi);
}

inline double get_number_prop(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) fail(o.Env(), "ERR_RG_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) fail(o.Env(), "ERR_RG_INVALID_ARGUMENT", std::string(key) + " must be finite");
  return d;
}

inline Napi::Object get_object(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) fail(v.Env(), "ERR_RG_INVALID_ARGUMENT", what + " must be an object");
  return v.As<Napi::Object>();
}

inline Napi::Float32Array get_f32(const Napi::Value& v, const std::string& what, size_t length) {
  Napi::Env env = v.Env();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail(env, "ERR_RG_INVALID_ARGUMENT", what + " must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != length)
    fail(env, "ERR_RG_INVALID_ARGUMENT",
         what + " must have " + std::to_string(length) + " elements, got " + std::to_string(a.ElementLength()), true);
  return a;
}

inline Napi::Int32Array get_i32(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail(v.Env(), "ERR_RG_INVALID_ARGUMENT", what + " must be an Int32Array");
  return v.As<Napi::Int32Array>();
}

// The dtype codes JavaScript passes for native tensors (lib/checkpoint/safetensors.ts WeightDType):
// the safetensors names of the float types, Q8 / Q4 for quantized matrices. False for anything else.
inline bool parse_dtype(const std::string& name, DType* out) {
  static const struct { const char* name; DType dtype; } kCodes[] = {
      {"F32", DType::F32}, {"BF16", DType::BF16}, {"F16", DType::F16}, {"Q8", DType::Q8}, {"Q4", DType::Q4}};
  for (const auto& c : kCodes)
    if (name == c.name) {
      *out = c.dtype;
      return true;
    }
  return false;
}

// Reads a dtype code (`fallback` when v is undefined and a fallback is given); quantized codes
// only when `allow_quantized`. Fails with ERR_RG_INVALID_ARGUMENT naming `what` and the value.
inline DType get_dtype(const Napi::Value& v, const std::string& what, bool allow_quantized,
                       const DType* fallback = nullptr) {
  if (fallback && v.IsUndefined()) return *fallback;
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  DType t;
  if (!parse_dtype(s, &t) || (!allow_quantized && (t == DType::Q8 || t == DType::Q4)))
    fail(v.Env(), "ERR_RG_INVALID_ARGUMENT",
         what + " must be F32, BF16, F16" + (allow_quantized ? ", Q8 or Q4" : "") + ", got '" + s + "'");
  return t;
}

}  // namespace rg::binding
