// Jobs (pipeline.h): which checkpoint a run directory stands for.
#include "posefer/jobs/pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "experiment_test_util.h"
#include "posefer/core/check.h"
#include "posefer/data/dataset_util.h"
#include "posefer/io/image_io.h"
#include "test_support.h"
#include "train_test_util.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kExpr{"neutral", "happy", "sad"};
const std::vector<std::string> kPose{"left", "right"};

// A classifier-only tiny run (no GAN, no evaluation at the end) of `spec` into run_dir.
TrainJob classifier_job(const std::string& spec, const std::string& fold, const fs::path& run_dir) {
  TrainJob job = test::tiny_train_job(spec, fold);
  job.run_dir = run_dir.string();
  job.config.gen_k = 0;
  job.config.train_gan = false;
  job.evaluate = false;
  return job;
}

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

TEST(Pipeline, EveryImageLeftOutIsListedInSkippedCsv) {
  // A manifest row whose image is missing, one repeated, and one whose image does not decode:
  // the run trains on the rest and names all three, with the part each was left out of.
  const auto dir = test::fresh_dir("skipped");
  const auto m = test::write_face_manifest(dir / "faces", 4, {"happy", "sad"}, {"left", "right"});
  {
    std::ofstream csv(m, std::ios::app);
    csv << "images/gone.png,s0,happy,left\n"           // missing file
        << "images/s1_happy_left.png,s1,happy,left\n";  // the same row again
  }
  std::ofstream(dir / "faces" / "images" / "s2_sad_right.png") << "not a png";  // corrupt
  TrainJob job = test::tiny_train_job("manifest:" + m, "0/2");
  job.run_dir = (dir / "run").string();
  job.config.gen_k = 0;
  job.config.train_gan = false;
  run_train_job(job);
  std::ifstream in(dir / "run" / "skipped.csv");
  std::string line;
  std::vector<std::vector<std::string>> rows;
  std::getline(in, line);
  EXPECT_EQ(line, "part,path,reason");
  while (std::getline(in, line)) rows.push_back(data_util::split(line, ','));
  ASSERT_EQ(rows.size(), 3u);
  std::map<std::string, std::string> part_of;
  for (const auto& r : rows) part_of[fs::path(r.at(1)).filename().string()] = r.at(0);
  EXPECT_EQ(part_of["gone.png"], "dataset");
  EXPECT_EQ(part_of["s1_happy_left.png"], "dataset");                      // the duplicate
  EXPECT_TRUE(part_of["s2_sad_right.png"] == "train" || part_of["s2_sad_right.png"] == "test");
}

TEST(Pipeline, EvaluateNamesTheImagesItLeftOut) {
  // The catalogue's case: evaluate reported n = 63 of 64 without saying which file was missing.
  const auto dir = test::fresh_dir("eval_skipped");
  const auto m = test::write_face_manifest(dir / "faces", 4, {"happy", "sad"}, {"left", "right"});
  TrainJob job = classifier_job("manifest:" + m, "0/2", dir / "run");
  run_train_job(job);
  const auto split = nlohmann::json::parse(std::ifstream(dir / "run" / "split.json"));
  const std::string person = split.at("test_subjects").at(0);
  const fs::path broken = dir / "faces" / "images" / (person + "_sad_left.png");
  ASSERT_TRUE(fs::exists(broken)) << broken;
  std::ofstream(broken, std::ios::trunc) << "not a png";
  EvaluateJob ev;
  ev.checkpoint = job.run_dir;
  ev.out_dir = (dir / "eval").string();
  ev.eval.disentangle = false;
  ev.eval.progress = false;
  const EvalResult r = run_evaluate_job(ev);
  EXPECT_EQ(r.expression.count, 7);  // 2 test people x 4 images, one unreadable
  std::ifstream in(dir / "eval" / "skipped.csv");
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header, "part,path,reason");
  EXPECT_EQ(row.rfind("test,", 0), 0u) << row;
  EXPECT_NE(row.find(broken.filename().string()), std::string::npos) << row;
}

