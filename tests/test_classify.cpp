// posefer classify: a tiny saved run applied to generated images, a folder with a corrupt file,
// a generated video and (with the face-api weights) a real photo.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#ifdef POSEFER_HAVE_VIDEOIO
#include <opencv2/videoio.hpp>
#endif

#include "posefer/core/check.h"
#include "posefer/train/checkpoint.h"
#include "posefer/jobs/classify.h"
#include "posefer/data/dataset_util.h"
#include "posefer/face/face_detector.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/io/image_io.h"
#include "posefer/model/joint_model.h"
#include "posefer/jobs/pipeline.h"
#include "test_support.h"
#include "train_test_util.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kExpressions{"angry", "happy", "sad"};
const std::vector<std::string> kPoses{"left", "right"};
const std::string kHeader =
    "path,frame,face,x,y,w,h,status,expression,confidence,p_angry,p_happy,p_sad,pose,pose_confidence,source";

class ClassifyTest : public test::QuietSingleThreadTest {
 protected:
  void SetUp() override {
    QuietSingleThreadTest::SetUp();
    dir_ = test::fresh_dir("work");
    // An untrained tiny run: 1 channel, N = 32, centre crop of 0.75 (so the crop is visible).
    TrainConfig config = test::tiny_train_config();
    config.data.spec = "manifest:" + (dir_ / "data.csv").string();
    config.data.crop = "center";
    config.data.crop_fraction = 0.75;
    torch::manual_seed(3);
    JointModel model(config.model, config.optim, torch::kCPU);
    TrainState state;
    state.expression_names = kExpressions;
    state.pose_names = kPoses;
    run_ = (dir_ / "run").string();
    save_checkpoint(run_ + "/checkpoint.pt", config, model, state);
  }

  // A colour w x h image whose pattern depends on `seed`.
  std::string write_image(const fs::path& path, int w, int h, int seed) {
    const auto y = torch::arange(h).view({1, h, 1}), x = torch::arange(w).view({1, 1, w});
    const auto c = torch::arange(3).view({3, 1, 1});
    const auto img = ((x * (seed + 3) + y * (2 * seed + 1) * (c + 1) + seed * 37) % 256).to(torch::kUInt8);
    write_png(path.string(), img);
    return path.string();
  }

  ClassifyJob job(std::vector<std::string> inputs) const {
    ClassifyJob j;
    j.checkpoint = run_;
    j.inputs = std::move(inputs);
    j.out = (dir_ / "out.csv").string();
    j.threads = 1;
    j.progress = false;
    return j;
  }

  fs::path dir_;
  std::string run_;
};

std::vector<std::vector<std::string>> read_rows(const std::string& csv_path, std::string* header = nullptr) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_text_file(csv_path));
  std::string line, first;
  std::getline(in, header ? *header : first);
  while (std::getline(in, line)) rows.push_back(data_util::split(line, ','));
  return rows;
}

double num(const std::string& s) { return std::stod(s); }

// Expression and pose probabilities of the saved classifier on one prepared image.
std::pair<torch::Tensor, torch::Tensor> reference_probs(const std::string& run, const std::string& image) {
  LoadedModel lm = load_trained_model(run);
  torch::NoGradGuard no_grad;
  const auto x = to_model_range(load_face_image(image, 1, 32, CropMode::kCenter, 0.75)).unsqueeze(0);
  const ClassifierOutput out = lm.model->cls->forward(x);
  return {torch::softmax(out.expression, 1)[0].to(torch::kDouble),
          torch::softmax(out.pose, 1)[0].to(torch::kDouble)};
}

// The decoded-image path prepares exactly what the data set loader does from the file.
TEST_F(ClassifyTest, PrepareFaceImageEqualsLoadFaceImage) {
  const std::string colour = write_image(dir_ / "c.png", 41, 29, 5);
  const std::string grey = (dir_ / "g.png").string();
  write_png(grey, torch::arange(29 * 41).view({1, 29, 41}).remainder(251).to(torch::kUInt8));
  for (const auto& path : {colour, grey}) {
    for (int channels : {1, 3}) {
      for (const CropMode crop : {CropMode::kResize, CropMode::kCenter}) {
        for (int size : {16, 32, 64}) {
          EXPECT_TRUE(torch::equal(prepare_face_image(read_image(path, 3), channels, size, crop, 0.75),
                                   load_face_image(path, channels, size, crop, 0.75)))
              << path << " channels " << channels << " size " << size;
        }
      }
    }
  }
}

