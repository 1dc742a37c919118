#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#if defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#elif defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX  // keep std::min usable
#endif
#include <windows.h>
#endif

namespace rg {

namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Polls ready() for about `micros` microseconds; true as soon as it holds. No yielding: on a busy
// machine a thread that yields (or spins) loses its place to other processes, where one that
// sleeps is woken with priority (measured on an oversubscribed 2-vCPU VM: a 300 us spin, with or
// without sched_yield, made decode up to ~1.5x slower; 50 us still ~5-10 % slower than sleeping).
template <typename F>
bool spin_until(F&& ready, int micros) {
  if (ready()) return true;
  if (micros <= 0) return false;
  const auto deadline = Clock::now() + std::chrono::microseconds(micros);
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (Clock::now() >= deadline) return ready();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads, int spin_us)
    : spin_us_(std::max(0, spin_us)), shares_(new Share[static_cast<size_t>(std::max(1, threads))]) {
  for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

// Takes the next chunk of a share: a fixed quarter of the share (whole grains). Fixed rather than
// shrinking: a job's call re-reads its activation panel, so prefill-sized matmuls lost ~20 % (int8
// fast prefill 512 on AMD Zen 4) when the last claims shrank down to one grain; four calls per share
// still let a thread that finishes first take over a quarter of a slower thread's rows.
bool ThreadPool::claim(Share& s, int64_t& begin, int64_t& end) {
  int64_t cur = s.next.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t left = s.end - cur;
    if (left <= 0) return false;
    const int64_t len = std::min(left, s.chunk);
    if (s.next.compare_exchange_weak(cur, cur + len, std::memory_order_relaxed)) {
      begin = cur;
      end = cur + len;
      return true;
    }
  }
}

void ThreadPool::run_shares(int self) {
  const int n = size();
  int64_t b = 0, e = 0;
  for (int k = 0; k < n; ++k) {  // own share first, then help the others
    Share& s = shares_[static_cast<size_t>((self + k) % n)];
    while (claim(s, b, e)) (*job_)(b, e);
  }
}

void ThreadPool::worker_loop(int self) {
  uint64_t seen = 0;
  for (;;) {
    auto ready = [&] { return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(ready, spin_us_)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, ready);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_shares(self);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The caller may be asleep on done_: taking the mutex orders this notify after its check.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t total, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int n = size();
  if (workers_.empty() || total <= grain) {
    fn(0, total);
    return;
  }
  std::lock_guard<std::mutex> region(region_mutex_);
  job_ = &fn;
  grain_ = grain;
  // Contiguous shares (rounded to the grain, so a matmul's row tiles stay whole).
  for (int i = 0; i < n; ++i) {
    auto edge = [&](int j) { return j == n ? total : std::min(total, total * j / n / grain * grain); };
    shares_[static_cast<size_t>(i)].next.store(edge(i), std::memory_order_relaxed);
    shares_[static_cast<size_t>(i)].end = edge(i + 1);
    const int64_t len = edge(i + 1) - edge(i);
    shares_[static_cast<size_t>(i)].chunk = std::max(grain, (len / 4 + grain - 1) / grain * grain);
  }
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    // Publishing under the mutex: a worker checking the generation before sleeping cannot miss it.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_shares(0);
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done, spin_us_)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, done);
  }
  job_ = nullptr;
}

int physical_core_count() {
  const unsigned logical = std::max(1u, std::thread::hardware_concurrency());
#if defined(__linux__)
  // Count distinct (physical id, core id) pairs so SMT siblings do not double the pool.
  std::ifstream info("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys = "0";
  while (std::getline(info, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "physical id") phys = value;
    if (key == "core id") cores.insert({phys, value});
  }
  if (!cores.empty()) return static_cast<int>(std::min<size_t>(cores.size(), logical));
#elif defined(__APPLE__)
  // hw.physicalcpu leaves out Hyper-Threading siblings on Intel Macs (Apple silicon has none).
  int n = 0;
  size_t len = sizeof(n);
  if (sysctlbyname("hw.physicalcpu", &n, &len, nullptr, 0) == 0 && n > 0)
    return std::min(n, static_cast<int>(logical));
#elif defined(_WIN32)
  // One RelationProcessorCore record per physical core, whatever its SMT siblings.
  DWORD len = 0;
  GetLogicalProcessorInformationEx(RelationProcessorCore, nullptr, &len);
  std::vector<char> buf(len);
  if (len > 0 && GetLogicalProcessorInformationEx(
                     RelationProcessorCore, reinterpret_cast<PSYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX>(buf.data()), &len)) {
    int cores = 0;
    for (DWORD off = 0; off < len;) {
      const auto* r = reinterpret_cast<const SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX*>(buf.data() + off);
      if (r->Relationship == RelationProcessorCore) ++cores;
      off += r->Size;
    }
    if (cores > 0) return std::min(cores, static_cast<int>(logical));
  }
#endif
  return static_cast<int>(logical);
}

}  // namespace rg
