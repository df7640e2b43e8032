// What goes into a training batch: cross-reconstruction partners, mirrored rows, the
// classifier's loss weights, learning rate, pose mirror and pose mask (trainer.h).
#include "posefer/train/trainer.h"

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
#include "posefer/core/labels.h"
#include "posefer/core/progress.h"
#include "posefer/data/image_augment.h"
#include "posefer/io/image_io.h"
#include "posefer/model/losses.h"
#include "posefer/model/sync_batch_norm.h"
#include "trainer_parts.h"

namespace posefer {

std::vector<std::vector<int64_t>> cross_partners(const torch::Tensor& subject, const torch::Tensor& expression,
                                                 const torch::Tensor& pose, bool one_factor) {
  POSEFER_CHECK_SHAPE(subject.dim() == 1 && expression.sizes() == subject.sizes() && pose.sizes() == subject.sizes(),
                      "cross_partners: subject ", subject.sizes(), ", expression ", expression.sizes(), " and pose ",
                      pose.sizes(), " must be equal-length vectors");
  const int64_t m = subject.size(0);
  auto s = subject.to(torch::kInt64).contiguous(), e = expression.to(torch::kInt64).contiguous(),
       p = pose.to(torch::kInt64).contiguous();
  const int64_t* sp = s.data_ptr<int64_t>();
  const int64_t* ep = e.data_ptr<int64_t>();
  const int64_t* pp = p.data_ptr<int64_t>();
  std::map<int64_t, std::vector<int64_t>> by_subject;
  for (int64_t i = 0; i < m; ++i) by_subject[sp[i]].push_back(i);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) {
    auto& o = out[static_cast<size_t>(i)];
    if (!one_factor) {
      for (int64_t j : by_subject[sp[i]]) {
        if (ep[j] != ep[i] || pp[j] != pp[i]) o.push_back(j);
      }
      continue;
    }
    std::vector<int64_t> expr_only, pose_only;
    for (int64_t j : by_subject[sp[i]]) {
      if (ep[j] != ep[i] && pp[j] == pp[i]) expr_only.push_back(j);
      if (ep[j] == ep[i] && pp[j] != pp[i]) pose_only.push_back(j);
    }
    // Equal halves: repeat each list by the other's length over their gcd.
    const size_t a = expr_only.size(), b = pose_only.size();
    const size_t g = (a > 0 && b > 0) ? std::gcd(a, b) : 1;
    const size_t ra = b > 0 ? b / g : 1, rb = a > 0 ? a / g : 1;
    for (size_t r = 0; r < ra; ++r) o.insert(o.end(), expr_only.begin(), expr_only.end());
    for (size_t r = 0; r < rb; ++r) o.insert(o.end(), pose_only.begin(), pose_only.end());
  }
  return out;
}

std::pair<torch::Tensor, torch::Tensor> mirror_rows(const torch::Tensor& images, const torch::Tensor& pose,
                                                    const std::vector<uint8_t>& flip,
                                                    const std::vector<int64_t>& mirror) {
  POSEFER_CHECK_SHAPE(images.dim() == 4 && pose.dim() == 1 && pose.size(0) == images.size(0) &&
                          static_cast<int64_t>(flip.size()) == images.size(0),
                      "mirror_rows: images ", images.sizes(), ", pose ", pose.sizes(), " and ", flip.size(),
                      " flips must agree in length");
  std::vector<int64_t> rows;
  for (size_t i = 0; i < flip.size(); ++i)
    if (flip[i]) rows.push_back(static_cast<int64_t>(i));
  auto out_x = images.clone();
  auto out_p = pose.to(torch::kInt64).cpu().clone();
  if (rows.empty()) return {out_x, out_p.to(pose.device())};
  int64_t* pp = out_p.data_ptr<int64_t>();
  for (int64_t r : rows) {
    POSEFER_CHECK_SHAPE(pp[r] >= 0 && pp[r] < static_cast<int64_t>(mirror.size()), "mirror_rows: pose ", pp[r],
                        " outside the mirror map of ", mirror.size(), " poses");
    pp[r] = mirror[static_cast<size_t>(pp[r])];
  }
  auto idx = torch::tensor(rows, torch::kInt64).to(images.device());
  out_x.index_copy_(0, idx, images.index_select(0, idx).flip({3}));
  return {out_x, out_p.to(pose.device())};
}


