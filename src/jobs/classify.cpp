#include "posefer/jobs/classify.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>
#ifdef POSEFER_HAVE_VIDEOIO
#include <opencv2/videoio.hpp>
#endif

#include "posefer/face/align.h"
#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/core/durable_file.h"
#include "posefer/face/dataset_align.h"
#include "posefer/data/dataset_util.h"
#include "posefer/face/face_detector.h"
#include "posefer/jobs/face_finder.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/face/haar_face_detector.h"
#include "posefer/io/image_io.h"
#include "posefer/jobs/pipeline.h"
#include "posefer/core/progress.h"
#include "classify_inputs.h"

namespace posefer {
using namespace classify_detail;
namespace {

namespace fs = std::filesystem;
using csv::escape;

constexpr int kCsvPrecision = 8;  // significant digits of probabilities and boxes

// Annotation paths: <dir>/<name with new extension>, _2, _3, ... when taken.
class OutputNames {
 public:
  explicit OutputNames(std::string dir) : dir_(std::move(dir)) {}
  std::string take(const std::string& name, const std::string& extension) {
    fs::path base = fs::path(name).replace_extension();
    std::string candidate = (fs::path(dir_) / base).string() + extension;
    for (int k = 2; !taken_.insert(candidate).second; ++k) {
      candidate = (fs::path(dir_) / base).string() + "_" + std::to_string(k) + extension;
    }
    return candidate;
  }

 private:
  std::string dir_;
  std::set<std::string> taken_;
};

// A copy of `image` (uint8 RGB [3, H, W]) with each box and its label drawn.
torch::Tensor draw_labels(const torch::Tensor& image, const std::vector<FaceBox>& boxes,
                          const std::vector<std::string>& labels) {
  auto hwc = image.permute({1, 2, 0}).contiguous();
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1));
  cv::Mat mat(h, w, CV_8UC3, hwc.data_ptr<uint8_t>());
  const int thick = std::max(1, std::max(h, w) / 400);
  const double scale = std::max(0.3, std::max(h, w) / 900.0);
  const cv::Scalar box_colour(0, 230, 0), ink(0, 0, 0);
  for (size_t i = 0; i < boxes.size(); ++i) {
    const auto& b = boxes[i];
    const cv::Point p0(cvRound(b.x), cvRound(b.y));
    cv::rectangle(mat, p0, cv::Point(cvRound(b.x + b.width) - 1, cvRound(b.y + b.height) - 1),
                  box_colour, thick);
    int baseline = 0;
    const cv::Size text = cv::getTextSize(labels[i], cv::FONT_HERSHEY_SIMPLEX, scale, thick, &baseline);
    // Above the box where there is room, else just inside its top edge.
    const int top = p0.y - text.height - baseline - 2 >= 0 ? p0.y - text.height - baseline - 2
                                                            : std::max(0, p0.y);
    const cv::Point corner(std::clamp(p0.x, 0, std::max(0, w - 1)), top);
    cv::rectangle(mat, corner, corner + cv::Point(text.width + 2, text.height + baseline + 2),
                  box_colour, cv::FILLED);
    cv::putText(mat, labels[i], corner + cv::Point(1, text.height + 1), cv::FONT_HERSHEY_SIMPLEX,
                scale, ink, thick, cv::LINE_AA);
  }
  return hwc.permute({2, 0, 1}).contiguous();
}

// Annotated frames of one video: an MJPG .avi (temp file renamed on close), or PNGs per frame
// when OpenCV cannot write one.
class VideoSink {
 public:
  VideoSink(std::string avi_path, double fps) : path_(std::move(avi_path)), fps_(fps) {}
  ~VideoSink() {
#ifdef POSEFER_HAVE_VIDEOIO
    if (writer_.isOpened()) {  // not closed by close(): an error unwound the job
      writer_.release();
      std::error_code ec;
      fs::remove(tmp_, ec);
    }
#endif
  }
  VideoSink(const VideoSink&) = delete;
  VideoSink& operator=(const VideoSink&) = delete;