TEST_F(ClassifyTest, AStopRequestKeepsTheRowsDoneAndSaysWhere) {
  const fs::path imgs = dir_ / "imgs";
  for (int i = 0; i < 5; ++i) write_image(imgs / ("f" + std::to_string(i) + ".png"), 32, 32, i);
  ClassifyJob j = job({imgs.string()});
  j.batch = 1;
  int polls = 0;
  j.should_stop = [&] { return ++polls > 3; };  // stop before the fourth image
  const ClassifyResult r = run_classify_job(j);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.images, 3);
  EXPECT_EQ(r.stopped_before, (imgs / "f3.png").string());
  EXPECT_NE(r.summary().find("interrupted before " + (imgs / "f3.png").string()), std::string::npos);
  std::string header;
  const auto rows = read_rows((dir_ / "out.csv").string(), &header);
  EXPECT_EQ(header, kHeader);
  ASSERT_EQ(rows.size(), 3u);  // the three classified images, written whole
  EXPECT_EQ(rows[2][0], (imgs / "f2.png").string());
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST_F(ClassifyTest, WithoutAnOutputFileRowsStreamAsTheyAreClassified) {
  // The CLI's stdout case: rows reach the stream image by image (batch 1), not all at the end,
  // and nothing piles up in ClassifyResult::csv.
  const fs::path imgs = dir_ / "imgs";
  for (int i = 0; i < 4; ++i) write_image(imgs / ("f" + std::to_string(i) + ".png"), 32, 32, i);
  ClassifyJob j = job({imgs.string()});
  j.out.clear();
  std::ostringstream stream;
  j.stream = &stream;
  j.batch = 1;
  std::vector<size_t> lines_at_poll;
  j.should_stop = [&] {
    const std::string s = stream.str();
    lines_at_poll.push_back(static_cast<size_t>(std::count(s.begin(), s.end(), '\n')));
    return false;
  };
  const ClassifyResult r = run_classify_job(j);
  EXPECT_TRUE(r.csv.empty());
  EXPECT_EQ(r.images, 4);
  ASSERT_EQ(lines_at_poll.size(), 4u);  // polled before each image
  EXPECT_EQ(lines_at_poll[0], 1u);      // the header
  EXPECT_EQ(lines_at_poll[3], 4u);      // header + the three images before the last
  const std::string all = stream.str();
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 5);
  EXPECT_EQ(all.substr(0, all.find('\n')), kHeader);
  EXPECT_FALSE(fs::exists(dir_ / "out.csv"));
}

TEST_F(ClassifyTest, WholeImagesMatchTheClassifierOnTheRunsPreparation) {
  const fs::path imgs = dir_ / "imgs";
  // Written out of order; the folder is read sorted. Non-square, so the centre crop matters.
  write_image(imgs / "c.png", 40, 30, 3);
  write_image(imgs / "a.png", 48, 36, 1);
  write_image(imgs / "b.png", 30, 44, 2);
  const ClassifyResult r = run_classify_job(job({imgs.string()}));  // --face auto: no alignment
  std::string header;
  const auto rows = read_rows((dir_ / "out.csv").string(), &header);
  EXPECT_EQ(header, kHeader);
  EXPECT_TRUE(r.csv.empty());  // streamed to the file, not held in memory
  EXPECT_FALSE(r.interrupted);
  ASSERT_EQ(rows.size(), 3u);
  const std::vector<std::string> names{"a.png", "b.png", "c.png"};
  const std::vector<std::pair<int, int>> sizes{{48, 36}, {30, 44}, {40, 30}};
  int64_t counted = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), 16u) << i;
    const std::string path = (imgs / names[i]).string();
    EXPECT_EQ(row[0], path);
    EXPECT_EQ(row[1], "-1");  // still image
    EXPECT_EQ(row[2], "-1");  // whole image
    EXPECT_EQ(row[3], "0");
    EXPECT_EQ(row[4], "0");
    EXPECT_EQ(row[5], std::to_string(sizes[i].first));
    EXPECT_EQ(row[6], std::to_string(sizes[i].second));
    EXPECT_EQ(row[7], "ok");
    double sum = 0;
    for (int k = 0; k < 3; ++k) {
      const double p = num(row[10 + k]);
      EXPECT_GE(p, 0.0);
      EXPECT_LE(p, 1.0);
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    const auto [pe, pp] = reference_probs(run_, path);
    const int64_t e = pe.argmax().item<int64_t>();
    EXPECT_EQ(row[8], kExpressions[e]) << path;
    EXPECT_NEAR(num(row[9]), pe[e].item<double>(), 1e-5) << path;
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(num(row[10 + k]), pe[k].item<double>(), 1e-5) << path;
    const int64_t q = pp.argmax().item<int64_t>();
    EXPECT_EQ(row[13], kPoses[q]);
    EXPECT_NEAR(num(row[14]), pp[q].item<double>(), 1e-5);
    EXPECT_EQ(row[15], "image");  // whole mode: the image is the face
    counted += e == 0 ? 1 : 0;
  }
  EXPECT_EQ(r.images, 3);
  EXPECT_EQ(r.faces, 3);
  EXPECT_EQ(r.expression_counts.size(), 3u);
  EXPECT_EQ(r.expression_counts[0], counted);
  EXPECT_EQ(r.expression_counts[0] + r.expression_counts[1] + r.expression_counts[2], 3);
  EXPECT_NE(r.summary().find("classified 3 face(s) in 3 image(s)"), std::string::npos) << r.summary();

  // One face per forward pass gives the same rows.
  ClassifyJob one = job({imgs.string()});
  one.batch = 1;
  one.out = "";
  const ClassifyResult r1 = run_classify_job(one);
  std::string h1;
  std::istringstream in(r1.csv);
  std::getline(in, h1);
  EXPECT_EQ(h1, kHeader);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    const auto row = data_util::split(line, ',');
    ASSERT_EQ(row.size(), 16u);
    EXPECT_EQ(row[8], rows[i][8]);
    EXPECT_NEAR(num(row[9]), num(rows[i][9]), 1e-5);
  }
}

