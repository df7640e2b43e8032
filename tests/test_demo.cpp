#include "posefer/jobs/demo.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "posefer/core/check.h"
#include "posefer/io/image_io.h"
#include "posefer/report/report.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

// 5 people x 2 poses x 2 expressions at 32 px, one epoch: the whole demo in a few seconds.
DemoJob tiny_demo(const fs::path& out) {
  DemoJob j;
  j.out = out.string();
  j.identities = 5;
  j.poses = "0,30";
  j.expressions = "neutral,happy";
  j.image_size = 32;
  j.epochs = 1;
  j.judge_epochs = 1;
  j.grid_subjects = 1;
  j.gen_width = 0.05;
  j.disc_width = 0.1;
  j.cls_width = 0.05;
  j.threads = 1;
  j.progress = false;
  return j;
}

TEST(Demo, WritesReportAndContinuesWithoutRetraining) {
  const fs::path out = test::fresh_dir("demo") / "demo";
  const DemoResult r = run_demo(tiny_demo(out));
  ASSERT_FALSE(r.interrupted);
  for (const char* f : {"index.html", "report.md", "summary.json", "synthesis.json", "loss.png", "accuracy.png",
                        "confusion_joint.png", "confusion_baseline.png", "faces/manifest.csv",
                        "joint/checkpoint.pt", "baseline/checkpoint.pt", "joint/eval.md"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  // Fold 0/5 of 5 people: one test person, 4 faces; each input pairs with its 3 other labels.
  const auto& s = r.summary["synthesis"];
  EXPECT_EQ(s["subjects"].get<int>(), 1);
  EXPECT_EQ(s["inputs"].get<int>(), 4);
  EXPECT_EQ(s["pairs"].get<int>(), 12);
  const double a0 = r.summary["accuracy_real_only"].get<double>();
  const double a1 = r.summary["accuracy_real_plus_generated"].get<double>();
  EXPECT_TRUE(a0 == 0 || a0 == 0.25 || a0 == 0.5 || a0 == 0.75 || a0 == 1) << a0;  // 4 test faces
  EXPECT_TRUE(a1 == 0 || a1 == 0.25 || a1 == 0.5 || a1 == 0.75 || a1 == 1) << a1;
  // Both runs train at the demo's batch size (8 by default) and D_att weight (1e-2, not the
  // library's 1e-4).
  for (const char* run : {"joint", "baseline"}) {
    const auto cfg = nlohmann::json::parse(read_text_file((out / run / "config.json").string()));
    EXPECT_EQ(cfg.at("batch_size").get<int>(), 8) << run;
    EXPECT_DOUBLE_EQ(cfg.at("loss").at("adv_att").get<double>(), 0.01) << run;
  }
  // The page shows the sheet of the test person and both confusion matrices.
  const std::string html = read_text_file((out / "index.html").string());
  EXPECT_NE(html.find("confusion_joint.png"), std::string::npos);
  EXPECT_NE(html.find("<img src=\"synthesis_s000"), std::string::npos);
  EXPECT_NE(html.find("real + generated (k = 1)"), std::string::npos);
  EXPECT_NE(r.summary_markdown.find("| expression, all test faces | 4 |"), std::string::npos) << r.summary_markdown;
  // The joint run logged one epoch; a second call reuses faces and runs.
  const auto epochs_before = read_numeric_csv((out / "joint" / "epochs.csv").string()).rows.size();
  EXPECT_EQ(epochs_before, 1u);
  const auto faces_time = fs::last_write_time(out / "faces" / "manifest.csv");
  const DemoResult again = run_demo(tiny_demo(out));
  EXPECT_EQ(read_numeric_csv((out / "joint" / "epochs.csv").string()).rows.size(), 1u);
  EXPECT_EQ(fs::last_write_time(out / "faces" / "manifest.csv"), faces_time);
  EXPECT_DOUBLE_EQ(again.summary["accuracy_real_plus_generated"].get<double>(), a1);
  // Other faces into the same folder would mix runs: refused.
  DemoJob other = tiny_demo(out);
  other.identities = 6;
  EXPECT_THROW_MSG(run_demo(other), ConfigError, "holds runs trained on other rendered faces");
}

TEST(Demo, RejectsBadSettings) {
  DemoJob j = tiny_demo(test::fresh_dir("demo_bad") / "d");
  j.k = 0;
  EXPECT_THROW_MSG(run_demo(j), ConfigError, "--k must be in 1..100");
  j = tiny_demo(test::fresh_dir("demo_bad2") / "d");
  j.image_size = 48;
  EXPECT_THROW_MSG(run_demo(j), ConfigError, "--image-size must be a multiple of 32, got 48");
  j = tiny_demo(test::fresh_dir("demo_bad3") / "d");
  j.identities = 1;
  EXPECT_THROW_MSG(run_demo(j), ConfigError, "--identities must be in 2..9999, got 1");
  j = tiny_demo(test::fresh_dir("demo_bad4") / "d");
  j.batch = 1;
  EXPECT_THROW_MSG(run_demo(j), ConfigError, "--batch must be in 2..4096, got 1");
  j = tiny_demo(test::fresh_dir("demo_bad5") / "d");
  j.adv_att = -1;
  EXPECT_THROW_MSG(run_demo(j), ConfigError, "--adv-att must be >= 0, got -1");
}

}  // namespace
}  // namespace posefer
