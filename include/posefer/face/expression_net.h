// FaceExpressionNet: face-api's 7-class facial expression classifier, ported to LibTorch
// (../shared/reference/faceapi/SPEC.md). The peer baseline of our expression results.
//
// forward: x float [B, 3, 112, 112] (normalised crops) -> logits float [B, 7]
//   (FaceFeatureExtractor + linear 256 -> 7); probabilities = softmax.
// Classes, in output order: neutral, happy, sad, angry, fearful, disgusted, surprised.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "posefer/face/face_feature_extractor.h"
#include "posefer/face/faceapi_common.h"
#include "posefer/face/faceapi_weights.h"

namespace posefer {

// FaceExpressionNet's class names, in output order.
constexpr std::array<const char*, 7> kFaceApiExpressions = {
    "neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"};

struct FaceExpressionNetImpl : torch::nn::Module {
  FaceExpressionNetImpl();
  torch::Tensor forward(const torch::Tensor& x);
  void load_weights(const FaceApiWeights& weights);
  // Expression probabilities of each box (face-api uses the landmarks' alignedRect) in `image`
  // (uint8 [3, H, W] RGB): float [boxes.size(), 7].
  torch::Tensor predict(const torch::Tensor& image, const std::vector<FaceBox>& boxes);

  FaceFeatureExtractor features{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(FaceExpressionNet);

// Loads the net from `model_dir` (face_expression_model-weights_manifest.json + .bin).
FaceExpressionNet load_expression_net(const std::string& model_dir);

}  // namespace posefer
