// TinyFaceDetector: face-api's TinyYolov2 "separable" face detector (5 anchors, 1 class), a
// LibTorch port that reproduces face-api 1.7.15 (see ../shared/reference/faceapi/SPEC.md).
//
// forward: x float [B, 3, S, S] (normalised input) -> raw map float [B, 25, S/32, S/32]
//   conv0 3x3 VALID + leaky(0.1) | maxpool 2x2/2 TF-'same' | 5 x (separable conv 3x3 + leaky,
//   channels 32..512, maxpool 2x2/2 after the first four) | maxpool 2x2/1 'same' | conv8 1x1 -> 25.
// detect: uint8 RGB image [3, H, W] -> boxes in image pixels with scores, NMS applied, sorted by
//   score (descending).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/face/faceapi_common.h"
#include "posefer/face/faceapi_weights.h"

namespace posefer {

struct TinyFaceDetectorConfig {
  int input_size = 416;          // S: network input side, a multiple of 32 (224/320/416/608 common)
  double score_threshold = 0.5;  // keep cells with sigmoid(objectness) > this
  double iou_threshold = 0.4;    // NMS: drop a box whose IoU with a kept one exceeds this
  void validate() const;         // throws ConfigError naming the field
};

// One detected face.
struct FaceDetection {
  FaceBox box;         // image pixels, not clipped to the image
  double score = 0;    // sigmoid(objectness) in (0, 1)
};

struct TinyFaceDetectorImpl : torch::nn::Module {
  TinyFaceDetectorImpl();
  // Copies the tensors of tiny_face_detector_model (throws InputError on a missing/misshapen one).
  void load_weights(const FaceApiWeights& weights);
  torch::Tensor forward(const torch::Tensor& x);

  // The preprocessed network input of `image` for input size S: float [1, 3, S, S].
  torch::Tensor preprocess(const torch::Tensor& image, int input_size) const;
  // The raw map of `image` before the sigmoid, NHWC: float [S/32, S/32, 25].
  torch::Tensor raw_map(const torch::Tensor& image, int input_size);
  // Faces in `image`, NMS applied, by descending score.
  std::vector<FaceDetection> detect(const torch::Tensor& image, const TinyFaceDetectorConfig& config);

  torch::nn::Conv2d conv0{nullptr};
  std::vector<SeparableConv> convs;  // conv1..conv5
  torch::nn::Conv2d conv8{nullptr};
};
TORCH_MODULE(TinyFaceDetector);

// Decodes a raw map [G, G, 25] (NHWC) of an image W x H seen at input size S into boxes with
// score > threshold (before NMS), in cell/anchor order.
std::vector<FaceDetection> decode_tiny_face_map(const torch::Tensor& raw, int64_t image_width,
                                                int64_t image_height, int input_size,
                                                double score_threshold);

// Greedy NMS: by descending score, drop every box whose IoU with a kept one exceeds `iou`.
// Returns the kept detections by descending score.
std::vector<FaceDetection> non_max_suppression(const std::vector<FaceDetection>& dets, double iou);

// Loads the detector from `model_dir` (tiny_face_detector_model-weights_manifest.json + .bin).
TinyFaceDetector load_tiny_face_detector(const std::string& model_dir);

}  // namespace posefer
