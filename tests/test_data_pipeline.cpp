// Tests of prepare_data's face alignment: --align DIR remapping, --align auto's cache, pose bins
// estimated from landmarks.
#include "posefer/train/data_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <random>
#include <set>
#include <sstream>

#include "data_test_util.h"
#include "head_pose_test_util.h"
#include "posefer/core/check.h"
#include "posefer/face/faceapi_weights.h"

namespace posefer {
namespace {

using testing_util::expect_throw_with;
using testing_util::ScratchDir;
using testing_util::write_image;
namespace fs = std::filesystem;

// A manifest data set of 6 raw 20x30 photos (value 50) in sub-folders, one subject each.
std::string make_manifest(const ScratchDir& d) {
  std::ofstream csv(d / "set/m.csv");
  csv << "path,subject,expression,pose\n";
  for (int i = 0; i < 6; ++i) {
    const std::string rel = "imgs/" + std::string(i % 2 ? "b" : "a") + "/p" + std::to_string(i) + ".bmp";
    write_image(d / ("set/" + rel), cv::Mat(20, 30, CV_8UC3, cv::Scalar(50, 50, 50)));
    csv << rel << ",s" << i << "," << (i % 2 ? "happy" : "sad") << ",front\n";
  }
  return "manifest:" + (d / "set/m.csv");
}

// An aligned folder as `posefer align` writes it: 16x16 PNGs (value 200) for samples `which`.
void make_aligned(const ScratchDir& d, const std::string& dir, const std::vector<int>& which) {
  for (int i : which) {
    write_image(d / (dir + "/imgs/" + std::string(i % 2 ? "b" : "a") + "/p" + std::to_string(i) + ".png"),
                cv::Mat(16, 16, CV_8UC3, cv::Scalar(200, 200, 200)));
  }
}

// Config of the manifest data set above, split by subjects in half.
DataConfig manifest_config(const ScratchDir& d) {
  fs::create_directories(d.path() / "set");
  DataConfig data;
  data.spec = make_manifest(d);
  data.fold = "subjects:0.5";
  return data;
}

PrepareOptions quiet_options() {
  PrepareOptions opt;
  opt.image_size = 32;
  opt.progress = false;
  opt.threads = 1;
  return opt;
}

std::set<std::string> subjects(const PreparedData& p, const std::vector<size_t>& idx) {
  std::set<std::string> out;
  for (size_t i : idx) out.insert(p.dataset.samples[i].subject);
  return out;
}

TEST(DataPipelineAlign, RemapsToAlignedPngsAndLeavesOutTheRest) {
  ScratchDir d;
  DataConfig data = manifest_config(d);
  make_aligned(d, "aligned", {0, 1, 2, 4});
  const PrepareOptions opt = quiet_options();
  const PreparedData raw = prepare_data(data, opt);
  data.align = (d / "aligned");
  const PreparedData p = prepare_data(data, opt);

  EXPECT_EQ(p.aligned_dir, data.align);
  ASSERT_EQ(p.dataset.samples.size(), 4u);
  for (const auto& s : p.dataset.samples) {
    EXPECT_EQ(s.path.rfind(data.align, 0), 0u) << s.path;
    EXPECT_EQ(fs::path(s.path).extension(), ".png");
  }
  EXPECT_EQ(p.dataset.samples[3].path, (fs::path(data.align) / "imgs/a/p4.png").string());
  EXPECT_EQ(p.dataset.samples[3].subject, "s4");
  // The two without an aligned face are listed, never read from the raw photo.
  int listed = 0;
  for (const auto& s : p.dataset.skipped) {
    if (s.find("no aligned face in " + data.align) != std::string::npos) {
      ++listed;
      EXPECT_TRUE(s.find("p3.bmp") != std::string::npos || s.find("p5.bmp") != std::string::npos) << s;
    }
  }
  EXPECT_EQ(listed, 2);
  // Same split as without alignment, less the left-out images.
  const auto train = subjects(p, p.split.train), test = subjects(p, p.split.test);
  const auto raw_train = subjects(raw, raw.split.train), raw_test = subjects(raw, raw.split.test);
  for (const auto& s : train) EXPECT_TRUE(raw_train.count(s)) << s;
  for (const auto& s : test) EXPECT_TRUE(raw_test.count(s)) << s;
  EXPECT_EQ(train.size() + test.size(), 4u);
  // Pixels come from the aligned PNGs (200), resized without a centre crop.
  ASSERT_EQ(p.train.size() + p.test.size(), 4);
  for (const ImageSet* set : {&p.train, &p.test}) {
    if (set->size() == 0) continue;
    EXPECT_EQ(set->images.sizes(), torch::IntArrayRef({set->size(), 3, 32, 32}));
    EXPECT_TRUE(set->images.eq(200).all().item<bool>());
  }
  EXPECT_TRUE(raw.train.images.eq(50).all().item<bool>());
}

TEST(DataPipelineAlign, ErrorsNameTheFolderAndTheProblem) {
  ScratchDir d;
  DataConfig data = manifest_config(d);
  const PrepareOptions opt = quiet_options();
  data.align = d / "nowhere";
  expect_throw_with<InputError>([&] { prepare_data(data, opt); },
                                "aligned faces folder " + (d / "nowhere") + ": no such directory");
  fs::create_directories(d.path() / "empty");
  data.align = d / "empty";
  expect_throw_with<InputError>([&] { prepare_data(data, opt); },
                                "none of the 6 images of manifest:");
  data.align = "auto";  // no cache folder given
  expect_throw_with<ConfigError>([&] { prepare_data(data, opt); }, "--align auto needs a cache folder");
  data.align = d / "empty";
  data.crop = "center";
  expect_throw_with<ConfigError>([&] { prepare_data(data, opt); },
                                 "crop 'center' does not apply to aligned faces");
  data.crop = "auto";
  data.pose_from_landmarks = 3;
  expect_throw_with<ConfigError>([&] { prepare_data(data, opt); }, "need a head pose model");
  data.align = "";
  expect_throw_with<ConfigError>([&] { prepare_data(data, opt); }, "add --align DIR|auto");
}

TEST(DataPipelineAlign, AutoCacheKeyFollowsDataAndSettings) {
  ScratchDir d;
  DataConfig data;
  data.spec = "fer2013:" + (d / "fer");
  data.align_cache = d / "cache";
  const std::string a = auto_align_dir(data, 64);
  EXPECT_EQ(fs::path(a).parent_path(), fs::path(data.align_cache));
  EXPECT_EQ(fs::path(a).filename().string().rfind("fer2013_", 0), 0u) << a;
  EXPECT_EQ(auto_align_dir(data, 128), a);  // crops are at least 128 either way
  EXPECT_NE(auto_align_dir(data, 256), a);  // larger models get larger crops
  DataConfig same_place = data;
  same_place.spec = "fer2013:" + (d / "x/../fer");
  EXPECT_EQ(auto_align_dir(same_place, 64), a);  // canonical path
  DataConfig other = data;
  other.spec = "fer2013:" + (d / "fer2");
  EXPECT_NE(auto_align_dir(other, 64), a);
  const auto job = auto_align_job(data, 64, a);
  EXPECT_EQ(job.align.size, 128);
  EXPECT_EQ(job.align.channels, 1);
  EXPECT_TRUE(job.whole_image);
  EXPECT_FALSE(job.haar_fallback);
  DataConfig genki = data;
  genki.spec = "genki:" + (d / "g");
  EXPECT_FALSE(auto_align_job(genki, 64, a).whole_image);
  EXPECT_TRUE(auto_align_job(genki, 64, a).haar_fallback);
  EXPECT_EQ(auto_align_job(genki, 64, a).align.channels, 3);
  // GENKI keeps its unaligned centre crop where no face is found; the key (folder) says so,
  // and the crop fraction is part of it. Other kinds leave such photos out (key unchanged).
  EXPECT_DOUBLE_EQ(job.center_fallback, 0.0);
  genki.crop_fraction = 0.6;
  EXPECT_DOUBLE_EQ(auto_align_job(genki, 64, a).center_fallback, 0.6);
  const std::string g6 = auto_align_dir(genki, 64);
  genki.crop_fraction = 0.7;
  EXPECT_NE(auto_align_dir(genki, 64), g6);
  genki.crop = "resize";  // an explicit resize: no centre fallback
  EXPECT_DOUBLE_EQ(auto_align_job(genki, 64, a).center_fallback, 0.0);
  genki.crop = "center";  // the genki preset's explicit centre crop
  EXPECT_DOUBLE_EQ(auto_align_job(genki, 64, a).center_fallback, 0.7);
  genki.align = "auto";
  EXPECT_NO_THROW(genki.validate());
  // --align-padded: the padded photo before the cascades, in its own cache folder; the key of a
  // run without it is what it was (older caches stay valid); face crops (FER2013) never use it.
  EXPECT_FALSE(auto_align_job(genki, 64, a).padded_fallback);
  const std::string plain = auto_align_dir(genki, 64);
  genki.align_padded = true;
  EXPECT_TRUE(auto_align_job(genki, 64, a).padded_fallback);
  EXPECT_TRUE(auto_align_job(genki, 64, a).haar_fallback);
  EXPECT_NE(auto_align_dir(genki, 64), plain);
  DataConfig fer_padded = data;
  fer_padded.align_padded = true;
  EXPECT_FALSE(auto_align_job(fer_padded, 64, a).padded_fallback);
}

TEST(DataPipelineAlign, AutoAlignsOnceAndReusesTheCache) {
  if (!fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "face_landmark_68_model"))) {
    GTEST_SKIP() << "face-api weights not installed (run scripts/setup.sh or set POSEFER_MODELS)";
  }
  ScratchDir d;
  // A tiny FER2013 layout: 48x48 grey crops, aligned with the whole image as the face box.
  std::mt19937 rng(5);
  int n = 0;
  for (const char* part : {"train/happy/Training_", "test/sad/PrivateTest_", "test/sad/PublicTest_"}) {
    for (int i = 0; i < 2; ++i) {
      cv::Mat img(48, 48, CV_8UC1);
      cv::randu(img, 0, 255);
      write_image(d / ("fer/" + std::string(part) + std::to_string(n++) + ".jpg"), img);
    }
  }
  DataConfig data;
  data.spec = "fer2013:" + (d / "fer");
  data.fold = "official";
  data.align = "auto";
  data.align_cache = d / "cache";
  const PrepareOptions opt = quiet_options();
  const PreparedData p = prepare_data(data, opt);
  const std::string dir = auto_align_dir(data, 32);
  EXPECT_EQ(p.aligned_dir, dir);
  const fs::path marker = fs::path(dir) / "complete.json";
  ASSERT_TRUE(fs::exists(marker));
  EXPECT_NE(testing_util::slurp(marker.string()).find("\"aligned\": 6"), std::string::npos)
      << testing_util::slurp(marker.string());
  EXPECT_EQ(p.dataset.samples.size(), 6u);
  EXPECT_EQ(p.train.size(), 2);
  EXPECT_EQ(p.test.size(), 2);
  const fs::path crop = fs::path(dir) / "train/happy/Training_0.png";
  ASSERT_TRUE(fs::exists(crop));
  const auto marker_time = fs::last_write_time(marker);
  const auto crop_time = fs::last_write_time(crop);
  const auto csv_time = fs::last_write_time(fs::path(dir) / "landmarks.csv");