TEST_F(ClassifyTest, CorruptFileInFolderIsAnUnreadableRow) {
  const fs::path imgs = dir_ / "imgs";
  write_image(imgs / "a.png", 32, 32, 1);
  fs::create_directories(imgs / "sub");
  std::ofstream(imgs / "b.png") << "not a png at all";
  write_image(imgs / "sub" / "c.png", 36, 32, 2);
  std::ofstream(imgs / "notes.txt") << "ignored: not an image";
  const ClassifyResult r = run_classify_job(job({imgs.string()}));
  std::string header;
  const auto rows = read_rows((dir_ / "out.csv").string(), &header);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], (imgs / "a.png").string());
  EXPECT_EQ(rows[0][7], "ok");
  EXPECT_EQ(rows[1][0], (imgs / "b.png").string());
  EXPECT_EQ(rows[1][7], "unreadable");
  EXPECT_EQ(rows[1][8], "");  // no expression
  EXPECT_EQ(rows[1].size(), rows[0].size());  // every column, empty
  EXPECT_EQ(rows[1].back(), "");
  EXPECT_EQ(rows[2][0], (imgs / "sub" / "c.png").string());
  EXPECT_EQ(rows[2][7], "ok");
  EXPECT_EQ(r.unreadable, 1);
  EXPECT_EQ(r.images, 2);
  EXPECT_EQ(r.faces, 2);
  // The same corrupt file named directly is an error naming it.
  const std::string bad = (imgs / "b.png").string();
  EXPECT_THROW_MSG(run_classify_job(job({bad})), InputError, bad + ": cannot read image");
}

TEST_F(ClassifyTest, MissingInputsAndBadSettingsAreNamed) {
  const std::string good = write_image(dir_ / "a.png", 32, 32, 1);
  const std::string missing = (dir_ / "nope.jpg").string();
  EXPECT_THROW_MSG(run_classify_job(job({good, missing})), InputError, missing);
  EXPECT_FALSE(fs::exists(dir_ / "out.csv"));  // nothing half-written
  ClassifyJob j = job({good});
  j.checkpoint = (dir_ / "no_run").string();
  EXPECT_THROW_MSG(run_classify_job(j), InputError, (dir_ / "no_run").string());
  j = job({good});
  j.every = 0;
  EXPECT_THROW_MSG(run_classify_job(j), ConfigError, "--every");
  j = job({good});
  j.batch = 0;
  EXPECT_THROW_MSG(run_classify_job(j), ConfigError, "--batch");
  j = job({good});
  j.max_frames = -1;
  EXPECT_THROW_MSG(run_classify_job(j), ConfigError, "--max-frames");
  EXPECT_THROW_MSG(parse_face_mode("faces"), ConfigError, "--face");
  EXPECT_EQ(parse_face_mode("whole"), FaceMode::kWhole);
  // Detection without the face-api weights: one error saying how to get them.
  j = job({good});
  j.face = FaceMode::kDetect;
  j.model_dir = (dir_ / "no_models").string();
  EXPECT_THROW_MSG(run_classify_job(j), InputError, "scripts/setup.sh");
  EXPECT_THROW_MSG(run_classify_job(j), InputError, j.model_dir);
}

