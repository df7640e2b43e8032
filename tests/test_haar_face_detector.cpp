// Tests of the Haar-cascade fallback detector (OpenCV data from the opencv-data package).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "posefer/core/check.h"
#include "posefer/face/haar_face_detector.h"
#include "posefer/io/image_io.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

bool cascades_present() {
  return fs::exists(fs::path(HaarFaceDetectorConfig{}.cascade_dir) / HaarFaceDetectorConfig{}.frontal);
}

TEST(FaceHaar, MissingCascadeIsAnInputError) {
  HaarFaceDetectorConfig cfg;
  cfg.cascade_dir = test::fresh_dir("c").string();
  EXPECT_THROW_MSG(HaarFaceDetector{cfg}, InputError, "Haar cascade not found");
  std::ofstream(fs::path(cfg.cascade_dir) / cfg.frontal) << "<opencv_storage>broken";
  cfg.profile = "";
  EXPECT_THROW_MSG(HaarFaceDetector{cfg}, InputError, "cannot read Haar cascade");
}

TEST(FaceHaar, FindsTheFaceInAReferencePhotoAndNothingInABlankOne) {
  if (!cascades_present()) GTEST_SKIP() << "opencv-data Haar cascades not installed";
  const fs::path img = fs::path(POSEFER_SHARED_DIR) / "reference" / "faceapi" / "inputs" / "sample3.png";
  if (!fs::exists(img)) GTEST_SKIP() << "reference image not present: " << img;
  HaarFaceDetector haar;
  const auto boxes = haar.detect(read_image(img.string(), 3));
  ASSERT_FALSE(boxes.empty());
  // face-api's best face in sample3: (1005.3, 252.2, 323.9 x 275.2); frontal cascade finds it.
  double best = 0;
  for (const auto& b : boxes) best = std::max(best, box_iou(b, {1005.3, 252.2, 323.9, 275.2}));
  EXPECT_GT(best, 0.5);
  EXPECT_TRUE(haar.detect(torch::full({1, 240, 320}, 90, torch::kUInt8)).empty());
  EXPECT_THROW(haar.detect(torch::zeros({2, 10, 10}, torch::kUInt8)), ShapeError);
}

}  // namespace
}  // namespace posefer
