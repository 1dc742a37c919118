#include "model_wrap.h"

#include <set>
#include <stdexcept>

#include "../kernels/dispatch.h"
#include "../kernels/stream_tuning.h"
#include "../runtime/cpu_identity.h"
#include "addon_data.h"
#include "config_wrap.h"
#include "convert.h"
#include "state_wrap.h"

namespace rg::binding {

static std::atomic<uint64_t> next_model_id{1};

// Largest logits array one forward call returns (2^31 floats = 8 GiB, beyond any typed array).
static constexpr int64_t kMaxOutputFloats = int64_t{1} << 31;

Napi::Function ModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {InstanceMethod("forward", &ModelWrap::Forward),
                      InstanceMethod("info", &ModelWrap::Info),
                      InstanceMethod("dispose", &ModelWrap::Dispose)});
}

// new NativeModel(config, files: string[], tensors: TensorSource[], { threads, simd, weights, hugePages, precision })
ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info), id_(next_model_id++) {
  Napi::Env env = info.Env();
  const ModelConfig config = read_config(info[0]);
  if (!info[1].IsArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "files must be an array");
  std::vector<std::string> files;
  Napi::Array fa = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < fa.Length(); ++i) {
    if (!fa.Get(i).IsString()) fail(env, "ERR_RG_INVALID_ARGUMENT", "files must be strings");
    files.push_back(fa.Get(i).As<Napi::String>().Utf8Value());
  }
  if (!info[2].IsArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "tensors must be an array");
  std::vector<TensorSource> tensors;
  Napi::Array ta = info[2].As<Napi::Array>();
  const int64_t max_offset = int64_t{1} << 53;
  for (uint32_t i = 0; i < ta.Length(); ++i) {
    Napi::Object t = get_object(ta.Get(i), "tensor");
    TensorSource s;
    if (!t.Get("name").IsString()) fail(env, "ERR_RG_INVALID_ARGUMENT", "tensor name must be a string");
    s.name = t.Get("name").As<Napi::String>().Utf8Value();
    s.file = static_cast<int32_t>(get_int_prop(t, "file", 0, static_cast<int64_t>(files.size()) - 1));
    s.dtype = get_dtype(t.Get("dtype"), "tensor " + s.name + ": dtype", true);
    if (!t.Get("shape").IsArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "tensor " + s.name + ": shape must be an array");
    Napi::Array sh = t.Get("shape").As<Napi::Array>();
    if (sh.Length() > 8) fail(env, "ERR_RG_INVALID_ARGUMENT", "tensor " + s.name + ": too many dimensions");
    for (uint32_t d = 0; d < sh.Length(); ++d) s.shape.push_back(get_int(sh.Get(d), "shape", 0, max_offset));
    s.offset = static_cast<uint64_t>(get_int_prop(t, "offset", 0, max_offset));
    s.nbytes = static_cast<uint64_t>(get_int_prop(t, "nbytes", 0, max_offset));
    tensors.push_back(std::move(s));
  }
  int threads = physical_core_count();
  std::string simd_error;
  SimdLevel level = default_simd_level(&simd_error);
  if (!simd_error.empty()) fail(env, "ERR_RG_INVALID_SIMD", simd_error, true);
  WeightOptions weight_options;
  Precision precision = Precision::Exact;
  int spin_micros = ThreadPool::kDefaultSpinMicros;
  if (info[3].IsObject()) {
    Napi::Object opts = info[3].As<Napi::Object>();
    if (opts.Has("weights") && opts.Get("weights").IsString()) {
      const std::string w = opts.Get("weights").As<Napi::String>().Utf8Value();
      if (w == "int8") weight_options.format = WeightFormat::Q8;
      else if (w == "q4") weight_options.format = WeightFormat::Q4;
      else if (w != "stored") fail(env, "ERR_RG_INVALID_ARGUMENT", "weights must be 'stored', 'int8' or 'q4', got '" + w + "'");
    }
    if (opts.Has("hugePages")) weight_options.huge_pages = opts.Get("hugePages").ToBoolean().Value();
    if (opts.Has("precision") && !opts.Get("precision").IsUndefined()) {
      const std::string p = opts.Get("precision").IsString() ? opts.Get("precision").As<Napi::String>().Utf8Value() : "";
      if (p == "fast") precision = Precision::Fast;
      else if (p != "exact") fail(env, "ERR_RG_INVALID_ARGUMENT", "precision must be 'exact' or 'fast'");
    }
    if (opts.Has("threads") && !opts.Get("threads").IsUndefined())
      threads = static_cast<int>(get_int_prop(opts, "threads", 1, 256));
    if (opts.Has("spinMicros") && !opts.Get("spinMicros").IsUndefined())
      spin_micros = static_cast<int>(get_int_prop(opts, "spinMicros", 0, 1000000));
    if (opts.Has("simd") && opts.Get("simd").IsString()) {
      const std::string s = opts.Get("simd").As<Napi::String>().Utf8Value();
      if (s == "auto") level = best_simd_level();
      else if (!parse_simd_level(s, &level) || !simd_level_available(level))
        fail(env, "ERR_RG_INVALID_SIMD", "simd level '" + s + "' is not available on this CPU", true);
    }
  }
  try {
    model_ = std::make_shared<Model>(config, files, tensors, threads, kernels_for(level), weight_options, precision,
                                     spin_micros);
  } catch (const std::exception& e) {
    fail(env, "ERR_RG_CHECKPOINT", e.what());
  }
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) fail(env, "ERR_RG_DISPOSED", "the model has been disposed");
  Napi::Object o = Napi::Object::New(env);
  o.Set("simd", model_->kernels().name);
  o.Set("threads", model_->threads());
  o.Set("precision", model_->precision() == Precision::Fast ? "fast" : "exact");
  o.Set("mappedBytes", static_cast<double>(model_->weights.mapped_bytes()));
  o.Set("ownedBytes", static_cast<double>(model_->weights.owned_bytes()));
  o.Set("streamBytes", static_cast<double>(model_->weights.stream_bytes()));
  o.Set("hugePageBytes", static_cast<double>(model_->weights.huge_page_candidate_bytes()));
  const WeightFormat f = model_->weights.options().format;
  o.Set("weights", f == WeightFormat::Q8 ? "int8" : f == WeightFormat::Q4 ? "q4" : "stored");
  o.Set("streamPrefetchBytes", stream_tuning().prefetch_bytes);
  o.Set("spinMicros", model_->spin_micros());
  o.Set("releasedBytes", static_cast<double>(model_->weights.released_bytes()));
  o.Set("amx", amx_usable());
  return o;
}

