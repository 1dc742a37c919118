// Synchronous by design: benchmarks want the calling thread to do nothing else while they run.
#include "bench_wrap.h"

#include <memory>
#include <stdexcept>

#include "../bench/kernel_case.h"
#include "../bench/machine_limits.h"
#include "../kernels/dispatch.h"
#include "../runtime/owned_buffer.h"
#include "convert.h"

namespace rg::binding {

static int threads_arg(const Napi::Value& v) {
  return v.IsUndefined() ? 1 : static_cast<int>(get_int(v, "threads", 1, 256));
}

// readBandwidth(bytes, threads, hugePages = true) -> { gbPerSecond, hugePages }
static Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t bytes = get_int(info[0], "bytes", 1 << 20, int64_t{1} << 36);
  const int threads = threads_arg(info[1]);
  const bool huge = info[2].IsUndefined() ? true : info[2].ToBoolean().Value();
  ThreadPool pool(threads);
  bench::ReadResult r;
  try {
    r = bench::read_bandwidth(pool, static_cast<uint64_t>(bytes), 5, huge);
  } catch (const std::bad_alloc&) {
    fail(env, "ERR_RG_OUT_OF_MEMORY", "cannot allocate " + std::to_string(bytes) + " bytes for the read test", true);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("gbPerSecond", r.gb_per_s);
  o.Set("hugePages", r.huge_pages);
  o.Set("checksum", r.checksum);
  return o;
}

// computePeak(kind: 'fma32' | 'bf16' | 'int8' | 'amx-bf16' | 'amx-int8', threads, seconds = 0.3) -> ops per second (0: unsupported)
static Napi::Value ComputePeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  bench::PeakKind k;
  if (kind == "fma32") k = bench::PeakKind::Fma32;
  else if (kind == "bf16") k = bench::PeakKind::DotBf16;
  else if (kind == "int8") k = bench::PeakKind::DotInt8;
  else if (kind == "amx-bf16") k = bench::PeakKind::AmxBf16;
  else if (kind == "amx-int8") k = bench::PeakKind::AmxInt8;
  else fail(env, "ERR_RG_INVALID_ARGUMENT", "kind must be 'fma32', 'bf16', 'int8', 'amx-bf16' or 'amx-int8'");
  const int threads = threads_arg(info[1]);
  double seconds = 0.3;
  if (!info[2].IsUndefined()) {
    if (!info[2].IsNumber()) fail(env, "ERR_RG_INVALID_ARGUMENT", "seconds must be a number");
    seconds = info[2].As<Napi::Number>().DoubleValue();
  }
  if (!(seconds > 0)) fail(env, "ERR_RG_OUT_OF_RANGE", "seconds must be in (0, 10]", true);
  if (seconds <= 0 || seconds > 10) fail(env, "ERR_RG_OUT_OF_RANGE", "seconds must be in (0, 10]", true);
  ThreadPool pool(threads);
  return Napi::Number::New(env, bench::compute_peak(pool, k, seconds));
}

static Napi::Value AnonHugePageBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(anon_huge_page_bytes()));
}

class KernelCaseWrap : public Napi::ObjectWrap<KernelCaseWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "KernelCase",
                       {InstanceMethod("run", &KernelCaseWrap::Run),
                        InstanceMethod("dispose", &KernelCaseWrap::Dispose),
                        InstanceAccessor("bytesPerRun", &KernelCaseWrap::Bytes, nullptr),
                        InstanceAccessor("flopsPerRun", &KernelCaseWrap::Flops, nullptr)});
  }

  // new KernelCase({ kernel, dtype?, rows?, cols?, T?, channels?, heads?, headDim?, window?,
  //                  threads?, simd?, hugePages?, precision? })
  explicit KernelCaseWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelCaseWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object o = get_object(info[0], "kernel case");
    bench::CaseSpec s;
    s.kernel = o.Get("kernel").IsString() ? o.Get("kernel").As<Napi::String>().Utf8Value() : "";
    const DType bf16 = DType::BF16;
    s.dtype = get_dtype(o.Get("dtype"), "dtype", true, &bf16);
    const int64_t big = int64_t{1} << 24;
    auto opt = [&](const char* key, int64_t fallback) {
      return o.Get(key).IsUndefined() ? fallback : get_int_prop(o, key, 1, big);
    };
    s.rows = opt("rows", 0), s.cols = opt("cols", 0), s.T = opt("T", 1), s.channels = opt("channels", 0);
    s.heads = opt("heads", 0), s.head_dim = opt("headDim", 0), s.window = opt("window", 0);
    if (s.rows * s.cols > (int64_t{1} << 32)) fail(env, "ERR_RG_OUT_OF_RANGE", "matrix too large", true);
    s.huge_pages = o.Get("hugePages").IsUndefined() ? true : o.Get("hugePages").ToBoolean().Value();
    if (!o.Get("precision").IsUndefined()) {
      const std::string p = o.Get("precision").IsString() ? o.Get("precision").As<Napi::String>().Utf8Value() : "";
      if (p != "exact" && p != "fast") fail(env, "ERR_RG_INVALID_ARGUMENT", "precision must be 'exact' or 'fast'");
      s.fast = p == "fast";
    }
    const int threads = static_cast<int>(opt("threads", 1));
    SimdLevel level = best_simd_level();
    if (o.Get("simd").IsString()) {
      const std::string name = o.Get("simd").As<Napi::String>().Utf8Value();
      if (name != "auto" && (!parse_simd_level(name, &level) || !simd_level_available(level)))
        fail(env, "ERR_RG_INVALID_SIMD", "SIMD level '" + name + "' is not available here", true);
    }
    try {
      case_ = std::make_unique<bench::KernelCase>(s, kernels_for(level), threads);
    } catch (const std::bad_alloc&) {
      fail(env, "ERR_RG_OUT_OF_MEMORY", "cannot allocate the kernel case", true);
    } catch (const std::exception& e) {
      fail(env, "ERR_RG_INVALID_ARGUMENT", e.what());
    }
  }

 private:
  Napi::Value Run(const Napi::CallbackInfo& info) {
    if (!case_) fail(info.Env(), "ERR_RG_DISPOSED", "the kernel case has been disposed");
    case_->run();
    return info.Env().Undefined();
  }
  // Frees the buffers now (cases at logits shapes hold over a gigabyte).
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    case_.reset();
    return info.Env().Undefined();
  }
  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), case_ ? case_->bytes_per_run() : 0.0); }
  Napi::Value Flops(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), case_ ? case_->flops_per_run() : 0.0); }

  std::unique_ptr<bench::KernelCase> case_;
};

Napi::Object define_bench(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("readBandwidth", Napi::Function::New(env, ReadBandwidth));
  o.Set("computePeak", Napi::Function::New(env, ComputePeak));
  o.Set("anonHugePageBytes", Napi::Function::New(env, AnonHugePageBytes));
  o.Set("KernelCase", KernelCaseWrap::Define(env));
  return o;
}

}  // namespace rg::binding
