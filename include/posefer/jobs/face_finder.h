// Finding and preparing the faces of one photo for a trained run's classifier C_exp, exactly as
// `posefer classify` does (classify.h describes the modes and fallbacks), and C_exp's batched
// probabilities on the prepared faces. Shared by classify (files, videos, CSV) and the
// Recognizer (recognizer.h: one photo at a time, for programs and `posefer serve`).
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "posefer/face/align.h"
#include "posefer/jobs/classify.h"
#include "posefer/core/config.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/face/face_detector.h"

namespace posefer {

class HaarFaceDetector;
struct LoadedModel;

// How faces are found and prepared for the classifier.
struct FacePlan {
  bool detect = false;            // find faces (else the whole image is the face)
  bool whole_box = false;         // aligned, but the whole image as the face box (FER2013 runs)
  AlignConfig align;              // aligned crop before the resize to N
  FaceDetectorConfig detector;    // face-api models and thresholds
  bool haar_fallback = false;     // Haar cascades where the detector finds nothing
  std::vector<std::string> fallback;  // fallback steps (padded, crop, whole), parse_fallback's
  CropMode crop = CropMode::kResize;  // whole mode: the run's crop
  double crop_fraction = 1.0;
  int channels = 3;               // model input C
  int size = 64;                  // model input N
};

// uint8 RGB [3, H, W] (a copy) of an 8-bit OpenCV image: BGR (3 channels), BGRA (4) or grey (1).
// Throws ShapeError for an empty image, another depth or channel count.
torch::Tensor bgr_mat_to_tensor(const cv::Mat& bgr);

// The plan for a run trained with `config`: face mode, fallback spec (parse_fallback) and the
// face-api model folder ("" = default_faceapi_model_dir()). Throws ConfigError for a bad
// fallback, InputError for a malformed alignment summary.json of the run's aligned data.
FacePlan make_face_plan(const TrainConfig& config, FaceMode face, const std::string& fallback,
                        const std::string& model_dir);

// Throws InputError (with how to install them) unless the detector and landmark weights are in
// `model_dir`.
void require_faceapi_weights(const std::string& model_dir);

// The faces of one photo, by descending detector score.
struct FoundFaces {
  bool whole = false;                 // no detection: the whole image is the one face
  std::vector<Face> faces;            // box, score, landmarks (empty in whole mode)
  std::vector<std::string> sources;   // per face: detector | padded | haar | whole | image
  std::vector<torch::Tensor> inputs;  // per face: uint8 [C, N, N], the classifier's input
  int64_t fallback_faces = 0;         // faces found by a fallback step
};

// Loads the face-api nets the plan needs (require_faceapi_weights first). find() is not
// thread-safe (one caller at a time).
class FaceFinder {
 public:
  explicit FaceFinder(FacePlan plan);
  ~FaceFinder();
  FaceFinder(const FaceFinder&) = delete;
  FaceFinder& operator=(const FaceFinder&) = delete;

  // Faces of `image` (uint8 RGB [3, H, W]); throws ShapeError on another shape.
  FoundFaces find(const torch::Tensor& image);
  const FacePlan& plan() const { return plan_; }

 private:
  FacePlan plan_;
  std::unique_ptr<FaceDetector> detector_;
  std::unique_ptr<HaarFaceDetector> haar_;
};

// C_exp's probabilities on prepared faces (uint8 [C, N, N] each), `batch` faces per forward,
// no gradients (NoGradGuard), the run's flip TTA: double [F, E] and, with a pose head,
// double [F, P] (else undefined). Empty input: both undefined. Not thread-safe per model.
struct FaceProbabilities {
  torch::Tensor expression;
  torch::Tensor pose;
};
FaceProbabilities classify_faces(LoadedModel& lm, const std::vector<torch::Tensor>& inputs, int batch);

}  // namespace posefer
