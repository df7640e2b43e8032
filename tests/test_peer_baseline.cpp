// Tests of the face-api peer baseline: class mapping and a scored run on labelled photos.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "posefer/core/check.h"
#include "posefer/eval/peer_baseline.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

TEST(FacePeer, ClassMappingByMeaning) {
  // FER2013's names: one face-api class each.
  const auto fer = faceapi_class_mapping({"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"});
  const std::vector<std::vector<int>> expect = {{3}, {5}, {4}, {1}, {0}, {2}, {6}};
  EXPECT_EQ(fer, expect);
  // GENKI: smile <- happy, non_smile <- the other six.
  const auto genki = faceapi_class_mapping({"non_smile", "smile"});
  EXPECT_EQ(genki[1], std::vector<int>({1}));
  EXPECT_EQ(genki[0], std::vector<int>({0, 2, 3, 4, 5, 6}));
  // CMU: four classes, the other three face-api classes are ignored.
  EXPECT_EQ(faceapi_class_mapping({"neutral", "happy", "sad", "angry"}),
            (std::vector<std::vector<int>>{{0}, {1}, {2}, {3}}));
  EXPECT_THROW_MSG(faceapi_class_mapping({"happy", "contempt"}), ConfigError, "'contempt'");
}

TEST(FacePeer, ScoresLabelledPhotos) {
  const fs::path inputs = fs::path(POSEFER_SHARED_DIR) / "reference" / "faceapi" / "inputs";
  if (!fs::exists(inputs / "sample3.png")) GTEST_SKIP() << "reference images not present: " << inputs;
  if (!fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "tiny_face_detector_model"))) {
    GTEST_SKIP() << "face-api weights not installed (run scripts/setup.sh or set POSEFER_MODELS)";
  }
  const auto dir = test::fresh_dir("p");
  {
    // face-api on the largest faces: sample3 happy (1.0), sample2 sad (0.97); sample5's largest
    // face is happy too, labelled sad here to get one error.
    std::ofstream csv(dir / "m.csv");
    csv << "path,subject,expression,pose\n"
        << (inputs / "sample3.png").string() << ",a,happy,front\n"
        << (inputs / "sample2.png").string() << ",b,sad,front\n"
        << (inputs / "sample5.png").string() << ",c,sad,front\n"
        << "bad.png,d,sad,front\n";
  }
  { std::ofstream(dir / "bad.png") << "not an image"; }
  PeerEvalJob job;
  job.data = "manifest:" + (dir / "m.csv").string();
  job.fold = "all";
  job.progress = false;
  const auto r = run_peer_eval(job);
  EXPECT_EQ(r.failed, 1);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("bad.png"), std::string::npos);
  ASSERT_EQ(r.report.count, 3);
  EXPECT_NEAR(r.report.accuracy, 2.0 / 3.0, 1e-9);
  EXPECT_NE(r.to_markdown("t").find("happy <- happy"), std::string::npos);
}

}  // namespace
}  // namespace posefer
