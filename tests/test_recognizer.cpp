// posefer::Recognizer: face-api's expression net and a tiny saved run on a real photo, the same
// results from several threads, head pose from a model file, and the errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "posefer/core/check.h"
#include "posefer/train/checkpoint.h"
#include "posefer/jobs/classify.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/data/dataset_util.h"
#include "posefer/face/face_detector.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/face/head_pose.h"
#include "posefer/io/image_io.h"
#include "posefer/model/joint_model.h"
#include "posefer/api/recognizer.h"
#include "test_support.h"
#include "train_test_util.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

const std::string kSample = std::string(POSEFER_SHARED_DIR) + "/reference/faceapi/inputs/sample1.png";

bool faceapi_weights_present() {
  return fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "tiny_face_detector_model")) &&
         fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "face_expression_model"));
}

#define SKIP_WITHOUT_SAMPLE()                                                                   \
  if (!faceapi_weights_present())                                                               \
    GTEST_SKIP() << "face-api weights not installed in " << default_faceapi_model_dir()        \
                 << " (run scripts/setup.sh or set POSEFER_MODELS)";                            \
  if (!fs::exists(kSample)) GTEST_SKIP() << "sample photo not present: " << kSample

class RecognizerTest : public test::QuietSingleThreadTest {};

void expect_same(const std::vector<RecognizedFace>& a, const std::vector<RecognizedFace>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].box.x, b[i].box.x);
    EXPECT_EQ(a[i].box.width, b[i].box.width);
    EXPECT_EQ(a[i].expression, b[i].expression);
    ASSERT_EQ(a[i].probabilities.size(), b[i].probabilities.size());
    for (size_t k = 0; k < a[i].probabilities.size(); ++k) EXPECT_EQ(a[i].probabilities[k], b[i].probabilities[k]);
    ASSERT_EQ(a[i].landmarks.size(), b[i].landmarks.size());
    for (size_t k = 0; k < a[i].landmarks.size(); ++k) EXPECT_EQ(a[i].landmarks[k].x, b[i].landmarks[k].x);
  }
}

TEST_F(RecognizerTest, FaceapiFindsTheFacesOfTheSamplePhotoAsFaceApiDoes) {
  SKIP_WITHOUT_SAMPLE();
  const Recognizer rec("faceapi");
  ASSERT_EQ(rec.labels().size(), 7u);
  EXPECT_EQ(rec.labels()[1], "happy");
  EXPECT_TRUE(rec.pose_labels().empty());
  EXPECT_EQ(rec.info().input_size, 112);
  const cv::Mat bgr = cv::imread(kSample, cv::IMREAD_COLOR);
  RecognizeTimings t;
  const auto faces = rec.recognize(bgr, &t);
  EXPECT_GT(t.detect_ms, 0);
  EXPECT_GT(t.classify_ms, 0);
  // The face front end (FaceDetector with the expression net) on the same photo.
  const auto ref = FaceDetector().detect(read_image(kSample, 3));
  ASSERT_GE(ref.size(), 1u);
  ASSERT_EQ(faces.size(), ref.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& f = faces[i];
    EXPECT_NEAR(f.box.x, ref[i].box.x, 1e-6);
    EXPECT_NEAR(f.box.height, ref[i].box.height, 1e-6);
    EXPECT_NEAR(f.score, ref[i].score, 1e-9);
    ASSERT_EQ(f.landmarks.size(), 68u);
    ASSERT_EQ(f.probabilities.size(), 7u);
    double sum = 0;
    for (size_t k = 0; k < 7; ++k) {
      EXPECT_NEAR(f.probabilities[k], ref[i].expressions[k], 1e-5) << "face " << i << " class " << k;
      sum += f.probabilities[k];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(f.expression, rec.labels()[f.expression_index]);
    EXPECT_EQ(f.confidence, f.probabilities[f.expression_index]);
    EXPECT_TRUE(std::isfinite(f.roll));
    EXPECT_GT(f.roll, -90);
    EXPECT_LT(f.roll, 90);
    EXPECT_FALSE(f.has_yaw_pitch);
    EXPECT_TRUE(std::isnan(f.yaw));
    EXPECT_TRUE(std::isnan(f.pitch));
    EXPECT_EQ(f.pose_index, -1);
    EXPECT_EQ(f.source, "detector");
  }
  // A grey photo has no face; grey (1-channel) and BGRA input are accepted.
  EXPECT_TRUE(rec.recognize(cv::Mat(240, 320, CV_8UC1, cv::Scalar(128))).empty());
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  expect_same(rec.recognize(bgra), faces);
}

TEST_F(RecognizerTest, FourThreadsAtOnceGetTheSameResults) {
  SKIP_WITHOUT_SAMPLE();
  const Recognizer rec("faceapi");
  const cv::Mat bgr = cv::imread(kSample, cv::IMREAD_COLOR);
  const auto expected = rec.recognize(bgr);
  ASSERT_FALSE(expected.empty());
  std::vector<std::vector<RecognizedFace>> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      got[2 * t] = rec.recognize(bgr);
      got[2 * t + 1] = rec.recognize(bgr);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) expect_same(g, expected);
}