  void write(const torch::Tensor& rgb, int64_t frame) {
#ifdef POSEFER_HAVE_VIDEOIO
    if (!started_) {
      started_ = true;
      const cv::Size size(static_cast<int>(rgb.size(2)), static_cast<int>(rgb.size(1)));
      tmp_ = fs::path(path_).replace_extension().string() + ".tmp." + std::to_string(::getpid()) + ".avi";
      std::error_code ec;
      fs::create_directories(fs::path(path_).parent_path(), ec);
      try {
        writer_.open(tmp_, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps_, size);
      } catch (const cv::Exception&) {
        writer_.release();
      }
      if (!writer_.isOpened()) {
        spdlog::warn("classify: OpenCV cannot write {}; annotated frames go to {} as PNGs", path_,
                     frame_dir());
      }
    }
    if (writer_.isOpened()) {
      auto hwc = rgb.permute({1, 2, 0}).contiguous();
      const cv::Mat view(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                         hwc.data_ptr<uint8_t>());
      cv::Mat bgr;
      cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
      writer_.write(bgr);
      return;
    }
#endif
    std::ostringstream name;
    name << "frame_" << std::setw(6) << std::setfill('0') << frame << ".png";
    write_png((fs::path(frame_dir()) / name.str()).string(), rgb);
    ++pngs_;
  }

  // Finishes the video; returns the number of files written.
  int64_t close() {
#ifdef POSEFER_HAVE_VIDEOIO
    if (writer_.isOpened()) {
      writer_.release();
      std::error_code ec;
      fs::rename(tmp_, path_, ec);
      if (ec) {
        fs::remove(tmp_, ec);
        throw Error(path_ + ": cannot write (rename failed)");
      }
      return 1;
    }
#endif
    return pngs_;
  }

 private:
  std::string frame_dir() const { return fs::path(path_).replace_extension().string(); }
  std::string path_;
  double fps_;
  bool started_ = false;
  int64_t pngs_ = 0;
  std::string tmp_;
#ifdef POSEFER_HAVE_VIDEOIO
  cv::VideoWriter writer_;
#endif
};

// One image or frame on its way through the classifier.
struct Unit {
  std::string path;
  int64_t frame = -1;
  std::string status = "ok";          // ok | no_face | unreadable
  bool whole = false;                 // the whole image is the face (face index -1)
  std::vector<FaceBox> boxes;         // one per face
  std::vector<std::string> sources;   // per face: what found it (the CSV's source column)
  std::vector<torch::Tensor> inputs;  // uint8 [C, N, N] per face
  torch::Tensor image;                // uint8 RGB [3, H, W] to annotate (undefined: no annotation)
  std::string annotate_png;           // where the annotated image goes ("" = the video sink)
  VideoSink* sink = nullptr;
};

// Finds and prepares the faces of images, batches them through C_exp, writes the CSV rows and
// the annotated copies in input order.
class Runner {
 public:
  // Rows go to `csv` (a file stream on the output's temp, or a string stream for stdout).
  Runner(const ClassifyJob& job, LoadedModel& lm, FacePlan plan, ClassifyResult& result, std::ostream& csv)
      : job_(job), lm_(lm), finder_(std::move(plan)), result_(result), csv_(csv) {
    pose_head_ = votes_on_pose(lm_);
    csv_ << std::setprecision(kCsvPrecision) << "path,frame,face,x,y,w,h,status,expression,confidence";
    for (const auto& e : lm_.state.expression_names) csv_ << ",p_" << escape(e);
    csv_ << ",pose,pose_confidence,source\n";
  }

  // Finds the faces of `image` (uint8 RGB [3, H, W]) into a unit and queues it.
  void add_image(Unit unit, const torch::Tensor& image) {
    FoundFaces found = finder_.find(image);
    unit.whole = found.whole;
    for (const Face& f : found.faces) unit.boxes.push_back(f.box);
    unit.sources = std::move(found.sources);
    unit.inputs = std::move(found.inputs);
    result_.fallback_faces += found.fallback_faces;
    if (unit.inputs.empty()) unit.status = "no_face";
    if (!job_.annotate.empty()) unit.image = image;
    add(std::move(unit));
  }

