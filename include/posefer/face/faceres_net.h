// FaceResNet: human's "faceres" face-description model (@vladmandic/human@3.3.6,
// models/faceres.json + .bin; HSE FaceRec: a MobileNet-v1 trained for face identity on VGGFace2,
// with age and gender heads), ported to LibTorch from its TF.js graph (tfjs_graph_model.h).
//
// forward: x float [B, 3, H, W], RGB in 0..255 (what human feeds it: the face crop x 255; the
//   model was made for 224 x 224, and being convolutional up to the global mean it runs at any
//   side >= 32) -> descriptor float [B, 1024] (global mean of the last block; human's
//   `descriptor`). Layout: conv 3x3/2 (3 -> 32) and 13 depthwise-separable blocks
//   (64, 128, 128, 256, 256, 512 x 6, 1024, 1024 channels; stride 2 at blocks 2, 4, 6, 12), each
//   conv followed by its folded batch norm (a bias; the depthwise scale is folded into the kernel)
//   and ReLU6; TF 'SAME' padding.
// heads (options.heads): feats = relu(dense 1024 -> 256), gender = sigmoid(dense 256 -> 1) (> 0.5
//   male), age = softmax(dense 256 -> 100).
// Throws ShapeError on other input shapes; load_weights throws InputError naming the file when a
// tensor is missing or misshapen, or the graph is not the layout above.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/face/tfjs_graph_model.h"

namespace posefer {

struct FaceResNetOptions {
  bool heads = false;  // also build the identity feature, gender and age layers (parity checks)
};

struct FaceResHeads {
  torch::Tensor gender;  // float [B, 1], probability of male
  torch::Tensor age;     // float [B, 100], softmax over 0..99 (human reads the age off it)
};

struct FaceResNetImpl : torch::nn::Module {
  explicit FaceResNetImpl(const FaceResNetOptions& options = {});
  torch::Tensor forward(const torch::Tensor& x);
  // Gender and age from a descriptor (needs options.heads).
  FaceResHeads heads(const torch::Tensor& descriptor);
  // Copies the graph's weights in place (optimisers keep their tensors).
  void load_weights(const TfjsGraphModel& graph);

  FaceResNetOptions options;
  torch::nn::Conv2d conv1{nullptr};
  std::vector<torch::nn::Conv2d> depthwise, pointwise;  // blocks 1..13
  std::vector<int64_t> strides;                         // of each block's depthwise conv
  torch::nn::Linear feats{nullptr}, gender{nullptr}, age{nullptr};
};
TORCH_MODULE(FaceResNet);

// Descriptor length.
constexpr int64_t kFaceResFeatures = 1024;
// The side the classifier's faceres backbone resizes faces to by default (ModelConfig
// backbone_side 0): 112 px, ~4x cheaper than the model's 224 (bench/README).
constexpr int64_t kFaceResDefaultSide = 112;

// Model-range images (float [B, C, N, N] in [-1, 1], C = 1 or 3) as faceres input: grey repeated
// to RGB, bilinear resize to side x side (none when N = side), 0..255. Throws ShapeError.
torch::Tensor faceres_input_from_model_range(const torch::Tensor& x, int64_t side);

// models/faceres.json in `model_dir`.
std::string faceres_model_path(const std::string& model_dir);
// human's model folder that scripts/setup.sh installs:
// <source dir>/third_party/npm/node_modules/@vladmandic/human/models.
std::string default_human_model_dir();

}  // namespace posefer
