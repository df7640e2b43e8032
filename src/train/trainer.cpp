// The trainer: set-up, resume / save, and the loop over epochs (validation, checkpoints, logs);
// the step is in trainer_step.cpp, the batch plan in batch_plan.cpp, the logs in run_log.cpp.
#include "posefer/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <numeric>
#include <sstream>
#include <thread>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/core/shuffle.h"
#include "posefer/core/labels.h"
#include "posefer/core/progress.h"
#include "posefer/data/image_augment.h"
#include "posefer/io/image_io.h"
#include "posefer/model/losses.h"
#include "posefer/model/precision.h"
#include "posefer/model/sync_batch_norm.h"
#include "trainer_parts.h"

namespace posefer {

namespace fs = std::filesystem;
using namespace trainer_detail;

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    POSEFER_CHECK_CONFIG(torch::cuda::is_available(),
                         "--device cuda: this LibTorch has no CUDA or no GPU is visible");
    return torch::kCUDA;
  }
  POSEFER_CHECK_CONFIG(name == "auto", "unknown device '", name, "' (cpu, cuda, auto)");
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

Trainer::Trainer(TrainConfig config, std::string run_dir, std::vector<std::string> expression_names,
                 std::vector<std::string> pose_names, std::shared_ptr<DistContext> dist)
    : config_(std::move(config)),
      run_dir_(std::move(run_dir)),
      device_(resolve_device(config_.device)),
      step_rng_(at::detail::createCPUGenerator(mix_seed(config_.seed, kStepRngStream))) {
  config_.validate();
  if (dist && dist->world_size() > 1) {
    check_data_parallel(config_.batch_size, dist->world_size());
    // A rank whose shard holds no cross pair skips that D_att pass; the others' synchronised
    // batch norm would then wait for it.
    POSEFER_CHECK_CONFIG(!(config_.sync_bn && config_.loss.adv_cross > 0 && config_.train_gan),
                         "--adv-cross with --nproc ", dist->world_size(),
                         " needs --no-sync-bn (ranks differ in cross pairs per batch)");
    dist_ = std::move(dist);
    if (!dist_->is_main()) run_dir_.clear();
    // NCCL: one GPU per process on each machine.
    if (dist_->options().backend == "nccl") {
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist_->options().local_rank));
    }
  }
  POSEFER_CHECK_CONFIG(static_cast<int>(expression_names.size()) == config_.model.num_expressions &&
                           static_cast<int>(pose_names.size()) == config_.model.num_poses,
                       "label names (", expression_names.size(), " expressions, ", pose_names.size(),
                       " poses) do not match the model config (", config_.model.num_expressions, ", ",
                       config_.model.num_poses, ")");
  torch::manual_seed(config_.seed);
  if (device_.is_cuda()) torch::cuda::manual_seed_all(config_.seed);
  shuffle_rng_.seed(config_.seed);
  model_ = std::make_unique<JointModel>(config_.model, config_.optim, device_);
  if (dist_) {
    if (config_.sync_bn) model_->set_sync_batch_norm(dist_);
    sync_parameters();
  }
  if (!config_.flip.empty()) pose_mirror_ = pose_mirror(config_.flip, pose_names);
  cls_pose_mirror_ = classifier_pose_mirror(config_, pose_names);
  cls_pose_mask_ = classifier_pose_mask(config_, pose_names);
  // A rank without an allowed pose in its shard would skip C_exp's synchronised step.
  POSEFER_CHECK_CONFIG(!cls_pose_mask_.defined() || !dist_, "--cls-train-poses runs in one process (not with --nproc)");
  state_.expression_names = std::move(expression_names);
  state_.pose_names = std::move(pose_names);
  if (!run_dir_.empty()) {
    fs::create_directories(run_dir_);
    write_file_atomic(run_dir_ + "/config.json", nlohmann::json(config_).dump(2) + "\n");
  }
}