  void add(Unit unit) {
    pending_faces_ += static_cast<int64_t>(unit.inputs.size());
    units_.push_back(std::move(unit));
    if (pending_faces_ >= job_.batch) flush();
  }

  // Classifies every queued face and writes the queued units' rows and annotations.
  void flush() {
    std::vector<torch::Tensor> inputs;
    for (const Unit& u : units_) inputs.insert(inputs.end(), u.inputs.begin(), u.inputs.end());
    const FaceProbabilities probs = classify_faces(lm_, inputs, job_.batch);
    const torch::Tensor& expr_p = probs.expression;
    const torch::Tensor& pose_p = probs.pose;
    int64_t k = 0;  // row of expr_p
    for (Unit& u : units_) {
      std::vector<std::string> labels;
      if (u.inputs.empty()) write_empty_row(u);
      for (size_t f = 0; f < u.inputs.size(); ++f, ++k) {
        labels.push_back(write_row(u, static_cast<int64_t>(f), expr_p[k], pose_head_ ? pose_p[k] : torch::Tensor()));
      }
      if (u.image.defined()) {
        const auto drawn = draw_labels(u.image, u.boxes, labels);
        if (u.sink) {
          u.sink->write(drawn, u.frame);
        } else {
          write_png(u.annotate_png, drawn);
          ++result_.annotated;
        }
      }
    }
    units_.clear();
    pending_faces_ = 0;
  }


 private:
  // Writes one ok row; returns the annotation label.
  std::string write_row(const Unit& u, int64_t face, const torch::Tensor& probs,
                        const torch::Tensor& pose_probs) {
    const torch::Tensor pc = probs.contiguous();
    const auto* p = pc.data_ptr<double>();
    const int64_t e = probs.argmax().item<int64_t>();
    const auto& b = u.boxes[face];
    csv_ << escape(u.path) << "," << u.frame << "," << (u.whole ? -1 : face) << "," << b.x << ","
         << b.y << "," << b.width << "," << b.height << ",ok," << escape(lm_.state.expression_names[e])
         << "," << p[e];
    for (int64_t i = 0; i < probs.size(0); ++i) csv_ << "," << p[i];
    if (pose_head_) {
      const int64_t q = pose_probs.argmax().item<int64_t>();
      csv_ << "," << escape(lm_.state.pose_names[q]) << "," << pose_probs[q].item<double>();
    } else {
      csv_ << ",,";
    }
    csv_ << "," << u.sources[face] << "\n";
    ++result_.faces;
    ++result_.expression_counts[e];
    std::ostringstream label;
    label << lm_.state.expression_names[e] << " " << std::fixed << std::setprecision(2) << p[e];
    return label.str();
  }

  void write_empty_row(const Unit& u) {
    csv_ << escape(u.path) << "," << u.frame << ",-1,,,,," << u.status << ",,";
    for (size_t i = 0; i < lm_.state.expression_names.size(); ++i) csv_ << ",";
    csv_ << ",,,\n";
    if (u.status == "no_face") ++result_.no_face;
  }

  const ClassifyJob& job_;
  LoadedModel& lm_;
  FaceFinder finder_;
  ClassifyResult& result_;
  bool pose_head_ = false;
  std::vector<Unit> units_;
  int64_t pending_faces_ = 0;
  std::ostream& csv_;
};

