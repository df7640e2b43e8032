// Tests for classification metrics: counts, accuracies, JSON and Markdown renderings.
#include "posefer/metrics/metrics.h"
#include "posefer/core/check.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "posefer/core/check.h"

namespace posefer {
namespace {

const std::vector<std::string> kClasses{"angry", "happy", "sad"};
const std::vector<std::string> kGroups{"frontal", "profile"};

torch::Tensor ints(std::vector<int64_t> v) {
  return torch::tensor(v, torch::kInt64);
}

// 10 samples, 3 classes, 2 groups.
//   truth: 0 0 0 0 1 1 1 2 2 2
//   pred:  0 0 1 0 1 1 2 2 0 2
//   group: 0 0 1 1 0 1 1 0 0 0
// confusion [[3,1,0],[0,2,1],[1,0,2]]; 7/10 correct.
// frontal: 5/6 correct (angry 2/2, happy 1/1, sad 2/3); profile: 2/4 (angry 1/2, happy 1/2, no sad).
ClassificationReport example_report() {
  return classification_report(ints({0, 0, 1, 0, 1, 1, 2, 2, 0, 2}),
                               ints({0, 0, 0, 0, 1, 1, 1, 2, 2, 2}), kClasses,
                               ints({0, 0, 1, 1, 0, 1, 1, 0, 0, 0}), kGroups);
}

template <class F>
std::string shape_error_message(F&& f) {
  try {
    f();
  } catch (const ShapeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ShapeError";
  return "";
}

TEST(Metrics, FormatPercent) {
  EXPECT_EQ(format_percent(0.875), "87.5");
  EXPECT_EQ(format_percent(1.0), "100.0");
  EXPECT_EQ(format_percent(0.0), "0.0");
  EXPECT_EQ(format_percent(2.0 / 3.0), "66.7");
  EXPECT_EQ(format_percent(2.0 / 3.0, 2), "66.67");
  EXPECT_EQ(format_percent(0.5, 0), "50");
  EXPECT_EQ(format_percent(std::nan("")), "-");
}

TEST(Metrics, CountsAndAccuracies) {
  const ClassificationReport r = example_report();
  EXPECT_EQ(r.class_names, kClasses);
  EXPECT_EQ(r.group_names, kGroups);
  EXPECT_EQ(r.count, 10);
  const std::vector<std::vector<int64_t>> confusion{{3, 1, 0}, {0, 2, 1}, {1, 0, 2}};
  EXPECT_EQ(r.confusion, confusion);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.7);
  EXPECT_EQ(r.class_count, (std::vector<int64_t>{4, 3, 3}));
  ASSERT_EQ(r.class_accuracy.size(), 3u);
  EXPECT_DOUBLE_EQ(r.class_accuracy[0], 0.75);
  EXPECT_DOUBLE_EQ(r.class_accuracy[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.class_accuracy[2], 2.0 / 3.0);

  EXPECT_EQ(r.group_count, (std::vector<int64_t>{6, 4}));
  ASSERT_EQ(r.group_accuracy.size(), 2u);
  EXPECT_DOUBLE_EQ(r.group_accuracy[0], 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.group_accuracy[1], 0.5);
  ASSERT_EQ(r.group_class_accuracy.size(), 2u);
  ASSERT_EQ(r.group_class_accuracy[0].size(), 3u);
  ASSERT_EQ(r.group_class_accuracy[1].size(), 3u);
  EXPECT_DOUBLE_EQ(r.group_class_accuracy[0][0], 1.0);
  EXPECT_DOUBLE_EQ(r.group_class_accuracy[0][1], 1.0);
  EXPECT_DOUBLE_EQ(r.group_class_accuracy[0][2], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.group_class_accuracy[1][0], 0.5);
  EXPECT_DOUBLE_EQ(r.group_class_accuracy[1][1], 0.5);
  EXPECT_TRUE(std::isnan(r.group_class_accuracy[1][2]));
}

TEST(Metrics, AbsentClassIsNaN) {
  // Class "sad" never occurs in truth (only predicted once); no groups.
  const ClassificationReport r =
      classification_report(ints({0, 2, 1, 1}), ints({0, 0, 1, 1}), kClasses);
  EXPECT_EQ(r.count, 4);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  EXPECT_EQ(r.class_count, (std::vector<int64_t>{2, 2, 0}));
  EXPECT_DOUBLE_EQ(r.class_accuracy[0], 0.5);
  EXPECT_DOUBLE_EQ(r.class_accuracy[1], 1.0);
  EXPECT_TRUE(std::isnan(r.class_accuracy[2]));
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{1, 0, 1}, {0, 2, 0}, {0, 0, 0}}));
  EXPECT_TRUE(r.group_names.empty());
  EXPECT_TRUE(r.group_accuracy.empty());
  EXPECT_TRUE(r.group_count.empty());
  EXPECT_TRUE(r.group_class_accuracy.empty());

