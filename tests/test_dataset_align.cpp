// Tests of the data-set alignment job: outcome counts per image and pose bin, outputs written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "posefer/core/check.h"
#include "posefer/face/dataset_align.h"
#include "posefer/face/head_pose.h"
#include "posefer/face/padded_detect.h"
#include "posefer/io/image_io.h"
#include "test_support.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

TEST(FaceDatasetAlign, PolicyNamesAndTable) {
  EXPECT_EQ(parse_multi_face_policy("all"), MultiFacePolicy::kAll);
  EXPECT_EQ(parse_multi_face_policy("skip"), MultiFacePolicy::kSkip);
  EXPECT_THROW_MSG(parse_multi_face_policy("first"), ConfigError,
                   "--multi-face must be largest, all or skip, got 'first'");
  DatasetAlignResult r;
  r.total = {3, 1, 1, 1, 0};
  r.by_pose["left"] = r.total;
  r.failures = {"x.png: cannot read image"};
  const auto md = r.to_markdown();
  EXPECT_NE(md.find("| left | 3 | 1 | 1 | 1 | 0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("- x.png: cannot read image"), std::string::npos) << md;
}

// A manifest of four images in `dir`: sample2 (one face), sample1 (several), a blank image (no
// face) and bad.png (not an image), in the order `rows` lists them (indices 0..3 of that list).
// Empty when the reference photos or the face-api weights are missing (the caller skips).
std::string write_align_fixture(const fs::path& dir, const std::vector<int>& rows) {
  const fs::path inputs = fs::path(POSEFER_SHARED_DIR) / "reference" / "faceapi" / "inputs";
  if (!fs::exists(inputs / "sample1.png") ||
      !fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "tiny_face_detector_model"))) {
    return "";
  }
  write_png((dir / "blank.png").string(), torch::full({3, 120, 160}, 128, torch::kUInt8));
  { std::ofstream(dir / "bad.png") << "not an image at all"; }
  const std::string lines[] = {(inputs / "sample2.png").string() + ",a,happy,front",
                               (inputs / "sample1.png").string() + ",b,sad,front", "blank.png,c,happy,side",
                               "bad.png,d,sad,side"};
  std::ofstream csv(dir / "m.csv");
  csv << "path,subject,expression,pose\n";
  for (int r : rows) csv << lines[r] << "\n";
  return "manifest:" + (dir / "m.csv").string();
}

// The job both tests run: the fixture aligned into dir/out at 64 px, quietly.
DatasetAlignJob align_job(const std::string& spec, const fs::path& dir) {
  DatasetAlignJob job;
  job.data = spec;
  job.out_dir = (dir / "out").string();
  job.align.size = 64;
  job.progress = false;
  return job;
}

#define SKIP_WITHOUT_FIXTURE(spec) \
  if ((spec).empty()) GTEST_SKIP() << "reference photos or face-api weights missing (run scripts/setup.sh)"

TEST(FaceDatasetAlign, OutcomesPerImageAndPose) {
  const auto dir = test::fresh_dir("d");
  const std::string spec = write_align_fixture(dir, {0, 1, 2, 3});
  SKIP_WITHOUT_FIXTURE(spec);
  DatasetAlignJob job = align_job(spec, dir);
  auto r = run_dataset_align_job(job);
  EXPECT_EQ(r.total.images, 4);
  EXPECT_EQ(r.total.aligned, 1);
  EXPECT_EQ(r.total.several, 1);
  EXPECT_EQ(r.total.no_face, 1);
  EXPECT_EQ(r.total.failed, 1);
  EXPECT_EQ(r.crops_written, 2);  // largest face of sample1 + sample2's face
  EXPECT_EQ(r.by_pose.at("front").aligned, 1);
  EXPECT_EQ(r.by_pose.at("front").several, 1);
  EXPECT_EQ(r.by_pose.at("side").no_face, 1);
  EXPECT_EQ(r.by_pose.at("side").failed, 1);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("bad.png"), std::string::npos);
  const auto crop = read_image((dir / "out" / "sample2.png").string(), 3);
  EXPECT_EQ(crop.sizes(), torch::IntArrayRef({3, 64, 64}));
  EXPECT_TRUE(fs::exists(dir / "out" / "summary.json"));
  std::ifstream csv(dir / "out" / "landmarks.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 1 + 4);  // header + one row per image (one face each with "largest")

  job.multi = MultiFacePolicy::kAll;
  r = run_dataset_align_job(job);
  EXPECT_EQ(r.crops_written, 4);
  EXPECT_TRUE(fs::exists(dir / "out" / "sample1_3.png"));
  job.multi = MultiFacePolicy::kSkip;
  EXPECT_EQ(run_dataset_align_job(job).crops_written, 1);

  // Whole-image fallback: the blank image becomes an (odd) aligned face, counted as such.
  job.multi = MultiFacePolicy::kLargest;
  job.whole_image_fallback = true;
  r = run_dataset_align_job(job);
  EXPECT_EQ(r.total.no_face, 0);
  EXPECT_EQ(r.total.aligned, 2);
  EXPECT_EQ(r.total.via_whole, 1);
  EXPECT_EQ(r.by_pose.at("side").via_whole, 1);
  EXPECT_TRUE(fs::exists(dir / "out" / "blank.png"));
}

