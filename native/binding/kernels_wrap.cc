// Direct access to single kernels at a chosen SIMD level, for the kernel tests (every level
// against the scalar reference) and microbenchmarks. Inputs are never modified: in/out buffers
// (recurrent state, conv state, in-place ops) are copied and returned.
#include "kernels_wrap.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../kernels/dispatch.h"
#include "../kernels/stream_tuning.h"
#include "convert.h"

namespace rg::binding {

static const KernelTable& table_for(const Napi::Value& v) {
  Napi::Env env = v.Env();
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "auto";
  if (s == "auto") return kernels_for(best_simd_level());
  SimdLevel level;
  if (!parse_simd_level(s, &level)) fail(env, "ERR_RG_INVALID_SIMD", "unknown SIMD level '" + s + "'", true);
  if (!simd_level_available(level))
    fail(env, "ERR_RG_INVALID_SIMD", "SIMD level '" + s + "' is not available here", true);
  return kernels_for(level);
}

static Napi::Float32Array f32_copy(Napi::Env env, const float* p, size_t n) {
  Napi::Float32Array a = Napi::Float32Array::New(env, n);
  if (n) std::memcpy(a.Data(), p, n * sizeof(float));
  return a;
}

static const int64_t kMax = int64_t{1} << 28;

// matmul({ x, T, weight: TypedArray (raw storage), dtype, rows, cols, bias?, scales?, precision? },
//        level) -> y [T, rows]. Q8 / Q4 need cols % 32 == 0 and scales [rows, cols / 32];
// precision 'fast' runs the level's matmul_fast (an error when the level has none).
static Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  const int64_t T = get_int_prop(o, "T", 1, 1 << 16);
  const int64_t rows = get_int_prop(o, "rows", 1, kMax), cols = get_int_prop(o, "cols", 1, kMax);
  const DType dtype = get_dtype(o.Get("dtype"), "dtype", true);
  const bool quant = dtype == DType::Q8 || dtype == DType::Q4;
  if (quant && cols % kQuantGroup != 0) fail(env, "ERR_RG_INVALID_ARGUMENT", "Q8 / Q4 need cols to be a multiple of 32");
  if (T * cols > kMax || T * rows > kMax) fail(env, "ERR_RG_OUT_OF_RANGE", "input too large", true);
  Napi::Float32Array x = get_f32(o.Get("x"), "x", static_cast<size_t>(T * cols));
  Napi::Value wv = o.Get("weight");
  if (!wv.IsTypedArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "weight must be a typed array");
  Napi::TypedArray w = wv.As<Napi::TypedArray>();
  if (w.ByteLength() != static_cast<size_t>(row_bytes(dtype, cols) * rows))
    fail(env, "ERR_RG_INVALID_ARGUMENT", "weight byte length does not match rows x cols x dtype");
  if ((w.ByteOffset() % (dtype == DType::F32 ? 4 : quant ? 1 : 2)) != 0)
    fail(env, "ERR_RG_INVALID_ARGUMENT", "weight is not aligned to its element size");
  const float* bias = nullptr;
  if (!o.Get("bias").IsUndefined()) bias = get_f32(o.Get("bias"), "bias", static_cast<size_t>(rows)).Data();
  const float* scales = nullptr;
  if (quant) scales = get_f32(o.Get("scales"), "scales", static_cast<size_t>(rows * (cols / kQuantGroup))).Data();
  const std::string precision = o.Get("precision").IsString() ? o.Get("precision").As<Napi::String>().Utf8Value() : "exact";
  if (precision != "exact" && precision != "fast") fail(env, "ERR_RG_INVALID_ARGUMENT", "precision must be 'exact' or 'fast'");
  auto fn = precision == "fast" ? k.matmul_fast : k.matmul;
  if (!fn) fail(env, "ERR_RG_INVALID_SIMD", std::string("SIMD level '") + k.name + "' has no fast matmul on this CPU", true);
  const uint8_t* data = static_cast<const uint8_t*>(w.ArrayBuffer().Data()) + w.ByteOffset();
  Matrix m{data, dtype, rows, cols, scales};
  Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(T * rows));
  fn(x.Data(), cols, T, m, bias, y.Data(), rows, 0, rows);
  return y;
}

static Napi::Value HasFastMatmul(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), table_for(info[0]).matmul_fast != nullptr);
}

