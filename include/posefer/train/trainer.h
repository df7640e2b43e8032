// Training of the joint model (paper eq. 7) with the classifier fed real + generated faces.
//
// Per batch of B real images (x, e, p), in this order:
//   1. D_att step: real (x, e, p) vs reconstructed G(x, e, p), sigmoid cross-entropy (eq. 3).
//      D_i step: prior samples U(-1, 1)^d vs G_enc(x) (eq. 4).
//   2. G step: alpha L1(x, G(x,e,p)) + beta TV + adv_att BCE(D_att(G), real) + adv_id BCE(D_i(f), real)
//      [+ cls_feedback CE(C(G(x, e', p')), e') after cls_feedback_warmup epochs, e'/p' random].
//      [+ cross_l1 L1(G(x_a, e_b, p_b), x_b) for rows a with a partner b, see CrossTargets].
//      [+ adv_cross BCE(D_att(G(x_a, e_b, p_b), e_b, p_b), real); D_att's step 1 then also has
//      those faces as fakes at (e_b, p_b)].
//      [+ id_cycle L1(G_enc(G(x, e'', p'')), f(x)) at random labels e''/p'', G_enc's weights held
//      and f(x) a fixed target: the face G turns keeps x's identity code; not in the paper].
//   3. extra_g_steps more G steps on the same batch (CAAE-style), without classifier feedback.
//   With train_gan = false steps 1-3 are skipped (classifier-only baseline).
//   4. C step: CE(C(x), e) [+ pose_cls CE on pose] on the real batch, plus, after gen_warmup
//      epochs, the same on k*B generated faces G(x, e', p') with random targets (paper §4.3.1:
//      each epoch adds kN generated faces).
// The run directory receives config.json, log.csv (losses per step), epochs.csv (per epoch),
// and checkpoint.pt (atomic) every checkpoint_every epochs, at the end, and on interruption.
//
// Randomness: weights and dropout masks come from torch's default generator (seeded with
// config.seed by the constructor); the random target labels e'/p' and D_i's prior samples from
// the trainer's own generator, always drawn for the whole global batch (then sliced, below).
//
// Data-parallel training (a DistContext with world size W > 1, one Trainer per process; see
// distributed.h): every rank holds the same global batch of B = batch_size images (the epoch's
// permutation comes from the same seed on every rank) and trains on its shard (rows
// [rB/W, (r+1)B/W); B % W == 0 is required). Rank 0's weights and buffers are broadcast at
// construction and after resume. Each rank scales its losses by its share of the global batch
// (n_r / B) and every backward's gradients are summed over the ranks before the optimiser step,
// in the update order above (D_att, D_i, G and its extra steps, C_exp), so each step is the
// step of one process on the whole batch. Batch norm uses the global batch's statistics
// (sync_batch_norm.h; with sync_bn = false each rank's shard instead). Codes and priors are drawn for the global batch, so they match one
// process. What differs from one process with batch B: (1) float rounding (sums in another
// order; batch-norm statistics from E[x^2] - E[x]^2 in float64). With the nets in float64 the
// parameters after 3 steps agree within 1e-5 (measured: 7e-11). In float32 most agree within
// 1e-5, but Adam's update lr * m / (sqrt(v) + 1e-8) turns rounding-level gradients into steps of
// up to lr: the biases of layers followed by batch norm (true gradient 0) and the lowest C_exp
// layers (gradients ~1e-8) then differ by up to lr per step (measured 8e-4 after 3 steps at lr
// 2e-4); tests/test_distributed.cpp checks both. (2) Dropout: each rank draws its masks from its
// default generator reseeded every step from (seed, rank, global step), so with cls_dropout > 0
// the masks differ from one process's (independent across ranks, reproducible, same on resume).
// Logged losses are the global batch's (weighted means over the ranks). Only rank 0 writes files,
// logs and shows the progress bar; validation runs on rank 0 only; a stop request on any rank
// (hooks) stops all of them after the same step. A last batch smaller than max(2, W) images is
// dropped. After fit() returns, the model no longer synchronises (rank 0 may evaluate alone).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "posefer/train/checkpoint.h"
#include "posefer/core/config.h"
#include "posefer/parallel/distributed.h"
#include "posefer/data/image_cache.h"
#include "posefer/model/joint_model.h"