TEST(FaceDatasetAlign, CenterFallbackKeepsEveryReadablePhotoAsItsCentreCrop) {
  const auto dir = test::fresh_dir("c");
  const std::string spec = write_align_fixture(dir, {0, 2, 3});
  SKIP_WITHOUT_FIXTURE(spec);
  // No face in it, but not flat: the centre crop must be the centre, not any crop.
  auto ramp = torch::arange(160, torch::kFloat).mul(255.0 / 159).to(torch::kUInt8).expand({3, 120, 160}).contiguous();
  write_png((dir / "blank.png").string(), ramp);
  DatasetAlignJob job = align_job(spec, dir);
  job.center_fallback = 0.5;
  const auto r = run_dataset_align_job(job);
  EXPECT_EQ(r.total.images, 3);
  EXPECT_EQ(r.total.no_face, 0);
  EXPECT_EQ(r.total.aligned, 2);
  EXPECT_EQ(r.total.via_center, 1);
  EXPECT_EQ(r.by_pose.at("side").via_center, 1);
  EXPECT_EQ(r.total.failed, 1);  // an unreadable file is still a failure, not a crop
  EXPECT_EQ(r.crops_written, 2);
  const auto crop = read_image((dir / "out" / "blank.png").string(), 3);
  EXPECT_TRUE(torch::equal(crop, prepare_face_image(ramp, 3, 64, CropMode::kCenter, 0.5)));
  EXPECT_NE(r.to_markdown().find("| via centre crop |"), std::string::npos);
  EXPECT_NE(r.to_markdown().find("| side | 2 | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 1 |"), std::string::npos) << r.to_markdown();
  // landmarks.csv: the row names the crop and its box (the centred 60 x 60 square at x 50),
  // with no landmarks, so landmark readers pass over it.
  std::ifstream csv(dir / "out" / "landmarks.csv");
  std::string line, row;
  while (std::getline(csv, line)) {
    if (line.rfind("blank.png", 0) == 0 || line.find("/blank.png,") != std::string::npos) row = line;
  }
  EXPECT_NE(row.find(",aligned,center,0,blank.png,0,50,30,60,60,"), std::string::npos) << row;
  const auto lms = read_align_landmarks((dir / "out" / "landmarks.csv").string(), AlignCsvKey::kOutput);
  EXPECT_EQ(lms.size(), 1u);
  EXPECT_EQ(lms.count("blank.png"), 0u);
  job.center_fallback = 0.05;
  EXPECT_THROW_MSG(run_dataset_align_job(job), ConfigError, "--center-fallback must be 0 (off) or in (0.1, 1], got 0.05");
}

