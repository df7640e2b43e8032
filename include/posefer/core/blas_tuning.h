// OpenBLAS kernel selection. Debian's OpenBLAS chooses its kernels from the CPU model when it is
// loaded; on virtual machines that report a generic CPU ("Intel Xeon Processor") it falls back to
// its SSE3 "Prescott" kernels: measured here, a float32 matmul then runs at ~27 GFLOP/s instead
// of ~90, and LibTorch's Linear layers and ConvTranspose2d (which use BLAS, not oneDNN) slow
// down 2-4x. OPENBLAS_CORETYPE fixes it but must be set before the library loads, so the CLI
// re-executes itself once with it set (apps/main.cpp).
#pragma once

#include <string>

namespace posefer {

// The kernel set OpenBLAS runs ("Prescott", "Haswell", "SkylakeX", ...), or "" when OpenBLAS is
// not loaded in this process.
std::string openblas_core();

// Which OPENBLAS_CORETYPE to force: "SkylakeX" when the CPU has AVX-512 (F, BW, DQ, VL),
// "Haswell" when it has AVX2 + FMA, and only when the detected core is one of OpenBLAS's
// fallbacks (Prescott, Core2, Nehalem, Sandybridge, Katmai, ...) or unknown; "" otherwise.
std::string recommended_openblas_core(const std::string& detected, bool avx2_fma, bool avx512);

// The same for this process and CPU ("" when nothing should change).
std::string recommended_openblas_core();

}  // namespace posefer
