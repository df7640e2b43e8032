// The joint model: generator (G_enc + G_dec), discriminators D_att and D_i, classifier C_exp,
// and one Adam optimiser per player. Holds no training logic (see trainer.h).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "posefer/model/classifier.h"
#include "posefer/core/config.h"
#include "posefer/model/discriminators.h"
#include "posefer/model/generator.h"

namespace posefer {

class DistContext;  // distributed.h: the model layer only holds a pointer for batch-norm sync

struct JointModel {
  // Builds and initialises every net (seeded by the caller through torch::manual_seed) on `device`.
  JointModel(const ModelConfig& model, const OptimConfig& optim, torch::Device device);

  ModelConfig config;
  torch::Device device;
  Generator gen{nullptr};
  DAtt d_att{nullptr};
  DId d_i{nullptr};
  Classifier cls{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g;
  std::unique_ptr<torch::optim::Adam> opt_d_att;
  std::unique_ptr<torch::optim::Adam> opt_d_i;
  std::unique_ptr<torch::optim::Adam> opt_cls;

  // The four nets in a fixed order: G, D_att, D_i, C_exp (the order collectives use).
  std::vector<torch::nn::Module*> nets();
  // Batch norm of D_att, D_i and C_exp over all ranks of `dist` (sync_batch_norm.h); null =
  // each process normalises its own batch.
  void set_sync_batch_norm(const std::shared_ptr<DistContext>& dist);

  void train(bool on = true);
  void eval() { train(false); }
  // Sets every optimiser's learning rate to base * factor (staircase decay).
  void set_lr_factor(const OptimConfig& optim, double factor);
  // Sets C_exp's learning rate: the head's to lr, a pretrained backbone's to lr * cls_backbone_lr.
  void set_cls_lr(double lr);
  // Number of parameters of each net, for logs.
  int64_t parameter_count(const torch::nn::Module& m) const;

 private:
  double cls_backbone_lr_ = 1;  // the backbone group's lr relative to the head's
};

}  // namespace posefer