TEST(FaceDatasetAlign, PaddedFallbackFindsTightFaceCropsAsClassifyDoes) {
  // Tight crops of a real face (the face fills the frame; face-api's detector misses many, as
  // it misses most GENKI-4K photos): with padded_fallback every crop is aligned, those the
  // detector misses via the padded photo, before the Haar cascades and the centre crop are
  // asked, with the landmarks detect_padded gives (the faces `posefer classify` would find).
  const auto dir = test::fresh_dir("padded");
  const std::string spec = write_align_fixture(dir, {0});
  SKIP_WITHOUT_FIXTURE(spec);
  const fs::path photo_path = fs::path(POSEFER_SHARED_DIR) / "reference" / "faceapi" / "inputs" / "sample2.png";
  const auto photo = read_image(photo_path.string(), 3);
  FaceDetectorConfig dcfg;
  dcfg.expressions = false;
  FaceDetector detector(dcfg);
  const auto found = detector.detect(photo);
  ASSERT_EQ(found.size(), 1u);
  const FaceBox b = found[0].box;
  std::ofstream csv(dir / "tight.csv");
  csv << "path,subject,expression,pose\n";
  int n = 0;
  for (double scale : {0.8, 0.95, 1.1}) {
    for (double dx : {-0.05, 0.05}) {
      const double side = scale * std::max(b.width, b.height);
      const int64_t x0 = std::llround(b.x + b.width / 2 - side / 2 + dx * side);
      const int64_t y0 = std::llround(b.y + b.height / 2 - side / 2);
      const auto crop = photo.slice(1, std::max<int64_t>(0, y0), y0 + std::llround(side))
                            .slice(2, std::max<int64_t>(0, x0), x0 + std::llround(side));
      const std::string name = "crop" + std::to_string(n++) + ".png";
      write_png((dir / name).string(), crop.contiguous());
      csv << name << ",p" << n << ",happy,front\n";
    }
  }
  csv.close();
  DatasetAlignJob job = align_job("manifest:" + (dir / "tight.csv").string(), dir);
  job.center_fallback = 0.6;  // as --align auto for GENKI: without the padded step, the centre crop
  const auto plain = run_dataset_align_job(job);
  EXPECT_EQ(plain.total.aligned, n);
  EXPECT_EQ(plain.total.via_padded, 0);
  ASSERT_GT(plain.total.via_center, 0) << "the detector found every tight crop: the fixture tests nothing";

  job.out_dir = (dir / "out_padded").string();
  job.padded_fallback = true;
  job.haar_fallback = true;  // asked after the padded photo: it never gets a photo here
  const auto r = run_dataset_align_job(job);
  EXPECT_EQ(r.total.aligned, n);
  EXPECT_EQ(r.total.via_padded, plain.total.via_center);
  EXPECT_EQ(r.total.via_haar, 0);
  EXPECT_EQ(r.total.via_center, 0);
  EXPECT_NE(r.to_markdown().find("| via padded photo |"), std::string::npos);
  const auto summary = nlohmann::json::parse(std::ifstream(dir / "out_padded" / "summary.json"));
  EXPECT_EQ(summary.at("padded_fallback"), true);
  EXPECT_EQ(summary.at("total").at("aligned_via_padded"), r.total.via_padded);
  // Each padded row's landmarks are detect_padded's, in the crop's own pixels.
  const auto lms = read_align_landmarks((dir / "out_padded" / "landmarks.csv").string(), AlignCsvKey::kPath);
  int checked = 0;
  std::ifstream rows(dir / "out_padded" / "landmarks.csv");
  for (std::string line; std::getline(rows, line);) {
    if (line.find(",aligned,padded,") == std::string::npos) continue;
    const std::string name = line.substr(0, line.find(','));  // the input path, as the manifest resolved it
    const auto crop = read_image((dir / name).string(), 3);
    const auto faces = detect_padded(detector, crop);
    ASSERT_EQ(faces.size(), 1u) << name;
    ASSERT_EQ(lms.count(name), 1u) << name;
    const Landmarks68& got = lms.at(name);
    EXPECT_NEAR(got[30].x, faces[0].landmarks[30].x, 1e-3) << name;  // nose tip
    EXPECT_NEAR(got[30].y, faces[0].landmarks[30].y, 1e-3) << name;
    EXPECT_GT(got[30].x, 0.3 * crop.size(2)) << name;  // on the face, inside the crop
    EXPECT_LT(got[30].x, 0.7 * crop.size(2)) << name;
    ++checked;
  }
  EXPECT_EQ(checked, r.total.via_padded);
}

TEST(FaceDatasetAlign, InterruptedAlignResumesWhereItStoppedAndNamesEverySkip) {
  const auto dir = test::fresh_dir("resume");
  const std::string spec = write_align_fixture(dir, {0, 2, 1, 3});
  SKIP_WITHOUT_FIXTURE(spec);
  DatasetAlignJob job = align_job(spec, dir);
  int polls = 0;
  job.should_stop = [&] { return ++polls > 2; };  // stop before the third image
  auto r = run_dataset_align_job(job);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.done, 2);
  EXPECT_EQ(r.planned, 4);
  EXPECT_TRUE(fs::exists(dir / "out" / "align.journal.jsonl"));
  EXPECT_FALSE(fs::exists(dir / "out" / "landmarks.csv"));  // written once every image has an outcome

  // Other settings on the interrupted folder: refused, naming what differs.
  DatasetAlignJob other = job;
  other.align.size = 32;
  other.should_stop = nullptr;
  EXPECT_THROW_MSG(run_dataset_align_job(other), ConfigError, "other settings (size 64 -> 32)");

  job.should_stop = nullptr;
  r = run_dataset_align_job(job);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.resumed, 2);
  EXPECT_EQ(r.total.images, 4);
  EXPECT_EQ(r.total.aligned, 1);
  EXPECT_EQ(r.total.several, 1);
  EXPECT_EQ(r.total.no_face, 1);
  EXPECT_EQ(r.total.failed, 1);
  EXPECT_EQ(r.crops_written, 2);
  EXPECT_FALSE(fs::exists(dir / "out" / "align.journal.jsonl"));
  std::ifstream csv(dir / "out" / "landmarks.csv");
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u);  // in the data set's order, whichever run did each image
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  EXPECT_TRUE(ends_with(lines[2], "blank.png,no_face")) << lines[2];
  EXPECT_TRUE(ends_with(lines[4], "bad.png,failed")) << lines[4];
  std::ifstream sk(dir / "out" / "skipped.csv");
  std::vector<std::string> skipped;
  for (std::string line; std::getline(sk, line);) skipped.push_back(line);
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[0], "path,outcome,reason");
  EXPECT_TRUE(ends_with(skipped[1], "blank.png,no_face,no face found")) << skipped[1];
  EXPECT_NE(skipped[2].find("bad.png,failed,"), std::string::npos) << skipped[2];
}

}  // namespace
}  // namespace posefer
