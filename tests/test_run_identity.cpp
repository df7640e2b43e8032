// Run identity (run_identity.h): config schema migration and the data fingerprint that
// `train --resume` checks.
#include "posefer/train/run_identity.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "experiment_test_util.h"
#include "posefer/core/check.h"
#include "posefer/train/checkpoint.h"
#include "posefer/jobs/pipeline.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RunIdentity, MissingConfigFieldsAreNamedWithTheDefaultsTheyWouldTake) {
  nlohmann::json stored = TrainConfig{};
  EXPECT_TRUE(missing_config_fields(stored).empty());
  stored["loss"].erase("cross_l1");
  stored["model"].erase("backbone_side");
  stored.erase("cls_train_poses");
  const auto missing = missing_config_fields(stored);
  ASSERT_EQ(missing.size(), 3u);
  EXPECT_EQ(missing[0], "cls_train_poses");  // JSON objects keep their keys sorted
  EXPECT_EQ(missing[1], "loss.cross_l1");
  EXPECT_EQ(missing[2], "model.backbone_side");
  const TrainConfig d;
  EXPECT_EQ(describe_defaults({"loss.cross_l1", "model.backbone_side"}),
            "loss.cross_l1 = " + nlohmann::json(d.loss.cross_l1).dump() +
                ", model.backbone_side = " + nlohmann::json(d.model.backbone_side).dump());
  // A whole struct absent is one missing field, not one per member.
  stored.erase("augment");
  EXPECT_EQ(missing_config_fields(stored).size(), 4u);
  // Schema 3 runs lack G_dec's upsampling; migrating gives them the layout they were trained with.
  nlohmann::json schema3 = TrainConfig{};
  schema3["model"].erase("upsample");
  EXPECT_EQ(missing_config_fields(schema3), std::vector<std::string>{"model.upsample"});
  EXPECT_EQ(describe_defaults({"model.upsample"}), "model.upsample = \"deconv\"");
  // Schema 4 runs lack G_dec's code layout: the default is the tiled one they were trained with.
  nlohmann::json schema4 = TrainConfig{};
  schema4["model"].erase("g_codes");
  EXPECT_EQ(missing_config_fields(schema4), std::vector<std::string>{"model.g_codes"});
  EXPECT_EQ(describe_defaults({"model.g_codes"}), "model.g_codes = \"tiled\"");
  // Schema 6 runs lack data.align_padded: off, the alignment chain they were trained with.
  nlohmann::json schema6 = TrainConfig{};
  schema6["data"].erase("align_padded");
  EXPECT_EQ(missing_config_fields(schema6), std::vector<std::string>{"data.align_padded"});
  EXPECT_EQ(describe_defaults({"data.align_padded"}), "data.align_padded = false");
}

TEST(RunIdentity, ResumingAnOlderConfigIsRefusedUnlessMigrated) {
  EXPECT_NO_THROW(check_config_migration("run/checkpoint.pt", {}, false));
  EXPECT_THROW_MSG(check_config_migration("run/checkpoint.pt", {"loss.cross_l1"}, false), ConfigError,
                   "run/checkpoint.pt: written by an older posefer");
  EXPECT_THROW_MSG(check_config_migration("run/checkpoint.pt", {"loss.cross_l1"}, false), ConfigError,
                   "loss.cross_l1 = ");
  EXPECT_THROW_MSG(check_config_migration("run/checkpoint.pt", {"loss.cross_l1"}, false), ConfigError,
                   "--migrate");
  EXPECT_NO_THROW(check_config_migration("run/checkpoint.pt", {"loss.cross_l1"}, true));
}

TEST(RunIdentity, FingerprintMismatchNamesWhatDiffers) {
  nlohmann::json a = {{"spec", "cmu:x"}, {"image_size", 64}, {"train_images", 10}, {"digest", "aa"}};
  EXPECT_EQ(fingerprint_mismatch(a, a), "");
  nlohmann::json b = a;
  b["train_images"] = 9;
  b["digest"] = "bb";
  EXPECT_EQ(fingerprint_mismatch(a, b), "training images 10 -> 9; image list digest \"aa\" -> \"bb\"");
  b = a;
  b.erase("digest");  // a key one side lacks is not compared
  EXPECT_EQ(fingerprint_mismatch(a, b), "");
}

// A finished 1-epoch run on a manifest, its checkpoint's config and fingerprint, then resumes.
class ResumeIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir("run_identity");
    manifest_ = test::write_face_manifest(dir_ / "faces", 4, {"happy", "sad"}, {"left", "right"});
    job_ = test::tiny_train_job("manifest:" + manifest_, "0/2");
    job_.run_dir = (dir_ / "run").string();
    job_.config.gen_k = 0;
    job_.config.train_gan = false;
    job_.evaluate = false;
    run_train_job(job_);
  }
  TrainJob resume_job(int epochs) const {
    TrainJob r;
    r.run_dir = job_.run_dir;
    r.resume = true;
    r.resume_epochs = epochs;
    r.evaluate = false;
    r.config.threads = 1;
    r.config.progress = false;
    return r;
  }
  fs::path dir_;
  std::string manifest_;
  TrainJob job_;
};