namespace posefer {

// Losses of one step (means over the batch), by name, in a fixed order for logs.
struct StepLosses {
  double l1 = 0, tv = 0, g_adv_att = 0, g_adv_id = 0, g_cls = 0, cross_l1 = 0, id_cycle = 0, g_total = 0;
  double d_att = 0, d_i = 0, c_real = 0, c_gen = 0, c_acc = 0;
  static std::vector<std::string> names();
  std::vector<double> values() const;
  static StepLosses from_values(const std::vector<double>& values);  // inverse of values()
};

// Partners for the cross-reconstruction term. Reconstruction of x from its own labels lets G
// ignore the codes: f(x) alone can carry expression and pose, and the paper's adversarial terms
// (weight 1e-4) barely push back. Measured on the rendered faces of `posefer demo`, that G kept the
// person but an independent judge read the target expression on 11.9% of its faces (chance 14.3%).
// Asking G for another photo of the same person at other labels makes the codes necessary.
// Data sets without several photos per person (GENKI, FER2013) have no partners: the term is off.
struct CrossTargets {
  torch::Tensor rows;        // int64 [M]: batch positions that have a partner
  torch::Tensor x;           // float [M, C, N, N] in [-1, 1]: the partner images
  torch::Tensor expression;  // int64 [M]: the partners' expressions (differ from the row's own
  torch::Tensor pose;        // int64 [M]    expression or pose)
  // Data-parallel: rows with a partner in the whole global batch, so that each rank's term is
  // its share of the global mean (0 = rows.size(0), one process).
  int64_t global_count = 0;
};

// For each row of `subject`/`expression`/`pose` (int64 [M]), the rows of the same subject whose
// (expression, pose) differ from the row's own, in row order; a uniform pick from a list is the
// partner draw. one_factor: only rows that differ in exactly one of the two labels, and when a
// row has both kinds, each list is repeated so that a uniform pick lands on each kind half the
// time (expression-only rows first). Throws ShapeError on unequal lengths.
std::vector<std::vector<int64_t>> cross_partners(const torch::Tensor& subject, const torch::Tensor& expression,
                                                 const torch::Tensor& pose, bool one_factor = false);

// Flip augmentation: the rows i with flip[i] != 0 of images (float [B, C, H, W]) mirrored
// left-right and of pose (int64 [B]) mapped through `mirror` (pose_mirror); the other rows as
// they were. Returns new tensors. Throws ShapeError when flip or the labels do not fit.
std::pair<torch::Tensor, torch::Tensor> mirror_rows(const torch::Tensor& images, const torch::Tensor& pose,
                                                    const std::vector<uint8_t>& flip,
                                                    const std::vector<int64_t>& mirror);

struct TrainHooks {
  std::function<bool()> should_stop;  // polled after every step; true = checkpoint and return
};

struct TrainResult {
  int64_t epochs_done = 0;
  int64_t steps_done = 0;
  bool interrupted = false;
  std::string checkpoint;
  double val_accuracy = -1;  // last epoch's validation expression accuracy (-1 = no val set)
};

torch::Device resolve_device(const std::string& name);

// Weights of C_exp's mean CE on the real batch (b faces) and on the generated faces (m of them):
// gen_share "batch" = {1, 1} whatever m is; "count" = {b, m} / (b + m), every face alike.
std::pair<double, double> classifier_loss_weights(const std::string& gen_share, int64_t b, int64_t m);

// How many input rows each of the k generated copies of a step is made from. Every row of the
// batch (`batch`), except with gen_share "count" under a pose mask (the unseen-poses protocol):
// there "k generated faces per real face" counts the real faces C_exp may see (`real_kept`), so
// each copy comes from that many rows drawn at random from the whole batch (every pose) and
// C_exp's generated share stays k : 1 instead of k * batch : real_kept.
int64_t generated_rows_per_copy(const std::string& gen_share, bool pose_masked, int64_t batch, int64_t real_kept);

// C_exp's learning rate at `epoch_pos` (epochs done, fractional) of an `epochs`-long run: the
// staircase decay for schedule "step"; for "cosine" a linear warm-up over cls_warmup epochs, then
// cls_lr * (1 + cos(pi t)) / 2 with t going from 0 to 1 over the remaining epochs. With
// optim.cls_cycle = C > 0 that schedule restarts every C epochs (warm-up included), the last cycle
// ending at the run's end.
double classifier_lr(const OptimConfig& optim, double epoch_pos, int epochs);

// Where two classifier schedules disagree on the epochs already trained ([0, done)), as text
// ("at epoch 4.5: 0.0005 then, 0.0007 now"); "" when they agree there (checked 100 times per
// epoch). A resumed run may change only the part of its schedule that lies ahead.
std::string classifier_schedule_change(const OptimConfig& before, int before_epochs, const OptimConfig& after,
                                       int after_epochs, double done);

// The pose map C_exp's flip augmentation and test-time flip use: pose_mirror of config.flip (or
// "auto" when empty); empty when neither is on.
std::vector<int64_t> classifier_pose_mirror(const TrainConfig& config, const std::vector<std::string>& pose_names);

// Which poses' real faces C_exp trains on (TrainConfig::cls_train_poses, comma-separated names):
// bool [P], true = trained on; undefined when every pose is. Throws ConfigError naming an unknown
// or repeated pose (with the data set's poses) or an empty list.
torch::Tensor classifier_pose_mask(const TrainConfig& config, const std::vector<std::string>& pose_names);

class Trainer {
 public:
  // Builds the model from config (seeded with config.seed). `run_dir` may be empty (no files).
  // With `dist` of world size W > 1: data-parallel (above); throws ConfigError unless
  // batch_size % W == 0; ranks other than 0 ignore `run_dir`. Collective: every rank constructs.
  Trainer(TrainConfig config, std::string run_dir, std::vector<std::string> expression_names,
          std::vector<std::string> pose_names, std::shared_ptr<DistContext> dist = nullptr);

