// Checkpoints: every net, every optimiser, the training position, the RNG states and the full
// config in one file, written atomically (temp file + rename) so a crash never leaves a
// half-written checkpoint behind.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "posefer/core/config.h"
#include "posefer/model/joint_model.h"

namespace posefer {

// Where training stands, enough to continue bit-for-bit.
struct TrainState {
  int64_t epoch = 0;           // epochs completed
  int64_t step_in_epoch = 0;   // steps of the current (incomplete) epoch already done
  int64_t global_step = 0;     // steps done in total
  torch::Tensor permutation;   // int64 [M]: the current epoch's sample order (undefined if none)
  std::string shuffle_rng;     // serialised std::mt19937_64 of the trainer
  torch::Tensor torch_rng;     // torch default CPU generator state (uint8; weights, dropout)
  torch::Tensor step_rng;      // the trainer's generator of codes and priors (uint8; undefined in old checkpoints)
  std::vector<std::string> expression_names;  // label vocabularies of the training data
  std::vector<std::string> pose_names;
  double best_val = -1;        // best validation accuracy so far (select_on_val; -1 = none yet)
  int64_t best_epoch = 0;      // epoch (1-based) that reached it
  // run_identity.h's data_fingerprint of the data the run trains on (null in checkpoints
  // written before fingerprints were stored).
  nlohmann::json data_fingerprint;
};

// Writes `path` atomically. Throws Error naming the path.
void save_checkpoint(const std::string& path, const TrainConfig& config, JointModel& model,
                     const TrainState& state);

// Reads only the config stored in a checkpoint. Throws InputError naming the path when the file
// is missing or not a posefer checkpoint. A config written by an older posefer may lack fields
// (run_identity.h): with `missing_fields` they are returned for the caller to decide (resuming
// training refuses them unless told to migrate); without, they take today's defaults and a
// warning names each one and its value (fine for inference: the nets' shapes are checked).
TrainConfig read_checkpoint_config(const std::string& path, std::vector<std::string>* missing_fields = nullptr);

// Epochs the checkpoint's run has begun: those completed, plus one when it stopped inside an epoch.
// Throws InputError as read_checkpoint_config.
int read_checkpoint_epochs_begun(const std::string& path);

// Loads nets, optimisers and state into `model` (built from a config) and `state`. Throws
// ConfigError when the checkpoint's ModelConfig differs from model.config (naming the fields),
// InputError for a missing/corrupt file.
void load_checkpoint(const std::string& path, JointModel& model, TrainState& state);

// Copies/restores the torch default CPU generator state.
torch::Tensor get_torch_rng_state();
void set_torch_rng_state(const torch::Tensor& state);

}  // namespace posefer