  // Second call: nothing is aligned again.
  const PreparedData again = prepare_data(data, opt);
  EXPECT_EQ(again.aligned_dir, dir);
  EXPECT_EQ(fs::last_write_time(marker), marker_time);
  EXPECT_EQ(fs::last_write_time(crop), crop_time);
  EXPECT_EQ(fs::last_write_time(fs::path(dir) / "landmarks.csv"), csv_time);
  EXPECT_TRUE(again.test.images.equal(p.test.images));

  // A run that died before its marker: the next call aligns again and writes the marker.
  fs::remove(marker);
  fs::remove(crop);
  prepare_data(data, opt);
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_TRUE(fs::exists(crop));
}

// landmarks.csv as `posefer align` writes it: 14 leading columns, then x0, y0, ... x67, y67.
std::string align_csv(const std::vector<std::pair<std::string, Landmarks68>>& rows) {
  std::ostringstream csv;
  csv << std::setprecision(9) << "path,outcome,via,face,output,score,box_x,box_y,box_w,box_h,t_a,t_b,t_x,t_y";
  for (int i = 0; i < 68; ++i) csv << ",x" << i << ",y" << i;
  csv << "\n";
  for (const auto& [out, lm] : rows) {
    csv << "/raw/" << out << ",aligned,detector,0," << out << ",0.9,1,2,3,4,1,0,5,6";
    for (const auto& p : lm) csv << "," << p.x << "," << p.y;
    csv << "\n";
  }
  return csv.str();
}

