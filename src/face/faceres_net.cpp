#include "posefer/face/faceres_net.h"

#include <filesystem>

#include "posefer/core/check.h"
#include "posefer/face/faceapi_common.h"
#include "posefer/face/npm_dir.h"

namespace posefer {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
constexpr int64_t kBlockChannels[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
constexpr int64_t kBlockStrides[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};

torch::Tensor clamp6(const torch::Tensor& x) { return torch::clamp(x, 0.0, 6.0); }  // ReLU6

// A 3x3 conv with TF 'SAME' padding: symmetric 1 at stride 1 (inside the conv), else explicit.
torch::Tensor same_conv3(nn::Conv2d conv, const torch::Tensor& x, int64_t stride) {
  if (stride == 1) return conv->forward(x);
  return conv->forward(tf_same_pad(x, 3, stride));
}
}  // namespace

FaceResNetImpl::FaceResNetImpl(const FaceResNetOptions& opts) : options(opts) {
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 32, 3).stride(2).bias(true)));
  int64_t in = 32;
  for (int i = 0; i < 13; ++i) {
    const int64_t s = kBlockStrides[i];
    auto dw = nn::Conv2d(nn::Conv2dOptions(in, in, 3).stride(s).padding(s == 1 ? 1 : 0).groups(in).bias(true));
    auto pw = nn::Conv2d(nn::Conv2dOptions(in, kBlockChannels[i], 1).bias(true));
    depthwise.push_back(register_module("conv_dw_" + std::to_string(i + 1), dw));
    pointwise.push_back(register_module("conv_pw_" + std::to_string(i + 1), pw));
    strides.push_back(s);
    in = kBlockChannels[i];
  }
  if (options.heads) {
    feats = register_module("feats", nn::Linear(kFaceResFeatures, 256));
    gender = register_module("gender", nn::Linear(256, 1));
    age = register_module("age", nn::Linear(256, 100));
  }
}

torch::Tensor FaceResNetImpl::forward(const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == 3 && x.size(2) >= 32 && x.size(3) >= 32,
                      "FaceResNet: expected RGB images [B, 3, H >= 32, W >= 32], got ", x.sizes());
  // Channels-last activations: LibTorch's CPU kernels for the 13 depthwise convolutions (and
  // their backward) are vectorised over channels in this layout (1.07x on a training step here,
  // 1.47x for face-api's backbone: bench/README.md); the weights stay as they are and the values
  // agree to float rounding.
  auto h = clamp6(conv1->forward(tf_same_pad(x.contiguous(torch::MemoryFormat::ChannelsLast), 3, 2)));
  for (size_t i = 0; i < depthwise.size(); ++i) {
    h = clamp6(same_conv3(depthwise[i], h, strides[i]));
    h = clamp6(pointwise[i]->forward(h));
  }
  return h.mean({2, 3});
}

FaceResHeads FaceResNetImpl::heads(const torch::Tensor& descriptor) {
  POSEFER_CHECK_CONFIG(options.heads, "FaceResNet: built without heads (FaceResNetOptions.heads)");
  POSEFER_CHECK_SHAPE(descriptor.dim() == 2 && descriptor.size(1) == kFaceResFeatures,
                      "FaceResNet heads: expected descriptors [B, 1024], got ", descriptor.sizes());
  auto f = torch::relu(feats->forward(descriptor));
  return {torch::sigmoid(gender->forward(f)), torch::softmax(age->forward(f), 1)};
}

void FaceResNetImpl::load_weights(const TfjsGraphModel& graph) {
  const auto& w = graph.weights;
  // The layout this port assumes: 14 convs (1 full, 13 pointwise), 13 depthwise, ReLU6 clamps.
  POSEFER_CHECK_INPUT(graph.count("Conv2D") == 14 && graph.count("DepthwiseConv2dNative") == 13 &&
                          graph.count("Minimum") == 27 && graph.count("Mean") == 1,
                      graph.path, ": not the faceres MobileNet-v1 layout (", graph.count("Conv2D"),
                      " Conv2D, ", graph.count("DepthwiseConv2dNative"), " depthwise)");
  auto check_relu6 = [&](const std::string& layer) {
    const float hi = w.get(layer + "_relu/Cast", {}).item<float>();
    const float lo = w.get(layer + "_relu/Const_1", {}).item<float>();
    POSEFER_CHECK_INPUT(hi == 6.f && lo == 0.f, graph.path, ": ", layer, " clamps to [", lo, ", ", hi,
                        "], expected ReLU6");
  };
  torch::NoGradGuard no_grad;
  conv1->weight.copy_(tf_conv_filter_to_torch(w.get("conv1/convolution/merged_input", {3, 3, 3, 32})));
  conv1->bias.copy_(w.get("conv1_bn/batchnorm_1/sub", {32}));
  check_relu6("conv1");
  int64_t in = 32;
  for (size_t i = 0; i < depthwise.size(); ++i) {
    const std::string n = std::to_string(i + 1), dw = "conv_dw_" + n, pw = "conv_pw_" + n;
    const int64_t out = kBlockChannels[i];
    const auto scale = w.get(dw + "_bn/batchnorm_1/mul", {in});
    depthwise[i]->weight.copy_(tf_depthwise_filter_to_torch(w.get(dw + "/depthwise_kernel", {3, 3, in, 1})) *
                               scale.view({in, 1, 1, 1}));
    depthwise[i]->bias.copy_(w.get(dw + "_bn/batchnorm_1/sub", {in}));
    pointwise[i]->weight.copy_(tf_conv_filter_to_torch(w.get(pw + "/convolution/merged_input", {1, 1, in, out})));
    pointwise[i]->bias.copy_(w.get(pw + "_bn/batchnorm_1/sub", {out}));
    check_relu6(dw);
    check_relu6(pw);
    in = out;
  }
  if (options.heads) {
    feats->weight.copy_(tf_dense_to_torch(w.get("feats/kernel", {1024, 256})));
    feats->bias.copy_(w.get("feats/bias", {256}));
    gender->weight.copy_(tf_dense_to_torch(w.get("gender_pred/kernel", {256, 1})));
    gender->bias.copy_(w.get("gender_pred/bias", {1}));
    age->weight.copy_(tf_dense_to_torch(w.get("age_pred/kernel", {256, 100})));
    age->bias.copy_(w.get("age_pred/bias", {100}));
  }
}

torch::Tensor faceres_input_from_model_range(const torch::Tensor& x, int64_t side) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && (x.size(1) == 1 || x.size(1) == 3),
                      "faceres input: expected images [B, 1|3, N, N], got ", x.sizes());
  auto rgb = x.size(1) == 1 ? x.expand({x.size(0), 3, x.size(2), x.size(3)}) : x;
  if (x.size(2) != side || x.size(3) != side) {
    rgb = F::interpolate(rgb, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{side, side})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
  }
  return (rgb + 1) * 127.5;
}

std::string faceres_model_path(const std::string& model_dir) {
  return (std::filesystem::path(model_dir) / "faceres.json").string();
}

std::string default_human_model_dir() {
  return (std::filesystem::path(npm_modules_dir()) / "@vladmandic" / "human" / "models").string();
}

}  // namespace posefer
