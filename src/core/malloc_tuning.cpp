#include "posefer/core/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace posefer {

bool want_malloc_tuning(const char* glibc_tunables, const char* mmap_threshold, const char* trim_threshold,
                        const char* top_pad, const char* posefer_malloc_tuning) {
  if (posefer_malloc_tuning != nullptr && std::strcmp(posefer_malloc_tuning, "0") == 0) return false;
  if (glibc_tunables != nullptr && std::strstr(glibc_tunables, "glibc.malloc.") != nullptr) return false;
  return mmap_threshold == nullptr && trim_threshold == nullptr && top_pad == nullptr;
}

std::string apply_malloc_tuning(const MallocTuning& tuning) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD) && defined(M_TOP_PAD)
  if (!want_malloc_tuning(std::getenv("GLIBC_TUNABLES"), std::getenv("MALLOC_MMAP_THRESHOLD_"),
                          std::getenv("MALLOC_TRIM_THRESHOLD_"), std::getenv("MALLOC_TOP_PAD_"),
                          std::getenv("POSEFER_MALLOC_TUNING"))) {
    return "";
  }
  if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(tuning.mmap_threshold)) != 1) return "";
  const bool trim = mallopt(M_TRIM_THRESHOLD, static_cast<int>(tuning.trim_threshold)) == 1;
  const bool pad = mallopt(M_TOP_PAD, static_cast<int>(tuning.top_pad)) == 1;
  return "malloc: blocks up to " + std::to_string(tuning.mmap_threshold >> 20) + " MiB from the heap" +
         (trim ? ", up to " + std::to_string(tuning.trim_threshold >> 20) + " MiB of freed memory kept" : "") +
         (pad ? ", heap grown by " + std::to_string(tuning.top_pad >> 20) + " MiB at a time" : "") +
         " (POSEFER_MALLOC_TUNING=0: glibc's defaults)";
#else
  (void)tuning;
  return "";
#endif
}

}  // namespace posefer
