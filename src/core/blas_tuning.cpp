#include "posefer/core/blas_tuning.h"

#include <algorithm>
#include <cctype>

// Exported by OpenBLAS; weak so that posefer also links and runs with another BLAS.
extern "C" char* openblas_get_corename(void) __attribute__((weak));

namespace posefer {

std::string openblas_core() {
  if (openblas_get_corename == nullptr) return "";
  const char* name = openblas_get_corename();
  return name ? std::string(name) : std::string();
}

std::string recommended_openblas_core(const std::string& detected, bool avx2_fma, bool avx512) {
  std::string d = detected;
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Kernel sets older than AVX2: what OpenBLAS falls back to for CPUs it does not recognise.
  static const char* kOld[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "katmai",
                               "coppermine", "northwood", "banias", "atom", "sandybridge", "unknown"};
  const bool old = d.empty() ? false : std::any_of(std::begin(kOld), std::end(kOld),
                                                   [&](const char* k) { return d == k; });
  if (!old) return "";
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

std::string recommended_openblas_core() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return recommended_openblas_core(openblas_core(), avx2_fma, avx512);
#else
  return "";
#endif
}

}  // namespace posefer
