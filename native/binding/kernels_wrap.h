#pragma once
#include <napi.h>

namespace rg::binding {
// Adds the individually exposed kernels (kernels.rglru, .conv1d, .localAttention, .matmul, ...).
Napi::Object define_kernels(Napi::Env env);
}
