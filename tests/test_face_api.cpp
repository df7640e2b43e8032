// Tests of the face-api port: weight loader, preprocessing ops, box decoding/NMS, and parity with
// face-api 1.7.15 on the reference images (../shared/reference/faceapi).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <iostream>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "posefer/core/check.h"
#include "posefer/model/classifier.h"
#include "posefer/face/expression_net.h"
#include "posefer/face/face_detector.h"
#include "posefer/face/faceapi_common.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/io/image_io.h"
#include "posefer/face/tiny_face_detector.h"
#include "data_test_util.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string float_bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());  // the test machines are little-endian
  return s;
}

// A manifest with a uint8-quantised [2, 3] tensor "a" and a float32 [2] tensor "b".
fs::path write_fixture(const fs::path& dir) {
  json manifest = json::array({json{
      {"paths", {"m.bin"}},
      {"weights",
       {json{{"name", "a"},
             {"shape", {2, 3}},
             {"dtype", "float32"},
             {"quantization", {{"dtype", "uint8"}, {"scale", 0.5}, {"min", -1.0}}}},
        json{{"name", "b"}, {"shape", {2}}, {"dtype", "float32"}}}}}});
  write_file(dir / "m-weights_manifest.json", manifest.dump());
  std::string bin = {0, 1, 2, 3, 4, static_cast<char>(255)};
  bin += float_bytes({1.25f, -3.5f});
  write_file(dir / "m.bin", bin);
  return dir / "m-weights_manifest.json";
}

TEST(FaceApiWeights, DequantisesUint8AndReadsFloat32) {
  const auto dir = test::fresh_dir("w");
  const auto w = load_faceapi_weights(write_fixture(dir).string());
  ASSERT_EQ(w.tensors.size(), 2u);
  const auto a = w.get("a", {2, 3});
  const std::vector<float> expect_a = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 126.5f};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(a.view(-1)[i].item<float>(), expect_a[i]) << i;
  const auto b = w.get("b", {2});
  EXPECT_FLOAT_EQ(b[0].item<float>(), 1.25f);
  EXPECT_FLOAT_EQ(b[1].item<float>(), -3.5f);
  EXPECT_THROW_MSG(w.get("a", {3, 2}), InputError, "tensor 'a' has shape [2,3], expected [3,2]");
  EXPECT_THROW_MSG(w.get("c", {1}), InputError, "no tensor 'c'");
}

