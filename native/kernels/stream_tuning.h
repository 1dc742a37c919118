// CPU-dependent tuning of the memory-streaming matmul loops (decode: a few tokens, every weight
// read once from DRAM). It changes only how fast the weights arrive, never a result: software
// prefetch is a hint. Which value is best differs by CPU (on AMD Zen 4 the hardware prefetchers
// alone reach ~90 % of the read bandwidth; on Intel Xeon one core streams half the bandwidth and
// its L2 streamer stops at every 4 KiB page), so it is chosen at run time by the loader (a short
// measurement cached per machine, see lib/tuning/) and set here once, process-wide.
#pragma once
#include <cstdint>

namespace rg {

struct StreamTuning {
  // Bytes ahead of the current weight position to prefetch (0 = hardware prefetchers only).
  int32_t prefetch_bytes = 0;
};

// Largest accepted prefetch distance (beyond a few pages prefetches only evict useful lines).
constexpr int32_t kMaxStreamPrefetchBytes = 1 << 16;

// Values outside [0, kMaxStreamPrefetchBytes] are clamped; the distance is rounded down to 64 bytes.
void set_stream_tuning(const StreamTuning& tuning);
StreamTuning stream_tuning();

}  // namespace rg
