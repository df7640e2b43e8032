#include "posefer/model/losses.h"

#include "posefer/core/check.h"

namespace posefer {

namespace {
// Outputs of nets under bf16 autocast (precision.h) come in bfloat16: the losses are summed in
// float32, whose 24-bit mantissa a mean over a batch needs.
torch::Tensor at_least_float(const torch::Tensor& t) {
  const auto s = t.scalar_type();
  return s == torch::kBFloat16 || s == torch::kHalf ? t.to(torch::kFloat) : t;
}
}  // namespace

torch::Tensor content_l1(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  POSEFER_CHECK_SHAPE(a_in.sizes() == b_in.sizes(), "content_l1: shapes differ: ", a_in.sizes(), " vs ",
                      b_in.sizes());
  const auto a = at_least_float(a_in), b = at_least_float(b_in);
  return (a - b).abs().mean();
}

torch::Tensor total_variation(const torch::Tensor& images_in) {
  POSEFER_CHECK_SHAPE(images_in.dim() == 4, "total_variation: expected [B, C, H, W], got ",
                      images_in.sizes());
  const auto images = at_least_float(images_in);
  const auto b = images.size(0), h = images.size(2), w = images.size(3);
  auto dh = (images.narrow(2, 1, h - 1) - images.narrow(2, 0, h - 1)).abs().sum();
  auto dw = (images.narrow(3, 1, w - 1) - images.narrow(3, 0, w - 1)).abs().sum();
  return (dh + dw) / static_cast<double>(b * h * w);
}

torch::Tensor adversarial_bce(const torch::Tensor& logits_in, bool real) {
  POSEFER_CHECK_SHAPE(logits_in.dim() == 1, "adversarial_bce: expected logits [B], got ", logits_in.sizes());
  const auto logits = at_least_float(logits_in);
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
      at_least_float(logits), labels.to(torch::kInt64),
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
}

}  // namespace posefer