TEST(DataPipelineAlign, PoseBinsFromLandmarkYaw) {
  ScratchDir d;
  DataConfig data = manifest_config(d);
  make_aligned(d, "aligned", {0, 1, 2, 3, 4, 5});
  // A head pose model fitted on projections of a synthetic 3-D face at known yaws.
  std::mt19937 rng(3);
  const auto face = test::synthetic_face_3d(rng);
  const auto train = test::synthetic_pose_samples(face, rng, 300, 40, 10);
  const std::string model = d / "pose.json";
  std::ofstream(model) << fit_head_pose(train.landmarks, train.yaw, train.pitch, 1e-3).to_json().dump();
  // Samples 0..5 at these yaws; sample 5 has a PNG but no landmarks row.
  const double yaw[] = {-35, -5, 30, 8, 20};
  std::vector<std::pair<std::string, Landmarks68>> rows;
  for (int i = 0; i < 5; ++i) {
    rows.emplace_back("imgs/" + std::string(i % 2 ? "b" : "a") + "/p" + std::to_string(i) + ".png",
                      test::project_face(face, yaw[i], 3, 60, 0.05, 100, 120));
  }
  std::ofstream(d / "aligned/landmarks.csv") << align_csv(rows);
  // The reader keys rows by the aligned name and reads x0 from its own column.
  const auto read = read_align_landmarks(d / "aligned/landmarks.csv", AlignCsvKey::kOutput);
  ASSERT_EQ(read.size(), 5u);
  EXPECT_NEAR(read.at("imgs/b/p1.png")[0].x, rows[1].second[0].x, 1e-5);
  EXPECT_NEAR(read.at("imgs/b/p1.png")[67].y, rows[1].second[67].y, 1e-5);

  data.align = d / "aligned";
  data.pose_from_landmarks = 3;
  data.head_pose_model = model;
  const PrepareOptions opt = quiet_options();
  const PreparedData p = prepare_data(data, opt);
  EXPECT_EQ(p.dataset.pose_names, (std::vector<std::string>{"yaw[-45,-15)", "yaw[-15,15)", "yaw[15,45]"}));
  ASSERT_EQ(p.dataset.samples.size(), 5u);
  const int want[] = {0, 1, 2, 1, 2};
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p.dataset.samples[i].pose, want[i]);
    EXPECT_NEAR(p.dataset.samples[i].yaw_deg, yaw[i], 3.0);
  }
  bool listed = false;
  for (const auto& s : p.dataset.skipped) listed = listed || s.find("no landmarks for imgs/b/p5.png") != std::string::npos;
  EXPECT_TRUE(listed);
  // The image sets carry the estimated poses.
  std::set<int64_t> poses;
  for (const ImageSet* set : {&p.train, &p.test}) {
    for (int64_t r = 0; r < set->size(); ++r) poses.insert(set->pose[r].item<int64_t>());
  }
  EXPECT_EQ(poses, (std::set<int64_t>{0, 1, 2}));

  data.head_pose_model = d / "missing.json";
  expect_throw_with<InputError>([&] { prepare_data(data, opt); }, "missing.json");
}

}  // namespace
}  // namespace posefer

