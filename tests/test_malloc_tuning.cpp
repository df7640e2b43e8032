// malloc_tuning.h: when posefer's mallopt settings apply, and that applying them leaves
// allocation working (large blocks, then the heap's top freed and reused).
#include "posefer/core/malloc_tuning.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace posefer {
namespace {

TEST(MallocTuning, AppliesOnlyWhenTheUserDoesNotTuneMallocAlready) {
  EXPECT_TRUE(want_malloc_tuning(nullptr, nullptr, nullptr, nullptr, nullptr));
  EXPECT_TRUE(want_malloc_tuning("glibc.rtld.optional_static_tls=2048", nullptr, nullptr, nullptr, "1"));
  EXPECT_FALSE(want_malloc_tuning(nullptr, nullptr, nullptr, nullptr, "0"));
  EXPECT_FALSE(want_malloc_tuning("glibc.malloc.trim_threshold=0", nullptr, nullptr, nullptr, nullptr));
  EXPECT_FALSE(want_malloc_tuning("glibc.cpu.x86_ibt=on:glibc.malloc.arena_max=2", nullptr, nullptr, nullptr, nullptr));
  EXPECT_FALSE(want_malloc_tuning(nullptr, "65536", nullptr, nullptr, nullptr));
  EXPECT_FALSE(want_malloc_tuning(nullptr, nullptr, "0", nullptr, nullptr));
  EXPECT_FALSE(want_malloc_tuning(nullptr, nullptr, nullptr, "0", nullptr));
}

TEST(MallocTuning, ApplyingDescribesItAndAllocationStillWorks) {
  const char* off = std::getenv("POSEFER_MALLOC_TUNING");
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string said = apply_malloc_tuning();
#if defined(__GLIBC__)
  if ((off == nullptr || std::strcmp(off, "0") != 0) && (tunables == nullptr || !std::strstr(tunables, "glibc.malloc."))) {
    EXPECT_NE(said.find("blocks up to 32 MiB from the heap"), std::string::npos) << said;
    EXPECT_NE(said.find("1024 MiB of freed memory kept"), std::string::npos) << said;
  }
#endif
  // Step-like traffic: blocks of 1-24 MiB allocated, written, freed, again; contents hold.
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<unsigned char[]>> blocks;
    for (size_t mib : {1, 4, 24, 2}) {
      blocks.emplace_back(new unsigned char[mib << 20]);
      std::memset(blocks.back().get(), static_cast<int>(mib + round), mib << 20);
    }
    EXPECT_EQ(blocks[2][(24 << 20) - 1], static_cast<unsigned char>(24 + round));
    EXPECT_EQ(blocks[0][0], static_cast<unsigned char>(1 + round));
  }
}

}  // namespace
}  // namespace posefer