// Always succeeds: forward passes in flight hold their own reference to the model, which is
// unmapped and its threads stopped when the last of them ends.
Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  model_.reset();
  return info.Env().Undefined();
}

namespace {

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, ModelWrap* owner, std::shared_ptr<Model> model)
      : Napi::AsyncWorker(env, "recurrentgemma.forward"), deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner), model_(std::move(model)) {
    owner_->running++;
    owner_ref_ = Napi::Persistent(owner_->Value());
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  // Marks the state busy last; from then on only OnOK/OnError clear it.
  void add(std::shared_ptr<State> state, std::vector<int32_t> tokens, bool all_logits,
           Napi::Float32Array out) {
    outputs_.push_back(Napi::Persistent(out.As<Napi::Object>()));
    tokens_.push_back(std::move(tokens));
    Segment s;
    s.state = state.get();
    states_.push_back(std::move(state));
    s.count = static_cast<int64_t>(tokens_.back().size());
    s.all_logits = all_logits;
    s.logits = out.Data();
    segments_.push_back(s);
    s.state->busy = true;
  }

  void Execute() override {
    try {
      for (size_t i = 0; i < segments_.size(); ++i) segments_[i].tokens = tokens_[i].data();
      model_->forward(segments_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    release();
    Napi::Array result = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) result.Set(static_cast<uint32_t>(i), outputs_[i].Value());
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& e) override {
    release();
    deferred_.Reject(e.Value());
  }

 private:
  void release() {
    for (auto& s : segments_) s.state->busy = false;
    owner_->running--;
  }

  Napi::Promise::Deferred deferred_;
  ModelWrap* owner_;
  std::shared_ptr<Model> model_;
  Napi::ObjectReference owner_ref_;
  std::vector<Napi::ObjectReference> outputs_;
  std::vector<std::shared_ptr<State>> states_;  // kept alive even if disposed meanwhile
  std::vector<std::vector<int32_t>> tokens_;
  std::vector<Segment> segments_;
};

}  // namespace