  // Continues from `checkpoint` (same model config required). Restores RNGs and position.
  void resume(const std::string& checkpoint);

  // Trains until config.epochs epochs are done or hooks.should_stop() returns true. checkpoint.pt
  // is written every checkpoint_every epochs, at the last epoch, on a stop, and inside an epoch
  // once checkpoint_minutes have passed since the last write (resuming from it continues the
  // same run: tests/test_trainer.cpp).
  TrainResult fit(const ImageSet& train, const ImageSet* val = nullptr, const TrainHooks& hooks = {});

  // One full joint step on a float batch x [B, C, N, N] in [-1, 1] with labels [B] (x is
  // converted to the nets' dtype: float32, or float64 when a caller converted them); `epoch`
  // decides the warm-ups; `cross` (optional, used when loss.cross_l1 > 0) holds partner images.
  // Data-parallel: every rank passes the same global batch (and partners) and trains on its
  // shard; the losses returned are the global batch's. Public for tests and benchmarks.
  StepLosses train_step(const torch::Tensor& x, const torch::Tensor& expression,
                        const torch::Tensor& pose, int64_t epoch, const CrossTargets* cross = nullptr);

  void save(const std::string& path);
  JointModel& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  const TrainState& state() const { return state_; }
  // Records the data fingerprint (run_identity.h) that every checkpoint from now on carries.
  void set_data_fingerprint(nlohmann::json fingerprint) { state_.data_fingerprint = std::move(fingerprint); }
  // Rank and world size (0 and 1 without a DistContext).
  int rank() const { return dist_ ? dist_->rank() : 0; }
  int world_size() const { return dist_ ? dist_->world_size() : 1; }

 private:
  // The step on this rank's rows [shard.begin, +shard.size) of a global batch of `global_size`.
  // x_cls / p_cls (optional): C_exp's augmented copies of x and their poses, or x_cls = the
  // cached backbone features [B, F] of a frozen backbone (fit).
  StepLosses shard_step(const torch::Tensor& x, const torch::Tensor& expression, const torch::Tensor& pose,
                        int64_t epoch, int64_t global_size, Shard shard, const CrossTargets* cross,
                        const torch::Tensor& x_cls = {}, const torch::Tensor& p_cls = {});
  // Uniform [0, 1) numbers [global_size, cols] (cols 0 = [global_size]) or labels in [0, n),
  // drawn from the step generator for the global batch; this rank's rows, on the device.
  torch::Tensor draw_uniform(int64_t cols);
  torch::Tensor draw_labels(int64_t n);
  // loss * this rank's share of the global batch, backward, then the gradients of `net` summed
  // over the ranks (plain backward without a DistContext).
  void backward_synced(const torch::Tensor& loss, torch::nn::Module& net);
  // Broadcasts rank 0's parameters and buffers of every net.
  void sync_parameters();
  bool any_rank(bool flag);
  StepLosses generator_step(const torch::Tensor& x, const torch::Tensor& e, const torch::Tensor& p,
                            const CrossTargets* cross, bool feedback, bool update_discriminators,
                            torch::Tensor* generated, torch::Tensor* gen_e, torch::Tensor* gen_p);
  double evaluate_accuracy(const ImageSet& set);

  TrainConfig config_;
  std::string run_dir_;
  torch::Device device_;
  std::unique_ptr<JointModel> model_;
  TrainState state_;
  std::mt19937_64 shuffle_rng_;
  std::vector<int64_t> pose_mirror_;  // flip augmentation's pose map (empty = off)
  std::vector<int64_t> cls_pose_mirror_;  // C_exp's augmentation / test-time flip pose map
  torch::Tensor cls_pose_mask_;           // poses of C_exp's real faces (undefined = all)
  at::Generator step_rng_;
  std::shared_ptr<DistContext> dist_;  // null for one process (W = 1)
  // The current step's global batch size and shard (set by shard_step for the draws).
  int64_t step_global_ = 0;
  Shard step_shard_;
};

}  // namespace posefer
