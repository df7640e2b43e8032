// posefer::Recognizer: the library's one-call façade for programs (and `posefer serve`): faces,
// 68 landmarks, head pose and expression probabilities of a photo.
//
//   posefer::Recognizer rec("runs/fer");          // a trained run folder or checkpoint file
//   posefer::Recognizer rec("faceapi");           // face-api's pretrained expression net
//   for (const auto& f : rec.recognize(cv::imread("photo.jpg")))
//     std::cout << f.expression << " " << f.confidence << "\n";
//
// Models:
// - a run folder / checkpoint file (`posefer train`): faces are found and aligned as
//   `posefer classify --face detect` does (TinyFaceDetector + 68 landmarks, the run's alignment
//   settings, RecognizerOptions::fallback when the detector finds nothing; classify.h), then the
//   run's classifier C_exp gives the expression (and, with a pose head, the pose bin)
//   probabilities. FaceMode::kWhole (options.face) takes the whole photo as the one face instead.
// - "faceapi": face-api's own FaceExpressionNet on each detected face (the 7 classes of
//   kFaceApiExpressions), as `posefer detect` does (no fallback). Works right after
//   scripts/setup.sh, no training.
// Both need face-api's weights (scripts/setup.sh; options.model_dir or $POSEFER_MODELS).
//
// Head pose: roll is measured from the landmarks (no model needed). Yaw and pitch need a
// landmark head-pose model (`posefer headpose ... --out pose.json`, head_pose.h), which is not
// installed by default: give it as RecognizerOptions::head_pose_model; without it yaw and pitch
// are NaN and RecognizedFace::has_yaw_pitch is false.
//
// Thread safety: recognize() and the accessors may be called from any number of threads at once.
// Decoding/conversion runs concurrently; the networks (detection, landmarks, classifier) run
// under one mutex per Recognizer, one photo at a time (LibTorch's intra-op threads parallelise
// each forward). No global state is changed: gradients are off only inside recognize()
// (torch::NoGradGuard), the RNG and LibTorch's thread count are left alone.
#pragma once

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "posefer/jobs/classify.h"
#include "posefer/face/faceapi_common.h"
#include "posefer/face/landmark68.h"

namespace posefer {

struct RecognizerOptions {
  std::string model_dir;         // face-api weights folder ("" = default_faceapi_model_dir())
  FaceMode face = FaceMode::kDetect;  // runs only: kDetect/kAuto/kWhole as `classify --face`
  std::string fallback = "padded,crop";  // runs only: steps when the detector finds no face (classify.h)
  std::string head_pose_model;   // pose.json of `posefer headpose` ("" = no yaw/pitch: NaN)
  // Runs only: further run folders or checkpoints voting with `model` (their probabilities are
  // averaged; load_trained_models, pipeline.h). Faces are found as `model`'s run does.
  std::vector<std::string> ensemble;
  int batch = 16;                // faces per classifier forward (>= 1)
  void validate() const;         // throws ConfigError naming the field
};

// One face of a photo. Coordinates are photo pixels (x right, y down), not clipped to the photo.
struct RecognizedFace {
  FaceBox box;                   // detector box (the whole photo in FaceMode::kWhole)
  double score = 0;              // detector score in (0, 1); 0 for a face found by a fallback
  Landmarks68 landmarks;         // 68 points (iBUG order); empty in FaceMode::kWhole
  // Head pose in degrees. roll: angle of the line from the eye on the photo's left (landmarks
  // 36-41) to the other (42-47), positive when the right one (in the photo) is lower, in
  // (-180, 180]; NaN without landmarks. yaw, pitch: the head-pose model's estimate; NaN without
  // one (has_yaw_pitch false).
  double yaw = 0, pitch = 0, roll = 0;
  bool has_yaw_pitch = false;
  std::vector<double> probabilities;  // per label (Recognizer::labels() order), in [0, 1], sum 1
  int expression_index = 0;      // argmax of probabilities
  std::string expression;        // labels()[expression_index]
  double confidence = 0;         // probabilities[expression_index]
  // Pose bin of a run with a pose head (pose_labels() order); empty / -1 / 0 otherwise.
  std::vector<double> pose_probabilities;
  int pose_index = -1;
  std::string pose;
  double pose_confidence = 0;
  std::string source;            // what found it: detector | padded | haar | whole | image
};

// Milliseconds spent in one recognize() call's parts.
struct RecognizeTimings {
  double detect_ms = 0;          // face detection, landmarks, alignment (waiting for the lock included)
  double classify_ms = 0;        // expression (and pose) net
};

// What a model is, for display (`posefer serve`'s GET /v1/model).
struct ModelInfo {
  std::string name;              // "faceapi", or the checkpoint file loaded (ensemble: " + N more")
  std::vector<std::string> members;  // an ensemble's checkpoint files, the first is `name`'s
  std::string backbone;          // classifier architecture: faceapi-expression-net, vgg19, faceapi, faceres
  std::vector<std::string> labels;       // expression classes, output order
  std::vector<std::string> pose_labels;  // pose bins (empty without a pose head)
  int input_size = 0;            // classifier input side N (N x N)
  int input_channels = 3;        // 1 (grey) or 3
  std::string training_data;     // the run's --data spec ("" for faceapi)
  nlohmann::json accuracy;       // from the run's eval.json: {"expression": a, "pose": b, "count": n}; null when absent
};

class Recognizer {
 public:
  using Face = RecognizedFace;

  // `model`: "faceapi", a run folder (its best.pt / checkpoint.pt, resolve_checkpoint_path) or a
  // checkpoint file. Throws InputError naming the path (missing or corrupt checkpoint, missing
  // face-api weights with how to install them, malformed head-pose model), ConfigError for bad
  // options.
  explicit Recognizer(const std::string& model, RecognizerOptions options = {});
  ~Recognizer();
  Recognizer(const Recognizer&) = delete;
  Recognizer& operator=(const Recognizer&) = delete;

  // Faces of a photo, by descending detector score (empty when there is none). `bgr`: 8-bit
  // (CV_8U) with 1 (grey), 3 (BGR, cv::imread's) or 4 (BGRA) channels, at least 1 x 1 pixels.
  // Throws ShapeError for an empty image or another depth / channel count. Thread-safe.
  std::vector<RecognizedFace> recognize(const cv::Mat& bgr) const;
  // The same, with the time spent in each part written to *timings (when not null).
  std::vector<RecognizedFace> recognize(const cv::Mat& bgr, RecognizeTimings* timings) const;

  const std::vector<std::string>& labels() const;       // expression classes
  const std::vector<std::string>& pose_labels() const;  // pose bins (empty without a pose head)
  const ModelInfo& info() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// {"box": {x, y, width, height}, "score", "landmarks": [[x, y] x 68], "head_pose": {"yaw", "pitch",
// "roll"} (null for an unknown angle), "expressions": {label: p, ...} (label order),
// "expression", "confidence", "pose" / "pose_confidence" / "poses" (with a pose head), "source"}.
nlohmann::ordered_json face_to_json(const RecognizedFace& face, const std::vector<std::string>& labels,
                                    const std::vector<std::string>& pose_labels);
nlohmann::ordered_json model_info_to_json(const ModelInfo& info);

}  // namespace posefer
