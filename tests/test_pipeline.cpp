// Jobs (pipeline.h): which checkpoint a run directory stands for.
#include "posefer/pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"
#include "train_test_util.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kExpr{"neutral", "happy", "sad"};
const std::vector<std::string> kPose{"left", "right"};

// A run directory whose checkpoint.pt (the last epoch) and best.pt (another state) differ.
void write_run(const fs::path& dir, bool select_on_val) {
  TrainConfig cfg = test::tiny_train_config();
  cfg.select_on_val = select_on_val;
  Trainer t(cfg, dir.string(), kExpr, kPose);
  const auto x = test::blob_faces(4, 32, 3);
  const auto e = torch::tensor({0, 1, 2, 0}, torch::kInt64), p = torch::tensor({0, 1, 0, 1}, torch::kInt64);
  t.train_step(x, e, p, 3);
  t.save((dir / "best.pt").string());
  t.train_step(x, e, p, 3);
  t.save((dir / "checkpoint.pt").string());
}

TEST(Pipeline, RunDirectoryStandsForTheSelectedCheckpoint) {
  const auto dir = test::fresh_dir("selected");
  write_run(dir, true);
  EXPECT_EQ(resolve_checkpoint_path(dir.string()), (dir / "best.pt").string());
  // evaluate / classify / synthesize load it: the weights are best.pt's, not the last epoch's.
  auto lm = load_trained_model(dir.string());
  auto best = load_trained_model((dir / "best.pt").string());
  auto last = load_trained_model((dir / "checkpoint.pt").string());
  EXPECT_TRUE(torch::equal(lm.model->cls->expression_head->weight, best.model->cls->expression_head->weight));
  EXPECT_FALSE(torch::equal(lm.model->cls->expression_head->weight, last.model->cls->expression_head->weight));
  // A file is taken as it is.
  EXPECT_EQ(resolve_checkpoint_path((dir / "checkpoint.pt").string()), (dir / "checkpoint.pt").string());
}

TEST(Pipeline, RunWithoutSelectionStandsForItsLastEpoch) {
  const auto dir = test::fresh_dir("last");
  write_run(dir, false);
  EXPECT_EQ(resolve_checkpoint_path(dir.string()), (dir / "checkpoint.pt").string());
  const auto sel = test::fresh_dir("no_best");
  write_run(sel, true);
  fs::remove(sel / "best.pt");
  EXPECT_EQ(resolve_checkpoint_path(sel.string()), (sel / "checkpoint.pt").string());
}

}  // namespace
}  // namespace posefer