std::pair<double, double> classifier_loss_weights(const std::string& gen_share, int64_t b, int64_t m) {
  POSEFER_CHECK_CONFIG(b > 0 && m >= 0, "classifier_loss_weights: need b > 0 and m >= 0, got ", b, " and ", m);
  if (gen_share == "count") {
    const double n = static_cast<double>(b + m);
    return {static_cast<double>(b) / n, static_cast<double>(m) / n};
  }
  POSEFER_CHECK_CONFIG(gen_share == "batch", "gen_share must be batch or count, got '", gen_share, "'");
  return {1.0, 1.0};
}

int64_t generated_rows_per_copy(const std::string& gen_share, bool pose_masked, int64_t batch, int64_t real_kept) {
  POSEFER_CHECK_CONFIG(real_kept >= 0 && real_kept <= batch, "generated_rows_per_copy: ", real_kept,
                       " real faces kept out of a batch of ", batch);
  return pose_masked && gen_share == "count" ? real_kept : batch;
}

double classifier_lr(const OptimConfig& optim, double epoch_pos, int epochs) {
  if (optim.cls_schedule != "cosine") {
    return optim.decay_every > 0
               ? optim.cls_lr * std::pow(optim.decay_factor,
                                         std::floor(epoch_pos / static_cast<double>(optim.decay_every)))
               : optim.cls_lr;
  }
  double total = static_cast<double>(epochs);
  if (optim.cls_cycle > 0) {
    // Warm restarts: each cycle is a schedule of its own (the last one may be cut short by the
    // run's end, and then it ends at the run's end).
    const double cycle = static_cast<double>(optim.cls_cycle);
    const double start = std::floor(std::max(0.0, epoch_pos) / cycle) * cycle;
    epoch_pos -= start;
    total = std::min(cycle, total - start);
  }
  const double warm = std::min(optim.cls_warmup, total);
  if (epoch_pos < warm) return optim.cls_lr * (epoch_pos + 1e-3) / (warm + 1e-3);
  const double t = total > warm ? std::clamp((epoch_pos - warm) / (total - warm), 0.0, 1.0) : 1.0;
  return optim.cls_lr * 0.5 * (1 + std::cos(M_PI * t));
}

std::string classifier_schedule_change(const OptimConfig& before, int before_epochs, const OptimConfig& after,
                                       int after_epochs, double done) {
  const int64_t samples = static_cast<int64_t>(std::ceil(std::max(0.0, done) * 100.0));
  for (int64_t i = 0; i < samples; ++i) {
    const double pos = static_cast<double>(i) / 100.0;
    const double a = classifier_lr(before, pos, before_epochs);
    const double b = classifier_lr(after, pos, after_epochs);
    if (std::abs(a - b) > 1e-9 * std::max(std::abs(a), std::abs(b))) {
      std::ostringstream os;
      os << "at epoch " << pos << ": " << a << " then, " << b << " now";
      return os.str();
    }
  }
  return "";
}

std::vector<int64_t> classifier_pose_mirror(const TrainConfig& config, const std::vector<std::string>& pose_names) {
  if (!config.augment.flip && !config.tta_flip) return {};
  return pose_mirror(config.flip.empty() ? "auto" : config.flip, pose_names);
}

torch::Tensor classifier_pose_mask(const TrainConfig& config, const std::vector<std::string>& pose_names) {
  if (config.cls_train_poses.empty()) return {};
  std::string known;
  for (const auto& n : pose_names) known += (known.empty() ? "" : ", ") + n;
  auto mask = torch::zeros({static_cast<int64_t>(pose_names.size())}, torch::kBool);
  std::stringstream list(config.cls_train_poses);
  std::string name;
  int count = 0;
  while (std::getline(list, name, ',')) {
    const auto it = std::find(pose_names.begin(), pose_names.end(), name);
    POSEFER_CHECK_CONFIG(it != pose_names.end(), "--cls-train-poses: unknown pose '", name,
                         "' (this data set's poses: ", known, ")");
    const auto i = it - pose_names.begin();
    POSEFER_CHECK_CONFIG(!mask[i].item<bool>(), "--cls-train-poses: pose '", name, "' listed twice");
    mask[i] = true;
    ++count;
  }
  POSEFER_CHECK_CONFIG(count > 0, "--cls-train-poses: no pose named in '", config.cls_train_poses, "'");
  return mask;
}


}  // namespace posefer
