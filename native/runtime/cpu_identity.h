// Which CPU this is (vendor, family / model, the brand string) and whether AMX tiles are usable.
// The identity keys per-machine tuning (lib/tuning/) and is printed by the benchmarks; AMX is
// reported so a later AMX kernel level (and the benchmark's AMX peaks) can be chosen at run time.
#pragma once
#include <string>

namespace rg {

struct CpuIdentity {
  std::string vendor;      // "GenuineIntel", "AuthenticAMD", ... ("" when unknown)
  std::string model_name;  // brand string, e.g. "AMD EPYC 9R14 96-Core Processor" (trimmed)
  int family = 0, model = 0, stepping = 0;  // display family / model (extended fields folded in)
  // CPUID reports the AMX extensions (the OS may still refuse the tile state, see amx_usable).
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;
};

CpuIdentity cpu_identity();

// True when the CPU reports AMX-TILE and the OS grants this process the tile data state (Linux:
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), requested once per process). Otherwise
// false, with the reason in `why` (when given).
bool amx_usable(std::string* why = nullptr);

}  // namespace rg
