#include "posefer/eval/evaluator.h"

#include <gtest/gtest.h>

#include "posefer/core/check.h"
#include "model_test_util.h"
#include "test_support.h"

namespace posefer {
namespace {

ModelConfig tiny() { return test::tiny_model_config(); }

// Images whose left half is bright for pose 1 and whose top half is bright for expression 1.
ImageSet toy_set(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  ImageSet s;
  s.expression = torch::randint(0, 2, {n}, torch::kInt64);
  s.pose = torch::randint(0, 2, {n}, torch::kInt64);
  auto img = torch::full({n, 1, 32, 32}, 60, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    if (s.pose[i].item<int64_t>() == 1) img[i].narrow(2, 0, 16).add_(120);
    if (s.expression[i].item<int64_t>() == 1) img[i].narrow(1, 0, 16).add_(60);
    s.sample_index.push_back(static_cast<size_t>(i));
  }
  s.images = img;
  return s;
}

TEST(Evaluator, ClassifierReportCountsEveryTestImage) {
  torch::manual_seed(1);
  JointModel m(tiny(), OptimConfig{}, torch::kCPU);
  auto test = toy_set(10, 3);
  auto r = evaluate_classifier(m, test, {"a", "b"}, {"p0", "p1"});
  EXPECT_EQ(r.expression.count, 10);
  EXPECT_EQ(r.pose.count, 10);
  int64_t total = 0;
  for (const auto& row : r.expression.confusion) for (auto v : row) total += v;
  EXPECT_EQ(total, 10);
  EXPECT_EQ(r.expression.group_names, (std::vector<std::string>{"p0", "p1"}));
  const auto j = r.to_json();
  EXPECT_TRUE(j.contains("expression"));
  EXPECT_TRUE(j.contains("pose"));
  EXPECT_EQ(r.to_markdown("t").rfind("# t\n\n### Expression (C_exp), grouped by pose\n\n**Accuracy: ", 0), 0u);
  EXPECT_NE(r.document("t").html().find("<p><strong>Accuracy: "), std::string::npos);
  ImageSet empty;
  EXPECT_THROW_MSG(evaluate_classifier(m, empty, {"a", "b"}, {"p0", "p1"}), InputError, "empty");
}

TEST(Evaluator, DisentanglementChecksAreInRange) {
  torch::manual_seed(2);
  JointModel m(tiny(), OptimConfig{}, torch::kCPU);
  auto train = toy_set(64, 4), test = toy_set(16, 5);
  EvalOptions o;
  o.judge_epochs = 8;
  o.judge_batch = 16;
  o.probe_steps = 50;
  o.progress = false;
  auto d = evaluate_disentanglement(m, train, test, o);
  EXPECT_EQ(d["generated_faces"].get<int64_t>(), 16);
  for (const char* key : {"probe_pose_accuracy", "probe_expression_accuracy", "judge_real_expression_accuracy",
                          "judge_real_pose_accuracy", "judge_generated_expression_accuracy",
                          "judge_generated_pose_accuracy"}) {
    const double v = d[key].get<double>();
    EXPECT_GE(v, 0.0) << key;
    EXPECT_LE(v, 1.0) << key;
  }
  // The toy labels are written into the pixels: the judge must read them off real test faces.
  EXPECT_GE(d["judge_real_pose_accuracy"].get<double>(), 0.9);
  EXPECT_GE(d["judge_real_expression_accuracy"].get<double>(), 0.9);
  EXPECT_GT(d["reconstruction_l1"].get<double>(), 0.0);
  EXPECT_GE(d["pose_swap_change"].get<double>(), 0.0);
}

}  // namespace
}  // namespace posefer