TEST_F(ResumeIdentity, CheckpointCarriesSchemaAndDataFingerprint) {
  const std::string ckpt = job_.run_dir + "/checkpoint.pt";
  std::vector<std::string> missing{"x"};
  read_checkpoint_config(ckpt, &missing);
  EXPECT_TRUE(missing.empty());
  const LoadedModel lm = load_trained_model(ckpt);
  const nlohmann::json& f = lm.state.data_fingerprint;
  ASSERT_TRUE(f.is_object());
  EXPECT_EQ(f.at("spec"), "manifest:" + manifest_);
  EXPECT_EQ(f.at("image_size"), 32);
  EXPECT_GT(f.at("train_images").get<int>(), 0);
  EXPECT_EQ(f.at("expressions"), nlohmann::json({"happy", "sad"}));
  EXPECT_EQ(f.at("digest").get<std::string>().size(), 16u);
  // The same data gives the same fingerprint: resuming goes on.
  EXPECT_NO_THROW(run_train_job(resume_job(2)));
}

TEST_F(ResumeIdentity, ResumingOnChangedDataIsRefusedNamingTheDifference) {
  // Relabel every person's happy/left image (same files, same count): only the digest can tell.
  std::string csv = slurp(manifest_);
  int relabelled = 0;
  for (size_t pos; (pos = csv.find(",happy,left")) != std::string::npos; ++relabelled) {
    csv.replace(pos, 11, ",sad,left");
  }
  ASSERT_EQ(relabelled, 4);
  std::ofstream(manifest_, std::ios::trunc) << csv;
  const std::string before = slurp(fs::path(job_.run_dir) / "checkpoint.pt");
  EXPECT_THROW_MSG(run_train_job(resume_job(2)), InputError, "the data differs from the data this run was trained on");
  EXPECT_THROW_MSG(run_train_job(resume_job(2)), InputError, "image list digest");
  // Nothing of the run was touched.
  EXPECT_EQ(slurp(fs::path(job_.run_dir) / "checkpoint.pt"), before);
}

// Extending a finished cosine run: stretching the cosine would rewrite the rates of the epochs
// already trained, so it is refused; a warm restart (--cls-cycle) leaves them alone and gives
// exactly the run a fresh `--epochs 2 --cls-cycle 1` trains.
TEST(ResumeSchedule, ExtendingACosineRunNeedsAWarmRestartAndEqualsTheFreshRun) {
  const fs::path dir = test::fresh_dir("resume_schedule");
  const std::string manifest = test::write_face_manifest(dir / "faces", 4, {"happy", "sad"}, {"left", "right"});
  auto job = [&](const std::string& out, int epochs, int cycle) {
    TrainJob j = test::tiny_train_job("manifest:" + manifest, "0/2");
    j.run_dir = (dir / out).string();
    j.config.gen_k = 0;
    j.config.train_gan = false;
    j.config.epochs = epochs;
    j.config.optim.cls_schedule = "cosine";
    j.config.optim.cls_warmup = 0.5;
    j.config.optim.cls_cycle = cycle;
    j.evaluate = false;
    return j;
  };
  run_train_job(job("short", 1, 0));
  TrainJob more;
  more.run_dir = (dir / "short").string();
  more.resume = true;
  more.resume_epochs = 2;
  more.evaluate = false;
  more.config.threads = 1;
  more.config.progress = false;
  const std::string before = slurp(dir / "short" / "checkpoint.pt");
  EXPECT_THROW_MSG(run_train_job(more), ConfigError, "changes C_exp's learning rate in the 1 epoch(s) already begun");
  EXPECT_THROW_MSG(run_train_job(more), ConfigError, "restart it: --cls-cycle 1");
  EXPECT_EQ(slurp(dir / "short" / "checkpoint.pt"), before);  // nothing touched
  more.resume_cls_cycle = 1;
  run_train_job(more);
  run_train_job(job("fresh", 2, 1));
  const LoadedModel resumed = load_trained_model((dir / "short").string());
  const LoadedModel fresh = load_trained_model((dir / "fresh").string());
  EXPECT_EQ(resumed.config.epochs, 2);
  EXPECT_EQ(resumed.config.optim.cls_cycle, 1);
  EXPECT_EQ(resumed.state.epoch, 2);
  const auto a = resumed.model->cls->parameters();
  const auto b = fresh.model->cls->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

}  // namespace
}  // namespace posefer
