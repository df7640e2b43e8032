#include "posefer/model/joint_model.h"

namespace posefer {

namespace {
torch::optim::AdamOptions adam(double lr, const OptimConfig& o) {
  return torch::optim::AdamOptions(lr).betas(std::make_tuple(o.beta1, o.beta2));
}
}  // namespace

JointModel::JointModel(const ModelConfig& model, const OptimConfig& optim, torch::Device dev)
    : config(model), device(dev) {
  model.validate();
  optim.validate();
  gen = Generator(model);
  d_att = DAtt(model);
  d_i = DId(model);
  cls = Classifier(model);
  for (torch::nn::Module* m : nets()) init_weights(*m, model.init);
  {
    // The classifier's fully connected layers as in torchvision's VGG, N(0, 0.01): its first
    // logits are then near 0 and the CE starts at chance (He-initialised FC layers started it
    // near 2x chance and VGG-19-BN needed hundreds of steps more to leave chance).
    torch::NoGradGuard no_grad;
    for (auto& sub : cls->modules(/*include_self=*/false)) {
      if (sub->name() != "torch::nn::LinearImpl") continue;
      for (auto& kv : sub->named_parameters(/*recurse=*/false)) {
        if (kv.key() == "weight") kv.value().normal_(0.0, 0.01);
        if (kv.key() == "bias") kv.value().zero_();
      }
    }
  }
  for (torch::nn::Module* m : nets()) m->to(device);
  opt_g = std::make_unique<torch::optim::Adam>(gen->parameters(), adam(optim.lr, optim));
  opt_d_att = std::make_unique<torch::optim::Adam>(d_att->parameters(), adam(optim.lr, optim));
  opt_d_i = std::make_unique<torch::optim::Adam>(d_i->parameters(), adam(optim.lr, optim));
  // C_exp: the head (the whole VGG) at cls_lr; a pretrained backbone in a second group at
  // cls_lr * cls_backbone_lr, or frozen (no gradients at all) when that factor is 0.
  const double wd = optim.cls_weight_decay;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(cls->head_parameters(),
                      std::make_unique<torch::optim::AdamOptions>(adam(optim.cls_lr, optim).weight_decay(wd)));
  auto backbone = cls->backbone_parameters();
  if (!backbone.empty() && optim.cls_backbone_lr > 0) {
    groups.emplace_back(backbone, std::make_unique<torch::optim::AdamOptions>(
                                      adam(optim.cls_lr * optim.cls_backbone_lr, optim).weight_decay(wd)));
  } else {
    for (auto& p : backbone) p.requires_grad_(false);
  }
  opt_cls = std::make_unique<torch::optim::Adam>(std::move(groups), adam(optim.cls_lr, optim).weight_decay(wd));
  cls_backbone_lr_ = optim.cls_backbone_lr;
}

void JointModel::set_cls_lr(double lr) {
  auto& groups = opt_cls->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::AdamOptions&>(groups[i].options()).lr(i == 0 ? lr : lr * cls_backbone_lr_);
  }
}

std::vector<torch::nn::Module*> JointModel::nets() { return {gen.get(), d_att.get(), d_i.get(), cls.get()}; }

void JointModel::set_sync_batch_norm(const std::shared_ptr<DistContext>& dist) {
  d_att->sync_bn = dist;
  d_i->sync_bn = dist;
  cls->sync_bn = dist;
}

void JointModel::train(bool on) {
  gen->train(on);
  d_att->train(on);
  d_i->train(on);
  cls->train(on);
}

void JointModel::set_lr_factor(const OptimConfig& optim, double factor) {
  auto set = [](torch::optim::Adam& opt, double lr) {
    for (auto& group : opt.param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    }
  };
  set(*opt_g, optim.lr * factor);
  set(*opt_d_att, optim.lr * factor);
  set(*opt_d_i, optim.lr * factor);
  set_cls_lr(optim.cls_lr * factor);
}

int64_t JointModel::parameter_count(const torch::nn::Module& m) const {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace posefer
