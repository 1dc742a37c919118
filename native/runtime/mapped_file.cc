#include "mapped_file.h"

#include <stdexcept>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace rg {

#if defined(_WIN32)
MappedFile::MappedFile(const std::string& path) : path_(path) {
  HANDLE file = CreateFileA(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                            FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) throw std::runtime_error("cannot open " + path);
  if (GetFileType(file) != FILE_TYPE_DISK) {
    CloseHandle(file);
    throw std::runtime_error(path + " is not a regular file");
  }
  LARGE_INTEGER size;
  if (!GetFileSizeEx(file, &size)) {
    CloseHandle(file);
    throw std::runtime_error("cannot stat " + path);
  }
  size_ = static_cast<uint64_t>(size.QuadPart);
  if (size_ == 0) {
    CloseHandle(file);
    data_ = fallback_.data();
    return;
  }
  HANDLE mapping = CreateFileMappingA(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
  CloseHandle(file);
  if (!mapping) throw std::runtime_error("cannot map " + path);
  data_ = static_cast<const uint8_t*>(MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0));
  if (!data_) {
    CloseHandle(mapping);
    throw std::runtime_error("cannot map " + path);
  }
  handle_ = mapping;
}

uint64_t MappedFile::release(const uint8_t*, uint64_t) const { return 0; }

MappedFile::~MappedFile() {
  if (handle_) {
    UnmapViewOfFile(data_);
    CloseHandle(static_cast<HANDLE>(handle_));
  }
}
#else
MappedFile::MappedFile(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a named pipe for reading would otherwise wait for a writer forever.
  // It changes nothing for a regular file, the only kind mapped (the last check, after the
  // TypeScript side's: a FIFO, socket or device cannot stand in for weights).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot stat " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + " is not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ == 0) {
    ::close(fd);
    data_ = fallback_.data();
    return;
  }
  void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw std::runtime_error("cannot map " + path);
  data_ = static_cast<const uint8_t*>(p);
  handle_ = p;
}

uint64_t MappedFile::release(const uint8_t* p, uint64_t n) const {
  if (!handle_ || p < data_ || n == 0 || static_cast<uint64_t>(p - data_) + n > size_) return 0;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (e <= b) return 0;
  if (madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED) != 0) return 0;
  return e - b;
}

MappedFile::~MappedFile() {
  if (handle_) munmap(handle_, size_);
}
#endif

}  // namespace rg