  const std::string md = to_markdown(r);
  EXPECT_NE(md.find("| sad | 0 | - |\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("| group |"), std::string::npos) << md;  // no group tables
}

TEST(Metrics, AcceptsOtherIntegerTypes) {
  const ClassificationReport r = classification_report(
      torch::tensor({0, 1, 2}, torch::kInt32), torch::tensor({0, 1, 1}, torch::kInt32), kClasses,
      torch::tensor({1, 1, 0}, torch::kInt32), kGroups);
  EXPECT_DOUBLE_EQ(r.accuracy, 2.0 / 3.0);
  EXPECT_EQ(r.group_count, (std::vector<int64_t>{1, 2}));
  // A non-contiguous view works too.
  const torch::Tensor p = ints({0, 9, 1, 9, 2, 9}).slice(0, 0, 6, 2);
  const ClassificationReport r2 = classification_report(p, ints({0, 1, 2}), kClasses);
  EXPECT_EQ(r2.confusion, (std::vector<std::vector<int64_t>>{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}));
  EXPECT_DOUBLE_EQ(r2.accuracy, 1.0);
}

TEST(Metrics, JsonRoundTrip) {
  const nlohmann::json j = nlohmann::json::parse(to_json(example_report()).dump());
  EXPECT_EQ(j.at("class_names").get<std::vector<std::string>>(), kClasses);
  EXPECT_EQ(j.at("group_names").get<std::vector<std::string>>(), kGroups);
  EXPECT_EQ(j.at("confusion").get<std::vector<std::vector<int64_t>>>(),
            (std::vector<std::vector<int64_t>>{{3, 1, 0}, {0, 2, 1}, {1, 0, 2}}));
  EXPECT_EQ(j.at("count").get<int64_t>(), 10);
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(j.at("class_accuracy").at(0).get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j.at("class_accuracy").at(1).get<double>(), 2.0 / 3.0);
  EXPECT_EQ(j.at("class_count").get<std::vector<int64_t>>(), (std::vector<int64_t>{4, 3, 3}));
  EXPECT_DOUBLE_EQ(j.at("group_accuracy").at(0).get<double>(), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(j.at("group_accuracy").at(1).get<double>(), 0.5);
  EXPECT_EQ(j.at("group_count").get<std::vector<int64_t>>(), (std::vector<int64_t>{6, 4}));
  const auto& gca = j.at("group_class_accuracy");
  ASSERT_EQ(gca.size(), 2u);
  EXPECT_DOUBLE_EQ(gca.at(0).at(2).get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(gca.at(1).at(0).get<double>(), 0.5);
  EXPECT_TRUE(gca.at(1).at(2).is_null());  // NaN -> null

  const nlohmann::json j2 =
      to_json(classification_report(ints({0, 2, 1, 1}), ints({0, 0, 1, 1}), kClasses));
  EXPECT_TRUE(j2.at("class_accuracy").at(2).is_null());
  EXPECT_TRUE(j2.at("group_names").empty());
  EXPECT_TRUE(j2.at("group_class_accuracy").empty());
  EXPECT_EQ(nlohmann::json::parse(j2.dump()), j2);
}

TEST(Metrics, ReportFromJsonInvertsToJson) {
  const ClassificationReport r = example_report();
  const ClassificationReport back = classification_report_from_json(nlohmann::json::parse(to_json(r).dump()));
  EXPECT_EQ(back.class_names, r.class_names);
  EXPECT_EQ(back.group_names, r.group_names);
  EXPECT_EQ(back.confusion, r.confusion);
  EXPECT_EQ(back.count, 10);
  EXPECT_DOUBLE_EQ(back.accuracy, 0.7);
  EXPECT_EQ(back.class_count, r.class_count);
  EXPECT_DOUBLE_EQ(back.group_accuracy[0], 5.0 / 6.0);
  EXPECT_TRUE(std::isnan(back.group_class_accuracy[1][2]));  // null -> NaN
  EXPECT_DOUBLE_EQ(back.group_class_accuracy[0][2], 2.0 / 3.0);
  nlohmann::json broken = to_json(r);
  broken.erase("confusion");
  EXPECT_THROW_MSG(classification_report_from_json(broken), InputError, "confusion");
}

TEST(Metrics, MeanReportAveragesFoldsAndSumsCounts) {
  // Fold A: 3 of 4 right; fold B: 1 of 2 right, class c absent.
  const auto a = classification_report(ints({0, 1, 2, 0}), ints({0, 1, 2, 1}), kClasses, ints({0, 0, 1, 1}), kGroups);
  const auto b = classification_report(ints({1, 1}), ints({0, 1}), kClasses, ints({0, 0}), kGroups);
  const ClassificationReport m = mean_report({a, b});
  EXPECT_EQ(m.count, 6);
  EXPECT_DOUBLE_EQ(m.accuracy, (0.75 + 0.5) / 2);
  EXPECT_EQ(m.confusion[0][0], 1);
  EXPECT_EQ(m.confusion[0][1], 1);
  EXPECT_EQ(m.confusion[1][0], 1);
  EXPECT_EQ(m.confusion[1][1], 2);
  EXPECT_DOUBLE_EQ(m.class_accuracy[0], (1.0 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(m.class_accuracy[2], 1.0);  // only fold A has class c
  EXPECT_EQ(m.class_count, (std::vector<int64_t>{2, 3, 1}));
  EXPECT_DOUBLE_EQ(m.group_accuracy[0], (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(m.group_accuracy[1], 0.5);  // fold B has no group 1
  EXPECT_EQ(m.group_count, (std::vector<int64_t>{4, 2}));
  EXPECT_THROW_MSG(mean_report({}), ShapeError, "no reports");
  const auto other = classification_report(ints({0}), ints({0}), {"x", "y", "z"});
  EXPECT_THROW_MSG(mean_report({a, other}), ShapeError, "different classes");
}

TEST(Metrics, Markdown) {
  const std::string md = to_markdown(example_report(), "RAF-DB test");
  EXPECT_EQ(md.rfind("### RAF-DB test\n\n**Accuracy: 70.0%** (n = 10)\n", 0), 0u) << md;
  // Per group.
  EXPECT_NE(md.find("| group | n | accuracy |\n|---|---|---|\n"
                    "| frontal | 6 | 83.3 |\n| profile | 4 | 50.0 |\n"),
            std::string::npos) << md;
  // Per class.
  EXPECT_NE(md.find("| class | n | accuracy |\n|---|---|---|\n"
                    "| angry | 4 | 75.0 |\n| happy | 3 | 66.7 |\n| sad | 3 | 66.7 |\n"),
            std::string::npos) << md;
  // Group x class with means (NaN skipped) and the overall column.
  EXPECT_NE(md.find("| group | angry | happy | sad | mean | all |\n|---|---|---|---|---|---|\n"
                    "| frontal | 100.0 | 100.0 | 66.7 | 88.9 | 83.3 |\n"
                    "| profile | 50.0 | 50.0 | - | 50.0 | 50.0 |\n"
                    "| mean | 75.0 | 75.0 | 66.7 | 72.2 | 70.0 |\n"),
            std::string::npos) << md;
  // Confusion matrix: rows true, columns predicted.
  EXPECT_NE(md.find("| true \\ pred | angry | happy | sad |\n|---|---|---|---|\n"
                    "| angry | 3 | 1 | 0 |\n| happy | 0 | 2 | 1 |\n| sad | 1 | 0 | 2 |\n"),
            std::string::npos) << md;
  // No title: starts with the accuracy line.
  EXPECT_EQ(to_markdown(example_report()).rfind("**Accuracy: 70.0%** (n = 10)\n", 0), 0u);
}

TEST(Metrics, MarkdownTable) {
  EXPECT_EQ(markdown_table({"a", "b"}, {{"1", "2"}, {"x", "y|z"}}),
            "| a | b |\n|---|---|\n| 1 | 2 |\n| x | y\\|z |\n");
  EXPECT_EQ(markdown_table({"only"}, {}), "| only |\n|---|\n");
  const std::string msg = shape_error_message([] { markdown_table({"a", "b"}, {{"1"}}); });
  EXPECT_NE(msg.find("row 0 has 1 cells but the header has 2"), std::string::npos) << msg;
}

TEST(Metrics, BadShapesThrow) {
  EXPECT_THROW(classification_report(ints({0, 1}), ints({0}), kClasses), ShapeError);
  std::string msg = shape_error_message(
      [] { classification_report(ints({0, 1}), ints({0}), kClasses); });
  EXPECT_NE(msg.find("pred has 2 entries but truth has 1"), std::string::npos) << msg;

  msg = shape_error_message(
      [] { classification_report(ints({0, 1}).view({1, 2}), ints({0, 1}), kClasses); });
  EXPECT_NE(msg.find("pred must be 1-D, got 2-D"), std::string::npos) << msg;

  msg = shape_error_message([] { classification_report(ints({0, 3}), ints({0, 1}), kClasses); });
  EXPECT_NE(msg.find("pred[1] = 3 is out of range [0, 3)"), std::string::npos) << msg;

  msg = shape_error_message([] { classification_report(ints({0, 1}), ints({-1, 1}), kClasses); });
  EXPECT_NE(msg.find("truth[0] = -1 is out of range [0, 3)"), std::string::npos) << msg;

  msg = shape_error_message([] {
    classification_report(ints({0, 1}), ints({0, 1}), kClasses, ints({0}), kGroups);
  });
  EXPECT_NE(msg.find("group has 1 entries but pred has 2"), std::string::npos) << msg;

  msg = shape_error_message([] {
    classification_report(ints({0, 1}), ints({0, 1}), kClasses, ints({0, 2}), kGroups);
  });
  EXPECT_NE(msg.find("group[1] = 2 is out of range [0, 2)"), std::string::npos) << msg;

  msg = shape_error_message(
      [] { classification_report(ints({0, 1}), ints({0, 1}), kClasses, ints({0, 0})); });
  EXPECT_NE(msg.find("group tensor given but group_names is empty"), std::string::npos) << msg;

  msg = shape_error_message([] { classification_report(ints({0}), ints({0}), {}); });
  EXPECT_NE(msg.find("class_names is empty"), std::string::npos) << msg;

  msg = shape_error_message([] {
    classification_report(torch::tensor({0.0f, 1.0f}), ints({0, 1}), kClasses);
  });
  EXPECT_NE(msg.find("pred must hold integer indices"), std::string::npos) << msg;

  msg = shape_error_message([] { classification_report(torch::Tensor(), ints({0}), kClasses); });
  EXPECT_NE(msg.find("pred tensor is undefined"), std::string::npos) << msg;
}

TEST(Metrics, EmptyInput) {
  const ClassificationReport r = classification_report(ints({}), ints({}), kClasses);
  EXPECT_EQ(r.count, 0);
  EXPECT_TRUE(std::isnan(r.accuracy));
  EXPECT_TRUE(to_json(r).at("accuracy").is_null());
  EXPECT_NE(to_markdown(r).find("**Accuracy: -%** (n = 0)"), std::string::npos);
}

}  // namespace
}  // namespace posefer
