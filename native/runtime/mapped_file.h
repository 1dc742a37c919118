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

  // Drops this process's pages of the whole pages inside [p, p + n) (a range of this mapping):
  // the mapping is private and read-only, so a page touched again is simply re-read from the file.
  // Used once a tensor has been copied or quantized out of the mapping, so its source stops
  // counting towards the resident set. Returns the bytes released (0 where unsupported).
  uint64_t release(const uint8_t* p, uint64_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  void* handle_ = nullptr;           // Win32 mapping handle
  std::vector<uint8_t> fallback_;    // used when the file is empty or mapping is unavailable
};

}  // namespace rg