TEST(FaceApiWeights, TruncatedOrAlteredBinNamesFileAndBytes) {
  const auto dir = test::fresh_dir("w");
  const auto manifest = write_fixture(dir).string();
  const std::string full = [&] {
    std::ifstream in(dir / "m.bin", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  ASSERT_EQ(full.size(), 14u);
  write_file(dir / "m.bin", full.substr(0, 10));
  EXPECT_THROW_MSG(load_faceapi_weights(manifest), InputError, "m.bin");
  EXPECT_THROW_MSG(load_faceapi_weights(manifest), InputError, "expects 14 bytes, found 10");
  write_file(dir / "m.bin", full + "xx");
  EXPECT_THROW_MSG(load_faceapi_weights(manifest), InputError, "expects 14 bytes, found 16");
  fs::remove(dir / "m.bin");
  EXPECT_THROW_MSG(load_faceapi_weights(manifest), InputError, "m.bin: cannot open weight file");
}

TEST(FaceApiWeights, RightSizeButImplausibleContentIsRefused) {
  // The catalogue's case: a weights file of the right size with other content loaded silently.
  const auto dir = test::fresh_dir("w");
  const auto manifest = write_fixture(dir).string();
  std::string bin = {0, 1, 2, 3, 4, static_cast<char>(255)};
  write_file(dir / "m.bin", bin + float_bytes({1.25f, std::numeric_limits<float>::quiet_NaN()}));
  EXPECT_THROW_MSG(load_faceapi_weights(manifest), InputError,
                   "tensor 'b' holds values no trained net has (NaN or infinite values)");
  write_file(dir / "m.bin", bin + float_bytes({1.25f, 3.0e9f}));
  EXPECT_THROW_MSG(load_faceapi_weights(manifest), InputError, "m.bin: tensor 'b' holds values no trained net has");
  write_file(dir / "m.bin", bin + float_bytes({1.25f, -3.5f}));
  EXPECT_NO_THROW(load_faceapi_weights(manifest));
}

TEST(FaceApiWeights, BadManifests) {
  const auto dir = test::fresh_dir("w");
  EXPECT_THROW_MSG(load_faceapi_weights((dir / "none.json").string()), InputError,
                   "none.json: cannot open weights manifest");
  write_file(dir / "bad.json", "[{\"paths\": [");
  EXPECT_THROW_MSG(load_faceapi_weights((dir / "bad.json").string()), InputError,
                   "bad.json: malformed weights manifest");
  write_file(dir / "q.bin", "abcd");
  write_file(dir / "q.json", json::array({json{{"paths", {"q.bin"}},
                                               {"weights", {json{{"name", "x"},
                                                                 {"shape", {4}},
                                                                 {"dtype", "float32"},
                                                                 {"quantization", {{"dtype", "int4"}}}}}}}})
                                 .dump());
  EXPECT_THROW_MSG(load_faceapi_weights((dir / "q.json").string()), InputError,
                   "unsupported quantization dtype 'int4'");
}

TEST(FaceApiWeights, TfLayoutsMapToTorch) {
  // conv [kh, kw, in, out] -> [out, in, kh, kw]
  const auto hwio = torch::arange(3 * 3 * 2 * 4, torch::kFloat32).reshape({3, 3, 2, 4});
  const auto oihw = tf_conv_filter_to_torch(hwio);
  ASSERT_EQ(oihw.sizes(), torch::IntArrayRef({4, 2, 3, 3}));
  EXPECT_EQ(oihw[3][1][2][0].item<float>(), hwio[2][0][1][3].item<float>());
  // depthwise [kh, kw, C, 1] -> [C, 1, kh, kw]
  const auto dw = torch::arange(3 * 3 * 5, torch::kFloat32).reshape({3, 3, 5, 1});
  const auto t = tf_depthwise_filter_to_torch(dw);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({5, 1, 3, 3}));
  EXPECT_EQ(t[4][0][1][2].item<float>(), dw[1][2][4][0].item<float>());
  // dense [in, out] -> [out, in]
  const auto d = torch::arange(6, torch::kFloat32).reshape({3, 2});
  EXPECT_EQ(tf_dense_to_torch(d)[1][2].item<float>(), d[2][1].item<float>());
  // A depthwise conv with the mapped filter equals the TF definition on a tiny input.
  const auto x = torch::rand({1, 5, 4, 4});
  const auto y = torch::nn::functional::conv2d(
      x, t, torch::nn::functional::Conv2dFuncOptions().groups(5));
  const float manual = (x[0][2].slice(0, 1, 4).slice(1, 0, 3) * dw.select(3, 0).select(2, 2)).sum().item<float>();
  // Relative: the sum is ~100 and float32 summation order (the conv kernel's vs ours) moves it
  // by ~1e-5; a wrong layout moves it by tens.
  EXPECT_NEAR(y[0][2][1][0].item<float>(), manual, 1e-6 * (1 + std::abs(manual)));
}

TEST(FaceApiOps, PadToSquare) {
  const auto img = torch::ones({1, 2, 5}, torch::kUInt8);  // W > H, d = 3
  const auto p = pad_to_square(img, false);
  ASSERT_EQ(p.sizes(), torch::IntArrayRef({1, 5, 5}));
  EXPECT_EQ(p.slice(1, 0, 2).sum().item<int64_t>(), 10);  // image on top, padding below
  const auto c = pad_to_square(img, true);  // round(3/2) = 2 appended, 1 prepended
  EXPECT_EQ(c[0][0].sum().item<int64_t>(), 0);
  EXPECT_EQ(c[0][1].sum().item<int64_t>(), 5);
  EXPECT_EQ(c[0][2].sum().item<int64_t>(), 5);
  EXPECT_EQ(c[0][3].sum().item<int64_t>(), 0);
  EXPECT_EQ(c[0][4].sum().item<int64_t>(), 0);
  const auto tall = pad_to_square(torch::ones({1, 4, 2}, torch::kUInt8), true);  // d = 2: 1 + 1
  EXPECT_EQ(tall.select(2, 0).sum().item<int64_t>(), 0);
  EXPECT_EQ(tall.select(2, 1).sum().item<int64_t>(), 4);
  EXPECT_EQ(tall.select(2, 3).sum().item<int64_t>(), 0);
}

TEST(FaceApiOps, ResizeIsTfLegacyBilinear) {
  // 1 x 4 row [0, 10, 20, 30] -> width 3: src = x * 4/3 -> 0, 1.333, 2.667.
  const auto row = torch::tensor({0.f, 10.f, 20.f, 30.f}).view({1, 1, 4});
  const auto r = resize_bilinear_tf_legacy(row, 1, 3);
  EXPECT_NEAR(r[0][0][0].item<float>(), 0.f, 1e-6);
  EXPECT_NEAR(r[0][0][1].item<float>(), 13.3333333f, 1e-5);
  EXPECT_NEAR(r[0][0][2].item<float>(), 26.6666667f, 1e-5);
  // Upsampling 2 -> 4: src = 0, .5, 1, 1.5 -> the last clamps to index 1 (no half-pixel centres).
  const auto up = resize_bilinear_tf_legacy(torch::tensor({0.f, 8.f}).view({1, 1, 2}), 1, 4);
  const std::vector<float> expect = {0.f, 4.f, 8.f, 8.f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(up[0][0][i].item<float>(), expect[i], 1e-6) << i;
  // uint8 input, 2-D case: value at (0.5, 0.5) of [[0, 100], [100, 200]] is 100.
  const auto sq = torch::tensor({0, 100, 100, 200}, torch::kUInt8).view({1, 2, 2});
  const auto s4 = resize_bilinear_tf_legacy(sq, 4, 4);
  EXPECT_NEAR(s4[0][1][1].item<float>(), 100.f, 1e-5);
  EXPECT_NEAR(s4[0][3][3].item<float>(), 200.f, 1e-5);
}

TEST(FaceApiOps, InputEqualsPadThenResizeThenNormalise) {
  const auto img = torch::randint(0, 256, {3, 37, 61}, torch::kUInt8);
  const std::array<double, 3> mean = {10.0, 20.0, 30.0};
  for (bool centered : {false, true}) {
    for (const auto& im : {img, img.transpose(1, 2)}) {
      const auto fast = faceapi_input(im, 32, centered, mean, 255.0);
      const auto slow = (resize_bilinear_tf_legacy(pad_to_square(im, centered), 32, 32) -
                         torch::tensor({10.f, 20.f, 30.f}).view({3, 1, 1})) /
                        255.f;
      ASSERT_EQ(fast.sizes(), torch::IntArrayRef({1, 3, 32, 32}));
      EXPECT_EQ((fast[0] - slow).abs().max().item<float>(), 0.f) << centered;
    }
  }
  // Already side x side: no resize, only normalisation.
  const auto sq = torch::full({3, 8, 8}, 51, torch::kUInt8);
  EXPECT_FLOAT_EQ(faceapi_input(sq, 8, true, mean, 255.0)[0][2][3][3].item<float>(), 21.f / 255.f);
}

TEST(FaceApiOps, ClipBoxAndIou) {
  const auto r = clip_box_to_image({-10.5, 5.7, 50.9, 200.0}, 100, 80);
  EXPECT_EQ(r.x, 0);
  EXPECT_EQ(r.y, 5);
  EXPECT_EQ(r.width, 40);   // floor(-10.5 + 50.9 - 0)
  EXPECT_EQ(r.height, 74);  // floor(min(205.7 - 5.7, 80 - 5.7))
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.0 / 150.0);
  EXPECT_DOUBLE_EQ(box_iou({0, 0, 10, 10}, {20, 20, 5, 5}), 0.0);
}

TEST(FaceApiOps, NmsKeepsBestAndDropsOverlaps) {
  std::vector<FaceDetection> d = {{{0, 0, 10, 10}, 0.6},
                                  {{1, 0, 10, 10}, 0.9},     // IoU with #0 = 0.818
                                  {{50, 50, 10, 10}, 0.7},
                                  {{4, 0, 10, 10}, 0.8}};    // IoU with #1 = 0.538
  const auto kept = non_max_suppression(d, 0.4);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_DOUBLE_EQ(kept[0].score, 0.9);
  EXPECT_DOUBLE_EQ(kept[1].score, 0.7);
  EXPECT_EQ(non_max_suppression(d, 0.6).size(), 3u);  // #3 survives, #0 still dropped
}

TEST(FaceApiOps, DecodeMapFollowsSpec) {
  // One confident cell: row 2, col 3, anchor 1 with tx = ty = tw = th = 0 on a 13 x 13 map.
  auto raw = torch::full({13, 13, 25}, -10.f);
  for (int k = 0; k < 4; ++k) raw[2][3][5 + k] = 0.f;
  raw[2][3][5 + 4] = 2.f;
  // Image 832 x 416 at S = 416: rw = 416, rh = 208.
  const auto d = decode_tiny_face_map(raw, 832, 416, 416, 0.5);
  ASSERT_EQ(d.size(), 1u);
  const double sc = 1.0 / (1.0 + std::exp(-2.0));
  EXPECT_NEAR(d[0].score, sc, 1e-12);
  const double cx = 3.5 / 13, cy = 2.5 / 13 * 2, w = 6.041143 / 13, h = 7.080126 / 13 * 2;
  EXPECT_NEAR(d[0].box.x, (cx - w / 2) * 832, 1e-4);
  EXPECT_NEAR(d[0].box.y, (cy - h / 2) * 416, 1e-4);
  EXPECT_NEAR(d[0].box.width, w * 832, 1e-4);
  EXPECT_NEAR(d[0].box.height, h * 416, 1e-4);
  EXPECT_TRUE(decode_tiny_face_map(raw, 832, 416, 416, 0.9).empty());
}

TEST(FaceApiNets, ShapesWithoutWeights) {
  torch::NoGradGuard no_grad;
  TinyFaceDetector det;
  EXPECT_EQ(det->forward(torch::zeros({1, 3, 416, 416})).sizes(),
            torch::IntArrayRef({1, 25, 13, 13}));
  EXPECT_EQ(det->forward(torch::zeros({2, 3, 224, 224})).sizes(), torch::IntArrayRef({2, 25, 7, 7}));
  EXPECT_THROW(det->forward(torch::zeros({1, 3, 100, 100})), ShapeError);
  FaceLandmark68Net lm;
  EXPECT_EQ(lm->forward(torch::zeros({3, 3, 112, 112})).sizes(), torch::IntArrayRef({3, 136}));
  FaceExpressionNet ex;
  EXPECT_EQ(ex->forward(torch::zeros({1, 3, 112, 112})).sizes(), torch::IntArrayRef({1, 7}));
  EXPECT_THROW_MSG(load_tiny_face_detector((test::fresh_dir("m") / "none").string()), InputError,
                   "tiny_face_detector_model-weights_manifest.json: cannot open");
}

TEST(FaceApiWeights, ModelDirFromEnvironment) {
  const char* old = std::getenv("POSEFER_MODELS");
  const std::string saved = old ? old : "";
  ::setenv("POSEFER_MODELS", "/some/models", 1);
  EXPECT_EQ(default_faceapi_model_dir(), "/some/models");
  ::setenv("POSEFER_MODELS", "", 1);  // empty = unset
  EXPECT_NE(default_faceapi_model_dir().find("third_party/npm/node_modules/@vladmandic/face-api/model"),
            std::string::npos);
  if (old) ::setenv("POSEFER_MODELS", saved.c_str(), 1);
  else ::unsetenv("POSEFER_MODELS");
  EXPECT_EQ(faceapi_manifest_path("/m", "x_model"), "/m/x_model-weights_manifest.json");
}

// ---- parity with face-api 1.7.15 ----------------------------------------------------------

bool weights_present() {
  return fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "tiny_face_detector_model"));
}
const fs::path kReference = fs::path(POSEFER_SHARED_DIR) / "reference" / "faceapi";

