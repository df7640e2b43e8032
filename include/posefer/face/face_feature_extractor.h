// FaceFeatureExtractor: the backbone shared (with separate weights) by face-api's
// FaceLandmark68Net and FaceExpressionNet, ported to LibTorch (../shared/reference/faceapi/SPEC.md).
//
// forward: x float [B, 3, 112, 112] (normalised face crops) -> features float [B, 256].
//   4 dense blocks (3->32->64->128->256 channels, each halving the side: 112 -> 7), global mean.
// face_batch: crops faces out of a uint8 RGB image the way face-api does (clip + floor the box,
//   centred zero padding to a square, TF-legacy resize to 112, (x - mean) / 255).
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "posefer/face/faceapi_common.h"
#include "posefer/face/faceapi_weights.h"

namespace posefer {

// denseBlock4: out1 = relu(first ? conv3x3/2(x) : sep/2(x)); out2 = sep(out1);
// out3 = sep(relu(out1 + out2)); out4 = sep(relu(out1 + out2 + out3));
// returns relu(out1 + out2 + out3 + out4). Stride-2 layers use TF 'SAME' padding.
struct DenseBlockImpl : torch::nn::Module {
  DenseBlockImpl(int64_t in_channels, int64_t out_channels, bool first);
  torch::Tensor forward(const torch::Tensor& x);
  void load_weights(const FaceApiWeights& weights, const std::string& prefix);

  bool first;
  torch::nn::Conv2d conv0{nullptr};   // first block only
  SeparableConv sep0{nullptr};        // other blocks
  SeparableConv conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
};
TORCH_MODULE(DenseBlock);

struct FaceFeatureExtractorImpl : torch::nn::Module {
  FaceFeatureExtractorImpl();
  torch::Tensor forward(const torch::Tensor& x);
  // Copies dense0..dense3 from `weights` (throws InputError on a missing/misshapen tensor).
  void load_weights(const FaceApiWeights& weights);

  DenseBlock dense0{nullptr}, dense1{nullptr}, dense2{nullptr}, dense3{nullptr};
};
TORCH_MODULE(FaceFeatureExtractor);

// Side of the face nets' input.
constexpr int64_t kFaceNetInputSize = 112;

// face-api's input normalisation of the face nets: (pixel - mean RGB) / 255.
inline constexpr std::array<double, 3> kFaceNetMeanRgb = {122.782, 117.001, 104.298};

// Model-range images (float [B, C, N, N] in [-1, 1], C = 1 or 3) as the face nets' input:
// grey repeated to RGB, bilinear resize to 112 x 112 (none when N = 112), face-api's
// normalisation. Throws ShapeError on other shapes.
torch::Tensor faceapi_input_from_model_range(const torch::Tensor& x);

// The normalised 112 x 112 crops of `boxes` in `image` (uint8 [3, H, W] RGB):
// float [boxes.size(), 3, 112, 112]. `rects` (if given) receives each clipped, floored rect.
// Throws InputError for a box that has no pixel inside the image.
torch::Tensor face_batch(const torch::Tensor& image, const std::vector<FaceBox>& boxes,
                         std::vector<PixelRect>* rects = nullptr);

}  // namespace posefer