// `posefer classify --face detect` of the sample photo with `checkpoint` (and its ensemble): the CSV.
std::string classify_sample(const std::string& checkpoint, const std::vector<std::string>& ensemble = {}) {
  ClassifyJob job;
  job.checkpoint = checkpoint;
  job.ensemble = ensemble;
  job.inputs = {kSample};
  job.face = FaceMode::kDetect;
  job.threads = 1;
  job.progress = false;
  return run_classify_job(job).csv;
}

TEST_F(RecognizerTest, ARunGivesItsClassesAndPoseBinsAsClassifyDoes) {
  SKIP_WITHOUT_SAMPLE();
  const fs::path dir = test::fresh_dir("run");
  TrainConfig config = test::tiny_train_config();
  config.data.spec = "manifest:" + (dir / "data.csv").string();
  torch::manual_seed(5);
  JointModel model(config.model, config.optim, torch::kCPU);
  TrainState state;
  state.expression_names = {"angry", "happy", "sad"};
  state.pose_names = {"left", "right"};
  save_checkpoint((dir / "run" / "checkpoint.pt").string(), config, model, state);
  const Recognizer rec((dir / "run").string());
  EXPECT_EQ(rec.labels(), state.expression_names);
  EXPECT_EQ(rec.pose_labels(), state.pose_names);
  EXPECT_EQ(rec.info().input_size, 32);
  EXPECT_EQ(rec.info().training_data, config.data.spec);
  EXPECT_TRUE(rec.info().accuracy.is_null());  // no eval.json
  const auto faces = rec.recognize(cv::imread(kSample, cv::IMREAD_COLOR));
  ASSERT_GE(faces.size(), 1u);
  // classify --face detect on the same photo: the same boxes and probabilities, row by row.
  std::istringstream csv(classify_sample((dir / "run").string()));
  std::string line;
  std::getline(csv, line);  // header
  for (size_t i = 0; i < faces.size(); ++i) {
    ASSERT_TRUE(std::getline(csv, line));
    const auto cols = data_util::split(line, ',');
    const auto& f = faces[i];
    EXPECT_NEAR(std::stod(cols[3]), f.box.x, 1e-3);
    EXPECT_EQ(cols[8], f.expression);
    for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(std::stod(cols[10 + k]), f.probabilities[k], 1e-6);
    EXPECT_EQ(cols[13], f.pose);
    ASSERT_EQ(f.pose_probabilities.size(), 2u);
    EXPECT_NEAR(f.pose_probabilities[0] + f.pose_probabilities[1], 1.0, 1e-6);
    EXPECT_EQ(f.pose, rec.pose_labels()[f.pose_index]);
    EXPECT_EQ(f.landmarks.size(), 68u);
    EXPECT_EQ(f.source, cols[15]);
  }
}

TEST_F(RecognizerTest, AnEnsembleAveragesItsRunsAsClassifyDoes) {
  SKIP_WITHOUT_SAMPLE();
  const fs::path dir = test::fresh_dir("ensemble");
  TrainConfig config = test::tiny_train_config();
  config.data.spec = "manifest:" + (dir / "data.csv").string();
  TrainState state;
  state.expression_names = {"angry", "happy", "sad"};
  state.pose_names = {"left", "right"};
  for (int seed : {5, 6}) {
    torch::manual_seed(seed);
    JointModel model(config.model, config.optim, torch::kCPU);
    save_checkpoint((dir / ("run" + std::to_string(seed)) / "checkpoint.pt").string(), config, model, state);
  }
  const std::string a = (dir / "run5").string(), b = (dir / "run6").string();
  RecognizerOptions options;
  options.ensemble = {b};
  const Recognizer both(a, options);
  EXPECT_EQ(both.info().members.size(), 2u);
  EXPECT_NE(both.info().name.find("+ 1 more (ensemble)"), std::string::npos) << both.info().name;
  EXPECT_EQ(model_info_to_json(both.info()).at("members").size(), 2u);
  const cv::Mat bgr = cv::imread(kSample, cv::IMREAD_COLOR);
  const auto fa = Recognizer(a).recognize(bgr), fb = Recognizer(b).recognize(bgr), fe = both.recognize(bgr);
  ASSERT_GE(fe.size(), 1u);
  ASSERT_EQ(fa.size(), fe.size());
  ASSERT_EQ(fb.size(), fe.size());
  double differ = 0;
  for (size_t i = 0; i < fe.size(); ++i) {
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(fe[i].probabilities[k], (fa[i].probabilities[k] + fb[i].probabilities[k]) / 2, 1e-6);
      differ = std::max(differ, std::abs(fa[i].probabilities[k] - fb[i].probabilities[k]));
    }
    EXPECT_NEAR(fe[i].pose_probabilities[0], (fa[i].pose_probabilities[0] + fb[i].pose_probabilities[0]) / 2, 1e-6);
  }
  EXPECT_GT(differ, 1e-6);  // the two runs really differ
  // classify with the same two runs: the same probabilities.
  std::istringstream csv(classify_sample(a, {b}));
  std::string line;
  std::getline(csv, line);  // header
  ASSERT_TRUE(std::getline(csv, line));
  const auto cols = data_util::split(line, ',');
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(std::stod(cols[10 + k]), fe[0].probabilities[k], 1e-6);
}

