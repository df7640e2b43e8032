#include "posefer/model/losses.h"

#include <gtest/gtest.h>

#include <cmath>

#include "posefer/core/check.h"
#include "posefer/core/labels.h"
#include "test_support.h"

namespace posefer {
namespace {

TEST(Losses, ContentL1IsMeanAbsoluteDifference) {
  auto a = torch::tensor({1.f, -2.f, 3.f, 0.f});
  auto b = torch::tensor({0.f, 0.f, 1.f, 4.f});
  EXPECT_FLOAT_EQ(content_l1(a, b).item<float>(), (1 + 2 + 2 + 4) / 4.f);
  EXPECT_THROW_MSG(content_l1(a, torch::zeros({3})), ShapeError, "shapes differ");
}

TEST(Losses, TotalVariationByHand) {
  // One 1-channel 2x3 image: rows [0 1 3] [2 2 2].
  auto x = torch::tensor({0.f, 1.f, 3.f, 2.f, 2.f, 2.f}).view({1, 1, 2, 3});
  // vertical |2-0|+|2-1|+|2-3| = 4; horizontal |1-0|+|3-1|+0+0 = 3; / (B*H*W = 6)
  EXPECT_FLOAT_EQ(total_variation(x).item<float>(), 7.f / 6.f);
  // A constant image has none.
  EXPECT_FLOAT_EQ(total_variation(torch::ones({2, 3, 4, 4})).item<float>(), 0.f);
  EXPECT_THROW_MSG(total_variation(torch::zeros({3, 4})), ShapeError, "[B, C, H, W]");
}

TEST(Losses, AdversarialBceMatchesFormula) {
  auto logits = torch::tensor({0.f, 2.f, -1.f});
  const double real = (std::log(2.0) + std::log1p(std::exp(-2.0)) + std::log1p(std::exp(1.0))) / 3;
  const double fake = (std::log(2.0) + std::log1p(std::exp(2.0)) + std::log1p(std::exp(-1.0))) / 3;
  EXPECT_NEAR(adversarial_bce(logits, true).item<double>(), real, 1e-6);
  EXPECT_NEAR(adversarial_bce(logits, false).item<double>(), fake, 1e-6);
}

TEST(Losses, CrossEntropyByHand) {
  auto logits = torch::tensor({2.f, 0.f, 0.f, 0.f, 0.f, 0.f}).view({2, 3});
  auto labels = torch::tensor({0, 2}, torch::kInt64);
  const double first = -std::log(std::exp(2.0) / (std::exp(2.0) + 2));
  const double second = std::log(3.0);
  EXPECT_NEAR(classification_ce(logits, labels).item<double>(), (first + second) / 2, 1e-6);
  EXPECT_THROW_MSG(classification_ce(logits, torch::zeros({3}, torch::kInt64)), ShapeError, "labels");
}

TEST(Losses, ReducedPrecisionInputsGiveFloat32Losses) {
  // Nets under bf16 autocast hand the losses bfloat16 outputs: each loss returns float32 and
  // the value of the same numbers given in float32 (these are exact in bfloat16).
  auto logits = torch::tensor({2.f, 0.f, -1.f, 0.5f, 0.f, 3.f}).view({2, 3});
  auto labels = torch::tensor({0, 2}, torch::kInt64);
  auto img = torch::tensor({0.f, 1.f, 3.f, 2.f, 2.f, 2.f}).view({1, 1, 2, 3});
  const auto bf = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
  const std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs{
      {classification_ce(bf(logits), labels, 0.1), classification_ce(logits, labels, 0.1)},
      {adversarial_bce(bf(logits.view({-1})), true), adversarial_bce(logits.view({-1}), true)},
      {content_l1(bf(img), img.flip(3)), content_l1(img, img.flip(3))},
      {total_variation(bf(img)), total_variation(img)}};
  for (const auto& [low, ref] : pairs) {
    EXPECT_EQ(low.scalar_type(), torch::kFloat);
    EXPECT_FLOAT_EQ(low.item<float>(), ref.item<float>());
  }
}

TEST(Labels, SignedOneHotAndTiling) {
  auto code = signed_one_hot(torch::tensor({1, 0}, torch::kInt64), 3);
  auto expected = torch::tensor({-1.f, 1.f, -1.f, 1.f, -1.f, -1.f}).view({2, 3});
  EXPECT_TRUE(torch::equal(code, expected));
  auto tiled = tile_code(code, 2);
  EXPECT_EQ(tiled.sizes(), (std::vector<int64_t>{2, 6}));
  EXPECT_TRUE(torch::equal(tiled.narrow(1, 3, 3), expected));
  EXPECT_THROW_MSG(signed_one_hot(torch::tensor({3}, torch::kInt64), 3), ShapeError, "[0, 3)");
  EXPECT_THROW_MSG(tile_code(code, 0), ShapeError, "tile count");
  // The paper's codes as printed: 0/1, with the same label checks.
  EXPECT_TRUE(torch::equal(unsigned_one_hot(torch::tensor({1, 0}, torch::kInt64), 3),
                           torch::tensor({0.f, 1.f, 0.f, 1.f, 0.f, 0.f}).view({2, 3})));
  EXPECT_THROW_MSG(unsigned_one_hot(torch::tensor({-1}, torch::kInt64), 3), ShapeError, "[0, 3)");
}

TEST(Labels, ExpressionNamesMapAcrossDataSets) {
  EXPECT_EQ(canonical_expression("Happiness"), "happy");
}

TEST(Labels, PoseMirror) {
  const std::vector<std::string> cmu{"straight", "left", "right", "up"};
  EXPECT_EQ(pose_mirror("auto", cmu), (std::vector<int64_t>{0, 2, 1, 3}));
  // Names that swap into each other anywhere in the name; the rest mirror to themselves.
  EXPECT_EQ(pose_mirror("auto", {"half-left", "front", "half-right", "left-only"}),
            (std::vector<int64_t>{2, 1, 0, 3}));
  const std::vector<std::string> yaw{"yaw[-45,-15)", "yaw[-15,15)", "yaw[15,45]"};
  // Yaw bins symmetric about 0: a mirrored photo's yaw changes sign (bin i <-> bin P-1-i).
  EXPECT_EQ(pose_mirror("auto", yaw), (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(pose_mirror("auto", {"yaw[-45,-9)", "yaw[-9,9)", "yaw[9,27)", "yaw[27,45]"}),
            (std::vector<int64_t>{0, 1, 2, 3}));  // not symmetric: every bin its own mirror
  EXPECT_EQ(pose_mirror("auto", {"yaw[-45,0)", "yaw[0,45]"}), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(pose_mirror("auto", {"yaw[-45,0)", "frontal"}), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(pose_mirror("yaw[-45,-15):yaw[15,45]", yaw), (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(pose_mirror("straight:up,left:right", cmu), (std::vector<int64_t>{3, 2, 1, 0}));
  EXPECT_THROW_MSG(pose_mirror("left:side", cmu), ConfigError, "flip: unknown pose 'side' (poses: straight, left, right, up)");
  EXPECT_THROW_MSG(pose_mirror("left:right,right:up", cmu), ConfigError, "pose 'right' is in more than one pair");
  EXPECT_THROW_MSG(pose_mirror("left:left", cmu), ConfigError, "pose 'left' is in more than one pair");
  EXPECT_THROW_MSG(pose_mirror("left:right,", cmu), ConfigError,
                   "expected auto or pose pairs a:b[,c:d...], got 'left:right,'");
  EXPECT_THROW_MSG(pose_mirror("left", cmu), ConfigError, "got 'left'");
  EXPECT_THROW_MSG(pose_mirror("left:right;up:straight", cmu), ConfigError, "got 'left:right;up:straight'");
  EXPECT_EQ(canonical_expression("smile"), "happy");
  EXPECT_EQ(canonical_expression("fearful"), "fear");
  EXPECT_EQ(canonical_expression("Surprised"), "surprise");
  EXPECT_EQ(canonical_expression("squint"), "squint");
  // Rendered faces (basic7 names) onto FER2013's vocabulary, and a class without a match.
  const std::vector<std::string> from{"neutral", "happy", "fearful", "disgusted", "squint"};
  const std::vector<std::string> to{"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
  EXPECT_EQ(map_expressions(from, to), (std::vector<int>{4, 3, 2, 1, -1}));
}

}  // namespace
}  // namespace posefer
