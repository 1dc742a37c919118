#include "quantize_wrap.h"

#include <string>

#include "../model/quantize.h"
#include "convert.h"

namespace rg::binding {

// quantize({ data: TypedArray (raw rows), dtype: 'F32'|'BF16'|'F16', rows, cols, format: 'int8'|'q4' })
//   -> { data: Uint8Array [rows, cols] or [rows, cols / 2], scales: Float32Array [rows, cols / 32] }
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const int64_t big = int64_t{1} << 26;
  const int64_t rows = get_int_prop(o, "rows", 1, big), cols = get_int_prop(o, "cols", 1, big);
  const DType dtype = get_dtype(o.Get("dtype"), "dtype", false);
  const std::string f = o.Get("format").IsString() ? o.Get("format").As<Napi::String>().Utf8Value() : "";
  DType format;
  if (f == "int8") format = DType::Q8;
  else if (f == "q4") format = DType::Q4;
  else fail(env, "ERR_RG_INVALID_ARGUMENT", "format must be 'int8' or 'q4'");
  if (!quantizable(cols))
    fail(env, "ERR_RG_INVALID_ARGUMENT", "cols (" + std::to_string(cols) + ") must be a multiple of " + std::to_string(kQuantGroup), true);
  Napi::Value dv = o.Get("data");
  if (!dv.IsTypedArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "data must be a typed array");
  Napi::TypedArray d = dv.As<Napi::TypedArray>();
  if (d.ByteLength() != static_cast<size_t>(row_bytes(dtype, cols) * rows))
    fail(env, "ERR_RG_INVALID_ARGUMENT", "data byte length does not match rows x cols x dtype");
  if (d.ByteOffset() % (dtype == DType::F32 ? 4 : 2) != 0)
    fail(env, "ERR_RG_INVALID_ARGUMENT", "data is not aligned to its element size");
  const uint8_t* src = static_cast<const uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset();
  Napi::Uint8Array q = Napi::Uint8Array::New(env, static_cast<size_t>(row_bytes(format, cols) * rows));
  Napi::Float32Array scales = Napi::Float32Array::New(env, static_cast<size_t>(rows * (cols / kQuantGroup)));
  quantize_rows(Matrix{src, dtype, rows, cols, nullptr}, format, 0, rows, q.Data(), scales.Data());
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", q);
  out.Set("scales", scales);
  return out;
}

}  // namespace rg::binding