TEST_F(ClassifyTest, AnnotatedCopiesHaveTheInputsSizeAndDiffer) {
  const fs::path imgs = dir_ / "imgs";
  const std::string a = write_image(imgs / "a.png", 96, 72, 1);
  const std::string b = write_image(imgs / "sub" / "b.png", 64, 80, 2);
  ClassifyJob j = job({imgs.string()});
  j.annotate = (dir_ / "annotated").string();
  const ClassifyResult r = run_classify_job(j);
  EXPECT_EQ(r.annotated, 2);
  for (const auto& [input, output] :
       {std::pair{a, dir_ / "annotated" / "a.png"}, std::pair{b, dir_ / "annotated" / "sub" / "b.png"}}) {
    ASSERT_TRUE(fs::exists(output)) << output;
    const auto in = read_image(input, 3), out = read_image(output.string(), 3);
    ASSERT_EQ(out.sizes(), in.sizes()) << output;
    EXPECT_FALSE(torch::equal(out, in)) << output;
    // The box is drawn on the border (green), the rest of the bottom-right corner is untouched.
    EXPECT_EQ(out[1][out.size(1) - 1][out.size(2) / 2].item<int>(), 230);
    EXPECT_TRUE(torch::equal(out.slice(1, out.size(1) / 2, out.size(1) - 4).slice(2, out.size(2) / 2, out.size(2) - 4),
                             in.slice(1, in.size(1) / 2, in.size(1) - 4).slice(2, in.size(2) / 2, in.size(2) - 4)));
  }
}

TEST_F(ClassifyTest, VideoEverySecondFrame) {
#ifndef POSEFER_HAVE_VIDEOIO
  GTEST_SKIP() << "this build has no OpenCV videoio";
#else
  const std::string video = (dir_ / "clip.avi").string();
  {
    cv::VideoWriter writer(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(64, 48));
    if (!writer.isOpened()) GTEST_SKIP() << "OpenCV cannot write an MJPG .avi on this machine";
    for (int f = 0; f < 6; ++f) {
      cv::Mat frame(48, 64, CV_8UC3, cv::Scalar(30 * f, 200 - 20 * f, 90));
      cv::circle(frame, cv::Point(20 + 4 * f, 24), 10, cv::Scalar(250, 250, 250), cv::FILLED);
      writer.write(frame);
    }
  }
  ClassifyJob j = job({video});
  j.every = 2;
  j.annotate = (dir_ / "annotated").string();
  const ClassifyResult r = run_classify_job(j);
  std::string header;
  auto rows = read_rows((dir_ / "out.csv").string(), &header);
  EXPECT_EQ(header, kHeader);
  ASSERT_EQ(rows.size(), 3u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], video);
    EXPECT_EQ(rows[i][1], std::to_string(2 * i));
    EXPECT_EQ(rows[i][2], "-1");
    EXPECT_EQ(rows[i][5], "64");
    EXPECT_EQ(rows[i][6], "48");
    EXPECT_EQ(rows[i][7], "ok");
    EXPECT_NEAR(num(rows[i][10]) + num(rows[i][11]) + num(rows[i][12]), 1.0, 1e-5);
  }
  EXPECT_EQ(r.videos, 1);
  EXPECT_EQ(r.frames, 3);
  EXPECT_EQ(r.images, 0);
  // The annotated video holds the 3 classified frames at the input's size.
  const fs::path avi = dir_ / "annotated" / "clip.avi";
  ASSERT_TRUE(fs::exists(avi));
  cv::VideoCapture cap(avi.string());
  ASSERT_TRUE(cap.isOpened());
  int n = 0;
  cv::Mat frame;
  while (cap.read(frame)) {
    EXPECT_EQ(frame.cols, 64);
    EXPECT_EQ(frame.rows, 48);
    ++n;
  }
  EXPECT_EQ(n, 3);
  // --max-frames bounds the classified frames.
  j.annotate = "";
  j.max_frames = 2;
  run_classify_job(j);
  rows = read_rows((dir_ / "out.csv").string(), &header);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][1], "2");
  // A file with a video's name that is no video.
  const std::string fake = (dir_ / "fake.mp4").string();
  std::ofstream(fake) << "no video here";
  EXPECT_THROW_MSG(run_classify_job(job({fake})), InputError, fake + ": cannot read video");
