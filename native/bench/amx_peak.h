// Register-resident AMX loops for the machine-limit peaks (AMX-BF16 tdpbf16ps, AMX-INT8 tdpbusd).
// Only ever called after amx_usable() (CPUID reports AMX and the OS granted the tile state).
#pragma once
#include <cstdint>

namespace rg::bench {

// Runs `iters` iterations of 4 independent tile dot products on the calling thread (loads its own
// tile configuration, releases the tiles at the end); returns the operations done (a multiply-add
// counts 2). Returns 0 off x86-64 / non-GNU compilers.
double amx_bf16_loop(int64_t iters);
double amx_int8_loop(int64_t iters);

}  // namespace rg::bench
