#include "posefer/face/face_feature_extractor.h"

#include "posefer/core/check.h"

namespace posefer {
torch::Tensor faceapi_input_from_model_range(const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && (x.size(1) == 1 || x.size(1) == 3),
                      "face net input: expected images [B, 1|3, N, N], got ", x.sizes());
  auto rgb = x.size(1) == 1 ? x.expand({x.size(0), 3, x.size(2), x.size(3)}) : x;
  if (x.size(2) != kFaceNetInputSize || x.size(3) != kFaceNetInputSize) {
    rgb = torch::nn::functional::interpolate(
        rgb, torch::nn::functional::InterpolateFuncOptions()
                 .size(std::vector<int64_t>{kFaceNetInputSize, kFaceNetInputSize})
                 .mode(torch::kBilinear)
                 .align_corners(false));
  }
  auto mean = torch::tensor({kFaceNetMeanRgb[0], kFaceNetMeanRgb[1], kFaceNetMeanRgb[2]}, rgb.options())
                  .view({1, 3, 1, 1});
  return ((rgb + 1) * 127.5 - mean) / 255.0;
}

DenseBlockImpl::DenseBlockImpl(int64_t in, int64_t out, bool first_block) : first(first_block) {
  if (first) {
    conv0 = register_module("conv0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(2)));
  } else {
    sep0 = register_module("conv0", SeparableConv(in, out));
  }
  conv1 = register_module("conv1", SeparableConv(out, out));
  conv2 = register_module("conv2", SeparableConv(out, out));
  conv3 = register_module("conv3", SeparableConv(out, out));
}

torch::Tensor DenseBlockImpl::forward(const torch::Tensor& x) {
  auto out1 = torch::relu(first ? conv0->forward(tf_same_pad(x, 3, 2)) : sep0->forward(x, 2));
  auto out2 = conv1->forward(out1);
  auto out3 = conv2->forward(torch::relu(out1 + out2));
  auto out4 = conv3->forward(torch::relu(out1 + (out2 + out3)));
  return torch::relu(out1 + (out2 + (out3 + out4)));
}

void DenseBlockImpl::load_weights(const FaceApiWeights& weights, const std::string& prefix) {
  if (first) {
    load_conv_weights(conv0, weights, prefix + "/conv0");
  } else {
    sep0->load_weights(weights, prefix + "/conv0");
  }
  conv1->load_weights(weights, prefix + "/conv1");
  conv2->load_weights(weights, prefix + "/conv2");
  conv3->load_weights(weights, prefix + "/conv3");
}

FaceFeatureExtractorImpl::FaceFeatureExtractorImpl() {
  dense0 = register_module("dense0", DenseBlock(3, 32, true));
  dense1 = register_module("dense1", DenseBlock(32, 64, false));
  dense2 = register_module("dense2", DenseBlock(64, 128, false));
  dense3 = register_module("dense3", DenseBlock(128, 256, false));
}

torch::Tensor FaceFeatureExtractorImpl::forward(const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == 3 && x.size(2) == kFaceNetInputSize &&
                          x.size(3) == kFaceNetInputSize,
                      "FaceFeatureExtractor input must be [B, 3, 112, 112], got ", x.sizes());
  // Channels-last activations, as in FaceResNet: the separable convolutions' depthwise kernels
  // are vectorised over channels in this layout (bench/README.md); values agree to float rounding.
  const auto in = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto out = dense3->forward(dense2->forward(dense1->forward(dense0->forward(in))));
  return out.mean({2, 3});  // avgPool 7x7 stride 2 'valid' on 7x7
}

void FaceFeatureExtractorImpl::load_weights(const FaceApiWeights& weights) {
  dense0->load_weights(weights, "dense0");
  dense1->load_weights(weights, "dense1");
  dense2->load_weights(weights, "dense2");
  dense3->load_weights(weights, "dense3");
}

torch::Tensor face_batch(const torch::Tensor& image, const std::vector<FaceBox>& boxes,
                         std::vector<PixelRect>* rects) {
  const auto img = faceapi_check_image(image, "face crop");
  const int64_t h = img.size(1), w = img.size(2);
  std::vector<torch::Tensor> crops;
  if (rects) rects->clear();
  for (const auto& box : boxes) {
    const PixelRect r = clip_box_to_image(box, w, h);
    POSEFER_CHECK_INPUT(r.width > 0 && r.height > 0, "face box (", box.x, ", ", box.y, ", ",
                        box.width, " x ", box.height, ") has no pixel inside the ", w, " x ", h,
                        " image");
    const auto crop = img.slice(1, r.y, r.y + r.height).slice(2, r.x, r.x + r.width);
    crops.push_back(faceapi_input(crop, kFaceNetInputSize, /*centered=*/true, kFaceNetMeanRgb, 255.0));
    if (rects) rects->push_back(r);
  }
  if (crops.empty()) return torch::empty({0, 3, kFaceNetInputSize, kFaceNetInputSize});
  return torch::cat(crops, 0);
}

}  // namespace posefer