// rmsnorm({ x, weight, eps }, level): one row
static Napi::Value Rmsnorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  Napi::Value xv = o.Get("x");
  if (!xv.IsTypedArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "x must be a Float32Array");
  const size_t n = xv.As<Napi::TypedArray>().ElementLength();
  if (n == 0) fail(env, "ERR_RG_INVALID_ARGUMENT", "x must not be empty");
  Napi::Float32Array x = get_f32(xv, "x", n);
  Napi::Float32Array w = get_f32(o.Get("weight"), "weight", n);
  const float eps = static_cast<float>(get_number_prop(o, "eps"));
  Napi::Float32Array y = Napi::Float32Array::New(env, n);
  k.rmsnorm(x.Data(), w.Data(), static_cast<int64_t>(n), eps, y.Data());
  return y;
}

// elementwise({ op: 'gelu'|'geluMul'|'softcap', x, u?, cap? }, level)
static Napi::Value Elementwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  const std::string op = o.Get("op").IsString() ? o.Get("op").As<Napi::String>().Utf8Value() : "";
  Napi::Value xv = o.Get("x");
  if (!xv.IsTypedArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "x must be a Float32Array");
  const size_t n = xv.As<Napi::TypedArray>().ElementLength();
  Napi::Float32Array x = get_f32(xv, "x", n);
  Napi::Float32Array y = f32_copy(env, x.Data(), n);
  if (op == "gelu") k.gelu(x.Data(), static_cast<int64_t>(n), y.Data());
  else if (op == "geluMul") k.gelu_mul(x.Data(), get_f32(o.Get("u"), "u", n).Data(), static_cast<int64_t>(n), y.Data());
  else if (op == "softcap") k.softcap(y.Data(), static_cast<int64_t>(n), static_cast<float>(get_number_prop(o, "cap")));
  else fail(env, "ERR_RG_INVALID_ARGUMENT", "op must be gelu, geluMul or softcap");
  return y;
}

// conv1d({ x [T, L], T, L, weight [L, K], K, bias [L], state [K-1, L] }, level) -> { y, state }
static Napi::Value Conv1d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  const int64_t T = get_int_prop(o, "T", 1, 1 << 20), L = get_int_prop(o, "L", 1, 1 << 20);
  const int64_t K = get_int_prop(o, "K", 1, 64);
  if (T * L > kMax) fail(env, "ERR_RG_OUT_OF_RANGE", "T x L too large", true);
  Napi::Float32Array x = get_f32(o.Get("x"), "x", T * L);
  Napi::Float32Array w = get_f32(o.Get("weight"), "weight", L * K);
  Napi::Float32Array b = get_f32(o.Get("bias"), "bias", L);
  Napi::Float32Array s0 = get_f32(o.Get("state"), "state", (K - 1) * L);
  Napi::Float32Array state = f32_copy(env, s0.Data(), (K - 1) * L);
  Napi::Float32Array y = Napi::Float32Array::New(env, T * L);
  k.conv1d(x.Data(), T, L, w.Data(), K, b.Data(), state.Data(), y.Data(), 0, L);
  Napi::Object r = Napi::Object::New(env);
  r.Set("y", y);
  r.Set("state", state);
  return r;
}

// rglru({ x, gateX, gateA [T, L], negSoftplus8 [L], T, L, position, h [L] }, level) -> { y, h }
static Napi::Value Rglru(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  const int64_t T = get_int_prop(o, "T", 1, 1 << 20), L = get_int_prop(o, "L", 1, 1 << 20);
  if (T * L > kMax) fail(env, "ERR_RG_OUT_OF_RANGE", "T x L too large", true);
  const int64_t pos = get_int_prop(o, "position", 0, int64_t{1} << 53);
  Napi::Float32Array x = get_f32(o.Get("x"), "x", T * L);
  Napi::Float32Array gx = get_f32(o.Get("gateX"), "gateX", T * L);
  Napi::Float32Array ga = get_f32(o.Get("gateA"), "gateA", T * L);
  Napi::Float32Array sp = get_f32(o.Get("negSoftplus8"), "negSoftplus8", L);
  Napi::Float32Array h0 = get_f32(o.Get("h"), "h", L);
  Napi::Float32Array h = f32_copy(env, h0.Data(), L);
  Napi::Float32Array y = Napi::Float32Array::New(env, T * L);
  k.rglru(x.Data(), gx.Data(), ga.Data(), sp.Data(), T, L, pos, h.Data(), y.Data(), 0, L);
  Napi::Object r = Napi::Object::New(env);
  r.Set("y", y);
  r.Set("h", h);
  return r;
}

