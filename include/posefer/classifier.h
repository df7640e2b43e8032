// C_exp: the expression classifier (paper §4.2: VGG-19), with an optional pose head.
//
// Input x float [B, C, N, N] in [-1, 1]. Layout: 5 blocks of 3x3 convs (2, 2, 4, 4, 4 convs;
// 64, 128, 256, 512, 512 channels x cls_width), ReLU (and batch norm when cls_batch_norm),
// 2x2 max-pool after each block; then FC 4096w + ReLU + dropout, FC 4096w + ReLU + dropout
// (probability cls_dropout, 0.5 by default; 0 = off), and heads: expression logits [B, E] and, with pose_head, pose logits [B, P].
// Throws ShapeError on wrong input shapes. With `sync_bn` set (data-parallel training, W > 1)
// batch norm in training mode uses the global batch's statistics (sync_batch_norm.h).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "posefer/config.h"
#include "posefer/distributed.h"

namespace posefer {

struct ClassifierOutput {
  torch::Tensor expression;  // logits [B, E]
  torch::Tensor pose;        // logits [B, P], undefined without a pose head
};

struct ClassifierImpl : torch::nn::Module {
  explicit ClassifierImpl(const ModelConfig& config);
  ClassifierOutput forward(const torch::Tensor& x);

  ModelConfig config;
  std::shared_ptr<DistContext> sync_bn;  // null = plain batch norm
  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential fc{nullptr};
  torch::nn::Linear expression_head{nullptr};
  torch::nn::Linear pose_head{nullptr};
};
TORCH_MODULE(Classifier);

}  // namespace posefer
