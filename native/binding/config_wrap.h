// The model config as JavaScript passes it (lib/native.ts NativeConfig), read and range-checked
// into rg::ModelConfig; and the two native tables derived from a config, exposed so tests can
// hold them against their TypeScript twins: `stateLayout(config)` (lib/state/layout.ts) and
// `expectedTensors(config)` (lib/checkpoint/tensors.ts).
#pragma once
#include <napi.h>

#include "../model/config.h"

namespace rg::binding {

// Throws a JS error with code ERR_RG_INVALID_ARGUMENT / ERR_RG_INVALID_CONFIG when unusable.
ModelConfig read_config(const Napi::Value& v);

// stateLayout(config) -> [{ kind: 'recurrent' | 'attention', offset, floats }] (counts in float32)
Napi::Value StateLayout(const Napi::CallbackInfo& info);

// expectedTensors(config) -> [{ name, shape }] in checkpoint order
Napi::Value ExpectedTensors(const Napi::CallbackInfo& info);

}  // namespace rg::binding
