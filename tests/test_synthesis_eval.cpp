#include "posefer/eval/synthesis_eval.h"

#include <gtest/gtest.h>

#include <cmath>

#include "posefer/core/check.h"
#include "posefer/model/generator.h"
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

TEST(CheckerboardEnergy, KnownValues) {
  // A +-1 checkerboard is all period-2 energy; a constant has none; stripes of period 2 along one
  // axis are all in the column (or row) W/2; a smooth ramp has almost none.
  auto i = torch::arange(8, torch::kDouble).view({8, 1}), j = torch::arange(8, torch::kDouble).view({1, 8});
  auto board = (1 - 2 * torch::remainder(i + j, 2)).view({1, 1, 8, 8});
  auto stripes = (1 - 2 * torch::remainder(j, 2)).expand({8, 8}).reshape({1, 1, 8, 8});
  auto ramp = (i + j).view({1, 1, 8, 8}) / 14.0;
  auto constant = torch::full({1, 1, 8, 8}, 0.3, torch::kDouble);
  auto e = checkerboard_energy(torch::cat({board, stripes, ramp, constant}).expand({4, 3, 8, 8}).to(torch::kFloat));
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{4}));
  EXPECT_NEAR(e[0].item<double>(), 1.0, 1e-9);
  EXPECT_NEAR(e[1].item<double>(), 1.0, 1e-9);
  EXPECT_GT(e[2].item<double>(), 0.0);
  EXPECT_LT(e[2].item<double>(), 0.05);
  EXPECT_EQ(e[3].item<double>(), 0.0);
  // Half checkerboard, half the ramp's content: the share lies strictly between.
  auto mixed = checkerboard_energy((0.1 * board + ramp).to(torch::kFloat));
  EXPECT_GT(mixed[0].item<double>(), e[2].item<double>());
  EXPECT_LT(mixed[0].item<double>(), 1.0);
  EXPECT_THROW_MSG(checkerboard_energy(torch::zeros({1, 1, 7, 8})), ShapeError, "even H, W >= 2");
  EXPECT_THROW_MSG(checkerboard_energy(torch::zeros({8, 8})), ShapeError, "checkerboard_energy");
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
  double sum = 0, checker = 0;
  int n = 0;
  auto x = fx.test.images.to(torch::kFloat) / 255.0;
  for (int64_t a = 0; a < fx.test.size(); ++a)
    for (int64_t b = 0; b < fx.test.size(); ++b)
      if (a != b && fx.dataset.samples[a].subject == fx.dataset.samples[b].subject) {
        sum += (x[a] - x[b]).abs().mean().item<double>();
        checker += checkerboard_energy(x[b].unsqueeze(0))[0].item<double>();  // b is the truth
        ++n;
      }
  ASSERT_EQ(n, 30);
  EXPECT_NEAR(r["copy_l1"].get<double>(), sum / n, 1e-4);
  // The truth's checkerboard share, by hand over the same pairs (affine pixel scaling cancels).
  EXPECT_NEAR(r["checkerboard_energy_real"].get<double>(), checker / n, 1e-6);
  EXPECT_GE(r["checkerboard_energy"].get<double>(), 0.0);
  EXPECT_LE(r["checkerboard_energy"].get<double>(), 1.0);
  EXPECT_NE(synthesis_markdown(r).find("Checkerboard texture"), std::string::npos);
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
  // Code matching: a share of the pairs, and the per-expression shares average to it.
  const double em = r["expression_match"].get<double>();
  EXPECT_GE(em, 0.0);
  EXPECT_LE(em, 1.0);
  double weighted = 0;
  for (const char* name : {"neutral", "happy"})
    weighted += r["by_expression"][name]["match"].get<double>() * r["by_expression"][name]["pairs"].get<double>();
  EXPECT_NEAR(weighted / 30, em, 1e-12);
  EXPECT_NE(md.find("Code matching"), std::string::npos) << md;
  // Named for other people (evaluate runs it on the training people too).
  const std::string tmd = synthesis_markdown(r, "training");
  EXPECT_NE(tmd.find("### Synthesis against ground truth: training people"), std::string::npos) << tmd;
  EXPECT_NE(tmd.find("30 generated faces from 11 training inputs (3 training subjects)"), std::string::npos) << tmd;
  EXPECT_NE(tmd.find("nearest training subject"), std::string::npos) << tmd;
  EXPECT_EQ(md.find("training"), std::string::npos) << md;
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

