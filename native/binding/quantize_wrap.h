// `quantize`: the load-time weight quantization, callable on one matrix (used by the
// `recurrentgemma quantize` command so files and load-time quantization are bit-identical).
#pragma once
#include <napi.h>

namespace rg::binding {
Napi::Value Quantize(const Napi::CallbackInfo& info);
}
