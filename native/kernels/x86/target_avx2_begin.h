// Enables AVX2 + FMA + F16C code generation for the functions that follow, up to target_end.h.
// Include after every standard / shared header (ODR safety, see x86_common.h).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif
