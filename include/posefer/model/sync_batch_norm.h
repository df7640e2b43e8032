// Synchronised batch norm for data-parallel training (the treatment of D_att's, D_i's and
// C_exp's batch norm when W > 1 processes train together).
//
// In training mode a batch-norm layer normalises with the mean and biased variance of the
// whole global batch, not of this rank's shard: each rank sums x and x^2 per channel (float64),
// one all-reduce adds them over the ranks, and the gradient flows back through that all-reduce
// (its backward is an all-reduce of the incoming gradients), so forward values and gradients
// are those of one process holding the global batch, up to float rounding (the statistics come
// from E[x^2] - E[x]^2 in float64 instead of LibTorch's kernel). Running statistics are updated
// from the global statistics (unbiased variance, the layer's momentum) and num_batches_tracked is
// counted as LibTorch's layer does, so they too match one process. Eval mode, a null context and
// world size 1 run the plain layer. Every rank must run the same layers in the same order
// (forward and backward), as the trainer does.
#pragma once

#include <torch/torch.h>

#include "posefer/parallel/distributed.h"

namespace posefer {

// x [N, C] or [N, C, *] (N may differ between ranks, even be 1); weight/bias [C] or undefined;
// running_mean/running_var [C] updated in place with `momentum` when defined.
torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              const torch::Tensor& running_mean, const torch::Tensor& running_var,
                              double momentum, double eps, DistContext& dist);

// Runs `seq` on x like seq->forward(x), except that its BatchNorm1d/BatchNorm2d layers in
// training mode use sync_batch_norm when `dist` is non-null with world size > 1.
torch::Tensor forward_layers(torch::nn::Sequential& seq, const torch::Tensor& x, DistContext* dist);

}  // namespace posefer
