// Plain data types shared by every kernel: element types and a read-only view of a weight matrix.
// Nothing here allocates, throws or knows about N-API.
#pragma once
#include <cstdint>
#include <cstring>

namespace rg {

enum class DType : int32_t { F32 = 0, BF16 = 1, F16 = 2, Q8 = 3, Q4 = 4 };

// Quantized formats store one float scale per group of kQuantGroup consecutive weights of a row.
constexpr int64_t kQuantGroup = 32;

// A weight matrix in PyTorch nn.Linear layout: `rows` outputs, each a contiguous run of `cols`
// inputs (y = W x). For Q8 the data is int8 [rows, cols]; for Q4 it is packed nibbles
// [rows, cols / 2] (low nibble = even column, value = nibble - 8); both use `scales`
// [rows, cols / kQuantGroup]. Rows are packed (row r starts row_bytes(dtype, cols) * r bytes in):
// a view never has a stride of its own, so a slice of rows is a pointer offset plus a smaller
// `rows`, and the RG-LRU gate blocks are separate [bw, bw] matrices.
struct Matrix {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const float* scales = nullptr;
};

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round-to-nearest-even float32 -> bfloat16 (NaN kept quiet).
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) { mant <<= 1; --exp; }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Bytes one row of a matrix occupies in storage.
inline int64_t row_bytes(DType t, int64_t cols) {
  switch (t) {
    case DType::F32: return cols * 4;
    case DType::BF16:
    case DType::F16: return cols * 2;
    case DType::Q8: return cols;
    case DType::Q4: return cols / 2;
  }
  return 0;
}

}  // namespace rg