TEST(StrictlyNearest, KnownDistancesAndTies) {
  // Candidates at constant levels 0, 0.5, 1; target 0.4: distances 0.4, 0.1, 0.6.
  auto c = torch::stack({torch::zeros({1, 2, 2}), torch::full({1, 2, 2}, 0.5), torch::ones({1, 2, 2})});
  auto t = torch::full({1, 2, 2}, 0.4);
  EXPECT_TRUE(strictly_nearest(c, t, 1));
  EXPECT_FALSE(strictly_nearest(c, t, 0));
  EXPECT_FALSE(strictly_nearest(c, t, 2));
  // A tie is a miss for both: a code that changes nothing cannot score.
  auto tie = torch::stack({torch::zeros({1, 2, 2}), torch::zeros({1, 2, 2}), torch::ones({1, 2, 2})});
  EXPECT_FALSE(strictly_nearest(tie, torch::zeros({1, 2, 2}), 0));
  EXPECT_FALSE(strictly_nearest(tie, torch::zeros({1, 2, 2}), 1));
  // One candidate has no rival.
  EXPECT_TRUE(strictly_nearest(c.narrow(0, 2, 1), t, 0));
  EXPECT_THROW_MSG(strictly_nearest(c, torch::zeros({1, 2, 3}), 0), ShapeError, "expected candidates [K, C, H, W]");
  EXPECT_THROW_MSG(strictly_nearest(c, t, 3), ShapeError, "index 3 outside the 3 candidates");
}

SynthesisEvalOptions every_input_no_judge() {
  SynthesisEvalOptions o;
  o.max_inputs = 0;
  o.progress = false;
  o.identity_judge_epochs = 0;
  return o;
}

// A generator whose decoder reads only the codes: f's weights zeroed, the code weights scaled up
// so that every (e, p) gives a clearly different face.
void make_code_only(JointModel& model) {
  torch::NoGradGuard no_grad;
  auto w = model.gen->decoder->fc->weight;
  w.narrow(1, 0, model.config.id_dim).zero_();
  w.narrow(1, model.config.id_dim, w.size(1) - model.config.id_dim).mul_(50);
}

TEST(SynthesisEval, CodeMatchingIsPerfectWhenTheTruthIsWhatTheCodesDraw) {
  Fixture fx;
  torch::manual_seed(4);
  JointModel model(tiny(), OptimConfig{}, torch::kCPU);
  model.eval();
  make_code_only(model);
  // Every test image is what G draws at its labels, whoever the input.
  torch::Tensor drawn;
  {
    torch::NoGradGuard no_grad;
    auto f = torch::zeros({fx.test.size(), model.config.id_dim});
    drawn = model.gen->decoder->forward(f, fx.test.expression, fx.test.pose);
  }
  fx.test.images = ((drawn + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8);
  // Precondition: the four codes draw different faces (far beyond the uint8 rounding).
  const auto grid = model.gen->decoder->forward(torch::zeros({4, model.config.id_dim}),
                                                torch::tensor({0, 1, 0, 1}), torch::tensor({0, 0, 1, 1}));
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) ASSERT_GT((grid[a] - grid[b]).abs().mean().item<double>(), 0.02) << a << " " << b;
  const auto r = evaluate_synthesis(model, fx.test, fx.dataset, every_input_no_judge());
  EXPECT_DOUBLE_EQ(r["expression_match"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["pose_match"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["by_expression"]["happy"]["match"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["expression_match_chance"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(r["pose_match_chance"].get<double>(), 0.5);
  const std::string md = synthesis_markdown(r);
  EXPECT_NE(md.find("expression **100.0%** of pairs (chance 50.0%), pose **100.0%** (chance 50.0%)"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| target expression | pairs | L1 | SSIM | expression matched |"), std::string::npos) << md;
}

TEST(SynthesisEval, CodeMatchingIsZeroWhenTheCodesChangeNothing) {
  Fixture fx;
  torch::manual_seed(1);
  JointModel model(tiny(), OptimConfig{}, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    for (auto& w : model.gen->decoder->parameters()) w.zero_();  // G(x, e, p) = 0 for every code
  }
  const auto r = evaluate_synthesis(model, fx.test, fx.dataset, every_input_no_judge());
  EXPECT_DOUBLE_EQ(r["expression_match"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(r["pose_match"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(r["by_pose"]["left"]["match"].get<double>(), 0.0);
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
