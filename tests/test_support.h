// Helpers shared by the test files.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

// Expects `stmt` to throw `ExType` whose what() contains `substr`.
#define EXPECT_THROW_MSG(stmt, ExType, substr)                                          \
  do {                                                                                  \
    bool posefer_thrown = false;                                                        \
    try {                                                                               \
      stmt;                                                                             \
    } catch (const ExType& posefer_e) {                                                 \
      posefer_thrown = true;                                                            \
      EXPECT_NE(std::string(posefer_e.what()).find(substr), std::string::npos)          \
          << "message was: " << posefer_e.what();                                       \
    }                                                                                   \
    EXPECT_TRUE(posefer_thrown) << "expected " #ExType " from " #stmt;                  \
  } while (0)

namespace posefer::test {

// A fresh empty directory under the system temp dir, unique per test.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() / "posefer_tests" /
             (std::string(info->test_suite_name()) + "_" + info->name() + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace posefer::test
