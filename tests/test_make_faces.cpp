#include "posefer/render/make_faces.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "posefer/core/check.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
  return out;
}

MakeFacesJob small_job(const fs::path& out, int threads) {
  MakeFacesJob job;
  job.identities = 2;
  job.poses = "0,30:-15";
  job.expressions = "neutral,surprise";
  job.size = 32;
  job.intensity = 3;
  job.seed = 9;
  job.out = out.string();
  job.threads = threads;
  job.supersample = 2;
  job.progress = false;
  return job;
}

TEST(MakeFaces, WritesImagesManifestAndLandmarks) {
  const fs::path dir = test::fresh_dir("set");
  const MakeFacesResult r = make_faces(small_job(dir, 2));
  EXPECT_EQ(r.images, 8);
  EXPECT_EQ(fs::path(r.manifest), dir / "manifest.csv");
  const auto manifest = read_lines(dir / "manifest.csv");
  ASSERT_EQ(manifest.size(), 9u);
  EXPECT_EQ(manifest[0], "path,subject,expression,pose,intensity,yaw,pitch");
  EXPECT_EQ(manifest[1], "images/s0001/s0001_neutral_p+0_t+0.png,s0001,neutral,p+0_t+0,0,0.0,0.0");
  EXPECT_EQ(manifest[4], "images/s0001/s0001_surprise_p+30_t-15.png,s0001,surprise,p+30_t-15,3,30.0,-15.0");
  EXPECT_EQ(split(manifest[8])[1], "s0002");
  for (size_t i = 1; i < manifest.size(); ++i) {
    const auto f = split(manifest[i]);
    ASSERT_EQ(f.size(), 7u);
    const cv::Mat img = cv::imread((dir / f[0]).string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(img.empty()) << f[0];
    EXPECT_EQ(img.rows, 32);
    EXPECT_EQ(img.cols, 32);
    EXPECT_EQ(img.channels(), 3);
  }
  const auto landmarks = read_lines(dir / "landmarks.csv");
  ASSERT_EQ(landmarks.size(), 9u);
  EXPECT_EQ(split(landmarks[0]).size(), 1u + 68 * 3);
  EXPECT_EQ(split(landmarks[0])[1], "x0");
  const auto row = split(landmarks[1]);
  ASSERT_EQ(row.size(), 1u + 68 * 3);
  EXPECT_EQ(row[0], split(manifest[1])[0]);
  // Frontal: the nose tip (30) is near the image centre and visible.
  EXPECT_NEAR(std::stof(row[1 + 30 * 3]), 16.f, 1.5f);
  EXPECT_EQ(row[1 + 30 * 3 + 2], "1");
  // No temp files are left behind.
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(MakeFaces, SameBytesWhateverTheThreadCount) {
  const fs::path a = test::fresh_dir("a"), b = test::fresh_dir("b");
  make_faces(small_job(a, 1));
  make_faces(small_job(b, 3));
  EXPECT_EQ(read_bytes(a / "manifest.csv"), read_bytes(b / "manifest.csv"));
  EXPECT_EQ(read_bytes(a / "landmarks.csv"), read_bytes(b / "landmarks.csv"));
  const std::string img = "images/s0002/s0002_surprise_p+30_t-15.png";
  EXPECT_EQ(read_bytes(a / img), read_bytes(b / img));
  EXPECT_GT(read_bytes(a / img).size(), 100u);
}

TEST(MakeFaces, AnInterruptedRunListsWhatExistsAndResumesToTheSameBytes) {
  const fs::path whole = test::fresh_dir("whole"), part = test::fresh_dir("part");
  make_faces(small_job(whole, 1));
  MakeFacesJob job = small_job(part, 1);
  int polls = 0;
  job.should_stop = [&] { return ++polls > 2; };  // two faces (person 1, both expressions), then stop
  const MakeFacesResult r = make_faces(job);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.images, 4);
  const auto manifest = read_lines(part / "manifest.csv");
  ASSERT_EQ(manifest.size(), 5u);  // header + the 4 images that exist
  for (size_t i = 1; i < manifest.size(); ++i) EXPECT_TRUE(fs::exists(part / split(manifest[i])[0])) << manifest[i];
  EXPECT_FALSE(fs::exists(part / "images/s0002"));
  // The same command again keeps those 4 images and draws the rest: the same bytes as one run.
  job.should_stop = nullptr;
  const MakeFacesResult again = make_faces(job);
  EXPECT_FALSE(again.interrupted);
  EXPECT_EQ(again.images, 8);
  EXPECT_EQ(again.reused, 4);
  EXPECT_EQ(read_bytes(whole / "manifest.csv"), read_bytes(part / "manifest.csv"));
  EXPECT_EQ(read_bytes(whole / "landmarks.csv"), read_bytes(part / "landmarks.csv"));
  const std::string img = "images/s0002/s0002_surprise_p+30_t-15.png";
  EXPECT_EQ(read_bytes(whole / img), read_bytes(part / img));
  // Other settings into the same folder draw everything anew.
  MakeFacesJob other = small_job(part, 1);
  other.seed = 10;
  EXPECT_EQ(make_faces(other).reused, 0);
}

TEST(MakeFaces, ExpressionListsAndBadJobs) {
  EXPECT_EQ(parse_expressions("basic7").size(), 7u);
  const auto six = parse_expressions("basic6");
  ASSERT_EQ(six.size(), 6u);
  EXPECT_EQ(six.front(), Expression::kHappy);
  EXPECT_EQ(parse_expressions("sad,angry")[1], Expression::kAngry);
  EXPECT_THROW_MSG(parse_expressions("sad,bored"), ConfigError, "unknown expression 'bored'");
  const fs::path dir = test::fresh_dir("bad");
  MakeFacesJob job = small_job(dir, 1);
  job.intensity = 0;
  EXPECT_THROW_MSG(make_faces(job), ConfigError, "intensity 0");
  job = small_job(dir, 1);
  job.poses = "front";
  EXPECT_THROW_MSG(make_faces(job), ConfigError, "bad pose 'front'");
  job = small_job(dir, 1);
  job.out = "";
  EXPECT_THROW_MSG(make_faces(job), ConfigError, "--out");
}

TEST(MakeFaces, ContactSheetLayout) {
  const RgbImage sheet = face_sheet(3, 2, parse_expressions("neutral,happy"), parse_poses("-30,0,30"),
                                    16, 4, 2);
  EXPECT_EQ(sheet.width, 2 * (3 * 16 + 2 * 2) + 8);
  EXPECT_EQ(sheet.height, 2 * 16 + 2);
  const uint8_t* gap = sheet.at(16, 5);  // padding between the first two tiles is white
  EXPECT_EQ(gap[0], 255);
  const fs::path png = test::fresh_dir("sheet") / "sheet.png";
  write_rgb_png(png.string(), sheet);
  const cv::Mat back = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(back.cols, sheet.width);
  // PNG round trip keeps RGB order (OpenCV reads BGR).
  const cv::Vec3b px = back.at<cv::Vec3b>(8, 8);
  EXPECT_EQ(px[2], sheet.at(8, 8)[0]);
  EXPECT_EQ(px[0], sheet.at(8, 8)[2]);
}

}  // namespace
}  // namespace posefer
