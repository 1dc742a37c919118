// A read-only memory mapping of a whole file (POSIX mmap or Win32 file mapping), with a plain
// read-into-memory fallback where mapping is unavailable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rg {

class MappedFile {
 public:
  // Throws std::runtime_error naming the file when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  void* handle_ = nullptr;           // Win32 mapping handle
  std::vector<uint8_t> fallback_;    // used when the file is empty or mapping is unavailable
};

}  // namespace rg
