// The two discriminators of the joint model (paper §3.2, eq. 3 and 4).
//
// D_att(x, e, p): is image x a real face with expression e and pose p?
//   x float [B, C, N, N] in [-1, 1], e/p int64 [B] -> logit float [B] (no sigmoid).
//   conv 5x5 s2 16w + BN + ReLU, then the signed one-hot e and p codes appended as constant
//   [E + P] maps, then conv 5x5 s2 32w, 64w, 128w (BN + ReLU each), FC 1024w + LeakyReLU(0.2),
//   FC 1.
// D_i(f): is identity code f a sample of the uniform prior on [-1, 1]^d?
//   f float [B, d] -> logit float [B]. FC 64, 32, 16 (BN + ReLU each), FC 1.
// Both use batch norm, so training batches need B >= 2. Throw ShapeError on wrong shapes.
// With `sync_bn` set (data-parallel training, W > 1) their batch norm in training mode uses the
// statistics of the global batch over all ranks (sync_batch_norm.h).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "posefer/core/config.h"

namespace posefer {

class DistContext;  // distributed.h: the model layer only holds a pointer for batch-norm sync

struct DAttImpl : torch::nn::Module {
  explicit DAttImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& expression,
                        const torch::Tensor& pose);

  ModelConfig config;
  std::shared_ptr<DistContext> sync_bn;  // null = plain batch norm
  torch::nn::Sequential stem{nullptr};
  torch::nn::Sequential body{nullptr};
  torch::nn::Sequential head{nullptr};
};
TORCH_MODULE(DAtt);

struct DIdImpl : torch::nn::Module {
  explicit DIdImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& f);

  ModelConfig config;
  std::shared_ptr<DistContext> sync_bn;  // null = plain batch norm
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(DId);

}  // namespace posefer
