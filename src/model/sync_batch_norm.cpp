#include "posefer/model/sync_batch_norm.h"

#include <cstdint>
#include <vector>

#include "posefer/core/check.h"

namespace posefer {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Sum over the ranks; backward sums the incoming gradients over the ranks as well (the output
// feeds every rank's loss, so each input receives the gradient of all of them).
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, DistContext* dist) {
    // saved_data holds IValues only: the context's address travels as an integer. The context
    // outlives the graph (the nets hold it while training).
    ctx->saved_data["dist"] = static_cast<int64_t>(reinterpret_cast<std::intptr_t>(dist));
    auto out = x.detach().clone();
    dist->all_reduce_sum({out});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto* dist = reinterpret_cast<DistContext*>(static_cast<std::intptr_t>(ctx->saved_data["dist"].toInt()));
    auto g = grads[0].contiguous().clone();
    dist->all_reduce_sum({g});
    return {g, torch::Tensor()};
  }
};

template <class BatchNormImpl>
torch::Tensor sync_layer(BatchNormImpl& bn, const torch::Tensor& x, DistContext& dist) {
  const auto& o = bn.options;
  double momentum = o.momentum() ? *o.momentum() : 0.0;
  torch::Tensor running_mean, running_var;
  if (o.track_running_stats()) {
    running_mean = bn.running_mean;
    running_var = bn.running_var;
    if (bn.num_batches_tracked.defined()) {
      torch::NoGradGuard no_grad;
      bn.num_batches_tracked += 1;
      if (!o.momentum()) momentum = 1.0 / bn.num_batches_tracked.template item<double>();
    }
  }
  return sync_batch_norm(x, bn.weight, bn.bias, running_mean, running_var, momentum, o.eps(), dist);
}

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              const torch::Tensor& running_mean, const torch::Tensor& running_var,
                              double momentum, double eps, DistContext& dist) {
  POSEFER_CHECK_SHAPE(x.dim() >= 2, "sync_batch_norm: expected [N, C, ...], got ", x.sizes());
  const int64_t c = x.size(1);
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const double local_count = static_cast<double>(x.numel() / c);
  auto xd = x.to(torch::kDouble);
  auto local = torch::cat({xd.sum(dims), (xd * xd).sum(dims),
                           torch::full({1}, local_count, xd.options().requires_grad(false))});
  auto total = AllReduceSum::apply(local, &dist);
  const double n = total[2 * c].item<double>();
  POSEFER_CHECK_SHAPE(n >= 2, "sync_batch_norm: need more than one value per channel over all ranks, got ", n);
  auto mean = total.narrow(0, 0, c) / n;
  auto var = (total.narrow(0, c, c) / n - mean * mean).clamp_min(0.0);
  auto invstd = (var + eps).rsqrt();
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = c;
  auto y = (x - mean.to(x.scalar_type()).view(shape)) * invstd.to(x.scalar_type()).view(shape);
  if (weight.defined()) y = y * weight.view(shape);
  if (bias.defined()) y = y + bias.view(shape);
  if (running_mean.defined() && running_var.defined()) {
    torch::NoGradGuard no_grad;
    running_mean.mul_(1 - momentum).add_(mean.detach().to(running_mean.scalar_type()), momentum);
    running_var.mul_(1 - momentum).add_((var.detach() * (n / (n - 1))).to(running_var.scalar_type()), momentum);
  }
  return y;
}

torch::Tensor forward_layers(torch::nn::Sequential& seq, const torch::Tensor& x, DistContext* dist) {
  if (dist == nullptr || dist->world_size() == 1) return seq->forward(x);
  torch::Tensor h = x;
  for (auto& layer : *seq) {
    const auto ptr = layer.ptr();
    if (ptr->is_training()) {
      if (auto bn2 = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(ptr)) {
        h = sync_layer(*bn2, h, *dist);
        continue;
      }
      if (auto bn1 = std::dynamic_pointer_cast<torch::nn::BatchNorm1dImpl>(ptr)) {
        h = sync_layer(*bn1, h, *dist);
        continue;
      }
    }
    h = layer.forward(h);
  }
  return h;
}

}  // namespace posefer