// Reads the frames of one video into the runner; returns the frames classified. Throws
// InputError naming the video when it cannot be read at all.
int64_t classify_video(const InputFile& in, const ClassifyJob& job, Runner& runner, OutputNames& names,
                       ClassifyResult& result, ProgressBar& bar, int64_t& done) {
#ifdef POSEFER_HAVE_VIDEOIO
  cv::VideoCapture cap = open_video(in.path);
  double fps = cap.get(cv::CAP_PROP_FPS);
  if (!(fps > 0 && std::isfinite(fps))) fps = 25;
  std::unique_ptr<VideoSink> sink;
  if (!job.annotate.empty()) {
    sink = std::make_unique<VideoSink>(names.take(in.name, ".avi"), std::max(1.0, fps / job.every));
  }
  int64_t frame = 0, classified = 0;
  cv::Mat bgr;
  for (;; ++frame) {
    if (job.max_frames > 0 && classified >= job.max_frames) break;
    if (job.should_stop && job.should_stop()) {
      result.interrupted = true;
      result.stopped_before = in.path + " frame " + std::to_string(frame);
      break;
    }
    if (frame % job.every != 0) {
      if (!cap.grab()) break;
      continue;
    }
    if (!cap.read(bgr) || bgr.empty()) break;
    Unit u;
    u.path = in.path;
    u.frame = frame;
    u.sink = sink.get();
    runner.add_image(std::move(u), bgr_mat_to_tensor(bgr));
    ++classified;
    bar.update(++done, std::to_string(result.faces) + " faces");
  }
  POSEFER_CHECK_INPUT(classified > 0 || result.interrupted, in.path, ": cannot read video (no frames decoded)");
  runner.flush();  // the sink's frames are written before it closes
  if (sink) result.annotated += sink->close();
  return classified;
#else
  (void)job, (void)runner, (void)names, (void)result, (void)bar, (void)done;
  throw InputError(in.path + ": cannot read video (this build has no OpenCV videoio)");
#endif
}

}  // namespace

FaceMode parse_face_mode(const std::string& name) {
  if (name == "auto") return FaceMode::kAuto;
  if (name == "detect") return FaceMode::kDetect;
  if (name == "whole") return FaceMode::kWhole;
  throw ConfigError("--face must be auto, detect or whole, got '" + name + "'");
}

void ClassifyJob::validate() const {
  POSEFER_CHECK_CONFIG(!checkpoint.empty(), "classify: --checkpoint is required");
  POSEFER_CHECK_CONFIG(!inputs.empty(), "classify: give at least one image, folder or video");
  POSEFER_CHECK_CONFIG(every >= 1, "classify: --every must be >= 1, got ", every);
  POSEFER_CHECK_CONFIG(max_frames >= 0, "classify: --max-frames must be >= 0, got ", max_frames);
  POSEFER_CHECK_CONFIG(batch >= 1, "classify: --batch must be >= 1, got ", batch);
  POSEFER_CHECK_CONFIG(tta_crop <= 0.5, "classify: --tta-crop must be in [0, 0.5], got ", tta_crop);
  POSEFER_CHECK_CONFIG(threads >= 0, "classify: --threads must be >= 0, got ", threads);
  parse_fallback(fallback);
}

std::vector<std::string> parse_fallback(const std::string& spec) {
  if (spec == "none") return {};
  std::vector<std::string> steps;
  std::stringstream list(spec);
  for (std::string step; std::getline(list, step, ',');) {
    POSEFER_CHECK_CONFIG(step == "padded" || step == "crop" || step == "whole", "classify: --fallback '", spec,
                         "': steps are padded, crop and whole (comma-separated, tried in order), or none");
    POSEFER_CHECK_CONFIG(std::count(steps.begin(), steps.end(), step) == 0, "classify: --fallback '", spec,
                         "' names ", step, " twice");
    steps.push_back(step);
  }
  POSEFER_CHECK_CONFIG(!steps.empty(), "classify: --fallback is empty (e.g. padded,crop, padded,whole or none)");
  return steps;
}

std::string ClassifyResult::summary() const {
  std::ostringstream os;
  os << "classified " << faces << " face(s) in " << images << " image(s)";
  if (videos > 0) os << " and " << frames << " frame(s) of " << videos << " video(s)";
  std::string sep = ": ";
  for (size_t i = 0; i < expression_names.size(); ++i) {
    if (expression_counts[i] == 0) continue;
    os << sep << expression_names[i] << " " << expression_counts[i];
    sep = ", ";
  }
  if (fallback_faces > 0) os << " (" << fallback_faces << " found by a fallback: see the source column)";
  if (no_face > 0) os << "; " << no_face << " without a face";
  if (unreadable > 0) os << "; " << unreadable << " unreadable";
  if (interrupted) os << "; interrupted before " << stopped_before << " (the rows above are kept)";
  return os.str();
}

