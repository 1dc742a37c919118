#include "stream_tuning.h"

#include <algorithm>
#include <atomic>

namespace rg {

namespace {
// Read once per kernel call (relaxed: a stale value only changes a prefetch hint).
std::atomic<int32_t> g_prefetch_bytes{0};
}  // namespace

void set_stream_tuning(const StreamTuning& tuning) {
  const int32_t pf = std::clamp<int32_t>(tuning.prefetch_bytes, 0, kMaxStreamPrefetchBytes) / 64 * 64;
  g_prefetch_bytes.store(pf, std::memory_order_relaxed);
}

StreamTuning stream_tuning() {
  StreamTuning t;
  t.prefetch_bytes = g_prefetch_bytes.load(std::memory_order_relaxed);
  return t;
}

}  // namespace rg