void Trainer::resume(const std::string& checkpoint) {
  with_context("resuming from " + checkpoint, [&] {
    // load_checkpoint checks the model config first and names the differing fields.
    load_checkpoint(checkpoint, *model_, state_);
    if (!state_.shuffle_rng.empty()) {
      std::istringstream is(state_.shuffle_rng);
      is >> shuffle_rng_;
    }
    if (state_.torch_rng.defined()) set_torch_rng_state(state_.torch_rng);
    if (state_.step_rng.defined()) {
      std::lock_guard<std::mutex> lock(step_rng_.mutex());
      step_rng_.set_state(state_.step_rng);
    }
  });
  if (dist_) sync_parameters();  // every rank read the same file; this makes sure of it
  if (!run_dir_.empty()) truncate_log(run_dir_ + "/log.csv", state_.global_step);
  if (!run_dir_.empty()) truncate_log(run_dir_ + "/epochs.csv", state_.epoch);
  if (rank() == 0) {
    spdlog::info("resumed at epoch {} step {} (global step {})", state_.epoch, state_.step_in_epoch,
                 state_.global_step);
  }
}

void Trainer::save(const std::string& path) {
  std::ostringstream os;
  os << shuffle_rng_;
  state_.shuffle_rng = os.str();
  state_.torch_rng = get_torch_rng_state();
  state_.step_rng = generator_state(step_rng_);
  save_checkpoint(path, config_, *model_, state_);
}

void Trainer::sync_parameters() {
  std::vector<torch::Tensor> all;
  for (torch::nn::Module* net : model_->nets()) {
    for (const auto& p : net->parameters()) all.push_back(p);
    for (const auto& b : net->buffers()) all.push_back(b);
  }
  dist_->broadcast(all, 0);
}

bool Trainer::any_rank(bool flag) {
  if (!dist_) return flag;
  auto t = torch::tensor({flag ? 1.0f : 0.0f});
  dist_->all_reduce_sum({t});
  return t.item<float>() > 0;
}
double Trainer::evaluate_accuracy(const ImageSet& set) {
  torch::NoGradGuard no_grad;
  model_->cls->eval();
  int64_t correct = 0;
  for (int64_t start = 0; start < set.size(); start += 256) {
    const int64_t len = std::min<int64_t>(256, set.size() - start);
    auto rows = torch::arange(start, start + len, torch::kInt64);
    auto x = set.batch_images(rows).to(device_);
    auto pred = classifier_probabilities(*model_->cls, x, config_.tta_flip, cls_pose_mirror_, config_.tta_crop).expression.argmax(1).cpu();
    correct += (pred == set.expression.index_select(0, rows)).sum().item<int64_t>();
  }
  model_->cls->train();
  return set.size() ? static_cast<double>(correct) / static_cast<double>(set.size()) : 0.0;
}

