// Shared helpers for the data-layer tests: scratch directories, fixture images, error checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace posefer {
namespace testing_util {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("posefer_") + info->test_suite_name() + "_" + info->name() +
                       "_" + std::to_string(::getpid());
    path_ = fs::temp_directory_path() / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Writes a small image (any OpenCV type), creating parent folders.
inline void write_image(const std::string& path, const cv::Mat& img) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, img)) << path;
}

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// True when one string of `v` holds both `a` and `b` (e.g. a skipped file and its reason).
inline bool any_contains(const std::vector<std::string>& v, const std::string& a,
                         const std::string& b) {
  for (const auto& s : v) {
    if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) return true;
  }
  return false;
}

inline cv::Mat grey(int h, int w, int value) { return cv::Mat(h, w, CV_8UC1, cv::Scalar(value)); }

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs f and checks it throws E with `needle` in the message.
template <class E, class F>
void expect_throw_with(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an exception containing '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type, message: " << e.what();
  }
}

inline std::string shared_dir() { return POSEFER_SHARED_DIR; }

// `img` (BGR or grey) encoded as a JPEG carrying an EXIF APP1 segment, right after SOI, whose
// only tag is Orientation = `orientation` (1..8; 6 = the viewer turns it 90 degrees clockwise).
inline std::string jpeg_with_exif_orientation(const cv::Mat& img, int orientation) {
  std::vector<uchar> jpg;
  cv::imencode(".jpg", img, jpg, {cv::IMWRITE_JPEG_QUALITY, 100});
  // TIFF header (big-endian "MM", 42, IFD at 8), 1 entry: tag 0x0112, SHORT, count 1, value;
  // no next IFD.
  const std::string tiff = std::string("MM\0\x2A\0\0\0\x08", 8) + std::string("\0\x01", 2) +
                           std::string("\x01\x12\0\x03\0\0\0\x01\0", 9) +
                           static_cast<char>(orientation) + std::string("\0\0\0\0\0\0", 6);
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t len = payload.size() + 2;
  const std::string app1 = std::string("\xFF\xE1", 2) + static_cast<char>(len >> 8) +
                           static_cast<char>(len & 0xFF) + payload;
  const std::string bytes(jpg.begin(), jpg.end());
  return bytes.substr(0, 2) + app1 + bytes.substr(2);
}

}  // namespace testing_util
}  // namespace posefer
