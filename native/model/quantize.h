// Symmetric per-group weight quantization (the storage formats Q8 and Q4 of kernels/types.h).
// Every group of kQuantGroup consecutive weights of a row shares one float scale:
//   Q8: scale = max|w| / 127, q = round(w / scale) in [-127, 127]
//   Q4: scale = max|w| / 7,   q = round(w / scale) clamped to [-8, 7], stored as the nibble q + 8
// A group of zeros gets scale 0. Pure functions: no allocation, no threads.
#pragma once
#include <cstdint>

#include "../kernels/types.h"

namespace rg {

// True when a matrix of this shape can be stored as `format` (Q8 or Q4): whole groups per row.
inline bool quantizable(int64_t cols) { return cols > 0 && cols % kQuantGroup == 0; }

// Quantizes rows [r0, r1) of `src` (F32, BF16 or F16) into `data` (row_bytes(format, cols) per
// row, laid out for the whole matrix) and `scales` ([rows, cols / kQuantGroup]).
void quantize_rows(const Matrix& src, DType format, int64_t r0, int64_t r1, uint8_t* data, float* scales);

}  // namespace rg
