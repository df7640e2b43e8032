// FaceLandmark68Net: face-api's 68-point landmark regressor, ported to LibTorch
// (../shared/reference/faceapi/SPEC.md).
//
// forward: x float [B, 3, 112, 112] (normalised crops) -> float [B, 136] = (x0, y0, x1, y1, ...)
//   in [0, 1] of the padded square crop (FaceFeatureExtractor + linear 256 -> 136, no activation).
// detect: a face box in a uint8 RGB image -> 68 points in image pixels, iBUG 68 order
//   (0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/face/face_feature_extractor.h"
#include "posefer/face/faceapi_common.h"
#include "posefer/face/faceapi_weights.h"

namespace posefer {

// A point in image pixels.
struct Point2d {
  double x = 0;  // column
  double y = 0;  // row
};

// 68 landmarks of one face.
using Landmarks68 = std::vector<Point2d>;

struct FaceLandmark68NetImpl : torch::nn::Module {
  FaceLandmark68NetImpl();
  torch::Tensor forward(const torch::Tensor& x);
  void load_weights(const FaceApiWeights& weights);
  // The landmarks of each box in `image` (uint8 [3, H, W] RGB), in image pixels.
  std::vector<Landmarks68> detect(const torch::Tensor& image, const std::vector<FaceBox>& boxes);

  FaceFeatureExtractor features{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(FaceLandmark68Net);

// Maps the net's output for one face (136 values in [0, 1] of the padded square) to image pixels:
// M = max(w, h) of the clipped rect, x = o_x * M - (M - w) / 2 + box.x (box = the unclipped,
// unfloored detection box, as face-api does), likewise y.
Landmarks68 decode_landmarks(const float* out136, const PixelRect& rect, const FaceBox& box);

// face-api's alignedRect: the landmarks' bounding box grown by `padding` of its size
// (half on each side).
FaceBox landmarks_box(const Landmarks68& landmarks, double padding = 0.2);

// Loads the net from `model_dir` (face_landmark_68_model-weights_manifest.json + .bin).
FaceLandmark68Net load_landmark68_net(const std::string& model_dir);

}  // namespace posefer
