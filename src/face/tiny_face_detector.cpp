#include "posefer/face/tiny_face_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "posefer/core/check.h"

namespace posefer {
namespace {

namespace F = torch::nn::functional;

constexpr int64_t kAnchors = 5;
constexpr double kAnchorSizes[kAnchors][2] = {{1.603231, 2.094468}, {6.041143, 7.080126},
                                              {2.882459, 3.518061}, {4.266906, 5.178857},
                                              {9.041765, 10.66308}};
const std::array<double, 3> kMeanRgb = {117.001, 114.697, 97.404};
constexpr int64_t kChannels[] = {16, 32, 64, 128, 256, 512};

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

torch::Tensor leaky(const torch::Tensor& x) {
  return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.1));
}

// 2x2 max pool with TF 'same' padding (-inf) at `stride`.
torch::Tensor max_pool_same(const torch::Tensor& x, int64_t stride) {
  return F::max_pool2d(tf_same_pad(x, 2, stride, -std::numeric_limits<double>::infinity()),
                       F::MaxPool2dFuncOptions(2).stride(stride));
}

}  // namespace

void TinyFaceDetectorConfig::validate() const {
  POSEFER_CHECK_CONFIG(input_size >= 32 && input_size % 32 == 0,
                       "input_size must be a positive multiple of 32, got ", input_size);
  POSEFER_CHECK_CONFIG(score_threshold >= 0 && score_threshold < 1,
                       "score_threshold must be in [0, 1), got ", score_threshold);
  POSEFER_CHECK_CONFIG(iou_threshold > 0 && iou_threshold <= 1,
                       "iou_threshold must be in (0, 1], got ", iou_threshold);
}

TinyFaceDetectorImpl::TinyFaceDetectorImpl() {
  conv0 = register_module("conv0", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, kChannels[0], 3)));
  for (int i = 1; i <= 5; ++i) {
    convs.push_back(register_module("conv" + std::to_string(i),
                                    SeparableConv(kChannels[i - 1], kChannels[i])));
  }
  conv8 = register_module("conv8", torch::nn::Conv2d(torch::nn::Conv2dOptions(512, kAnchors * 5, 1)));
}

void TinyFaceDetectorImpl::load_weights(const FaceApiWeights& weights) {
  load_conv_weights(conv0, weights, "conv0");
  for (size_t i = 0; i < convs.size(); ++i) {
    convs[i]->load_weights(weights, "conv" + std::to_string(i + 1));
  }
  load_conv_weights(conv8, weights, "conv8");
}

torch::Tensor TinyFaceDetectorImpl::forward(const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == 3 && x.size(2) == x.size(3) && x.size(2) % 32 == 0,
                      "TinyFaceDetector input must be [B, 3, S, S] with S a multiple of 32, got ",
                      x.sizes());
  auto out = max_pool_same(leaky(conv0->forward(x)), 2);
  for (size_t i = 0; i < convs.size(); ++i) {
    out = leaky(convs[i]->forward(out));
    out = max_pool_same(out, i + 1 < convs.size() ? 2 : 1);
  }
  return conv8->forward(out);
}

torch::Tensor TinyFaceDetectorImpl::preprocess(const torch::Tensor& image, int input_size) const {
  return faceapi_input(faceapi_check_image(image, "TinyFaceDetector"), input_size,
                       /*centered=*/false, kMeanRgb, 255.0);
}

torch::Tensor TinyFaceDetectorImpl::raw_map(const torch::Tensor& image, int input_size) {
  torch::NoGradGuard no_grad;
  return forward(preprocess(image, input_size))[0].permute({1, 2, 0}).contiguous();
}

std::vector<FaceDetection> TinyFaceDetectorImpl::detect(const torch::Tensor& image,
                                                        const TinyFaceDetectorConfig& config) {
  config.validate();
  const auto img = faceapi_check_image(image, "TinyFaceDetector");
  const auto raw = raw_map(img, config.input_size);
  return non_max_suppression(decode_tiny_face_map(raw, img.size(2), img.size(1), config.input_size,
                                                  config.score_threshold),
                             config.iou_threshold);
}

std::vector<FaceDetection> decode_tiny_face_map(const torch::Tensor& raw, int64_t image_width,
                                                int64_t image_height, int input_size,
                                                double score_threshold) {
  POSEFER_CHECK_SHAPE(raw.dim() == 3 && raw.size(0) == raw.size(1) && raw.size(2) == kAnchors * 5,
                      "detector map must be [G, G, 25], got ", raw.sizes());
  const auto map = raw.to(torch::kFloat32).contiguous();
  const float* m = map.data_ptr<float>();
  const int64_t cells = map.size(0);
  const double s = input_size;
  // Size of the image inside the network input (face-api's computeReshapedDimensions).
  const double scale = s / static_cast<double>(std::max(image_width, image_height));
  const double rw = std::round(image_width * scale);
  const double rh = std::round(image_height * scale);
  const double fx = s / rw, fy = s / rh;
  std::vector<FaceDetection> out;
  for (int64_t row = 0; row < cells; ++row) {
    for (int64_t col = 0; col < cells; ++col) {
      for (int64_t a = 0; a < kAnchors; ++a) {
        const float* v = m + ((row * cells + col) * kAnchors + a) * 5;
        const double score = sigmoid(v[4]);
        if (!(score > score_threshold)) continue;
        const double cx = (col + sigmoid(v[0])) / cells * fx;
        const double cy = (row + sigmoid(v[1])) / cells * fy;
        const double w = std::exp(static_cast<double>(v[2])) * kAnchorSizes[a][0] / cells * fx;
        const double h = std::exp(static_cast<double>(v[3])) * kAnchorSizes[a][1] / cells * fy;
        FaceDetection d;
        d.score = score;
        d.box = {(cx - w / 2) * image_width, (cy - h / 2) * image_height, w * image_width,
                 h * image_height};
        out.push_back(d);
      }
    }
  }
  return out;
}

std::vector<FaceDetection> non_max_suppression(const std::vector<FaceDetection>& dets, double iou) {
  // face-api: stable ascending sort, then pop from the back (ties: the later one first).
  std::vector<size_t> order(dets.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return dets[a].score < dets[b].score; });
  std::reverse(order.begin(), order.end());
  std::vector<FaceDetection> kept;
  std::vector<bool> dropped(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    if (dropped[i]) continue;
    const auto& cur = dets[order[i]];
    kept.push_back(cur);
    for (size_t j = i + 1; j < order.size(); ++j) {
      if (!dropped[j] && box_iou(cur.box, dets[order[j]].box) > iou) dropped[j] = true;
    }
  }
  return kept;
}

TinyFaceDetector load_tiny_face_detector(const std::string& model_dir) {
  TinyFaceDetector net;
  net->load_weights(load_faceapi_weights(faceapi_manifest_path(model_dir, "tiny_face_detector_model")));
  net->eval();
  return net;
}

}  // namespace posefer
