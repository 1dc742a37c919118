// A fixed set of worker threads that split index ranges; threads are created once, never per call.
// Calls from several threads at once are serialised (one parallel region at a time), which keeps
// the workers' caches and the memory bus for one job.
//
// Scheduling (why): a decode step is ~200 memory-bound matvecs of 0.1-100 ms each, and on CPUs
// where one core streams only half the DRAM bandwidth (Intel Xeon) every thread must stream for
// the whole call. So each thread starts at once on its own contiguous share of the range (no
// thread can take most of the work before the others wake), claims it in shrinking chunks, and
// then helps finish the others' shares (the tail stays within one grain). Between regions the
// workers can poll for `spin_us` before sleeping, so the next matmul of a step reaches them in
// well under a microsecond instead of a futex wake-up (tens of microseconds in a VM). Off by
// default: on a busy (shared) machine every polling length measured slower than sleeping, and on
// an idle one the wake-ups cost ~1-2 % of a decode step.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rg {

class ThreadPool {
 public:
  // spin_us: how long an idle worker (and a caller waiting for workers) polls before sleeping (0 = never).
  explicit ThreadPool(int threads, int spin_us = kDefaultSpinMicros);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  static constexpr int kDefaultSpinMicros = 0;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  int spin_micros() const { return spin_us_; }

  // Calls fn(begin, end) on disjoint ranges covering [0, total), each at least `grain` long
  // (except the last of a share), on the calling thread and the workers. Returns when all are
  // done. Thread i's share is [total * i / size(), total * (i + 1) / size()), rounded to grain.
  void parallel_for(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  // One thread's share of the current region, on its own cache line.
  struct alignas(64) Share {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
    int64_t chunk = 1;  // a quarter of the share (whole grains): each call of the job covers this much
  };
  void worker_loop(int self);
  void run_shares(int self);
  bool claim(Share& s, int64_t& begin, int64_t& end);

  const int spin_us_;
  std::unique_ptr<Share[]> shares_;  // one per thread (index 0 = the calling thread)
  std::vector<std::thread> workers_;
  std::mutex region_mutex_;  // one parallel region at a time
  std::mutex mutex_;         // guards sleeping and waking
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t grain_ = 1;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // workers still inside the current region
  std::atomic<bool> stop_{false};
};

// Number of physical cores (falls back to logical CPUs when unknown).
int physical_core_count();

}  // namespace rg
