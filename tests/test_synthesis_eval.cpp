#include "posefer/synthesis_eval.h"

#include <gtest/gtest.h>

#include <cmath>

#include "posefer/check.h"
#include "posefer/generator.h"
#include "model_test_util.h"
#include "test_support.h"

namespace posefer {
namespace {

TEST(Ssim, IdenticalIsOneAndNoiseIsLow) {
  torch::manual_seed(3);
  auto a = torch::rand({2, 3, 16, 16}) * 2 - 1;
  auto s = ssim(a, a);
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(s[0].item<float>(), 1.f, 1e-5);
  EXPECT_NEAR(s[1].item<float>(), 1.f, 1e-5);
  auto b = torch::rand({2, 3, 16, 16}) * 2 - 1;
  auto n = ssim(a, b);
  EXPECT_LT(n.max().item<float>(), 0.2f);
  EXPECT_TRUE(torch::allclose(n, ssim(b, a), 1e-5, 1e-6));  // symmetric
}

TEST(Ssim, KnownValueForConstantImages) {
  // Constant images: sigma terms vanish, SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1).
  auto a = torch::full({1, 1, 12, 12}, 0.0);   // 0.5 on the [0, 1] scale
  auto b = torch::full({1, 1, 12, 12}, -0.5);  // 0.25
  const double c1 = 1e-4;
  const double want = (2 * 0.5 * 0.25 + c1) / (0.25 + 0.0625 + c1);
  EXPECT_NEAR(ssim(a, b).item<double>(), want, 1e-5);
}

TEST(Ssim, RejectsBadShapes) {
  EXPECT_THROW_MSG(ssim(torch::zeros({1, 1, 16, 16}), torch::zeros({1, 1, 16, 15})), ShapeError,
                   "same shape");
  EXPECT_THROW_MSG(ssim(torch::zeros({1, 1, 8, 8}), torch::zeros({1, 1, 8, 8})), ShapeError,
                   "at least 11 x 11");
}

// 3 subjects x 2 expressions x 2 poses of random 32x32 grey faces; subject 2 lacks (1, 1).
struct Fixture {
  Dataset dataset;
  ImageSet test;
  Fixture() {
    dataset.expression_names = {"neutral", "happy"};
    dataset.pose_names = {"left", "right"};
    std::vector<int64_t> e, p;
    for (int s = 0; s < 3; ++s)
      for (int ei = 0; ei < 2; ++ei)
        for (int pi = 0; pi < 2; ++pi) {
          if (s == 2 && ei == 1 && pi == 1) continue;
          Sample smp;
          smp.subject = "s" + std::to_string(s);
          smp.expression = ei;
          smp.pose = pi;
          test.sample_index.push_back(dataset.samples.size());
          dataset.samples.push_back(smp);
          e.push_back(ei);
          p.push_back(pi);
        }
    torch::manual_seed(5);
    test.images = torch::randint(0, 256, {static_cast<int64_t>(e.size()), 1, 32, 32}, torch::kInt64).to(torch::kUInt8);
    test.expression = torch::tensor(e, torch::kInt64);
    test.pose = torch::tensor(p, torch::kInt64);
  }
};

ModelConfig tiny() { return test::tiny_model_config(); }

TEST(SynthesisEval, PairsEveryInputWithItsGroundTruth) {
  Fixture fx;
  torch::manual_seed(1);
  JointModel model(tiny(), OptimConfig{}, torch::kCPU);
  SynthesisEvalOptions o;
  o.max_inputs = 0;
  o.progress = false;
  const auto r = evaluate_synthesis(model, fx.test, fx.dataset, o);
  // Subjects 0 and 1: 4 inputs x 3 other targets; subject 2: 3 inputs x 2 other targets.
  EXPECT_EQ(r["inputs"].get<int64_t>(), 11);
  EXPECT_EQ(r["pairs"].get<int64_t>(), 2 * 4 * 3 + 3 * 2);
  EXPECT_EQ(r["subjects"].get<int64_t>(), 3);
  EXPECT_NEAR(r["identity_chance"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_EQ(r["by_pose"]["left"]["pairs"].get<int64_t>(), 16);
  EXPECT_EQ(r["by_pose"]["right"]["pairs"].get<int64_t>(), 14);
  EXPECT_EQ(r["by_expression"]["happy"]["pairs"].get<int64_t>(), 14);
  // 'input unchanged' L1, recomputed by hand over the same pairs.
  double sum = 0;
  int n = 0;
  auto x = fx.test.images.to(torch::kFloat) / 255.0;
  for (int64_t a = 0; a < fx.test.size(); ++a)
    for (int64_t b = 0; b < fx.test.size(); ++b)
      if (a != b && fx.dataset.samples[a].subject == fx.dataset.samples[b].subject) {
        sum += (x[a] - x[b]).abs().mean().item<double>();
        ++n;
      }
  ASSERT_EQ(n, 30);
  EXPECT_NEAR(r["copy_l1"].get<double>(), sum / n, 1e-4);
  const double l1 = r["l1"].get<double>(), s = r["ssim"].get<double>();
  EXPECT_GT(l1, 0.0);
  EXPECT_LT(l1, 1.0);
  EXPECT_GT(s, -1.0);
  EXPECT_LT(s, 1.0);
  const double id = r["identity_accuracy"].get<double>();
  EXPECT_GE(id, 0.0);
  EXPECT_LE(id, 1.0);
  const std::string md = synthesis_markdown(r);
  EXPECT_NE(md.find("30 generated faces from 11 test inputs (3 test subjects)"), std::string::npos) << md;
  EXPECT_NE(md.find("| right | 14 |"), std::string::npos) << md;
}

TEST(SynthesisEval, IndependentIdentityJudge) {
  // Subjects told apart by brightness (s0 dark, s1 mid, s2 bright, with noise): a judge fitted
  // on every other image must name the unseen real images correctly.
  Fixture fx;
  torch::manual_seed(2);
  const auto noise = torch::randint(0, 40, fx.test.images.sizes(), torch::kInt64);
  for (int64_t r = 0; r < fx.test.size(); ++r) {
    const int s = fx.dataset.samples[fx.test.sample_index[r]].subject[1] - '0';
    fx.test.images[r] = (noise[r] + 20 + 90 * s).to(torch::kUInt8);
  }
  JointModel model(tiny(), OptimConfig{}, torch::kCPU);
  SynthesisEvalOptions o;
  o.max_inputs = 0;
  o.progress = false;
  o.identity_judge_epochs = 40;
  const auto r = evaluate_synthesis(model, fx.test, fx.dataset, o);
  ASSERT_TRUE(r["identity_judge_real"].is_number());
  EXPECT_DOUBLE_EQ(r["identity_judge_real"].get<double>(), 1.0);
  const double g = r["identity_judge_accuracy"].get<double>();
  EXPECT_GE(g, 0.0);
  EXPECT_LE(g, 1.0);
  EXPECT_NE(synthesis_markdown(r).find("Identity by an independent judge"), std::string::npos);
  // Off: null values and no line.
  o.identity_judge_epochs = 0;
  const auto off = evaluate_synthesis(model, fx.test, fx.dataset, o);
  EXPECT_TRUE(off["identity_judge_accuracy"].is_null());
  EXPECT_TRUE(off["identity_judge_real"].is_null());
  EXPECT_EQ(synthesis_markdown(off).find("Identity by an independent judge"), std::string::npos);
}

TEST(SynthesisEval, SubsetAndErrors) {
  Fixture fx;
  torch::manual_seed(1);
  JointModel model(tiny(), OptimConfig{}, torch::kCPU);
  SynthesisEvalOptions o;
  o.max_inputs = 3;
  o.progress = false;
  EXPECT_EQ(evaluate_synthesis(model, fx.test, fx.dataset, o)["inputs"].get<int64_t>(), 3);
  // Every image its own subject: no ground truth at any other label.
  Fixture lone;
  for (size_t i = 0; i < lone.dataset.samples.size(); ++i) lone.dataset.samples[i].subject = "u" + std::to_string(i);
  EXPECT_THROW_MSG(evaluate_synthesis(model, lone.test, lone.dataset, o), InputError,
                   "no test subject has images at other expressions/poses");
  ImageSet empty;
  EXPECT_THROW_MSG(evaluate_synthesis(model, empty, fx.dataset, o), InputError, "no test images");
}

}  // namespace
}  // namespace posefer
