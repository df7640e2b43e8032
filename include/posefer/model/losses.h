// Loss terms of the joint objective (paper eq. 3-7). All return scalar float tensors; inputs in
// bfloat16 or half (nets under bf16 autocast, precision.h) are upcast to float32 first.
#pragma once

#include <torch/torch.h>

namespace posefer {

// Content similarity: mean |a - b| over all elements (paper eq. 6). Shapes must match.
torch::Tensor content_l1(const torch::Tensor& a, const torch::Tensor& b);

// Anisotropic total variation of images [B, C, H, W]:
//   (sum |x[..,i+1,j] - x[..,i,j]| + sum |x[..,i,j+1] - x[..,i,j]|) / (B * H * W),
// i.e. per image, summed over channels, normalised by the pixel count.
torch::Tensor total_variation(const torch::Tensor& images);

// Sigmoid cross-entropy of logits [B] against a constant target (1 = real, 0 = fake), mean.
torch::Tensor adversarial_bce(const torch::Tensor& logits, bool real);

// Softmax cross-entropy of logits [B, K] against labels int64 [B], mean; with label_smoothing
// s the target is (1 - s) on the label plus s / K on every class.
torch::Tensor classification_ce(const torch::Tensor& logits, const torch::Tensor& labels, double label_smoothing = 0);

}  // namespace posefer
