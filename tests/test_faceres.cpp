// The TF.js graph-model reader and human's faceres net (C_exp's faceres backbone): float16
// weights, error messages, parity with human's own TF.js runtime, and the classifier around it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "posefer/core/check.h"
#include "posefer/model/classifier.h"
#include "posefer/face/faceres_net.h"
#include "posefer/face/tfjs_graph_model.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A two-constant graph model: "h" float16 [2, 3] and "f" float32 [2].
void write_tiny_graph(const fs::path& dir, const std::vector<uint16_t>& halves, bool truncate = false) {
  json model = {{"format", "graph-model"},
                {"modelTopology", {{"node", json::array({{{"name", "h"}, {"op", "Const"}},
                                                          {{"name", "f"}, {"op", "Const"}},
                                                          {{"name", "y"}, {"op", "Add"}, {"input", {"h", "f"}}}})}}},
                {"weightsManifest",
                 json::array({{{"paths", {"tiny.bin"}},
                               {"weights", json::array({{{"name", "h"}, {"shape", {2, 3}}, {"dtype", "float32"},
                                                         {"quantization", {{"dtype", "float16"}, {"original_dtype", "float32"}}}},
                                                        {{"name", "f"}, {"shape", {2}}, {"dtype", "float32"}}})}}})}};
  std::ofstream(dir / "model.json") << model.dump();
  std::ofstream bin(dir / "tiny.bin", std::ios::binary);
  for (uint16_t h : halves) bin.put(static_cast<char>(h & 0xff)).put(static_cast<char>(h >> 8));
  const float f[2] = {1.5f, -0.25f};
  bin.write(reinterpret_cast<const char*>(f), truncate ? 6 : 8);
}

TEST(TfjsGraphModel, ReadsFloat16WeightsAndTheNodes) {
  const auto dir = test::fresh_dir("graph");
  // 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), -0.
  write_tiny_graph(dir, {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000});
  const auto g = load_tfjs_graph_model((dir / "model.json").string());
  const auto h = g.weights.get("h", {2, 3});
  const std::vector<float> want{1.f, -2.f, 0.5f, 65504.f, std::ldexp(1.f, -24), -0.f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(h.view({-1})[i].item<float>(), want[i]) << i;
  EXPECT_TRUE(std::signbit(h.view({-1})[5].item<float>()));
  EXPECT_EQ(g.weights.get("f", {2})[1].item<float>(), -0.25f);
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.node("y").op, "Add");
  EXPECT_EQ(g.node("y").inputs, (std::vector<std::string>{"h", "f"}));
  EXPECT_EQ(g.count("Const"), 2);
  EXPECT_THROW_MSG(g.node("z"), InputError, "graph has no node 'z'");
  EXPECT_THROW_MSG(g.weights.get("h", {3, 2}), InputError, "has shape [2,3], expected [3,2]");
}

TEST(TfjsGraphModel, BadFilesAreOneClearError) {
  const auto dir = test::fresh_dir("bad");
  write_tiny_graph(dir, {0, 0, 0, 0, 0, 0}, /*truncate=*/true);
  EXPECT_THROW_MSG(load_tfjs_graph_model((dir / "model.json").string()), InputError, "expects 20 bytes, found 18");
  std::ofstream(dir / "layers.json") << R"({"format": "layers-model"})";
  EXPECT_THROW_MSG(load_tfjs_graph_model((dir / "layers.json").string()), InputError, "not a TF.js graph model");
  std::ofstream(dir / "broken.json") << "{";
  EXPECT_THROW_MSG(load_tfjs_graph_model((dir / "broken.json").string()), InputError, "malformed graph model JSON");
  EXPECT_THROW_MSG(load_tfjs_graph_model((dir / "absent.json").string()), InputError, "cannot open graph model");
  // Found by scripts/fuzz.sh: a "format" that is not a string escaped as a bare JSON type error.
  std::ofstream(dir / "odd.json") << R"({"format": {"x": 1}})";
  EXPECT_THROW_MSG(load_tfjs_graph_model((dir / "odd.json").string()), InputError, "odd.json: not a TF.js graph model");
}

// ---- parity with @vladmandic/human@3.3.6 run by its own TF.js (tools/faceres_reference.mjs) ----

#define SKIP_WITHOUT_HUMAN()                                                                     \
  if (!fs::is_regular_file(faceres_model_path(default_human_model_dir())))                      \
  GTEST_SKIP() << "human's faceres weights not installed (run scripts/setup.sh): "               \
               << faceres_model_path(default_human_model_dir())

// The reference tool's input: pixel(y, x, c) of an N x N RGB image in 0..255, as [1, 3, N, N].
torch::Tensor formula_input(int64_t n) {
  auto out = torch::empty({1, 3, n, n});
  auto a = out.accessor<float, 4>();
  const double s = 224.0 / static_cast<double>(n);
  for (int64_t y = 0; y < n; ++y) for (int64_t x = 0; x < n; ++x) for (int64_t c = 0; c < 3; ++c) {
    a[0][c][y][x] = static_cast<float>(127.5 + 127.5 * std::sin(0.11 * y * s + 0.07 * x * s + 1.3 * c) *
                                                   std::cos(0.05 * x * s - 0.03 * y * s));
  }
  return out;
}

// The reference tool's photo input: the centre n x n crop of an ASCII PGM, grey in 3 channels.
torch::Tensor pgm_crop_input(const fs::path& path, int64_t n) {
  std::ifstream in(path);
  std::string magic;
  int64_t w = 0, h = 0, maxval = 0;
  in >> magic >> w >> h >> maxval;
  EXPECT_EQ(magic, "P2");
  std::vector<float> pix(static_cast<size_t>(w * h));
  for (auto& v : pix) in >> v;
  const int64_t x0 = (w - n) / 2, y0 = (h - n) / 2;
  auto out = torch::empty({1, 3, n, n});
  for (int64_t y = 0; y < n; ++y) for (int64_t x = 0; x < n; ++x) for (int64_t c = 0; c < 3; ++c) {
    out[0][c][y][x] = pix[static_cast<size_t>((y + y0) * w + x + x0)];
  }
  return out;
}

