#include "amx_peak.h"

#include <cstring>

namespace rg::bench {

#if defined(__x86_64__) && defined(__GNUC__)
namespace {

// The instructions are emitted as bytes (their encodings, operands fixed below) so the build does
// not depend on the assembler knowing AMX.
#define RG_LDTILECFG_RDI ".byte 0xc4, 0xe2, 0x78, 0x49, 0x07\n"  // ldtilecfg (%rdi)
#define RG_TILERELEASE ".byte 0xc4, 0xe2, 0x78, 0x49, 0xc0\n"    // tilerelease
// tileloadd (%rsi, %rax, 1), %tmmN
#define RG_TILELOADD(modrm) ".byte 0xc4, 0xe2, 0x7b, 0x4b, " modrm ", 0x06\n"

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-3: 16 x 16 fp32 / int32 accumulators; 4, 5: A (16 rows x 64 bytes); 6, 7: B (16 x 64).
void load_tiles(const TileConfig* cfg, const uint8_t* a, const uint8_t* zeros) {
  __asm__ __volatile__(RG_LDTILECFG_RDI ::"D"(cfg) : "memory");
  __asm__ __volatile__(RG_TILELOADD("0x04") RG_TILELOADD("0x0c") RG_TILELOADD("0x14") RG_TILELOADD("0x1c")
                       ::"S"(zeros), "a"(int64_t{64}) : "memory");  // tmm0-3
  __asm__ __volatile__(RG_TILELOADD("0x24") RG_TILELOADD("0x2c") RG_TILELOADD("0x34") RG_TILELOADD("0x3c")
                       ::"S"(a), "a"(int64_t{64}) : "memory");  // tmm4-7
}

template <bool Int8>
double loop(int64_t iters) {
  TileConfig cfg;
  for (int i = 0; i < 8; ++i) cfg.colsb[i] = 64, cfg.rows[i] = 16;
  alignas(64) uint8_t a[16 * 64], zeros[16 * 64] = {};
  // Small bf16 values (2^-10: bytes 0x80 0x3a) or small int8 values: no overflow to inf.
  for (int i = 0; i < 16 * 64; ++i) a[i] = Int8 ? 1 : (i & 1 ? 0x3a : 0x80);
  load_tiles(&cfg, a, zeros);
  for (int64_t i = 0; i < iters; ++i) {
    if constexpr (Int8)  // tdpbusd tmm0 += tmm4.tmm6, tmm1 += tmm4.tmm7, tmm2 += tmm5.tmm6, tmm3 += tmm5.tmm7
      __asm__ __volatile__(".byte 0xc4, 0xe2, 0x49, 0x5e, 0xc4\n.byte 0xc4, 0xe2, 0x41, 0x5e, 0xcc\n"
                           ".byte 0xc4, 0xe2, 0x49, 0x5e, 0xd5\n.byte 0xc4, 0xe2, 0x41, 0x5e, 0xdd\n");
    else  // tdpbf16ps, same operands
      __asm__ __volatile__(".byte 0xc4, 0xe2, 0x4a, 0x5c, 0xc4\n.byte 0xc4, 0xe2, 0x42, 0x5c, 0xcc\n"
                           ".byte 0xc4, 0xe2, 0x4a, 0x5c, 0xd5\n.byte 0xc4, 0xe2, 0x42, 0x5c, 0xdd\n");
  }
  __asm__ __volatile__(RG_TILERELEASE ::: "memory");
  // Per instruction: 16 x 16 outputs, each a dot of 32 bf16 pairs / 64 int8 quads-of-bytes.
  return static_cast<double>(iters) * 4 * 16 * 16 * (Int8 ? 64 : 32) * 2;
}

}  // namespace

double amx_bf16_loop(int64_t iters) { return loop<false>(iters); }
double amx_int8_loop(int64_t iters) { return loop<true>(iters); }
#else
double amx_bf16_loop(int64_t) { return 0; }
double amx_int8_loop(int64_t) { return 0; }
#endif

}  // namespace rg::bench