ClassifyResult run_classify_job(const ClassifyJob& job) {
  job.validate();
  set_threads(job.threads);
  const std::vector<InputFile> files = expand_inputs(job.inputs);
  LoadedModel lm = load_trained_models(job.checkpoint, job.ensemble);
  override_tta_crop(lm, job.tta_crop);
  ClassifyResult result;
  result.expression_names = lm.state.expression_names;
  result.expression_counts.assign(result.expression_names.size(), 0);
  POSEFER_CHECK_INPUT(static_cast<int>(result.expression_names.size()) == lm.config.model.num_expressions,
                      job.checkpoint, ": the checkpoint holds ", result.expression_names.size(),
                      " expression names for ", lm.config.model.num_expressions, " classes");
  // With --out the rows stream into the output's temp file as they are classified, which is
  // renamed over the output at the end (interrupted or not); an error removes it.
  std::ostringstream memory;
  std::ofstream file;
  const std::string tmp = job.out.empty() ? std::string() : temp_path_for(job.out);
  if (!job.out.empty()) {
    const fs::path parent = fs::path(job.out).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    file.open(tmp, std::ios::binary | std::ios::trunc);
    POSEFER_CHECK_INPUT(file.good(), job.out, ": cannot write (cannot create ", tmp, ")");
  }
  std::ostream& csv = !job.out.empty() ? static_cast<std::ostream&>(file)
                     : job.stream != nullptr ? *job.stream
                                             : static_cast<std::ostream&>(memory);
  auto discard_tmp = [&] {
    if (tmp.empty()) return;
    file.close();
    std::error_code ec;
    fs::remove(tmp, ec);
  };
  try {
  Runner runner(job, lm, make_face_plan(lm.config, job.face, job.fallback, job.model_dir), result, csv);
  OutputNames names(job.annotate);

  int64_t total = 0;
  for (const InputFile& f : files) total += f.video && job.progress ? planned_frames(f.path, job) : 1;
  ProgressOptions popt;
  popt.enabled = job.progress;
  popt.unit = "img";
  ProgressBar bar("classify", total, popt);
  int64_t done = 0;
  // A file named on the command line must be readable; one found in a folder is reported and
  // gets an "unreadable" row. Called from a catch block: `throw;` rethrows the error.
  auto skip_unreadable = [&](const InputFile& f, const InputError& e) {
    if (!f.in_folder) throw;
    spdlog::warn("classify: skipped {}", first_line_of(e.what()));
    Unit u;
    u.path = f.path;
    u.status = "unreadable";
    runner.add(std::move(u));
    ++result.unreadable;
  };
  for (const InputFile& f : files) {
    if (job.should_stop && job.should_stop()) {
      result.interrupted = true;
      result.stopped_before = f.path;
      break;
    }
    if (f.video) {
      try {
        result.frames += classify_video(f, job, runner, names, result, bar, done);
        ++result.videos;
      } catch (const InputError& e) {
        skip_unreadable(f, e);
      }
      continue;
    }
    torch::Tensor image;
    try {
      image = read_image(f.path, 3);
    } catch (const InputError& e) {
      skip_unreadable(f, e);
      bar.update(++done, std::to_string(result.faces) + " faces");
      continue;
    }
    Unit u;
    u.path = f.path;
    if (!job.annotate.empty()) u.annotate_png = names.take(f.name, ".png");
    with_context(f.path, [&] { runner.add_image(std::move(u), image); });
    ++result.images;
    bar.update(++done, std::to_string(result.faces) + " faces");
  }
  runner.flush();
  bar.finish(std::to_string(result.faces) + " faces");
  } catch (...) {
    discard_tmp();
    throw;
  }
  if (job.out.empty()) {
    if (job.stream == nullptr) result.csv = memory.str();
    else job.stream->flush();
  } else {
    file.flush();
    const bool ok = file.good();
    file.close();
    // The rows are in the temp already: check the stream, then fsync + rename + folder fsync.
    replace_file_durably(job.out, [&](const std::string&) {
      if (!ok) throw Error("write failed (disk full?)");
    });
  }
  return result;
}

}  // namespace posefer
