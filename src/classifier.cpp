#include "posefer/classifier.h"

#include "posefer/check.h"
#include "posefer/generator.h"
#include "posefer/sync_batch_norm.h"

namespace posefer {

namespace nn = torch::nn;

ClassifierImpl::ClassifierImpl(const ModelConfig& cfg) : config(cfg) {
  cfg.validate();
  features = nn::Sequential();
  int64_t in = cfg.channels;
  const int blocks[5][2] = {{2, 64}, {2, 128}, {4, 256}, {4, 512}, {4, 512}};
  for (const auto& block : blocks) {
    const int64_t out = scaled_channels(block[1], cfg.cls_width);
    for (int i = 0; i < block[0]; ++i) {
      features->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)));
      if (cfg.cls_batch_norm) features->push_back(nn::BatchNorm2d(out));
      features->push_back(nn::ReLU());
      in = out;
    }
    features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  }
  const int64_t side = cfg.image_size / 32;
  const int64_t hidden = scaled_channels(4096, cfg.cls_width);
  fc = nn::Sequential(nn::Linear(in * side * side, hidden), nn::ReLU(), nn::Dropout(cfg.cls_dropout),
                      nn::Linear(hidden, hidden), nn::ReLU(), nn::Dropout(cfg.cls_dropout));
  expression_head = nn::Linear(hidden, cfg.num_expressions);
  register_module("features", features);
  register_module("fc", fc);
  register_module("expression_head", expression_head);
  if (cfg.pose_head) {
    pose_head = nn::Linear(hidden, cfg.num_poses);
    register_module("pose_head", pose_head);
  }
}

ClassifierOutput ClassifierImpl::forward(const torch::Tensor& x) {
  POSEFER_CHECK_SHAPE(x.dim() == 4 && x.size(1) == config.channels &&
                          x.size(2) == config.image_size && x.size(3) == config.image_size,
                      "C_exp: expected images [B, ", config.channels, ", ", config.image_size, ", ",
                      config.image_size, "], got ", x.sizes());
  auto h = fc->forward(forward_layers(features, x, sync_bn.get()).flatten(1));
  ClassifierOutput out;
  out.expression = expression_head->forward(h);
  if (pose_head) out.pose = pose_head->forward(h);
  return out;
}

}  // namespace posefer
