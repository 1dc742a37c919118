#include "owned_buffer.h"

#include <cstdlib>
#include <fstream>
#include <new>
#include <string>

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

namespace rg {

static constexpr size_t kAlign = 64;
static constexpr size_t kHugePage = size_t{2} << 20;

OwnedBuffer::OwnedBuffer(size_t bytes, bool huge_pages) : size_(bytes) {
  if (bytes == 0) return;
#if !defined(_WIN32)
  if (bytes >= kHugePage) {
    // Over-map by one huge page so the block can start on a 2 MiB boundary: THP only backs
    // aligned 2 MiB extents. The block is rounded up to whole huge pages *before* over-mapping,
    // so the aligned body always lies inside the mapping (otherwise releasing it could unmap a
    // neighbouring mapping — it once unmapped the addon's own code).
    const size_t body = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    const size_t want = huge_pages ? body + kHugePage : bytes;
    void* p = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    uint8_t* base = static_cast<uint8_t*>(p);
    uint8_t* start = base;
    if (huge_pages) {
      const uintptr_t a = (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1);
      start = reinterpret_cast<uint8_t*>(a);
      // Give back the unaligned head and the tail beyond the rounded-up end.
      if (start > base) munmap(base, static_cast<size_t>(start - base));
      const size_t tail = want - static_cast<size_t>(start - base) - body;
      if (tail > 0) munmap(start + body, tail);
      mapped_ = body;
#if defined(MADV_HUGEPAGE)
      huge_ = madvise(start, body, MADV_HUGEPAGE) == 0;
#endif
    } else {
      mapped_ = want;
    }
    data_ = start;
    return;
  }
#endif
  (void)huge_pages;
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
#if defined(_WIN32)
  data_ = static_cast<uint8_t*>(_aligned_malloc(rounded, kAlign));
#else
  data_ = static_cast<uint8_t*>(std::aligned_alloc(kAlign, rounded));
#endif
  if (!data_) throw std::bad_alloc();
}

void OwnedBuffer::release() {
  if (!data_) return;
#if !defined(_WIN32)
  if (mapped_) munmap(data_, mapped_);
  else std::free(data_);
#else
  _aligned_free(data_);
#endif
  data_ = nullptr;
  size_ = mapped_ = 0;
  huge_ = false;
}

OwnedBuffer::~OwnedBuffer() { release(); }

OwnedBuffer::OwnedBuffer(OwnedBuffer&& o) noexcept
    : data_(o.data_), size_(o.size_), mapped_(o.mapped_), huge_(o.huge_) {
  o.data_ = nullptr;
  o.size_ = o.mapped_ = 0;
  o.huge_ = false;
}

OwnedBuffer& OwnedBuffer::operator=(OwnedBuffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    huge_ = o.huge_;
    o.data_ = nullptr;
    o.size_ = o.mapped_ = 0;
    o.huge_ = false;
  }
  return *this;
}

int64_t anon_huge_page_bytes() {
#if defined(__linux__)
  std::ifstream f("/proc/self/smaps_rollup");
  std::string key;
  while (f >> key) {
    if (key == "AnonHugePages:") {
      int64_t kb = 0;
      f >> kb;
      return kb * 1024;
    }
    std::string rest;
    std::getline(f, rest);
  }
#endif
  return -1;
}

}  // namespace rg
