// A private, 64-byte aligned heap block for weights the engine converts or copies at load. Large
// blocks are mapped anonymously and, when asked, advised onto transparent 2 MiB pages: streaming
// gigabytes of weights per token through 4 KiB pages costs ~18 % of read bandwidth on the
// machines we measured (TLB misses), see the README "Performance" section.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rg {

class OwnedBuffer {
 public:
  OwnedBuffer() = default;
  // Throws std::bad_alloc when the memory cannot be had.
  OwnedBuffer(size_t bytes, bool huge_pages);
  ~OwnedBuffer();
  OwnedBuffer(OwnedBuffer&& o) noexcept;
  OwnedBuffer& operator=(OwnedBuffer&& o) noexcept;
  OwnedBuffer(const OwnedBuffer&) = delete;
  OwnedBuffer& operator=(const OwnedBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // True when the block was mapped and advised MADV_HUGEPAGE (the kernel may still fall back).
  bool huge() const { return huge_; }

 private:
  void release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;   // bytes mapped with mmap (0: allocated with the aligned heap)
  bool huge_ = false;
};

// Bytes of this process's memory currently backed by transparent huge pages (AnonHugePages
// summed over /proc/self/smaps_rollup); -1 where unknown.
int64_t anon_huge_page_bytes();

}  // namespace rg