#define SKIP_WITHOUT_WEIGHTS()                                                                  \
  if (!weights_present())                                                                       \
  GTEST_SKIP() << "face-api weights not installed in " << default_faceapi_model_dir()           \
               << " (run scripts/setup.sh or set POSEFER_MODELS)"

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

TEST(FaceApiParity, MatchesReferenceOnSixImages) {
  if (!fs::is_directory(kReference / "vladmandic-1.7.15")) {
    GTEST_SKIP() << "reference outputs not present: " << kReference;
  }
  SKIP_WITHOUT_WEIGHTS();
  FaceDetector detector;
  double raw_max = 0, box_max = 0, aligned_max = 0, lm_max = 0, expr_max = 0, score_max = 0;
  int64_t faces_total = 0, ref_total = 0;
  for (int i = 1; i <= 6; ++i) {
    const std::string name = "sample" + std::to_string(i);
    SCOPED_TRACE(name);
    const json ref = read_json(kReference / "vladmandic-1.7.15" / (name + ".json"));
    const auto image = read_image((kReference / "inputs" / (name + ".png")).string(), 3);
    ASSERT_EQ(image.size(2), ref.at("width").get<int64_t>());
    ASSERT_EQ(image.size(1), ref.at("height").get<int64_t>());

    const auto raw = detector.detector_raw(image);
    const auto ref_raw = ref.at("detectorRaw").get<std::vector<float>>();
    ASSERT_EQ(raw.numel(), static_cast<int64_t>(ref_raw.size()));
    const auto diff = (raw.view(-1) - torch::tensor(ref_raw)).abs().max().item<double>();
    raw_max = std::max(raw_max, diff);
    EXPECT_LE(diff, 1e-3);

    const auto faces = detector.detect(image);
    const auto& ref_faces = ref.at("faces");
    faces_total += faces.size();
    ref_total += ref_faces.size();
    ASSERT_EQ(faces.size(), ref_faces.size());
    for (size_t k = 0; k < faces.size(); ++k) {
      const auto& rf = ref_faces[k];
      const auto& f = faces[k];  // both by descending score
      score_max = std::max(score_max, std::abs(f.score - rf.at("score").get<double>()));
      auto box_diff = [](const FaceBox& b, const json& r) {
        return std::max({std::abs(b.x - r.at("x").get<double>()), std::abs(b.y - r.at("y").get<double>()),
                         std::abs(b.width - r.at("width").get<double>()),
                         std::abs(b.height - r.at("height").get<double>())});
      };
      const double bd = box_diff(f.box, rf.at("box"));
      box_max = std::max(box_max, bd);
      EXPECT_LE(bd, 0.5) << "face " << k;
      aligned_max = std::max(aligned_max, box_diff(f.aligned_rect, rf.at("alignedRect")));
      ASSERT_EQ(f.landmarks.size(), 68u);
      double ld = 0;
      for (size_t p = 0; p < 68; ++p) {
        ld = std::max({ld, std::abs(f.landmarks[p].x - rf.at("landmarks")[p][0].get<double>()),
                       std::abs(f.landmarks[p].y - rf.at("landmarks")[p][1].get<double>())});
      }
      lm_max = std::max(lm_max, ld);
      EXPECT_LE(ld, 0.5) << "face " << k;
      ASSERT_EQ(f.expressions.size(), 7u);
      double ed = 0;
      for (size_t c = 0; c < 7; ++c) {
        ed = std::max(ed, std::abs(f.expressions[c] - rf.at("expressions").at(kFaceApiExpressions[c]).get<double>()));
      }
      expr_max = std::max(expr_max, ed);
      EXPECT_LE(ed, 1e-3) << "face " << k;
    }
  }
  EXPECT_EQ(faces_total, 20);
  EXPECT_EQ(ref_total, 20);
  std::cout << "face-api parity: faces " << faces_total << "/" << ref_total
            << ", max |diff| raw map " << raw_max << ", score " << score_max << ", box "
            << box_max << " px, alignedRect " << aligned_max << " px, landmarks " << lm_max
            << " px, expressions " << expr_max << "\n";
  RecordProperty("raw_max_diff", std::to_string(raw_max));
  RecordProperty("box_max_diff_px", std::to_string(box_max));
  RecordProperty("landmark_max_diff_px", std::to_string(lm_max));
  RecordProperty("expression_max_diff", std::to_string(expr_max));
}