#endif
}

bool faceapi_weights_present() {
  return fs::exists(faceapi_manifest_path(default_faceapi_model_dir(), "tiny_face_detector_model"));
}

// face-api's demo photo with one face (the npm package's demo/sample2.jpg); skips the test with
// the reason when the weights or the photo are not installed.
const fs::path demo = fs::path(default_faceapi_model_dir()).parent_path() / "demo";
#define SKIP_WITHOUT_DEMO_PHOTO()                                                                  \
  if (!faceapi_weights_present())                                                                \
    GTEST_SKIP() << "face-api weights not installed in " << default_faceapi_model_dir()         \
                 << " (run scripts/setup.sh or set POSEFER_MODELS)";                             \
  if (!fs::exists(demo / "sample2.jpg")) GTEST_SKIP() << "demo images not present: " << demo

TEST_F(ClassifyTest, DetectModeFindsTheFaceOfADemoPhoto) {
  SKIP_WITHOUT_DEMO_PHOTO();
  const std::string photo = (demo / "sample2.jpg").string();
  const std::string blank = (dir_ / "blank.png").string();
  write_png(blank, torch::full({3, 120, 160}, 128, torch::kUInt8));
  ClassifyJob j = job({photo, blank});
  j.face = FaceMode::kDetect;
  const ClassifyResult r = run_classify_job(j);
  std::string header;
  const auto rows = read_rows((dir_ / "out.csv").string(), &header);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], photo);
  EXPECT_EQ(rows[0][2], "0");
  EXPECT_EQ(rows[0][7], "ok");
  EXPECT_EQ(rows[0][15], "detector");
  const auto image = read_image(photo, 3);
  const double w = image.size(2), h = image.size(1);
  const double bx = num(rows[0][3]), by = num(rows[0][4]), bw = num(rows[0][5]), bh = num(rows[0][6]);
  EXPECT_GT(bw, 0.05 * w);
  EXPECT_LT(bw, 0.9 * w);
  EXPECT_GT(bh, 0.05 * h);
  EXPECT_GE(bx, -0.05 * w);
  EXPECT_LE(bx + bw, 1.05 * w);
  EXPECT_GE(by, -0.05 * h);
  EXPECT_LE(by + bh, 1.05 * h);
  // The detector's own box for the photo.
  const auto faces = FaceDetector().detect(image);
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_NEAR(bx, faces[0].box.x, 0.5);
  EXPECT_NEAR(bw, faces[0].box.width, 0.5);
  EXPECT_NEAR(num(rows[0][10]) + num(rows[0][11]) + num(rows[0][12]), 1.0, 1e-5);
  EXPECT_EQ(rows[1][0], blank);
  EXPECT_EQ(rows[1][7], "no_face");  // the default fallback (padded,crop): grey and 4:3, not a crop
  EXPECT_EQ(r.faces, 1);
  EXPECT_EQ(r.no_face, 1);
  EXPECT_EQ(r.fallback_faces, 0);
}