TEST(FaceRes, MatchesHumansOwnRuntime) {
  SKIP_WITHOUT_HUMAN();
  const json ref = json::parse(std::ifstream(fs::path(POSEFER_TEST_DATA_DIR) / "faceres_reference.json"));
  ASSERT_EQ(ref.at("package"), "@vladmandic/human@3.3.6");
  FaceResNet net(FaceResNetOptions{true});
  net->load_weights(load_tfjs_graph_model(faceres_model_path(default_human_model_dir())));
  net->eval();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& c : ref.at("cases")) {
    const int64_t n = c.at("side");
    torch::Tensor x;
    if (c.contains("photo")) {
      const auto photo = fs::path(POSEFER_SHARED_DIR) / c.at("photo").get<std::string>();
      if (!fs::is_regular_file(photo)) continue;  // ../shared absent: the formula cases still run
      x = pgm_crop_input(photo, n);
    } else {
      x = formula_input(n);
    }
    const auto desc = net->forward(x);
    const auto heads = net->heads(desc);
    const auto want = torch::tensor(c.at("descriptor").get<std::vector<float>>()).view({1, -1});
    ASSERT_EQ(desc.sizes(), want.sizes());
    // TF.js sums in another order: agreement to float rounding, scaled by the values' size.
    const double scale = std::max(1.0, want.abs().max().item<double>());
    EXPECT_LT((desc - want).abs().max().item<double>(), 2e-4 * scale) << "side " << n;
    EXPECT_NEAR(heads.gender.item<double>(), c.at("gender")[0].get<double>(), 1e-4) << n;
    const auto age = torch::tensor(c.at("age").get<std::vector<float>>()).view({1, -1});
    EXPECT_LT((heads.age - age).abs().max().item<double>(), 1e-4) << n;
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(FaceRes, LoaderRefusesAnotherGraph) {
  SKIP_WITHOUT_HUMAN();
  const auto dir = test::fresh_dir("other");
  write_tiny_graph(dir, {0, 0, 0, 0, 0, 0});
  FaceResNet net;
  EXPECT_THROW_MSG(net->load_weights(load_tfjs_graph_model((dir / "model.json").string())), InputError,
                   "not the faceres MobileNet-v1 layout");
}

// C_exp on faceres: N x N images of `channels`, 4 expressions x 3 poses, the backbone at `side`.
ModelConfig faceres_config(int n, int channels, int side) {
  ModelConfig cfg;
  cfg.image_size = n;
  cfg.channels = channels;
  cfg.num_expressions = 4;
  cfg.num_poses = 3;
  cfg.cls_arch = "faceres";
  cfg.backbone_side = side;
  return cfg;
}

TEST(FaceRes, ModelRangeInputAndClassifierBackbone) {
  // Model range [-1, 1] -> 0..255, grey repeated, resized to backbone_side.
  const auto grey = faceres_input_from_model_range(torch::full({2, 1, 64, 64}, 0.2), 96);
  EXPECT_EQ(grey.sizes(), (std::vector<int64_t>{2, 3, 96, 96}));
  EXPECT_NEAR(grey[1][2][40][40].item<double>(), 1.2 * 127.5, 1e-4);
  EXPECT_THROW_MSG(faceres_input_from_model_range(torch::zeros({1, 2, 48, 48}), 112), ShapeError, "[B, 1|3, N, N]");

  ModelConfig cfg = faceres_config(64, 1, 64);
  Classifier cls(cfg);
  cls->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 1, 64, 64}) * 2 - 1;
  EXPECT_EQ(cls->backbone_features(x).sizes(), (std::vector<int64_t>{2, kFaceResFeatures}));
  const auto out = cls->forward(x);
  EXPECT_EQ(out.expression.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(out.pose.sizes(), (std::vector<int64_t>{2, 3}));
  // The backbone's and the heads' parameters split the net: one group each, nothing shared.
  const auto bb = cls->backbone_parameters(), head = cls->head_parameters();
  EXPECT_EQ(bb.size(), 2u + 13u * 4u);  // conv1 + 13 x (depthwise, pointwise), weight + bias each
  EXPECT_EQ(bb.size() + head.size(), cls->parameters().size());
  for (const auto& p : head) {
    for (const auto& q : bb) EXPECT_FALSE(p.is_same(q));
  }
  EXPECT_EQ(faceres_side(cfg), 64);
  cfg.backbone_side = 0;
  EXPECT_EQ(faceres_side(cfg), kFaceResDefaultSide);
  cfg.backbone_side = 20;
  EXPECT_THROW_MSG(cfg.validate(), ConfigError, "backbone_side must be 0");
  EXPECT_THROW_MSG(default_pretrained_dir("vgg19"), ConfigError, "has no pretrained weights");
}

TEST(FaceRes, PretrainedClassifierBackboneIsTheDescriptor) {
  SKIP_WITHOUT_HUMAN();
  Classifier cls(faceres_config(128, 3, 128));
  load_pretrained_backbone(*cls, default_pretrained_dir("faceres"));
  FaceResNet net;
  net->load_weights(load_tfjs_graph_model(faceres_model_path(default_human_model_dir())));
  cls->eval();
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 3, 128, 128}) * 2 - 1;
  EXPECT_LT((cls->backbone_features(x) - net->forward((x + 1) * 127.5)).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace posefer