TEST(Pipeline, EnsembleVotesWithTheAveragedProbabilitiesOfItsRuns) {
  const auto dir = test::fresh_dir("ensemble");
  const auto m = test::write_face_manifest(dir / "faces", 6, {"happy", "sad"}, {"left", "right"});
  std::vector<std::string> runs;
  for (int seed : {1, 2}) {
    TrainJob job = classifier_job("manifest:" + m, "0/3", dir / ("run" + std::to_string(seed)));
    job.config.seed = seed;
    job.config.data.val_fraction = 0.5;  // 2 of the 4 training people validate
    run_train_job(job);
    runs.push_back(job.run_dir);
  }
  auto lm = load_trained_models(runs);
  ASSERT_EQ(lm.ensemble.size(), 1u);
  EXPECT_EQ(lm.path, resolve_checkpoint_path(runs[0]));
  EXPECT_EQ(lm.ensemble[0]->path, resolve_checkpoint_path(runs[1]));
  EXPECT_EQ(classifier_members(lm).size(), 2u);
  // The same from the jobs' fields (checkpoint + ensemble); both runs have pose heads, so they vote on poses.
  const auto again = load_trained_models(runs[0], {runs[1]});
  EXPECT_EQ(again.ensemble.at(0)->path, lm.ensemble[0]->path);
  EXPECT_TRUE(votes_on_pose(again));

  EvaluateJob ev;
  ev.checkpoint = runs[0];
  ev.ensemble = {runs[1]};
  ev.eval.disentangle = false;
  ev.eval.progress = false;
  const EvalResult test_r = run_evaluate_job(ev);
  EXPECT_EQ(test_r.expression.count, 8);  // fold 0/3: 2 test people x 2 expressions x 2 poses
  // Default folder: beside the first run, named for an ensemble; members listed.
  const auto members = nlohmann::json::parse(std::ifstream(fs::path(runs[0]) / "eval_ensemble" / "ensemble.json"));
  EXPECT_EQ(members.at("members").size(), 2u);
  EXPECT_EQ(members.at("part"), "test");
  // The validation part: the people the runs chose their epoch on, never the test people.
  ev.part = "val";
  const EvalResult val_r = run_evaluate_job(ev);
  EXPECT_TRUE(fs::exists(fs::path(runs[0]) / "eval_val_ensemble" / "eval.json"));
  EXPECT_EQ(val_r.expression.count, 8);  // 2 validation people
  // Test-time crops for every member: the run's own evaluation is kept, the settings recorded.
  const auto own = nlohmann::json::parse(std::ifstream(fs::path(runs[0]) / "eval_val_ensemble" / "eval.json"));
  EXPECT_EQ(own.at("test_time").at("tta_crop"), nlohmann::json({0.0, 0.0}));
  ev.tta_crop = 0.1;
  const EvalResult crop_r = run_evaluate_job(ev);
  EXPECT_EQ(crop_r.expression.count, 8);
  const auto cropped = nlohmann::json::parse(std::ifstream(fs::path(runs[0]) / "eval_val_ensemble_crop0.1" / "eval.json"));
  EXPECT_EQ(cropped.at("test_time").at("tta_crop"), nlohmann::json({0.1, 0.1}));
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(fs::path(runs[0]) / "eval_val_ensemble" / "eval.json")), own);
  ev.tta_crop = 0.6;
  EXPECT_THROW_MSG(run_evaluate_job(ev), ConfigError, "--tta-crop must be in [0, 0.5], got 0.6");
  ev.tta_crop = -1;
  ev.part = "both";
  EXPECT_THROW_MSG(run_evaluate_job(ev), ConfigError, "part must be test or val, got 'both'");

  // Members that prepare faces differently are refused, naming what differs.
  TrainJob other = classifier_job("manifest:" + m, "0/3", dir / "run_64");
  other.config.model.image_size = 64;
  run_train_job(other);
  EXPECT_THROW_MSG(load_trained_models({runs[0], other.run_dir}), ConfigError, "in its image size");
  EXPECT_THROW_MSG(load_trained_models({}), ConfigError, "no checkpoint given");
}

TEST(Pipeline, EvaluateOnTheValidationPartNeedsOne) {
  const auto dir = test::fresh_dir("no_val");
  const auto m = test::write_face_manifest(dir / "faces", 4, {"happy", "sad"}, {"left", "right"});
  TrainJob job = classifier_job("manifest:" + m, "0/2", dir / "run");
  run_train_job(job);
  EvaluateJob ev;
  ev.checkpoint = job.run_dir;
  ev.part = "val";
  ev.eval.disentangle = false;
  ev.eval.progress = false;
  EXPECT_THROW_MSG(run_evaluate_job(ev), InputError, "has no validation images (train with --val-fraction");
}

}  // namespace
}  // namespace posefer
