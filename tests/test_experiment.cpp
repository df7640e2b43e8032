// experiment.h: the protocols run their trainings once, resume, and write the report folder.
#include "posefer/jobs/experiment.h"
#include "posefer/report/gnuplot.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "experiment_test_util.h"
#include "posefer/core/check.h"
#include "posefer/io/image_io.h"
#include "posefer/report/plot.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

class ExperimentTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }
};

// A 2-fold experiment of `protocol` on a manifest, tiny model, no peer row.
ExperimentJob tiny_experiment(const std::string& protocol, const std::string& manifest, const fs::path& out) {
  ExperimentJob job;
  job.protocol = protocol;
  job.base = test::tiny_train_job("manifest:" + manifest, "");
  job.out = out.string();
  job.folds = 2;
  job.peer = false;
  return job;
}

TEST_F(ExperimentTest, CrossValidationWritesTheReportAndResumes) {
  const auto dir = test::fresh_dir("cv");
  const auto m = test::write_face_manifest(dir / "faces", 4, {"happy", "sad"}, {"left", "right"});
  ExperimentJob job = tiny_experiment("multipie-5fold", m, dir / "exp");
  job.grid_subjects = 1;
  job.plot.backend = "builtin";
  const ExperimentResult r = run_experiment(job);
  ASSERT_FALSE(r.interrupted);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].name, "real + generated (k = 1)");
  EXPECT_EQ(r.rows[1].name, "real only (k = 0)");
  for (const auto& row : r.rows) {
    EXPECT_EQ(row.fold_accuracy.size(), 2u);
    EXPECT_EQ(row.report.count, 16);  // every image tested once over the two folds
    EXPECT_NEAR(row.report.accuracy, (row.fold_accuracy[0] + row.fold_accuracy[1]) / 2, 1e-12);
  }
  for (const char* f : {"report.md", "report.html", "summary.json", "per_pose.csv", "per_class.csv",
                        "pose_expression.csv", "confusion.csv", "confusion.png"}) {
    EXPECT_TRUE(fs::is_regular_file(fs::path(job.out) / f)) << f;
  }
  EXPECT_FALSE(fs::exists(fs::path(job.out) / "confusion.gp"));  // plot.backend = builtin
  for (const char* run : {"fold0", "fold0_k0", "fold1", "fold1_k0"}) {
    EXPECT_TRUE(fs::is_regular_file(fs::path(job.out) / run / "eval.json")) << run;
  }
  EXPECT_EQ(first_line(fs::path(job.out) / "per_pose.csv"), "configuration,left,right,average");
  EXPECT_EQ(first_line(fs::path(job.out) / "pose_expression.csv"), "pose,happy,sad,average");
  // One synthesis sheet: input | 2 poses x 2 expressions | truth.
  int sheets = 0;
  for (const auto& e : fs::directory_iterator(job.out)) sheets += e.path().filename().string().rfind("synthesis_", 0) == 0;
  EXPECT_EQ(sheets, 1);
  const auto summary = nlohmann::json::parse(read_text_file((fs::path(job.out) / "summary.json").string()));
  EXPECT_EQ(summary.at("protocol"), "multipie-5fold");
  EXPECT_EQ(summary.at("rows").size(), 2u);
  const std::string md = read_text_file(r.report);
  EXPECT_NE(md.find("## Per pose (Table 2)"), std::string::npos);
  // The HTML page is written from the same blocks.
  const std::string html = read_text_file((fs::path(job.out) / "report.html").string());
  EXPECT_NE(html.find("<h2>Per pose (Table 2)</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>real only (k = 0)</td>"), std::string::npos);
  EXPECT_NE(md.find("| real only (k = 0) |"), std::string::npos);
  // Fig. 6's numbers: G against the true images of the test people (each has 4 images).
  EXPECT_NE(md.find("### Synthesis against the true images"), std::string::npos);
  EXPECT_NE(md.find("| identity by an independent judge CNN |"), std::string::npos);
  ASSERT_TRUE(summary.contains("synthesis"));
  EXPECT_GT(summary["synthesis"]["pairs"].get<int64_t>(), 0);

  // A rerun trains nothing: the finished runs' eval.json files are read back.
  const auto stamp = fs::last_write_time(fs::path(job.out) / "fold1" / "eval.json");
  const ExperimentResult again = run_experiment(job);
  EXPECT_EQ(fs::last_write_time(fs::path(job.out) / "fold1" / "eval.json"), stamp);
  EXPECT_DOUBLE_EQ(again.rows[0].report.accuracy, r.rows[0].report.accuracy);
}

