// glibc malloc settings for training and inference loops.
//
// LibTorch allocates and frees tensors of hundreds of KiB to MiB every step. With glibc's
// defaults many of them are served by mmap and the memory freed at the heap's top is given back
// to the kernel, so every step faults the same pages in again and the kernel zero-fills them:
// measured on this repository's machine, a third of a training process's CPU time was system
// time (16,000-47,000 page faults per second). Serving blocks up to 32 MiB from the heap and
// keeping freed memory makes a joint training step at N = 64 1.6-2.2x faster (bench/README.md,
// "malloc"), with the same results. It costs memory that the process already peaked at.
#pragma once

#include <string>

namespace posefer {

// The settings applied (bytes).
struct MallocTuning {
  long mmap_threshold = 32L << 20;  // blocks below it come from the heap (glibc's maximum on 64-bit)
  long trim_threshold = 1L << 30;   // free memory at the heap's top kept up to this much
  long top_pad = 64L << 20;         // extra heap requested each time it grows
};

// Whether to apply the settings, from the process environment as given: not when the user
// already tunes malloc (GLIBC_TUNABLES naming glibc.malloc, or a MALLOC_*_ variable among
// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_), nor when
// POSEFER_MALLOC_TUNING is "0". Each argument is the variable's value, nullptr when unset.
bool want_malloc_tuning(const char* glibc_tunables, const char* mmap_threshold, const char* trim_threshold,
                        const char* top_pad, const char* posefer_malloc_tuning);

// Applies `tuning` with mallopt when want_malloc_tuning says so for this process's environment.
// The mmap threshold goes first: when glibc refuses it nothing else is changed (a trim threshold
// alone switches off glibc's adaptive mmap threshold and makes steps several times slower).
// Returns "" when nothing was changed, else a one-line description for the log. Call it once,
// at the start of main, before any large allocation; it never throws.
std::string apply_malloc_tuning(const MallocTuning& tuning = {});

}  // namespace posefer
