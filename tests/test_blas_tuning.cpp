#include "posefer/core/blas_tuning.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace posefer {
namespace {

TEST(BlasTuning, ForcesModernKernelsOnlyOverFallbacks) {
  EXPECT_EQ(recommended_openblas_core("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(recommended_openblas_core("Prescott", true, false), "Haswell");
  EXPECT_EQ(recommended_openblas_core("Sandybridge", true, false), "Haswell");
  EXPECT_EQ(recommended_openblas_core("Prescott", false, false), "");  // nothing better to run
  EXPECT_EQ(recommended_openblas_core("Haswell", true, true), "");     // already modern
  EXPECT_EQ(recommended_openblas_core("SkylakeX", true, true), "");
  EXPECT_EQ(recommended_openblas_core("Zen", true, false), "");
  EXPECT_EQ(recommended_openblas_core("", true, true), "");            // not OpenBLAS
}

TEST(BlasTuning, ReportsTheLoadedOpenBlasCore) {
  // The test program links LibTorch, which loads Debian's OpenBLAS (libopenblas0-openmp).
  const std::string core = openblas_core();
  ASSERT_FALSE(core.empty()) << "OpenBLAS is not loaded in this process";
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  if (forced && *forced) {
    EXPECT_EQ(recommended_openblas_core(), "") << "core " << core << " with OPENBLAS_CORETYPE=" << forced;
  }
}

}  // namespace
}  // namespace posefer
