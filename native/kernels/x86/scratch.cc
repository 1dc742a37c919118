// Per-thread scratch memory for the SIMD kernels (compiled without ISA extensions).
#include <cstdlib>
#include <memory>

#include "x86_common.h"

#if RG_X86_SIMD
namespace rg::x86 {

namespace {
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
struct Buffer {
  std::unique_ptr<float, FreeDeleter> data;
  size_t size = 0;
};
constexpr int kSlots = 4;
}  // namespace

float* scratch(int slot, size_t floats) {
  thread_local Buffer buffers[kSlots];
  Buffer& b = buffers[slot];
  if (b.size < floats) {
    size_t n = floats < 1024 ? 1024 : floats + floats / 4;
    n = (n + 15) & ~static_cast<size_t>(15);
    void* p = nullptr;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) std::abort();
    b.data.reset(static_cast<float*>(p));
    b.size = n;
  }
  return b.data.get();
}

}  // namespace rg::x86
#endif  // RG_X86_SIMD
