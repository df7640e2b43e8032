#include "posefer/api/recognizer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include "posefer/core/check.h"
#include "posefer/face/expression_net.h"
#include "posefer/face/face_detector.h"
#include "posefer/jobs/face_finder.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/face/head_pose.h"
#include "posefer/io/image_io.h"
#include "posefer/jobs/pipeline.h"

namespace posefer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Roll in degrees from the eye centres (see RecognizedFace::roll); NaN without 68 landmarks.
double roll_from_landmarks(const Landmarks68& lm) {
  if (lm.size() != 68) return std::numeric_limits<double>::quiet_NaN();
  double lx = 0, ly = 0, rx = 0, ry = 0;
  for (int i = 36; i < 42; ++i) lx += lm[i].x, ly += lm[i].y;
  for (int i = 42; i < 48; ++i) rx += lm[i].x, ry += lm[i].y;
  return std::atan2((ry - ly) / 6.0, (rx - lx) / 6.0) * 180.0 / M_PI;
}

// Index of the largest value.
int argmax(const std::vector<double>& v) {
  int best = 0;
  for (size_t i = 1; i < v.size(); ++i) if (v[i] > v[best]) best = static_cast<int>(i);
  return best;
}

// {"expression": a, "pose": b, "count": n} from a run's eval.json, null when absent/malformed.
nlohmann::json read_accuracy(const std::string& checkpoint_file) {
  const fs::path eval = fs::path(checkpoint_file).parent_path() / "eval.json";
  std::error_code ec;
  if (!fs::is_regular_file(eval, ec)) return nullptr;
  try {
    const auto j = nlohmann::json::parse(read_text_file(eval.string()));
    nlohmann::json out = nlohmann::json::object();
    if (j.contains("expression") && j["expression"].is_object() && j["expression"].contains("accuracy")) {
      out["expression"] = j["expression"]["accuracy"];
      out["count"] = j["expression"].value("count", 0);
    }
    if (j.contains("pose") && j["pose"].is_object() && j["pose"].contains("accuracy")) {
      out["pose"] = j["pose"]["accuracy"];
    }
    out["source"] = eval.string();
    return out.contains("expression") ? out : nlohmann::json(nullptr);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::vector<double> row(const torch::Tensor& probs, int64_t k) {
  const torch::Tensor r = probs[k].contiguous();
  const double* p = r.data_ptr<double>();
  return std::vector<double>(p, p + r.size(0));
}

}  // namespace

void RecognizerOptions::validate() const {
  POSEFER_CHECK_CONFIG(batch >= 1, "recognizer: batch must be >= 1, got ", batch);
  parse_fallback(fallback);
}

struct Recognizer::Impl {
  RecognizerOptions options;
  ModelInfo info;
  bool faceapi = false;
  std::optional<HeadPoseModel> head_pose;
  // Everything below runs under `mutex` (torch modules are used by one caller at a time).
  mutable std::mutex mutex;
  std::unique_ptr<LoadedModel> run;           // trained run
  std::unique_ptr<FaceFinder> finder;         // run: detection + alignment
  std::unique_ptr<FaceDetector> detector;     // faceapi: detector + landmarks
  FaceExpressionNet expression_net{nullptr};  // faceapi: expression net
};

Recognizer::Recognizer(const std::string& model, RecognizerOptions options) : impl_(std::make_unique<Impl>()) {
  options.validate();
  POSEFER_CHECK_CONFIG(!model.empty(), "recognizer: model is empty (a run folder, a checkpoint file or \"faceapi\")");
  Impl& m = *impl_;
  m.options = options;
  const std::string model_dir = options.model_dir.empty() ? default_faceapi_model_dir() : options.model_dir;
  if (!options.head_pose_model.empty()) {
    m.head_pose = with_context(options.head_pose_model, [&] {
      try {
        return HeadPoseModel::from_json(nlohmann::json::parse(read_text_file(options.head_pose_model)));
      } catch (const nlohmann::json::exception& e) {
        throw InputError(std::string("malformed head-pose model: ") + e.what());
      }
    });
  }
  if (model == "faceapi") {
    m.faceapi = true;
    require_faceapi_weights(model_dir);
    std::error_code ec;
    POSEFER_CHECK_INPUT(fs::is_regular_file(faceapi_manifest_path(model_dir, "face_expression_model"), ec),
                        "the faceapi model needs face_expression_model-weights_manifest.json in ", model_dir,
                        ": run scripts/setup.sh, or point POSEFER_MODELS at the model folder");
    FaceDetectorConfig dc;
    dc.model_dir = model_dir;
    dc.landmarks = true;
    dc.expressions = false;  // run below, timed as classification
    m.detector = std::make_unique<FaceDetector>(dc);
    m.expression_net = with_context(model_dir, [&] { return load_expression_net(model_dir); });
    m.expression_net->eval();
    m.info.name = "faceapi";
    m.info.backbone = "faceapi-expression-net";
    m.info.labels.assign(kFaceApiExpressions.begin(), kFaceApiExpressions.end());
    m.info.input_size = 112;
    m.info.input_channels = 3;
    m.info.training_data = "face-api's own training data (@vladmandic/face-api@1.7.15)";
    m.info.accuracy = nullptr;
    return;
  }
  std::error_code ec;
  POSEFER_CHECK_INPUT(fs::exists(model, ec), model,
                      ": no such run folder or checkpoint file (give a `posefer train` run, a .pt file or \"faceapi\")");
  const std::string file = resolve_checkpoint_path(model);
  m.run = std::make_unique<LoadedModel>(load_trained_models(file, options.ensemble));
  LoadedModel& lm = *m.run;
  POSEFER_CHECK_INPUT(static_cast<int>(lm.state.expression_names.size()) == lm.config.model.num_expressions,
                      file, ": the checkpoint holds ", lm.state.expression_names.size(), " expression names for ",
                      lm.config.model.num_expressions, " classes");
  m.finder = std::make_unique<FaceFinder>(make_face_plan(lm.config, options.face, options.fallback, model_dir));
  m.info.name = file;
  if (!lm.ensemble.empty()) {
    m.info.name += " + " + std::to_string(lm.ensemble.size()) + " more (ensemble)";
    m.info.members.push_back(lm.path);
    for (const auto& e : lm.ensemble) m.info.members.push_back(e->path);
  }
  m.info.backbone = lm.config.model.cls_arch;
  m.info.labels = lm.state.expression_names;
  if (votes_on_pose(lm)) m.info.pose_labels = lm.state.pose_names;
  m.info.input_size = lm.config.model.image_size;
  m.info.input_channels = lm.config.model.channels;
  m.info.training_data = lm.config.data.spec;
  m.info.accuracy = read_accuracy(file);
}

Recognizer::~Recognizer() = default;

const std::vector<std::string>& Recognizer::labels() const { return impl_->info.labels; }
const std::vector<std::string>& Recognizer::pose_labels() const { return impl_->info.pose_labels; }
const ModelInfo& Recognizer::info() const { return impl_->info; }

std::vector<RecognizedFace> Recognizer::recognize(const cv::Mat& bgr) const { return recognize(bgr, nullptr); }

std::vector<RecognizedFace> Recognizer::recognize(const cv::Mat& bgr, RecognizeTimings* timings) const {
  Impl& m = *impl_;  // the networks are used under m.mutex
  const torch::Tensor image = bgr_mat_to_tensor(bgr);
  std::vector<RecognizedFace> out;
  RecognizeTimings t;
  torch::NoGradGuard no_grad;
  std::vector<std::vector<double>> probs, pose_probs;
  {
    auto t0 = Clock::now();
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.faceapi) {
      const std::vector<posefer::Face> faces = m.detector->detect(image);
      t.detect_ms = ms_since(t0);
      t0 = Clock::now();
      std::vector<FaceBox> rects;
      for (const posefer::Face& f : faces) {
        const PixelRect r = clip_box_to_image(f.aligned_rect, image.size(2), image.size(1));
        rects.push_back(r.width > 0 && r.height > 0 ? f.aligned_rect : f.box);
      }
      torch::Tensor p;
      if (!faces.empty()) p = m.expression_net->predict(image, rects).to(torch::kFloat64);
      for (size_t i = 0; i < faces.size(); ++i) {
        RecognizedFace r;
        r.box = faces[i].box;
        r.score = faces[i].score;
        r.landmarks = faces[i].landmarks;
        r.source = "detector";
        out.push_back(std::move(r));
        probs.push_back(row(p, static_cast<int64_t>(i)));
      }
      t.classify_ms = ms_since(t0);
    } else {
      FoundFaces found = m.finder->find(image);
      t.detect_ms = ms_since(t0);
      t0 = Clock::now();
      const FaceProbabilities p = classify_faces(*m.run, found.inputs, m.options.batch);
      for (size_t i = 0; i < found.faces.size(); ++i) {
        RecognizedFace r;
        r.box = found.faces[i].box;
        r.score = found.faces[i].score;
        r.landmarks = found.faces[i].landmarks;
        r.source = found.sources[i];
        out.push_back(std::move(r));
        probs.push_back(row(p.expression, static_cast<int64_t>(i)));
        if (p.pose.defined()) pose_probs.push_back(row(p.pose, static_cast<int64_t>(i)));
      }
      t.classify_ms = ms_since(t0);
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < out.size(); ++i) {
    RecognizedFace& r = out[i];
    r.probabilities = std::move(probs[i]);
    r.expression_index = argmax(r.probabilities);
    r.expression = m.info.labels[r.expression_index];
    r.confidence = r.probabilities[r.expression_index];
    if (i < pose_probs.size()) {
      r.pose_probabilities = std::move(pose_probs[i]);
      r.pose_index = argmax(r.pose_probabilities);
      r.pose = m.info.pose_labels[r.pose_index];
      r.pose_confidence = r.pose_probabilities[r.pose_index];
    }
    r.roll = roll_from_landmarks(r.landmarks);
    r.yaw = r.pitch = nan;
    if (m.head_pose && r.landmarks.size() == 68) {
      const auto [yaw, pitch] = m.head_pose->predict(r.landmarks);
      r.yaw = yaw;
      r.pitch = pitch;
      r.has_yaw_pitch = true;
    }
  }
  if (timings) *timings = t;
  return out;
}

nlohmann::ordered_json face_to_json(const RecognizedFace& f, const std::vector<std::string>& labels,
                                    const std::vector<std::string>& pose_labels) {
  auto angle = [](double a) { return std::isfinite(a) ? nlohmann::ordered_json(a) : nlohmann::ordered_json(nullptr); };
  nlohmann::ordered_json j;
  j["box"] = {{"x", f.box.x}, {"y", f.box.y}, {"width", f.box.width}, {"height", f.box.height}};
  j["score"] = f.score;
  nlohmann::ordered_json pts = nlohmann::ordered_json::array();
  for (const auto& p : f.landmarks) pts.push_back({p.x, p.y});
  j["landmarks"] = pts;
  j["head_pose"] = {{"yaw", angle(f.yaw)}, {"pitch", angle(f.pitch)}, {"roll", angle(f.roll)}};
  nlohmann::ordered_json e = nlohmann::ordered_json::object();
  for (size_t i = 0; i < f.probabilities.size() && i < labels.size(); ++i) e[labels[i]] = f.probabilities[i];
  j["expressions"] = e;
  j["expression"] = f.expression;
  j["confidence"] = f.confidence;
  if (f.pose_index >= 0) {
    j["pose"] = f.pose;
    j["pose_confidence"] = f.pose_confidence;
    nlohmann::ordered_json p = nlohmann::ordered_json::object();
    for (size_t i = 0; i < f.pose_probabilities.size() && i < pose_labels.size(); ++i) {
      p[pose_labels[i]] = f.pose_probabilities[i];
    }
    j["poses"] = p;
  } else {
    j["pose"] = nullptr;
  }
  j["source"] = f.source;
  return j;
}

nlohmann::ordered_json model_info_to_json(const ModelInfo& info) {
  nlohmann::ordered_json j;
  j["name"] = info.name;
  j["backbone"] = info.backbone;
  if (!info.members.empty()) j["members"] = info.members;
  j["labels"] = info.labels;
  j["pose_labels"] = info.pose_labels;
  j["input_size"] = {info.input_size, info.input_size};
  j["input_channels"] = info.input_channels;
  j["training_data"] = info.training_data;
  j["accuracy"] = info.accuracy.is_null() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json::parse(info.accuracy.dump());
  return j;
}

}  // namespace posefer
