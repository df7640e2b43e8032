#include "posefer/face/landmark68.h"

#include <algorithm>
#include <limits>

#include "posefer/core/check.h"

namespace posefer {

constexpr int64_t kPoints = 68;

FaceLandmark68NetImpl::FaceLandmark68NetImpl() {
  features = register_module("features", FaceFeatureExtractor());
  fc = register_module("fc", torch::nn::Linear(256, kPoints * 2));
}

torch::Tensor FaceLandmark68NetImpl::forward(const torch::Tensor& x) {
  return fc->forward(features->forward(x));
}

void FaceLandmark68NetImpl::load_weights(const FaceApiWeights& weights) {
  features->load_weights(weights);
  torch::NoGradGuard no_grad;
  fc->weight.copy_(tf_dense_to_torch(weights.get("fc/weights", {256, kPoints * 2})));
  fc->bias.copy_(weights.get("fc/bias", {kPoints * 2}));
}

std::vector<Landmarks68> FaceLandmark68NetImpl::detect(const torch::Tensor& image,
                                                       const std::vector<FaceBox>& boxes) {
  torch::NoGradGuard no_grad;
  std::vector<PixelRect> rects;
  const auto batch = face_batch(image, boxes, &rects);
  std::vector<Landmarks68> out;
  if (boxes.empty()) return out;
  const auto pred = forward(batch).contiguous();
  for (size_t i = 0; i < boxes.size(); ++i) {
    out.push_back(decode_landmarks(pred[i].data_ptr<float>(), rects[i], boxes[i]));
  }
  return out;
}

Landmarks68 decode_landmarks(const float* out136, const PixelRect& rect, const FaceBox& box) {
  const double w = static_cast<double>(rect.width), h = static_cast<double>(rect.height);
  const double m = std::max(w, h);
  Landmarks68 pts(kPoints);
  for (int64_t i = 0; i < kPoints; ++i) {
    pts[i].x = out136[2 * i] * m - (m - w) / 2 + box.x;
    pts[i].y = out136[2 * i + 1] * m - (m - h) / 2 + box.y;
  }
  return pts;
}

FaceBox landmarks_box(const Landmarks68& landmarks, double padding) {
  POSEFER_CHECK_SHAPE(!landmarks.empty(), "landmarks_box: no landmarks");
  double x0 = std::numeric_limits<double>::infinity(), y0 = x0, x1 = -x0, y1 = -x0;
  for (const auto& p : landmarks) {
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  const double bw = x1 - x0, bh = y1 - y0;
  const double px = bw * padding, py = bh * padding;
  return {x0 - px / 2, y0 - py / 2, bw + px, bh + py};
}

FaceLandmark68Net load_landmark68_net(const std::string& model_dir) {
  FaceLandmark68Net net;
  net->load_weights(load_faceapi_weights(faceapi_manifest_path(model_dir, "face_landmark_68_model")));
  net->eval();
  return net;
}

}  // namespace posefer