// rope({ x [T, heads * headDim], T, heads, headDim, rotaryDims, position, base }, level) -> x'
static Napi::Value Rope(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  const int64_t T = get_int_prop(o, "T", 1, 1 << 20), heads = get_int_prop(o, "heads", 1, 1 << 12);
  const int64_t hd = get_int_prop(o, "headDim", 1, 1 << 14);
  const int64_t rot = get_int_prop(o, "rotaryDims", 0, hd);
  if (rot % 2) fail(env, "ERR_RG_INVALID_ARGUMENT", "rotaryDims must be even");
  if (T * heads * hd > kMax) fail(env, "ERR_RG_OUT_OF_RANGE", "input too large", true);
  const int64_t pos = get_int_prop(o, "position", 0, int64_t{1} << 40);
  Napi::Float32Array x = get_f32(o.Get("x"), "x", T * heads * hd);
  Napi::Float32Array y = f32_copy(env, x.Data(), T * heads * hd);
  k.rope(y.Data(), heads * hd, T, heads, hd, rot, pos, static_cast<float>(get_number_prop(o, "base")));
  return y;
}

// localAttention({ q [T, H*hd], k, v [T, hd], keyCache, valueCache [W, hd], position, T,
//                  numHeads, headDim, window }, level) -> out [T, H*hd]
static Napi::Value LocalAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = get_object(info[0], "arguments");
  const KernelTable& k = table_for(info[1]);
  const int64_t T = get_int_prop(o, "T", 1, 1 << 16), H = get_int_prop(o, "numHeads", 1, 1 << 10);
  const int64_t hd = get_int_prop(o, "headDim", 1, 1 << 12), W = get_int_prop(o, "window", 1, 1 << 20);
  const int64_t pos = get_int_prop(o, "position", 0, int64_t{1} << 40);
  if (T * H * hd > kMax || W * hd > kMax) fail(env, "ERR_RG_OUT_OF_RANGE", "input too large", true);
  Napi::Float32Array q = get_f32(o.Get("q"), "q", T * H * hd);
  Napi::Float32Array kk = get_f32(o.Get("k"), "k", T * hd);
  Napi::Float32Array v = get_f32(o.Get("v"), "v", T * hd);
  Napi::Float32Array kc = get_f32(o.Get("keyCache"), "keyCache", W * hd);
  Napi::Float32Array vc = get_f32(o.Get("valueCache"), "valueCache", W * hd);
  Napi::Float32Array out = Napi::Float32Array::New(env, T * H * hd);
  std::vector<float> scratch(static_cast<size_t>(W + T));
  k.local_attention(q.Data(), H * hd, kk.Data(), v.Data(), kc.Data(), vc.Data(), pos, T, hd, W, 0, H,
                    out.Data(), H * hd, scratch.data());
  return out;
}

static Napi::Value Levels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  uint32_t n = 0;
  for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512})
    if (simd_level_available(l)) a.Set(n++, simd_level_name(l));
  return a;
}

// setStreamTuning({ prefetchBytes }) -> the tuning in effect (process-wide; see stream_tuning.h)
static Napi::Value SetStreamTuning(const Napi::CallbackInfo& info) {
  Napi::Object o = get_object(info[0], "stream tuning");
  StreamTuning t = stream_tuning();
  if (!o.Get("prefetchBytes").IsUndefined())
    t.prefetch_bytes = static_cast<int32_t>(get_int_prop(o, "prefetchBytes", 0, kMaxStreamPrefetchBytes));
  set_stream_tuning(t);
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("prefetchBytes", stream_tuning().prefetch_bytes);
  return r;
}

static Napi::Value GetStreamTuning(const Napi::CallbackInfo& info) {
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("prefetchBytes", stream_tuning().prefetch_bytes);
  return r;
}

Napi::Object define_kernels(Napi::Env env) {
  Napi::Object k = Napi::Object::New(env);
  k.Set("matmul", Napi::Function::New(env, Matmul));
  k.Set("rmsnorm", Napi::Function::New(env, Rmsnorm));
  k.Set("elementwise", Napi::Function::New(env, Elementwise));
  k.Set("conv1d", Napi::Function::New(env, Conv1d));
  k.Set("rglru", Napi::Function::New(env, Rglru));
  k.Set("rope", Napi::Function::New(env, Rope));
  k.Set("localAttention", Napi::Function::New(env, LocalAttention));
  k.Set("levels", Napi::Function::New(env, Levels));
  k.Set("hasFastMatmul", Napi::Function::New(env, HasFastMatmul));
  k.Set("setStreamTuning", Napi::Function::New(env, SetStreamTuning));
  k.Set("streamTuning", Napi::Function::New(env, GetStreamTuning));
  return k;
}

}  // namespace rg::binding
