// Measures this machine's ceilings in the same run as the benchmarks that are compared with them:
// sustained DRAM read bandwidth and peak arithmetic throughput (fp32 FMA, bf16 dot, int8 dot).
// Pure measurement functions: they allocate their own buffers and split work over the pool.
#pragma once
#include <cstdint>

#include "../runtime/thread_pool.h"

namespace rg::bench {

struct ReadResult {
  double gb_per_s = 0;     // best pass, 1e9 bytes per second
  double checksum = 0;     // keeps the reads from being optimised away
  bool huge_pages = false; // buffer was advised onto 2 MiB pages
};

// Reads a `bytes` buffer (much larger than the caches) `passes` times with wide vector loads, each
// pool thread streaming its own contiguous slice; returns the best pass.
ReadResult read_bandwidth(ThreadPool& pool, uint64_t bytes, int passes, bool huge_pages);

enum class PeakKind { Fma32, DotBf16, DotInt8, AmxBf16, AmxInt8 };

// Operations per second (an FMA counts 2; a bf16 pair-dot 4 per f32 lane; an int8 quad-dot 8 per
// i32 lane; AMX: per multiply-add of the tile dot product) of independent register-resident chains
// on every pool thread for about `seconds`. Returns 0 when the CPU lacks the instruction (AMX: also
// when the OS does not grant the tile state).
double compute_peak(ThreadPool& pool, PeakKind kind, double seconds);

}  // namespace rg::bench
