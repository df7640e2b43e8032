// augment.h: generated faces for another data set's training part, with mapped labels.
#include "posefer/jobs/augment.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "experiment_test_util.h"
#include "posefer/core/check.h"
#include "posefer/data/dataset.h"
#include "posefer/io/image_io.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

TEST(Augment, GeneratesKFacesPerImageWithMappedLabelsAndReuses) {
  spdlog::set_level(spdlog::level::warn);
  const auto dir = test::fresh_dir("aug");
  // A: "happy" / "fearful" at two poses; B: FER-like names, one pose bin, official groups.
  const auto a = test::write_face_manifest(dir / "a", 4, {"fearful", "happy"}, {"left", "right"});
  const auto b = test::write_face_manifest(dir / "b", 6, {"fear", "happy", "sad"}, {"all"},
                                           {"Training", "Training", "PublicTest", "PrivateTest"});
  TrainJob tj = test::tiny_train_job("manifest:" + a, "0/2");
  tj.run_dir = (dir / "run").string();
  tj.evaluate = false;
  run_train_job(tj);

  AugmentJob job;
  job.checkpoint = tj.run_dir;
  job.data.spec = "manifest:" + b;
  job.data.fold = "official";
  job.k = 2;
  job.out = (dir / "out").string();
  job.threads = 1;
  job.progress = false;
  const AugmentResult r = run_augment_job(job);
  // B's training part: people s0, s1, s4, s5 (groups cycle) x 3 expressions = 12 images.
  EXPECT_EQ(r.sources, 12);
  EXPECT_EQ(r.generated, 24);
  EXPECT_FALSE(r.reused);
  EXPECT_EQ(r.mapping, (std::vector<std::string>{"fearful -> fear", "happy -> happy"}));

  const Dataset gen = load_dataset(parse_data_spec("manifest:" + r.manifest));
  ASSERT_EQ(gen.samples.size(), 24u);
  EXPECT_EQ(gen.expression_names, (std::vector<std::string>{"fear", "happy"}));  // never "sad"
  EXPECT_EQ(gen.pose_names, (std::vector<std::string>{"all"}));  // A's poses are not B's: the source's
  for (const auto& s : gen.samples) {
    const auto img = read_image(s.path, 3);
    EXPECT_EQ(img.sizes(), (std::vector<int64_t>{3, 32, 32})) << s.path;
    EXPECT_TRUE(s.subject == "s0" || s.subject == "s1" || s.subject == "s4" || s.subject == "s5") << s.subject;
  }

  // Same job: reused without writing; a changed k regenerates.
  fs::remove(fs::path(job.out) / "images" / "g00000000.png");
  EXPECT_TRUE(run_augment_job(job).reused);
  EXPECT_FALSE(fs::exists(fs::path(job.out) / "images" / "g00000000.png"));
  job.k = 1;
  const AugmentResult r1 = run_augment_job(job);
  EXPECT_FALSE(r1.reused);
  EXPECT_EQ(r1.generated, 12);

  // No class in common: a clear error.
  const auto c = test::write_face_manifest(dir / "c", 4, {"squint", "scream"}, {"all"},
                                           {"Training", "PrivateTest"});
  job.data.spec = "manifest:" + c;
  job.out = (dir / "out_c").string();
  EXPECT_THROW_MSG(run_augment_job(job), ConfigError, "has a class of the same name");
  job.k = 0;
  EXPECT_THROW_MSG(run_augment_job(job), ConfigError, "k must be in [1, 1000]");
  spdlog::set_level(spdlog::level::info);
}

}  // namespace
}  // namespace posefer
