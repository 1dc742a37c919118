#include "thread_pool.h"

#include <algorithm>
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

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  for (;;) {
    const int64_t begin = next_.fetch_add(chunk_);
    if (begin >= total_) return;
    (*job_)(begin, std::min(total_, begin + chunk_));
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_chunks();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t total, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t threads = size();
  if (workers_.empty() || total <= grain) {
    fn(0, total);
    return;
  }
  std::lock_guard<std::mutex> region(region_mutex_);
  // A few chunks per thread balance uneven progress without much scheduling overhead.
  const int64_t chunk = std::max(grain, (total + threads * 4 - 1) / (threads * 4));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    total_ = total;
    chunk_ = chunk;
    next_.store(0);
    active_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  run_chunks();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return active_ == 0; });
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
