#include "cpu_identity.h"

#include "cpu_features.h"

#include <cstring>
#include <mutex>

#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace rg {


CpuIdentity cpu_identity() {
  CpuIdentity id;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  id.vendor = vendor;
  cpuid(1, 0, r);
  const unsigned base_family = (r[0] >> 8) & 0xf, base_model = (r[0] >> 4) & 0xf;
  id.stepping = static_cast<int>(r[0] & 0xf);
  id.family = static_cast<int>(base_family == 0xf ? base_family + ((r[0] >> 20) & 0xff) : base_family);
  id.model = static_cast<int>(base_family == 0x6 || base_family == 0xf ? (((r[0] >> 16) & 0xf) << 4) | base_model : base_model);
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    id.amx_bf16 = (r[3] >> 22) & 1;
    id.amx_tile = (r[3] >> 24) & 1;
    id.amx_int8 = (r[3] >> 25) & 1;
  }
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    std::string s(brand);
    const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    id.model_name = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  }
#endif
  return id;
}

bool amx_usable(std::string* why) {
  static std::once_flag once;
  static bool ok = false;
  static std::string reason;
  std::call_once(once, [] {
    const CpuIdentity id = cpu_identity();
    if (!id.amx_tile) {
      reason = "the CPU does not report AMX";
      return;
    }
#if defined(__linux__) && (defined(__x86_64__) || defined(_M_X64))
    constexpr int kArchReqXcompPerm = 0x1023;  // asm/prctl.h
    constexpr int kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
      reason = "the kernel refused the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM)";
      return;
    }
    ok = true;
#else
    reason = "AMX permission is only requested on Linux";
#endif
  });
  if (why) *why = reason;
  return ok;
}

}  // namespace rg
