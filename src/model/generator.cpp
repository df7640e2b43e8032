#include "posefer/model/generator.h"

#include <algorithm>
#include <cmath>

#include "posefer/core/check.h"
#include "posefer/model/deconv.h"
#include "posefer/core/labels.h"

namespace posefer {

namespace nn = torch::nn;

int64_t scaled_channels(int64_t base, double width) {
  return std::max<int64_t>(4, static_cast<int64_t>(std::lround(static_cast<double>(base) * width)));
}

namespace {
void check_image(const torch::Tensor& x, const ModelConfig& c, const char* who) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == c.channels && x.size(2) == c.image_size &&
                          x.size(3) == c.image_size,
                      who, ": expected images [B, ", c.channels, ", ", c.image_size, ", ",
                      c.image_size, "], got ", x.sizes());
}
}  // namespace

EncoderImpl::EncoderImpl(const ModelConfig& cfg) : config(cfg) {
  cfg.validate();
  convs = nn::Sequential();
  int64_t in = cfg.channels;
  for (int64_t base : {64, 128, 256, 512, 1024}) {
    const int64_t out = scaled_channels(base, cfg.gen_width);
    // 5x5 stride 2 with padding 2 halves an even side exactly (TF 'same').
    convs->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 5).stride(2).padding(2)));
    convs->push_back(nn::ReLU());
    in = out;
  }
  const int64_t side = cfg.image_size / 32;
  fc = nn::Linear(in * side * side, cfg.id_dim);
  register_module("convs", convs);
  register_module("fc", fc);
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  check_image(x, config, "G_enc");
  auto h = convs->forward(x);
  return torch::tanh(fc->forward(h.flatten(1)));
}

DecoderImpl::DecoderImpl(const ModelConfig& cfg) : config(cfg) {
  cfg.validate();
  const bool tiled = cfg.g_codes == "tiled";
  expression_tiles = tiled ? std::max(1, cfg.id_dim / cfg.num_expressions) : 1;
  pose_tiles = tiled ? std::max(1, cfg.id_dim / 2) : 1;
  base_side = cfg.image_size / 32;
  base_channels = scaled_channels(1024, cfg.gen_width);
  fc = nn::Linear(input_dim(), base_channels * base_side * base_side);
  deconvs = nn::Sequential();
  int64_t in = base_channels;
  for (int64_t base : {512, 256, 128, 64, 32}) {
    const int64_t out = scaled_channels(base, cfg.gen_width);
    if (cfg.upsample == "resize") {
      deconvs->push_back(nn::Upsample(nn::UpsampleOptions()
                                          .scale_factor(std::vector<double>{2.0, 2.0})
                                          .mode(torch::kNearest)));
      deconvs->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(1).padding(1)));
    } else {
      deconvs->push_back(FastConvTranspose2d(
          nn::ConvTranspose2dOptions(in, out, 5).stride(2).padding(2).output_padding(1), cfg.fast_deconv));
    }
    deconvs->push_back(nn::ReLU());
    in = out;
  }
  const int64_t c16 = scaled_channels(16, cfg.gen_width);
  deconvs->push_back(FastConvTranspose2d(nn::ConvTranspose2dOptions(in, c16, 5).stride(1).padding(2), cfg.fast_deconv));
  deconvs->push_back(nn::ReLU());
  deconvs->push_back(FastConvTranspose2d(
      nn::ConvTranspose2dOptions(c16, cfg.channels, 5).stride(1).padding(2), cfg.fast_deconv));
  deconvs->push_back(nn::Tanh());
  register_module("fc", fc);
  register_module("deconvs", deconvs);
}

int64_t DecoderImpl::input_dim() const {
  return config.id_dim + config.num_expressions * expression_tiles + config.num_poses * pose_tiles;
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& f, const torch::Tensor& expression,
                                   const torch::Tensor& pose) {
  POSEFER_CHECK_SHAPE(f.dim() == 2 && f.size(1) == config.id_dim, "G_dec: expected f [B, ",
                      config.id_dim, "], got ", f.sizes());
  POSEFER_CHECK_SHAPE(expression.dim() == 1 && expression.size(0) == f.size(0) &&
                          pose.dim() == 1 && pose.size(0) == f.size(0),
                      "G_dec: expression/pose labels must be [", f.size(0), "], got ",
                      expression.sizes(), " and ", pose.sizes());
  auto code = [&](const torch::Tensor& labels, int64_t n, int64_t tiles) {
    return config.g_codes == "tiled" ? tile_code(signed_one_hot(labels, n), tiles) : unsigned_one_hot(labels, n);
  };
  auto e = code(expression, config.num_expressions, expression_tiles);
  auto p = code(pose, config.num_poses, pose_tiles);
  auto z = torch::cat({f, e.to(f.dtype()), p.to(f.dtype())}, 1);
  auto h = torch::relu(fc->forward(z)).view({-1, base_channels, base_side, base_side});
  return deconvs->forward(h);
}

GeneratorImpl::GeneratorImpl(const ModelConfig& cfg) {
  encoder = register_module("encoder", Encoder(cfg));
  decoder = register_module("decoder", Decoder(cfg));
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& x, const torch::Tensor& expression,
                                     const torch::Tensor& pose) {
  return decoder->forward(encoder->forward(x), expression, pose);
}

void init_weights(torch::nn::Module& module, const std::string& scheme) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/true)) {
    const std::string name = m->name();
    const bool is_conv = name.find("Conv") != std::string::npos;
    const bool is_linear = name == "torch::nn::LinearImpl";
    const bool is_bn = name.find("BatchNorm") != std::string::npos;
    if (!(is_conv || is_linear || is_bn)) continue;
    // Keep the dict alive: find() points into it (a temporary here was a use-after-free).
    auto params = m->named_parameters(/*recurse=*/false);
    auto* weight = params.find("weight");
    auto* bias = params.find("bias");
    if (is_bn) {
      if (weight) weight->fill_(1.0);
    } else if (weight) {
      if (scheme == "he") {
        torch::nn::init::kaiming_normal_(*weight, 0.0, torch::kFanIn, torch::kReLU);
      } else {
        weight->normal_(0.0, 0.02);
      }
    }
    if (bias) bias->zero_();
  }
}

}  // namespace posefer
