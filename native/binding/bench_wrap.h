// `bench`: the machine-limit measurements and single-kernel cases the benchmark suite uses.
#pragma once
#include <napi.h>

namespace rg::binding {
Napi::Object define_bench(Napi::Env env);
}
