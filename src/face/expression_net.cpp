#include "posefer/face/expression_net.h"

#include "posefer/core/check.h"

namespace posefer {

constexpr int64_t kClasses = static_cast<int64_t>(kFaceApiExpressions.size());

FaceExpressionNetImpl::FaceExpressionNetImpl() {
  features = register_module("features", FaceFeatureExtractor());
  fc = register_module("fc", torch::nn::Linear(256, kClasses));
}

torch::Tensor FaceExpressionNetImpl::forward(const torch::Tensor& x) {
  return fc->forward(features->forward(x));
}

void FaceExpressionNetImpl::load_weights(const FaceApiWeights& weights) {
  features->load_weights(weights);
  torch::NoGradGuard no_grad;
  fc->weight.copy_(tf_dense_to_torch(weights.get("fc/weights", {256, kClasses})));
  fc->bias.copy_(weights.get("fc/bias", {kClasses}));
}

torch::Tensor FaceExpressionNetImpl::predict(const torch::Tensor& image,
                                             const std::vector<FaceBox>& boxes) {
  torch::NoGradGuard no_grad;
  if (boxes.empty()) return torch::empty({0, kClasses});
  return torch::softmax(forward(face_batch(image, boxes)), 1);
}

FaceExpressionNet load_expression_net(const std::string& model_dir) {
  FaceExpressionNet net;
  net->load_weights(load_faceapi_weights(faceapi_manifest_path(model_dir, "face_expression_model")));
  net->eval();
  return net;
}

}  // namespace posefer