TrainResult Trainer::fit(const ImageSet& train, const ImageSet* val, const TrainHooks& hooks) {
  const int64_t n = train.size();
  const int64_t bs = config_.batch_size;
  // A last batch of one image would break batch norm, one of fewer than W images could not be
  // shared out: drop it.
  const int64_t min_batch = std::max(2, world_size());
  POSEFER_CHECK_INPUT(n >= min_batch, "training set has ", n, " images; need at least ", min_batch);
  const int64_t last = n % bs;
  const int64_t steps_per_epoch = (last != 0 && last < min_batch) ? n / bs : (n + bs - 1) / bs;
  const bool main_rank = rank() == 0;
  if (dist_ && config_.sync_bn) model_->set_sync_batch_norm(dist_);
  const std::string ckpt = run_dir_.empty() ? std::string() : run_dir_ + "/checkpoint.pt";
  const std::string step_log = run_dir_.empty() ? std::string() : run_dir_ + "/log.csv";
  const std::string epoch_log = run_dir_.empty() ? std::string() : run_dir_ + "/epochs.csv";
  const auto names = StepLosses::names();
  std::vector<std::string> epoch_cols{"epoch", "steps", "seconds", "img_per_s"};
  for (const auto& nm : names) epoch_cols.push_back(nm);
  epoch_cols.push_back("val_acc");

  if (main_rank) {
    spdlog::info("training on {} images, {} steps/epoch, {} epochs, batch {}{}, k = {}, device {}{}", n,
                 steps_per_epoch, config_.epochs, bs,
                 dist_ ? fmt::format(" ({} processes x {})", world_size(), bs / world_size()) : "",
                 config_.gen_k, device_.str(), config_.precision == "fp32" ? "" : ", precision " + config_.precision);
    if (config_.precision == "bf16" && device_.is_cpu() && !cpu_has_native_bf16()) {
      spdlog::warn("precision bf16: this CPU has no AVX512-BF16 or AMX (no avx512_bf16 / amx_bf16 in /proc/cpuinfo); "
                   "bfloat16 is emulated there and trains slower than fp32");
    }
    spdlog::info("parameters: G {} D_att {} D_i {} C {}", model_->parameter_count(*model_->gen),
                 model_->parameter_count(*model_->d_att), model_->parameter_count(*model_->d_i),
                 model_->parameter_count(*model_->cls));
  }

  // Cross-reconstruction partners (same person, other labels); empty lists when the set has
  // one photo per person or the term is off.
  std::vector<std::vector<int64_t>> partners;
  if (config_.train_gan && config_.loss.cross_l1 > 0 && train.subject.defined()) {
    partners = cross_partners(train.subject, train.expression, train.pose, config_.loss.cross_pairs == "one-factor");
    int64_t with = 0;
    for (const auto& v : partners) with += v.empty() ? 0 : 1;
    spdlog::info("cross-reconstruction ({} pairs): {} of {} training images have a photo of the same person at "
                 "other labels",
                 config_.loss.cross_pairs, with, n);
    if (with == 0) partners.clear();
  }

  if (!pose_mirror_.empty() && main_rank) {
    std::string pairs;
    for (size_t i = 0; i < pose_mirror_.size(); ++i) {
      const auto j = static_cast<size_t>(pose_mirror_[i]);
      if (j > i) pairs += (pairs.empty() ? "" : ", ") + state_.pose_names[i] + " <-> " + state_.pose_names[j];
    }
    spdlog::info("flip augmentation: half the photos mirrored left-right; poses swapped: {}",
                 pairs.empty() ? "none" : pairs);
  }

  // A frozen pretrained backbone without augmentation or GAN sees the same images every epoch:
  // its features are computed once and the steps train only the head (seconds per epoch).
  torch::Tensor features;
  if (!config_.train_gan && model_->cls->has_backbone() && config_.optim.cls_backbone_lr == 0 && !config_.augment.any()) {
    torch::NoGradGuard no_grad;
    model_->cls->eval();
    const auto dtype = model_->gen->parameters().front().scalar_type();
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < n; start += 256) {
      auto rows = torch::arange(start, std::min<int64_t>(n, start + 256), torch::kInt64);
      parts.push_back(model_->cls->backbone_features(train.batch_images(rows).to(device_, dtype)));
    }
    features = torch::cat(parts, 0);
    model_->cls->train();
    if (main_rank) spdlog::info("frozen backbone: features of the {} training images computed once", n);
  }

  ProgressOptions popt;
  popt.enabled = config_.progress && main_rank;
  popt.unit = "img";
  // A resumed run's ETA comes from this run's pace over the steps still to do.
  popt.resumed_from = state_.epoch * steps_per_epoch + state_.step_in_epoch;
  const int64_t total_steps = steps_per_epoch * config_.epochs;
  ProgressBar bar("train", total_steps, popt);
  TrainResult result;
  const auto run_start = std::chrono::steady_clock::now();
  auto last_save = run_start;  // of checkpoint.pt, for checkpoint_minutes
  const auto minutes_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::ratio<60>>(std::chrono::steady_clock::now() - t).count();
  };
  int64_t steps_this_run = 0;
  double images_this_run = 0;

  while (state_.epoch < config_.epochs) {
    const int64_t epoch = state_.epoch;
    if (config_.optim.decay_every > 0) {
      model_->set_lr_factor(config_.optim, std::pow(config_.optim.decay_factor,
                                                    static_cast<double>(epoch / config_.optim.decay_every)));
    }
    if (state_.step_in_epoch == 0 || !state_.permutation.defined() || state_.permutation.size(0) != n) {
      state_.permutation = torch::tensor(shuffled_indices(n, shuffle_rng_), torch::kInt64);
      state_.step_in_epoch = 0;
    }
    const auto epoch_start = std::chrono::steady_clock::now();
    std::vector<double> sums(names.size(), 0.0);
    int64_t epoch_steps = 0;
    bool stop = false;
    while (state_.step_in_epoch < steps_per_epoch) {
      if (config_.optim.cls_schedule == "cosine") {
        model_->set_cls_lr(classifier_lr(config_.optim, static_cast<double>(epoch) +
                                                              static_cast<double>(state_.step_in_epoch) /
                                                                  static_cast<double>(steps_per_epoch),
                                          config_.epochs));
      }
      const int64_t start = state_.step_in_epoch * bs;
      const int64_t len = std::min(bs, n - start);
      // This rank's rows of the global batch (all of them for one process).
      const Shard sh = shard_of(len, rank(), world_size());
      auto rows = state_.permutation.narrow(0, start + sh.begin, sh.size);
      auto x = train.batch_images(rows);
      auto e = train.expression.index_select(0, rows);
      auto p = train.pose.index_select(0, rows);
      // Flip augmentation: one draw per row of the global batch (ranks stay in step), before
      // the partner draws; a row's partner is mirrored with it.
      std::vector<uint8_t> flips;
      if (!pose_mirror_.empty()) {
        flips.resize(static_cast<size_t>(len));
        for (auto& f : flips) f = static_cast<uint8_t>(shuffle_rng_() >> 63);
        std::tie(x, p) = mirror_rows(x, p, std::vector<uint8_t>(flips.begin() + sh.begin, flips.begin() + sh.begin + sh.size),
                                     pose_mirror_);
      }
      // Partners are drawn for the whole global batch (every rank draws the same, so the
      // trainers' generators stay in step); this rank loads only those of its own rows.
      CrossTargets cross;
      if (!partners.empty()) {
        std::vector<int64_t> pos, other;
        const auto global_rows = state_.permutation.narrow(0, start, len).contiguous();
        const int64_t* rp = global_rows.data_ptr<int64_t>();
        int64_t global_count = 0;
        for (int64_t i = 0; i < len; ++i) {
          const auto& cand = partners[static_cast<size_t>(rp[i])];
          if (cand.empty()) continue;
          ++global_count;
          const int64_t pick = cand[shuffle_rng_() % cand.size()];
          if (i < sh.begin || i >= sh.begin + sh.size) continue;
          pos.push_back(i - sh.begin);
          other.push_back(pick);
        }
        if (!pos.empty()) {
          auto other_rows = torch::tensor(other, torch::kInt64);
          cross = {torch::tensor(pos, torch::kInt64), train.batch_images(other_rows),
                   train.expression.index_select(0, other_rows), train.pose.index_select(0, other_rows),
                   global_count};
          if (!flips.empty()) {
            std::vector<uint8_t> partner_flips;
            for (int64_t q : pos) partner_flips.push_back(flips[static_cast<size_t>(q + sh.begin)]);
            std::tie(cross.x, cross.pose) = mirror_rows(cross.x, cross.pose, partner_flips, pose_mirror_);
          }
        }
      }
      // C_exp's augmented copies: drawn for the whole global batch (ranks stay in step, and the
      // draws come after the partner draws, so runs without augmentation are unchanged).
      torch::Tensor x_cls, p_cls;
      if (features.defined()) x_cls = features.index_select(0, rows.to(features.device()));
      if (config_.augment.any()) {
        auto draws = draw_augment(len, config_.augment, shuffle_rng_);
        std::tie(x_cls, p_cls) = apply_augment(
            x, p, std::vector<AugmentDraw>(draws.begin() + sh.begin, draws.begin() + sh.begin + sh.size),
            cls_pose_mirror_);
      }
      const StepLosses s = shard_step(x, e, p, epoch, len, sh, &cross, x_cls, p_cls);
      ++state_.step_in_epoch;
      ++state_.global_step;
      ++epoch_steps;
      ++steps_this_run;
      images_this_run += static_cast<double>(len);
      const auto vals = s.values();
      for (size_t i = 0; i < vals.size(); ++i) sums[i] += vals[i];
      if (!step_log.empty()) {
        std::string line = std::to_string(state_.global_step) + "," + std::to_string(epoch + 1);
        for (double v : vals) line += "," + fmt(v);
        append_line(step_log, "step,epoch," + csv::join_row(names), line);
      }
      std::ostringstream suffix;
      suffix.precision(3);
      suffix << "e" << epoch + 1 << "/" << config_.epochs << " L1 " << s.l1 << " D " << s.d_att
             << " Di " << s.d_i << " C " << s.c_real << " acc " << s.c_acc;
      bar.update(epoch * steps_per_epoch + state_.step_in_epoch, suffix.str(), images_this_run);
      // A timed mid-epoch checkpoint (the epoch's end saves below). Every rank takes part in the
      // vote, so they stay in step; only the main rank has a checkpoint path.
      if (config_.checkpoint_minutes > 0 && state_.step_in_epoch < steps_per_epoch &&
          any_rank(minutes_since(last_save) >= config_.checkpoint_minutes)) {
        if (!ckpt.empty()) save(ckpt);
        last_save = std::chrono::steady_clock::now();
      }
      if (any_rank(hooks.should_stop && hooks.should_stop())) {
        stop = true;
        break;
      }
    }
    // Stopped inside the epoch: checkpoint mid-epoch. Stopped after its last step: finish the
    // epoch's bookkeeping first, so a resumed run does not log an empty epoch.
    if (stop && state_.step_in_epoch < steps_per_epoch) {
      result.interrupted = true;
      break;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const double val_acc = (main_rank && val && val->size() > 0) ? evaluate_accuracy(*val) : -1.0;
    result.val_accuracy = val_acc;
    ++state_.epoch;
    state_.step_in_epoch = 0;
    state_.permutation = torch::Tensor();
    if (!epoch_log.empty()) {
      std::string line = std::to_string(state_.epoch) + "," + std::to_string(epoch_steps) + "," +
                         fmt(secs) + "," + fmt(epoch_steps ? n * epoch_steps / steps_per_epoch / secs : 0);
      for (double v : sums) line += "," + fmt(epoch_steps ? v / epoch_steps : 0);
      line += "," + fmt(val_acc);
      append_line(epoch_log, csv::join_row(epoch_cols), line);
    }
    if (val_acc >= 0) spdlog::info("epoch {}: validation expression accuracy {:.1f}%", state_.epoch, 100 * val_acc);
    if (config_.select_on_val && val_acc > state_.best_val && !run_dir_.empty()) {
      state_.best_val = val_acc;
      state_.best_epoch = state_.epoch;
      save(run_dir_ + "/best.pt");
    }
    if (!ckpt.empty() && (state_.epoch % config_.checkpoint_every == 0 || state_.epoch == config_.epochs)) {
      save(ckpt);
      last_save = std::chrono::steady_clock::now();
    }
    if (stop) {
      result.interrupted = state_.epoch < config_.epochs;  // else the run is complete anyway
      break;
    }
  }
  bar.finish();
  if (dist_) model_->set_sync_batch_norm(nullptr);  // from here on the model is local
  if (result.interrupted && !ckpt.empty()) {
    save(ckpt);
    spdlog::warn("interrupted at epoch {} step {}: checkpoint written to {} (continue with --resume)",
                 state_.epoch + 1, state_.step_in_epoch, ckpt);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (main_rank) spdlog::info("{} steps in {:.1f} s ({:.1f} img/s)", steps_this_run, secs,
               secs > 0 ? images_this_run / secs : 0.0);
  result.epochs_done = state_.epoch;
  result.steps_done = state_.global_step;
  result.checkpoint = ckpt;
  return result;
}


}  // namespace posefer
