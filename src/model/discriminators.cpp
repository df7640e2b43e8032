#include "posefer/model/discriminators.h"

#include "posefer/core/check.h"
#include "posefer/model/generator.h"
#include "posefer/core/labels.h"
#include "posefer/model/sync_batch_norm.h"

namespace posefer {

namespace nn = torch::nn;

namespace {
void add_conv_bn_relu(nn::Sequential& seq, int64_t in, int64_t out) {
  seq->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 5).stride(2).padding(2)));
  seq->push_back(nn::BatchNorm2d(out));
  seq->push_back(nn::ReLU());
}
}  // namespace

DAttImpl::DAttImpl(const ModelConfig& cfg) : config(cfg) {
  cfg.validate();
  const int64_t c16 = scaled_channels(16, cfg.disc_width);
  stem = nn::Sequential();
  add_conv_bn_relu(stem, cfg.channels, c16);
  body = nn::Sequential();
  int64_t in = c16 + cfg.num_expressions + cfg.num_poses;
  for (int64_t base : {32, 64, 128}) {
    const int64_t out = scaled_channels(base, cfg.disc_width);
    add_conv_bn_relu(body, in, out);
    in = out;
  }
  const int64_t side = cfg.image_size / 16;
  const int64_t hidden = scaled_channels(1024, cfg.disc_width);
  head = nn::Sequential(nn::Linear(in * side * side, hidden),
                        nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                        nn::Linear(hidden, 1));
  register_module("stem", stem);
  register_module("body", body);
  register_module("head", head);
}

torch::Tensor DAttImpl::forward(const torch::Tensor& x, const torch::Tensor& expression,
                                const torch::Tensor& pose) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == config.channels &&
                          x.size(2) == config.image_size && x.size(3) == config.image_size,
                      "D_att: expected images [B, ", config.channels, ", ", config.image_size, ", ",
                      config.image_size, "], got ", x.sizes());
  POSEFER_CHECK_SHAPE(expression.dim() == 1 && pose.dim() == 1 && expression.size(0) == x.size(0) &&
                          pose.size(0) == x.size(0),
                      "D_att: expression/pose labels must be [", x.size(0), "]");
  auto h = forward_layers(stem, x, sync_bn.get());
  auto codes = torch::cat({signed_one_hot(expression, config.num_expressions),
                           signed_one_hot(pose, config.num_poses)},
                          1)
                   .to(h.dtype());
  auto maps = codes.view({codes.size(0), codes.size(1), 1, 1}).expand({-1, -1, h.size(2), h.size(3)});
  h = forward_layers(body, torch::cat({h, maps}, 1), sync_bn.get());
  return head->forward(h.flatten(1)).squeeze(1);
}

DIdImpl::DIdImpl(const ModelConfig& cfg) : config(cfg) {
  cfg.validate();
  layers = nn::Sequential();
  int64_t in = cfg.id_dim;
  for (int64_t out : {64, 32, 16}) {
    layers->push_back(nn::Linear(in, out));
    layers->push_back(nn::BatchNorm1d(out));
    layers->push_back(nn::ReLU());
    in = out;
  }
  layers->push_back(nn::Linear(in, 1));
  register_module("layers", layers);
}

torch::Tensor DIdImpl::forward(const torch::Tensor& f) {
  POSEFER_CHECK_SHAPE(f.dim() == 2 && f.size(1) == config.id_dim, "D_i: expected codes [B, ",
                      config.id_dim, "], got ", f.sizes());
  return forward_layers(layers, f, sync_bn.get()).squeeze(1);
}

}  // namespace posefer
