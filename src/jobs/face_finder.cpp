#include "posefer/jobs/face_finder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <system_error>
#include <utility>

#include "posefer/core/check.h"
#include "posefer/data/dataset.h"
#include "posefer/face/dataset_align.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/face/haar_face_detector.h"
#include "posefer/face/padded_detect.h"
#include "posefer/io/image_io.h"
#include "posefer/jobs/pipeline.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;

// The alignment settings the run trained with: `--align auto`'s, the summary.json of a
// `posefer align` folder, else the defaults.
void use_run_alignment(const DataConfig& data, int image_size, FacePlan& plan) {
  if (data.align == "auto") {
    const DatasetAlignJob job = auto_align_job(data, image_size, "");
    plan.align = job.align;
    plan.detector.detector = job.detector.detector;
    plan.haar_fallback = job.haar_fallback;
    plan.whole_box = job.whole_image;
    return;
  }
  if (data.align.empty()) return;
  const fs::path summary = fs::path(data.align) / "summary.json";
  std::error_code ec;
  if (!fs::is_regular_file(summary, ec)) {
    spdlog::warn("classify: {} not found; aligning with the default settings", summary.string());
    return;
  }
  with_context(summary.string(), [&] {
    try {
      const auto j = nlohmann::json::parse(read_text_file(summary.string()));
      plan.align.size = j.value("size", plan.align.size);
      plan.align.channels = j.value("channels", plan.align.channels);
      plan.align.margin = j.value("margin", plan.align.margin);
      plan.detector.detector.input_size = j.value("input_size", plan.detector.detector.input_size);
      plan.detector.detector.score_threshold =
          j.value("score_threshold", plan.detector.detector.score_threshold);
      plan.haar_fallback = j.value("haar_fallback", false);
      plan.whole_box = j.value("whole_image", false);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(std::string("malformed alignment summary: ") + e.what());
    }
    plan.align.validate();
  });
}

// A photo whose sides are within kCropMaxAspect of each other (the "crop" fallback's test).
bool near_square(const torch::Tensor& image) {
  const double h = static_cast<double>(image.size(1)), w = static_cast<double>(image.size(2));
  return std::max(h, w) <= kCropMaxAspect * std::min(h, w);
}

}  // namespace

torch::Tensor bgr_mat_to_tensor(const cv::Mat& bgr) {
  POSEFER_CHECK_SHAPE(!bgr.empty() && bgr.rows > 0 && bgr.cols > 0, "image: empty (0 x 0 pixels)");
  POSEFER_CHECK_SHAPE(bgr.depth() == CV_8U, "image: expected 8-bit pixels (CV_8U), got OpenCV depth ", bgr.depth());
  POSEFER_CHECK_SHAPE(bgr.channels() == 1 || bgr.channels() == 3 || bgr.channels() == 4,
                      "image: expected 1, 3 or 4 channels, got ", bgr.channels());
  cv::Mat rgb;
  if (bgr.channels() == 1) cv::cvtColor(bgr, rgb, cv::COLOR_GRAY2RGB);
  else if (bgr.channels() == 4) cv::cvtColor(bgr, rgb, cv::COLOR_BGRA2RGB);
  else cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous);
}

FacePlan make_face_plan(const TrainConfig& config, FaceMode face, const std::string& fallback,
                        const std::string& model_dir) {
  FacePlan plan;
  plan.channels = config.model.channels;
  plan.size = config.model.image_size;
  plan.crop = resolve_crop(config.data, parse_data_spec(config.data.spec).kind);
  plan.crop_fraction = config.data.crop_fraction;
  plan.detect = face == FaceMode::kDetect || (face == FaceMode::kAuto && !config.data.align.empty());
  if (!plan.detect) return plan;
  plan.fallback = parse_fallback(fallback);
  use_run_alignment(config.data, plan.size, plan);
  if (face == FaceMode::kDetect) plan.whole_box = false;  // always the detector
  plan.detector.model_dir = model_dir.empty() ? default_faceapi_model_dir() : model_dir;
  plan.detector.landmarks = true;
  plan.detector.expressions = false;
  return plan;
}