namespace posefer {
namespace {

TEST(DataPipelineExtra, ExtraTrainingImagesJoinOnlyTheTrainingPart) {
  testing_util::ScratchDir d;
  std::filesystem::create_directories(d.path() / "set");
  const std::string spec = make_manifest(d);
  // Two extra images labelled with a synonym ("happiness") and the data set's pose.
  std::ofstream csv(d / "extra.csv");
  csv << "path,subject,expression,pose\n";
  for (int i = 0; i < 2; ++i) {
    testing_util::write_image(d / ("x" + std::to_string(i) + ".png"), cv::Mat(20, 30, CV_8UC3, cv::Scalar(90, 90, 90)));
    csv << "x" << i << ".png,g" << i << ",happiness,front\n";
  }
  csv.close();
  DataConfig data;
  data.spec = spec;
  data.fold = "0/3";
  PrepareOptions popt;
  popt.image_size = 8;
  popt.progress = false;
  const PreparedData base = prepare_data(data, popt);
  data.extra_train = "manifest:" + (d / "extra.csv");
  const PreparedData with = prepare_data(data, popt);
  EXPECT_EQ(with.train.size(), base.train.size() + 2);
  EXPECT_EQ(with.test.size(), base.test.size());
  // The extra rows come last, labelled "happy" (index 0 of happy, sad), their own subjects.
  const int64_t n = with.train.size();
  EXPECT_EQ(with.train.expression[n - 1].item<int64_t>(), 0);
  EXPECT_EQ(with.dataset.samples[with.train.sample_index.back()].subject, "extra:g1");
  EXPECT_EQ(with.train.images[n - 1].max().item<int>(), 90);

  std::ofstream bad(d / "bad.csv");
  bad << "path,subject,expression,pose\nx0.png,g0,contempt,front\n";
  bad.close();
  data.extra_train = "manifest:" + (d / "bad.csv");
  expect_throw_with<InputError>([&] { prepare_data(data, popt); }, "expression 'contempt' is not a class of the data set (happy, sad)");
}

}  // namespace
}  // namespace posefer
