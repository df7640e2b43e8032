// The face front end: TinyFaceDetector -> FaceLandmark68Net -> FaceExpressionNet, as face-api's
// detectAllFaces(...).withFaceLandmarks().withFaceExpressions() does, in LibTorch.
//
// detect: uint8 RGB image [3, H, W] (grey [1, H, W] accepted) -> one Face per detection, by
// descending score: box + score, 68 landmarks in image pixels, the landmark-based alignedRect and
// the 7 expression probabilities (kFaceApiExpressions order).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "posefer/face/expression_net.h"
#include "posefer/face/landmark68.h"
#include "posefer/face/tiny_face_detector.h"

namespace posefer {

struct FaceDetectorConfig {
  std::string model_dir;             // face-api model folder ("" = default_faceapi_model_dir())
  TinyFaceDetectorConfig detector;   // input size, score and NMS thresholds
  bool landmarks = true;             // run FaceLandmark68Net
  bool expressions = true;           // run FaceExpressionNet (needs landmarks)
  // detect(): images with a longer side are first shrunk (area, uint8) to this side, results
  // mapped back to the photo's pixels; bounds time and memory on huge photos (0 = never).
  int max_side = 2048;
};

// One face found in an image.
struct Face {
  FaceBox box;                          // detection box, image pixels (not clipped)
  double score = 0;                     // detector score in (0, 1)
  Landmarks68 landmarks;                // 68 points, image pixels (empty without landmarks)
  FaceBox aligned_rect;                 // landmarks' box + 20 % (the expression crop)
  std::vector<double> expressions;      // 7 probabilities, kFaceApiExpressions order (or empty)
};

class FaceDetector {
 public:
  // Loads the nets from config.model_dir; throws InputError naming a missing/corrupt weight file.
  explicit FaceDetector(const FaceDetectorConfig& config = {});
  std::vector<Face> detect(const torch::Tensor& image);  // see FaceDetectorConfig::max_side
  // As detect, keeping detector cells above `score_threshold` (in [0, 1)) instead of the config's.
  std::vector<Face> detect(const torch::Tensor& image, double score_threshold);
  // Landmarks (+ expressions) for faces found by other means (e.g. a fallback detector, or the
  // whole image as the box): one Face per box, score as given. Boxes without a pixel inside the
  // image are dropped.
  std::vector<Face> describe(const torch::Tensor& image, const std::vector<FaceBox>& boxes,
                             const std::vector<double>& scores);
  // The detector's raw map [S/32, S/32, 25] (NHWC, before the sigmoid) for `image`.
  torch::Tensor detector_raw(const torch::Tensor& image);
  const FaceDetectorConfig& config() const { return config_; }

 private:
  FaceDetectorConfig config_;
  TinyFaceDetector detector_{nullptr};
  FaceLandmark68Net landmarks_{nullptr};
  FaceExpressionNet expressions_{nullptr};
};

// {"score", "box": {x, y, width, height}, "landmarks": [[x, y] x 68], "alignedRect",
//  "expressions": {"neutral": p, ...}} per face.
nlohmann::ordered_json faces_to_json(const std::vector<Face>& faces);

// A copy of `image` (uint8 [3, H, W]) with each face's box (green) and landmarks (red) drawn.
torch::Tensor draw_faces(const torch::Tensor& image, const std::vector<Face>& faces);

}  // namespace posefer