// Self-contained: the npm package's own demo JPEGs, decoded by OpenCV (its libjpeg differs from
// the reference's JS decoder by +-1 per pixel), so only counts and coarse geometry are checked.
TEST(FaceApiParity, DemoJpegsDecodedByOpenCv) {
  SKIP_WITHOUT_WEIGHTS();
  const fs::path demo = fs::path(default_faceapi_model_dir()).parent_path() / "demo";
  if (!fs::exists(demo / "sample1.jpg")) GTEST_SKIP() << "demo images not present: " << demo;
  FaceDetector detector;
  const int expected[6] = {3, 1, 3, 3, 5, 5};  // face-api 1.7.15 on these images
  // sample1's best face in the reference run: box (776.2, 445.1, 312.7 x 256.0), sad 0.65
  // (0.75 here).
  for (int i = 1; i <= 6; ++i) {
    SCOPED_TRACE(i);
    const auto image = read_image((demo / ("sample" + std::to_string(i) + ".jpg")).string(), 3);
    const auto faces = detector.detect(image);
    EXPECT_EQ(static_cast<int>(faces.size()), expected[i - 1]);
    for (const auto& f : faces) {
      double sum = 0;
      for (double p : f.expressions) sum += p;
      EXPECT_NEAR(sum, 1.0, 1e-5);
      int inside = 0;  // landmarks lie (mostly) inside the detection box
      for (const auto& p : f.landmarks) {
        inside += p.x >= f.box.x && p.x <= f.box.x + f.box.width && p.y >= f.box.y &&
                  p.y <= f.box.y + f.box.height;
      }
      EXPECT_GE(inside, 50);
    }
    if (i == 1 && !faces.empty()) {
      EXPECT_NEAR(faces[0].box.x, 776.2, 3.0);
      EXPECT_NEAR(faces[0].box.y, 445.1, 3.0);
      EXPECT_NEAR(faces[0].box.width, 312.7, 3.0);
      // Expressions move most with +-1 pixel changes (README): only the winning class is checked.
      const auto& e = faces[0].expressions;
      EXPECT_EQ(std::max_element(e.begin(), e.end()) - e.begin(), 2);  // sad
    }
  }
}

