// Enables AVX-512 (F/BW/VL/DQ) + BF16 + VNNI code generation for the `fast` precision kernels, up
// to target_end.h. Include after every standard / shared header (ODR safety, see x86_common.h).
// Only ever called after a run-time check of avx512_bf16 and avx512_vnni (avx512_table.cc).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vnni,avx2,fma,f16c")
#endif