TEST_F(ClassifyTest, TightFaceCropsGetAFaceThroughThePaddedFallback) {
  // Tight crops of a real photo's face (the face fills the frame: face-api's detector misses
  // most such crops) at several sizes and offsets: with the padded fallback every crop gets a
  // face, found by the detector or the padded step, and the box lies on the face; the default
  // policy answers every crop too.
  SKIP_WITHOUT_DEMO_PHOTO();
  const auto photo = read_image((demo / "sample2.jpg").string(), 3);
  const auto faces = FaceDetector().detect(photo);
  ASSERT_EQ(faces.size(), 1u);
  const FaceBox b = faces[0].box;
  std::vector<std::string> crops;
  for (double scale : {0.8, 0.95, 1.1}) {
    for (double dx : {-0.05, 0.0, 0.05}) {
      const double side = scale * std::max(b.width, b.height);
      const int64_t x0 = std::llround(b.x + b.width / 2 - side / 2 + dx * side);
      const int64_t y0 = std::llround(b.y + b.height / 2 - side / 2);
      const int64_t n = std::llround(side);
      const auto crop = photo.slice(1, std::max<int64_t>(0, y0), y0 + n).slice(2, std::max<int64_t>(0, x0), x0 + n);
      crops.push_back((dir_ / ("crop" + std::to_string(crops.size()) + ".png")).string());
      write_png(crops.back(), crop.contiguous());
    }
  }
  auto run = [&](const std::string& fallback) {
    ClassifyJob j = job(crops);
    j.face = FaceMode::kDetect;
    j.fallback = fallback;
    const ClassifyResult r = run_classify_job(j);  // before the CSV is read
    return std::make_pair(r, read_rows((dir_ / "out.csv").string()));
  };
  const auto [none, none_rows] = run("none");
  const auto [padded, rows] = run("padded");
  ASSERT_EQ(rows.size(), crops.size());
  EXPECT_EQ(padded.faces, static_cast<int64_t>(crops.size())) << "detector alone: " << none.faces;
  EXPECT_EQ(padded.no_face, 0);
  EXPECT_EQ(padded.fallback_faces, padded.faces - none.faces);
  EXPECT_GT(padded.fallback_faces, 0);  // the detector alone misses some (the reason for the fallback)
  std::printf("tight crops: %lld of %zu found by the detector alone, %lld by the padded fallback\n",
              static_cast<long long>(none.faces), crops.size(), static_cast<long long>(padded.fallback_faces));
  for (const auto& row : rows) {
    EXPECT_EQ(row[7], "ok") << row[0];
    EXPECT_TRUE(row[15] == "detector" || row[15] == "padded") << row[15];
    const auto crop = read_image(row[0], 3);
    // The face box covers most of the crop (in crop pixels after mapping back).
    EXPECT_GT(num(row[5]), 0.4 * crop.size(2)) << row[0];
    EXPECT_LT(num(row[3]), 0.4 * crop.size(2)) << row[0];
  }
  ClassifyJob defaults = job(crops);
  defaults.face = FaceMode::kDetect;
  EXPECT_EQ(defaults.fallback, "padded,crop");
  EXPECT_EQ(run_classify_job(defaults).no_face, 0);
  // "whole" turns any remaining photo into a face; "none" leaves them without one.
  const auto [whole, whole_rows] = run("whole");
  EXPECT_EQ(whole.no_face, 0);
  EXPECT_EQ(whole.fallback_faces, whole.faces - none.faces);
  EXPECT_EQ(none.no_face, static_cast<int64_t>(crops.size()) - none.faces);
  ClassifyJob bad = job(crops);
  bad.fallback = "padded,haar";
  EXPECT_THROW_MSG(run_classify_job(bad), ConfigError, "--fallback 'padded,haar': steps are padded, crop and whole");
  bad.fallback = "whole,whole";
  EXPECT_THROW_MSG(run_classify_job(bad), ConfigError, "names whole twice");
}

TEST_F(ClassifyTest, CropFallbackTakesOnlyNearSquarePhotosAsFaceCrops) {
  // A photo where no detector pass finds a face: a near-square one is taken as a face crop by
  // the default policy (source "crop", the whole image as the box), a wide one is not; "padded"
  // alone answers neither and "whole" both.
  SKIP_WITHOUT_DEMO_PHOTO();
  const std::string square = (dir_ / "square.png").string(), wide = (dir_ / "wide.png").string();
  write_png(square, torch::full({3, 90, 100}, 128, torch::kUInt8));  // 100:90, within 1.25
  write_png(wide, torch::full({3, 60, 100}, 128, torch::kUInt8));    // 100:60
  auto run = [&](const std::string& fallback) {
    ClassifyJob j = job({square, wide});
    j.face = FaceMode::kDetect;
    if (!fallback.empty()) j.fallback = fallback;
    const ClassifyResult r = run_classify_job(j);
    return std::make_pair(r, read_rows((dir_ / "out.csv").string()));
  };
  const auto [def, rows] = run("");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], square);
  EXPECT_EQ(rows[0][7], "ok");
  EXPECT_EQ(rows[0][15], "crop");
  EXPECT_EQ(rows[0][3], "0");
  EXPECT_EQ(rows[0][5], "100");
  EXPECT_EQ(rows[0][6], "90");
  EXPECT_EQ(rows[1][7], "no_face");
  EXPECT_EQ(def.faces, 1);
  EXPECT_EQ(def.fallback_faces, 1);
  EXPECT_EQ(run("padded").first.no_face, 2);
  const auto [whole, whole_rows] = run("padded,whole");
  EXPECT_EQ(whole.no_face, 0);
  EXPECT_EQ(whole_rows[1][15], "whole");
}

}  // namespace
}  // namespace posefer