TEST_F(RecognizerTest, AHeadPoseModelGivesYawAndPitch) {
  SKIP_WITHOUT_SAMPLE();
  const cv::Mat bgr = cv::imread(kSample, cv::IMREAD_COLOR);
  const auto faces = Recognizer("faceapi").recognize(bgr);
  ASSERT_GE(faces.size(), 2u);
  std::vector<Landmarks68> lms;
  std::vector<double> yaw, pitch;
  for (size_t i = 0; i < faces.size(); ++i) {
    lms.push_back(faces[i].landmarks);
    yaw.push_back(10.0 * static_cast<double>(i) - 5);
    pitch.push_back(3.0 - 2.0 * static_cast<double>(i));
  }
  const HeadPoseModel model = fit_head_pose(lms, yaw, pitch, 1.0);
  const fs::path file = test::fresh_dir("pose") / "pose.json";
  std::ofstream(file) << model.to_json().dump();
  RecognizerOptions options;
  options.head_pose_model = file.string();
  const auto with_pose = Recognizer("faceapi", options).recognize(bgr);
  ASSERT_EQ(with_pose.size(), faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    EXPECT_TRUE(with_pose[i].has_yaw_pitch);
    const auto [y, p] = model.predict(faces[i].landmarks);
    EXPECT_NEAR(with_pose[i].yaw, y, 1e-9);
    EXPECT_NEAR(with_pose[i].pitch, p, 1e-9);
  }
}

TEST_F(RecognizerTest, RollFollowsARotatedPhoto) {
  SKIP_WITHOUT_SAMPLE();
  const Recognizer rec("faceapi");
  const cv::Mat bgr = cv::imread(kSample, cv::IMREAD_COLOR);
  const auto faces = rec.recognize(bgr);
  ASSERT_GE(faces.size(), 1u);
  // Turn the photo 15 degrees counter-clockwise about the most upright face's centre: the eye
  // on the photo's right rises, so that face's roll drops by about 15 degrees.
  size_t upright = 0;
  for (size_t i = 1; i < faces.size(); ++i) if (std::abs(faces[i].roll) < std::abs(faces[upright].roll)) upright = i;
  const auto& f = faces[upright];
  const cv::Point2f centre(static_cast<float>(f.box.x + f.box.width / 2), static_cast<float>(f.box.y + f.box.height / 2));
  cv::Mat turned;
  cv::warpAffine(bgr, turned, cv::getRotationMatrix2D(centre, 15.0, 1.0), bgr.size());
  const auto after = rec.recognize(turned);
  const RecognizedFace* same = nullptr;
  for (const auto& g : after) {
    if (std::hypot(g.box.x + g.box.width / 2 - centre.x, g.box.y + g.box.height / 2 - centre.y) < f.box.width / 3) same = &g;
  }
  ASSERT_NE(same, nullptr) << "the turned face was not found again";
  EXPECT_NEAR(same->roll, f.roll - 15.0, 4.0) << "roll before " << f.roll;
}

TEST_F(RecognizerTest, ErrorsNameTheirCause) {
  const std::string missing = (test::fresh_dir("missing") / "no_such_run").string();
  EXPECT_THROW_MSG(Recognizer{missing}, InputError, missing);
  const fs::path bad = test::fresh_dir("bad") / "checkpoint.pt";
  std::ofstream(bad) << "not a checkpoint";
  EXPECT_THROW_MSG(Recognizer{bad.string()}, InputError, bad.string());
  RecognizerOptions options;
  options.batch = 0;
  EXPECT_THROW_MSG(Recognizer("faceapi", options), ConfigError, "batch");
  options = {};
  options.model_dir = missing;
  EXPECT_THROW_MSG(Recognizer("faceapi", options), InputError, missing);
  options = {};
  options.head_pose_model = missing + ".json";
  EXPECT_THROW_MSG(Recognizer("faceapi", options), InputError, missing + ".json");
  if (!faceapi_weights_present()) return;
  const Recognizer rec("faceapi");
  EXPECT_THROW_MSG(rec.recognize(cv::Mat()), ShapeError, "empty");
  EXPECT_THROW_MSG(rec.recognize(cv::Mat(10, 10, CV_32FC3, cv::Scalar(0))), ShapeError, "8-bit");
  EXPECT_THROW_MSG(rec.recognize(cv::Mat(10, 10, CV_8UC2, cv::Scalar(0))), ShapeError, "channels");
}

}  // namespace
}  // namespace posefer