TEST_F(ExperimentTest, KnCurveAndCrossDataset) {
  const auto dir = test::fresh_dir("kn");
  const auto a = test::write_face_manifest(dir / "a", 4, {"happy", "sad"}, {"left", "right"});
  ExperimentJob kn = tiny_experiment("kn-curve", a, dir / "kn");
  kn.ks = {0, 2};
  kn.grid_subjects = 0;
  const ExperimentResult k = run_experiment(kn);
  ASSERT_EQ(k.rows.size(), 2u);
  EXPECT_EQ(k.rows[0].name, "real + generated (k = 2)");  // the main row first
  EXPECT_EQ(k.rows[1].name, "real only (k = 0)");
  EXPECT_TRUE(fs::is_regular_file(fs::path(kn.out) / "kn_curve.png"));
  // Charts go through the job's plot config: gnuplot keeps its script, the built-in one none.
  EXPECT_EQ(fs::is_regular_file(fs::path(kn.out) / "kn_curve.gp"), gnuplot_available("gnuplot"));
  std::stringstream want;
  want << "k,accuracy %\n0," << format_number(100 * k.rows[1].report.accuracy, 1) << "\n2,"
       << format_number(100 * k.rows[0].report.accuracy, 1) << "\n";
  EXPECT_EQ(read_text_file((fs::path(kn.out) / "kn_curve.csv").string()), want.str());

  // Cross-data-set: G from A, classifier on B (official groups), selected on B's validation part.
  const auto b = test::write_face_manifest(dir / "b", 6, {"happiness", "neutral", "sad"}, {"all"},
                                           {"Training", "Training", "PublicTest", "PrivateTest"});
  ExperimentJob cross = kn;
  cross.protocol = "cross-dataset";
  cross.base.config.data.fold = "0/2";
  cross.data_b = "manifest:" + b;
  cross.out = (dir / "cross").string();
  const ExperimentResult c = run_experiment(cross);
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[0].name, "real + generated by A's G (k = 1)");
  EXPECT_EQ(c.rows[0].report.class_names, (std::vector<std::string>{"happiness", "neutral", "sad"}));
  EXPECT_EQ(c.rows[0].report.count, 3);  // s3: B's PrivateTest person
  for (const char* f : {"a/eval.json", "augment/manifest.csv", "b_real/eval.json", "b_augmented/eval.json",
                        "b_real/best.pt", "report.md"}) {
    EXPECT_TRUE(fs::exists(fs::path(cross.out) / f)) << f;
  }
  const auto config = nlohmann::json::parse(read_text_file((fs::path(cross.out) / "b_augmented/config.json").string()));
  EXPECT_EQ(config.at("data").at("extra_train"), "manifest:" + (fs::path(cross.out) / "augment/manifest.csv").string());
  EXPECT_EQ(config.at("select_on_val"), true);
}

TEST_F(ExperimentTest, BadSettingsAreRefused) {
  ExperimentJob job;
  job.protocol = "leave-one-out";
  job.out = "/tmp/x";
  job.base.config.data.spec = "manifest:x.csv";
  EXPECT_THROW_MSG(run_experiment(job), ConfigError, "unknown protocol 'leave-one-out'");
  job.protocol = "multipie-5fold";
  job.base.config.gen_k = 0;
  EXPECT_THROW_MSG(run_experiment(job), ConfigError, "k must be >= 1");
  job.base.config.gen_k = 1;
  job.protocol = "cross-dataset";
  EXPECT_THROW_MSG(run_experiment(job), ConfigError, "needs --data-b");
  job.protocol = "kn-curve";
  job.ks = {0, -1};
  EXPECT_THROW_MSG(run_experiment(job), ConfigError, "k must be in [0, 100], got -1");
  job.protocol = "unseen-poses";
  EXPECT_THROW_MSG(run_experiment(job), ConfigError, "unseen-poses needs --cls-train-poses");
  job.base.config.cls_train_poses = "left";
  job.seeds = 0;
  EXPECT_THROW_MSG(run_experiment(job), ConfigError, "seeds must be in [1, 20], got 0");
}

TEST(UnseenPoses, AccuracyOverThePosesNotTrainedOn) {
  ClassificationReport r;
  r.group_names = {"straight", "left", "right", "up"};
  r.group_accuracy = {0.9, 0.5, 0.25, std::nan("")};
  r.group_count = {10, 4, 4, 0};
  EXPECT_DOUBLE_EQ(unseen_pose_accuracy(r, "straight"), (0.5 * 4 + 0.25 * 4) / 8);
  EXPECT_DOUBLE_EQ(unseen_pose_accuracy(r, "straight,left"), 0.25);
  EXPECT_TRUE(std::isnan(unseen_pose_accuracy(r, "straight,left,right")));  // "up" has no face
}

TEST_F(ExperimentTest, UnseenPosesTrainsBothConfigurationsPerSeed) {
  const auto dir = test::fresh_dir("unseen");
  const auto m = test::write_face_manifest(dir / "faces", 4, {"happy", "sad"}, {"left", "right"});
  ExperimentJob job = tiny_experiment("unseen-poses", m, dir / "exp");
  job.seeds = 2;
  job.grid_subjects = 0;
  job.base.config.cls_train_poses = "left";
  job.base.config.select_on_val = true;  // the protocol turns selection off
  const ExperimentResult r = run_experiment(job);
  ASSERT_FALSE(r.interrupted);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].name, "real + generated (k = 1)");
  EXPECT_EQ(r.rows[0].fold_accuracy.size(), 2u);  // one per seed
  for (const char* run : {"seed1", "seed1_k0", "seed2", "seed2_k0"}) {
    const auto config = nlohmann::json::parse(read_text_file((fs::path(job.out) / run / "config.json").string()));
    EXPECT_EQ(config.at("cls_train_poses"), "left") << run;
    EXPECT_EQ(config.at("select_on_val"), false) << run;
    EXPECT_EQ(config.at("data").at("fold"), "0/2") << run;
  }
  const auto summary = nlohmann::json::parse(read_text_file((fs::path(job.out) / "summary.json").string()));
  const auto& u = summary.at("unseen_poses");
  EXPECT_EQ(u.at("seeds"), 2);
  ASSERT_EQ(u.at("real_only_per_seed").size(), 2u);
  const double g0 = u.at("with_generated_per_seed")[0].get<double>() - u.at("real_only_per_seed")[0].get<double>();
  const double g1 = u.at("with_generated_per_seed")[1].get<double>() - u.at("real_only_per_seed")[1].get<double>();
  EXPECT_NEAR(u.at("gain_mean").get<double>(), (g0 + g1) / 2, 1e-9);
  EXPECT_NE(read_text_file(r.report).find("Accuracy on the poses C_exp never saw"), std::string::npos);
}

}  // namespace
}  // namespace posefer