// forward([{ state, tokens: Int32Array, allLogits: boolean }]) -> Promise<Float32Array[]>
Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) fail(env, "ERR_RG_DISPOSED", "the model has been disposed");
  if (!info[0].IsArray()) fail(env, "ERR_RG_INVALID_ARGUMENT", "forward expects an array of segments");
  Napi::Array arr = info[0].As<Napi::Array>();
  if (arr.Length() == 0) fail(env, "ERR_RG_INVALID_ARGUMENT", "forward needs at least one sequence");
  const int64_t V = model_->config.vocab_size;
  std::set<State*> seen;
  struct Checked { std::shared_ptr<State> state; std::vector<int32_t> tokens; bool all; Napi::Float32Array out; };
  std::vector<Checked> checked;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Object seg = get_object(arr.Get(i), "segment");
    Napi::Value sv = seg.Get("state");
    if (!is_instance(sv, addon_data(env).state_ctor))
      fail(env, "ERR_RG_INVALID_ARGUMENT", "segment.state must be a state created by this model");
    StateWrap* sw = StateWrap::Unwrap(sv.As<Napi::Object>());
    if (!sw->state()) fail(env, "ERR_RG_DISPOSED", "the state has been disposed");
    if (sw->model_id() != id_) fail(env, "ERR_RG_FOREIGN_STATE", "the state belongs to a different model");
    if (sw->state()->busy) fail(env, "ERR_RG_BUSY", "the state is already in use by another forward pass");
    if (!seen.insert(sw->state()).second) fail(env, "ERR_RG_INVALID_ARGUMENT", "the same state appears twice in one batch");
    Napi::Int32Array ids = get_i32(seg.Get("tokens"), "tokens");
    if (ids.ElementLength() == 0) fail(env, "ERR_RG_INVALID_ARGUMENT", "tokens must not be empty");
    std::vector<int32_t> tokens(ids.Data(), ids.Data() + ids.ElementLength());
    for (size_t j = 0; j < tokens.size(); ++j)
      if (tokens[j] < 0 || tokens[j] >= V)
        fail(env, "ERR_RG_TOKEN_RANGE", "token id " + std::to_string(tokens[j]) + " at index " + std::to_string(j) + " is outside the vocabulary [0, " + std::to_string(V) + ")", true);
    const bool all = seg.Get("allLogits").ToBoolean().Value();
    checked.push_back({sw->shared(), std::move(tokens), all, Napi::Float32Array()});
  }
  // Allocate every output before any state is marked busy: a failed allocation (T x V too large)
  // then leaves all states untouched and usable.
  for (auto& c : checked) {
    const double n = static_cast<double>(c.all ? c.tokens.size() : 1) * static_cast<double>(V);
    if (n > static_cast<double>(kMaxOutputFloats))
      fail(env, "ERR_RG_OUT_OF_RANGE", "allLogits output of " + std::to_string(c.tokens.size()) + " x " + std::to_string(V) + " floats is too large; run the tokens in smaller chunks", true);
    c.out = Napi::Float32Array::New(env, static_cast<size_t>(n));
  }
  auto* worker = new ForwardWorker(env, this, model_);
  for (auto& c : checked) worker->add(std::move(c.state), std::move(c.tokens), c.all, c.out);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

}  // namespace rg::binding