void require_faceapi_weights(const std::string& model_dir) {
  std::error_code ec;
  for (const char* name : {"tiny_face_detector_model", "face_landmark_68_model"}) {
    if (!fs::is_regular_file(faceapi_manifest_path(model_dir, name), ec)) {
      throw InputError(
          "face detection needs the face-api weights, not found in " + model_dir +
          " (missing " + name + "-weights_manifest.json): run scripts/setup.sh (npm installs "
          "@vladmandic/face-api@1.7.15 into third_party/npm), or point --models / POSEFER_MODELS "
          "at the model folder; --face whole classifies without detection");
    }
  }
}

FaceFinder::FaceFinder(FacePlan plan) : plan_(std::move(plan)) {
  if (plan_.detect) {
    require_faceapi_weights(plan_.detector.model_dir);
    detector_ = std::make_unique<FaceDetector>(plan_.detector);
    if (plan_.haar_fallback) haar_ = std::make_unique<HaarFaceDetector>();
  }
}

FaceFinder::~FaceFinder() = default;

FoundFaces FaceFinder::find(const torch::Tensor& image) {
  POSEFER_CHECK_SHAPE(image.defined() && image.dim() == 3 && image.size(0) == 3 &&
                          image.scalar_type() == torch::kUInt8,
                      "face finder: expected a uint8 RGB image [3, H, W]");
  FoundFaces out;
  const FaceBox whole{0, 0, double(image.size(2)), double(image.size(1))};
  if (!plan_.detect) {
    out.whole = true;
    Face f;
    f.box = whole;
    out.faces = {f};
    out.sources = {"image"};
    out.inputs = {prepare_face_image(image, plan_.channels, plan_.size, plan_.crop, plan_.crop_fraction)};
    return out;
  }
  std::string source = "detector";
  std::vector<Face>& faces = out.faces;
  if (plan_.whole_box) {
    faces = detector_->describe(image, {whole}, {0.0});
    source = "whole";
  } else {
    faces = detector_->detect(image);
    auto fallback = [&](const std::string& step) {
      if (faces.empty() && std::count(plan_.fallback.begin(), plan_.fallback.end(), step) > 0) {
        faces = step == "padded" ? detect_padded(*detector_, image) : detector_->describe(image, {whole}, {0.0});  // crop, whole
        source = step;
      }
    };
    fallback("padded");
    if (faces.empty() && haar_) {
      const auto boxes = haar_->detect(image);
      if (!boxes.empty()) faces = detector_->describe(image, {boxes.front()}, {0.0});
      source = "haar";
    }
    if (faces.empty() && near_square(image)) fallback("crop");
    fallback("whole");
    if (source != "detector") out.fallback_faces = static_cast<int64_t>(faces.size());
  }
  for (const Face& f : faces) {
    // As in training: the aligned crop (a PNG there, uint8 here), resized to N x N.
    const AlignedFace a = align_face(image, f.landmarks, plan_.align);
    out.sources.push_back(source);
    out.inputs.push_back(prepare_face_image(to_uint8(a.image), plan_.channels, plan_.size));
  }
  return out;
}

FaceProbabilities classify_faces(LoadedModel& lm, const std::vector<torch::Tensor>& inputs, int batch) {
  POSEFER_CHECK_CONFIG(batch >= 1, "classify_faces: batch must be >= 1, got ", batch);
  FaceProbabilities out;
  if (inputs.empty()) return out;
  const std::vector<ClassifierMember> members = classifier_members(lm);
  std::vector<torch::Tensor> e_parts, p_parts;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); i += static_cast<size_t>(batch)) {
    const size_t end = std::min(inputs.size(), i + static_cast<size_t>(batch));
    const auto x = to_model_range(torch::stack(std::vector<torch::Tensor>(inputs.begin() + i, inputs.begin() + end)))
                       .to(lm.model->device);
    const ClassifierOutput o = ensemble_probabilities(members, x);
    e_parts.push_back(o.expression.to(torch::kCPU, torch::kDouble));
    if (o.pose.defined()) p_parts.push_back(o.pose.to(torch::kCPU, torch::kDouble));
  }
  out.expression = torch::cat(e_parts);
  if (!p_parts.empty()) out.pose = torch::cat(p_parts);
  return out;
}

}  // namespace posefer
