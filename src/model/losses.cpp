#include "posefer/model/losses.h"

#include "posefer/core/check.h"

namespace posefer {

torch::Tensor content_l1(const torch::Tensor& a, const torch::Tensor& b) {
  POSEFER_CHECK_SHAPE(a.sizes() == b.sizes(), "content_l1: shapes differ: ", a.sizes(), " vs ",
                      b.sizes());
  return (a - b).abs().mean();
}

torch::Tensor total_variation(const torch::Tensor& images) {
  POSEFER_CHECK_SHAPE(images.dim() == 4, "total_variation: expected [B, C, H, W], got ",
                      images.sizes());
  const auto b = images.size(0), h = images.size(2), w = images.size(3);
  auto dh = (images.narrow(2, 1, h - 1) - images.narrow(2, 0, h - 1)).abs().sum();
  auto dw = (images.narrow(3, 1, w - 1) - images.narrow(3, 0, w - 1)).abs().sum();
  return (dh + dw) / static_cast<double>(b * h * w);
}

torch::Tensor adversarial_bce(const torch::Tensor& logits, bool real) {
  POSEFER_CHECK_SHAPE(logits.dim() == 1, "adversarial_bce: expected logits [B], got ", logits.sizes());
  auto target = real ? torch::ones_like(logits) : torch::zeros_like(logits);
  return torch::binary_cross_entropy_with_logits(logits, target);
}

torch::Tensor classification_ce(const torch::Tensor& logits, const torch::Tensor& labels, double label_smoothing) {
  POSEFER_CHECK_SHAPE(logits.dim() == 2 && labels.dim() == 1 && logits.size(0) == labels.size(0),
                      "classification_ce: expected logits [B, K] and labels [B], got ",
                      logits.sizes(), " and ", labels.sizes());
  POSEFER_CHECK_CONFIG(label_smoothing >= 0 && label_smoothing < 1, "label smoothing must be in [0, 1), got ",
                       label_smoothing);
  return torch::nn::functional::cross_entropy(
      logits, labels.to(torch::kInt64),
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
}

}  // namespace posefer