// Bad input through the detector path: a photo stored sideways with an EXIF orientation tag is
// decoded upright, so its face is found where it is in the upright photo.
TEST(FaceDetectorInput, ExifRotatedPhotoIsDetectedUpright) {
  SKIP_WITHOUT_WEIGHTS();
  const fs::path demo = fs::path(default_faceapi_model_dir()).parent_path() / "demo";
  if (!fs::exists(demo / "sample2.jpg")) GTEST_SKIP() << "demo images not present: " << demo;
  const cv::Mat bgr = cv::imread((demo / "sample2.jpg").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  const auto dir = test::fresh_dir("exif");
  write_file(dir / "upright.jpg", testing_util::jpeg_with_exif_orientation(bgr, 1));
  cv::Mat sideways;
  cv::rotate(bgr, sideways, cv::ROTATE_90_COUNTERCLOCKWISE);
  write_file(dir / "tagged.jpg", testing_util::jpeg_with_exif_orientation(sideways, 6));
  // The stored pixels are sideways ...
  const cv::Mat stored = cv::imread((dir / "tagged.jpg").string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(stored.rows, bgr.cols);
  EXPECT_EQ(stored.cols, bgr.rows);
  // ... read_image turns them upright, and the detector finds the upright photo's face.
  const auto upright = read_image((dir / "upright.jpg").string(), 3);
  const auto tagged = read_image((dir / "tagged.jpg").string(), 3);
  ASSERT_EQ(tagged.sizes(), upright.sizes());
  FaceDetector detector;
  const auto want = detector.detect(upright);
  const auto got = detector.detect(tagged);
  ASSERT_EQ(want.size(), 1u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NEAR(got[0].box.x, want[0].box.x, 4.0);
  EXPECT_NEAR(got[0].box.y, want[0].box.y, 4.0);
  EXPECT_NEAR(got[0].box.width, want[0].box.width, 4.0);
  EXPECT_NEAR(got[0].landmarks[30].x, want[0].landmarks[30].x, 4.0);
  EXPECT_NEAR(got[0].landmarks[30].y, want[0].landmarks[30].y, 4.0);
}

// Huge photos are shrunk (uint8) before detection, and the faces come back in the photo's pixels.
TEST(FaceDetectorInput, HugePhotoIsShrunkAndMappedBack) {
  SKIP_WITHOUT_WEIGHTS();
  const fs::path demo = fs::path(default_faceapi_model_dir()).parent_path() / "demo";
  if (!fs::exists(demo / "sample2.jpg")) GTEST_SKIP() << "demo images not present: " << demo;
  FaceDetector detector;
  const auto image = read_image((demo / "sample2.jpg").string(), 3);  // 1920 x 1367
  const auto want = detector.detect(image);
  ASSERT_EQ(want.size(), 1u);
  // The same photo at 5x (9600 x 6835).
  const int k = 5;
  cv::Mat rgb = cv::imread((demo / "sample2.jpg").string(), cv::IMREAD_COLOR), big_mat;
  cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  cv::resize(rgb, big_mat, cv::Size(), k, k, cv::INTER_NEAREST);
  const auto big = torch::from_blob(big_mat.data, {big_mat.rows, big_mat.cols, 3}, torch::kUInt8)
                       .permute({2, 0, 1})
                       .clone();
  const auto t0 = std::chrono::steady_clock::now();
  const auto got = detector.detect(big);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 30.0);
  ASSERT_EQ(got.size(), 1u);
  // Detected at 2048 px instead of 1920: boxes agree within a few per cent of the face.
  const double tol = 0.04 * want[0].box.width * k;
  EXPECT_NEAR(got[0].box.x, want[0].box.x * k, tol);
  EXPECT_NEAR(got[0].box.y, want[0].box.y * k, tol);
  EXPECT_NEAR(got[0].box.width, want[0].box.width * k, tol);
  EXPECT_NEAR(got[0].landmarks[36].x, want[0].landmarks[36].x * k, tol);
  EXPECT_NEAR(got[0].landmarks[54].y, want[0].landmarks[54].y * k, tol);
  EXPECT_NEAR(got[0].aligned_rect.x, want[0].aligned_rect.x * k, tol);

  // A 10000 x 10000 grey PNG: read, shrunk, searched (no face) in little time.
  const auto dir = test::fresh_dir("huge");
  const std::string grey = (dir / "grey.png").string();
  ASSERT_TRUE(cv::imwrite(grey, cv::Mat(10000, 10000, CV_8UC1, cv::Scalar(128))));
  const auto t1 = std::chrono::steady_clock::now();
  const auto huge = read_image(grey, 3);
  EXPECT_EQ(huge.sizes(), torch::IntArrayRef({3, 10000, 10000}));
  EXPECT_TRUE(detector.detect(huge).empty());
  const double huge_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  EXPECT_LT(huge_seconds, 30.0);
  std::cout << "detect at 9600x6835: " << seconds << " s; read + detect 10000x10000 grey: "
            << huge_seconds << " s\n";
}

// ---- the expression model's feature extractor as C_exp's pretrained backbone -------------

TEST(FaceApiBackbone, ModelRangeInputIsFaceApiNormalisation) {
  // Pixels p in [0, 255] as model-range images x = p / 127.5 - 1 give face-api's (p - mean) / 255.
  const auto p = torch::randint(0, 256, {2, 3, 112, 112}, torch::kInt64).to(torch::kFloat);
  const auto got = faceapi_input_from_model_range(p / 127.5 - 1);
  const auto mean = torch::tensor({122.782f, 117.001f, 104.298f}).view({1, 3, 1, 1});
  EXPECT_LT((got - (p - mean) / 255).abs().max().item<double>(), 1e-5);
  // Grey is repeated to the three channels (each with its own mean), other sides are resized.
  const auto grey = faceapi_input_from_model_range(torch::zeros({1, 1, 48, 48}));
  EXPECT_EQ(grey.sizes(), (std::vector<int64_t>{1, 3, 112, 112}));
  EXPECT_NEAR(grey[0][0][50][50].item<double>(), (127.5 - 122.782) / 255, 1e-6);
  EXPECT_NEAR(grey[0][2][50][50].item<double>(), (127.5 - 104.298) / 255, 1e-6);
  EXPECT_THROW_MSG(faceapi_input_from_model_range(torch::zeros({1, 2, 48, 48})), ShapeError, "[B, 1|3, N, N]");
}

TEST(FaceApiBackbone, PretrainedClassifierBackboneEqualsTheExpressionNet) {
  SKIP_WITHOUT_WEIGHTS();
  const auto dir = default_faceapi_model_dir();
  auto net = load_expression_net(dir);
  ModelConfig cfg;
  cfg.image_size = 128;
  cfg.channels = 3;
  cfg.num_expressions = 7;
  cfg.cls_arch = "faceapi";
  Classifier cls(cfg);
  load_pretrained_backbone(*cls, dir);
  cls->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 3, 112, 112}) * 2 - 1;
  const auto in = faceapi_input_from_model_range(x);
  const auto ours = cls->backbone->forward(in);
  const auto theirs = net->features->forward(in);
  EXPECT_EQ(ours.sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-6);
  // face-api's own head on our backbone's features gives face-api's expression logits.
  EXPECT_LT((net->fc->forward(ours) - net->forward(in)).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace posefer
