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
#include "posefer/data/image_augment.h"
#include "posefer/io/image_io.h"
#include "posefer/core/labels.h"
#include "posefer/model/losses.h"
#include "posefer/core/progress.h"
#include "posefer/model/sync_batch_norm.h"

namespace posefer {

namespace fs = std::filesystem;

std::vector<std::string> StepLosses::names() {
  return {"l1", "tv", "g_adv_att", "g_adv_id", "g_cls", "cross_l1", "g_total",
          "d_att", "d_i", "c_real", "c_gen", "c_acc"};
}

std::vector<double> StepLosses::values() const {
  return {l1, tv, g_adv_att, g_adv_id, g_cls, cross_l1, g_total, d_att, d_i, c_real, c_gen, c_acc};
}

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

namespace {
// The partner rows of one shard, re-indexed to the shard's own batch positions.
CrossTargets shard_cross(const CrossTargets& c, const Shard& sh) {
  if (!c.rows.defined() || c.rows.numel() == 0) return {};
  const int64_t global = c.global_count > 0 ? c.global_count : c.rows.size(0);
  const auto keep = ((c.rows >= sh.begin) & (c.rows < sh.begin + sh.size)).nonzero().view({-1});
  if (keep.numel() == 0) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), global};
  return {c.rows.index_select(0, keep) - sh.begin, c.x.index_select(0, keep), c.expression.index_select(0, keep),
          c.pose.index_select(0, keep), global};
}

// While alive (and active), the parameters of `nets` that required gradients do not: autograd
// then builds no weight-gradient paths through them, only the input-gradient paths G needs.
class FrozenParameters {
 public:
  FrozenParameters(std::initializer_list<torch::nn::Module*> nets, bool active) {
    if (!active) return;
    for (auto* net : nets) {
      for (auto& p : net->parameters()) {
        if (p.requires_grad()) {
          p.requires_grad_(false);
          frozen_.push_back(p);
        }
      }
    }
  }
  ~FrozenParameters() {
    for (auto& p : frozen_) p.requires_grad_(true);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> frozen_;
};
}  // namespace

StepLosses StepLosses::from_values(const std::vector<double>& v) {
  POSEFER_CHECK_SHAPE(v.size() == names().size(), "StepLosses: expected ", names().size(), " values, got ",
                      v.size());
  StepLosses s;
  double* fields[] = {&s.l1, &s.tv, &s.g_adv_att, &s.g_adv_id, &s.g_cls, &s.cross_l1, &s.g_total,
                      &s.d_att, &s.d_i, &s.c_real, &s.c_gen, &s.c_acc};
  for (size_t i = 0; i < v.size(); ++i) *fields[i] = v[i];
  return s;
}

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

namespace {

std::string join_csv(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
  return out;
}

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

// Keeps the header and the rows whose first column (an integer) is <= max_key, so a resumed
// run does not log steps twice. Rewrites the file atomically.
void truncate_log(const std::string& path, int64_t max_key) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, out;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      out += line + "\n";
      header = false;
      continue;
    }
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    try {
      if (std::stoll(line.substr(0, comma)) <= max_key) out += line + "\n";
    } catch (const std::exception&) {
      // A torn last line from a crash: drop it.
    }
  }
  write_file_atomic(path, out);
}

void append_line(const std::string& path, const std::string& header, const std::string& line) {
  const bool fresh = !fs::exists(path);
  std::ofstream out(path, std::ios::app);
  POSEFER_CHECK(out.good(), path, ": cannot open for appending");
  if (fresh) out << header << "\n";
  out << line << "\n";
  out.flush();
}

torch::Tensor argmax_accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return (logits.argmax(1) == labels).to(torch::kFloat).mean();
}

// splitmix64: decorrelated seeds from (seed, stream) pairs.
uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kStepRngStream = 0;  // the step generator's seed: mix_seed(seed, 0)

torch::Tensor generator_state(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

}  // namespace

std::pair<double, double> classifier_loss_weights(const std::string& gen_share, int64_t b, int64_t m) {
  POSEFER_CHECK_CONFIG(b > 0 && m >= 0, "classifier_loss_weights: need b > 0 and m >= 0, got ", b, " and ", m);
  if (gen_share == "count") {
    const double n = static_cast<double>(b + m);
    return {static_cast<double>(b) / n, static_cast<double>(m) / n};
  }
  POSEFER_CHECK_CONFIG(gen_share == "batch", "gen_share must be batch or count, got '", gen_share, "'");
  return {1.0, 1.0};
}

double classifier_lr(const OptimConfig& optim, double epoch_pos, int epochs) {
  if (optim.cls_schedule != "cosine") {
    return optim.decay_every > 0
               ? optim.cls_lr * std::pow(optim.decay_factor,
                                         std::floor(epoch_pos / static_cast<double>(optim.decay_every)))
               : optim.cls_lr;
  }
  const double total = static_cast<double>(epochs);
  const double warm = std::min(optim.cls_warmup, total);
  if (epoch_pos < warm) return optim.cls_lr * (epoch_pos + 1e-3) / (warm + 1e-3);
  const double t = total > warm ? std::clamp((epoch_pos - warm) / (total - warm), 0.0, 1.0) : 1.0;
  return optim.cls_lr * 0.5 * (1 + std::cos(M_PI * t));
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

torch::Tensor Trainer::draw_uniform(int64_t cols) {
  auto u = cols > 0 ? at::rand({step_global_, cols}, step_rng_) : at::rand({step_global_}, step_rng_);
  return u.narrow(0, step_shard_.begin, step_shard_.size).to(device_);
}

torch::Tensor Trainer::draw_labels(int64_t n) {
  return at::randint(0, n, {step_global_}, step_rng_, torch::kInt64)
      .narrow(0, step_shard_.begin, step_shard_.size)
      .to(device_);
}

void Trainer::backward_synced(const torch::Tensor& loss, torch::nn::Module& net) {
  if (!dist_) {
    loss.backward();
    return;
  }
  (loss * (static_cast<double>(step_shard_.size) / static_cast<double>(step_global_))).backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : net.parameters()) {
    if (p.requires_grad()) grads.push_back(p.grad());  // a frozen backbone has none
  }
  dist_->all_reduce_sum(grads);
}

StepLosses Trainer::generator_step(const torch::Tensor& x, const torch::Tensor& e,
                                   const torch::Tensor& p, const CrossTargets* cross, bool feedback,
                                   bool update_discriminators,
                                   torch::Tensor* generated, torch::Tensor* gen_e, torch::Tensor* gen_p) {
  auto& m = *model_;
  const auto& L = config_.loss;
  StepLosses s;
  auto f = m.gen->encoder->forward(x);
  auto recon = m.gen->decoder->forward(f, e, p);
  const bool has_cross = cross && cross->rows.defined() && cross->rows.numel() > 0 &&
                         (L.cross_l1 > 0 || L.adv_cross > 0);
  torch::Tensor other;  // G(x_a, e_b, p_b) for the partner rows
  if (has_cross) other = m.gen->decoder->forward(f.index_select(0, cross->rows), cross->expression, cross->pose);
  const bool adv_cross = has_cross && L.adv_cross > 0;
  if (update_discriminators) {
    m.opt_d_att->zero_grad();
    auto d_loss = adversarial_bce(m.d_att->forward(x, e, p), true) +
                  adversarial_bce(m.d_att->forward(recon.detach(), e, p), false);
    // Cross-reconstructions are fakes at their target labels: D_att learns what a face at
    // (e_b, p_b) looks like against G's attempt at it.
    if (adv_cross) {
      d_loss = d_loss + adversarial_bce(m.d_att->forward(other.detach(), cross->expression, cross->pose), false);
    }
    backward_synced(d_loss, *m.d_att);
    m.opt_d_att->step();
    s.d_att = d_loss.item<double>();

    m.opt_d_i->zero_grad();
    auto prior = draw_uniform(f.size(1)).to(f.dtype()) * 2 - 1;
    auto i_loss = adversarial_bce(m.d_i->forward(prior), true) +
                  adversarial_bce(m.d_i->forward(f.detach()), false);
    backward_synced(i_loss, *m.d_i);
    m.opt_d_i->step();
    s.d_i = i_loss.item<double>();
  }
  // From here on G's loss passes through D_att, D_i and C_exp without training them: their
  // weight gradients would only be zeroed before their own steps.
  const FrozenParameters critics({m.d_att.get(), m.d_i.get(), m.cls.get()}, config_.skip_critic_grads);
  m.opt_g->zero_grad();
  auto l1 = content_l1(recon, x);
  auto tv = total_variation(recon);
  auto g_att = adversarial_bce(m.d_att->forward(recon, e, p), true);
  auto g_id = adversarial_bce(m.d_i->forward(f), true);
  auto total = L.alpha * l1 + L.beta * tv + L.adv_att * g_att + L.adv_id * g_id;
  if (has_cross) {
    auto c = content_l1(other, cross->x);
    // This rank's share of the global mean over partner rows; backward_synced scales every loss
    // by shard / global, undone here (both factors are 1 for one process).
    const double rows = static_cast<double>(cross->rows.size(0));
    const double share = (cross->global_count > 0 ? rows / static_cast<double>(cross->global_count) : 1.0) *
                         static_cast<double>(step_global_) / static_cast<double>(step_shard_.size);
    total = total + L.cross_l1 * share * c;
    s.cross_l1 = c.item<double>();
    if (adv_cross) {
      total = total + L.adv_cross * share *
                          adversarial_bce(m.d_att->forward(other, cross->expression, cross->pose), true);
    }
  }
  if (feedback) {
    auto e2 = draw_labels(config_.model.num_expressions);
    auto p2 = draw_labels(config_.model.num_poses);
    auto fake = m.gen->decoder->forward(f, e2, p2);
    auto out = m.cls->forward(fake);
    auto c = classification_ce(out.expression, e2);
    if (out.pose.defined() && L.feedback_pose) c = c + L.pose_cls * classification_ce(out.pose, p2);
    total = total + L.cls_feedback * c;
    s.g_cls = c.item<double>();
    if (generated) {
      *generated = fake.detach();
      *gen_e = e2;
      *gen_p = p2;
    }
  }
  backward_synced(total, *m.gen);
  m.opt_g->step();
  s.l1 = l1.item<double>();
  s.tv = tv.item<double>();
  s.g_adv_att = g_att.item<double>();
  s.g_adv_id = g_id.item<double>();
  s.g_total = total.item<double>();
  return s;
}

StepLosses Trainer::train_step(const torch::Tensor& x_in, const torch::Tensor& e_in,
                               const torch::Tensor& p_in, int64_t epoch, const CrossTargets* cross) {
  const int min_batch = std::max(2, world_size());  // batch norm; one image per rank
  POSEFER_CHECK_SHAPE(x_in.dim() == 4 && x_in.size(0) >= min_batch, "train_step: need a batch of >= ",
                      min_batch, " images, got ", x_in.sizes());
  const int64_t b = x_in.size(0);
  const Shard sh = shard_of(b, rank(), world_size());
  const CrossTargets local = cross ? shard_cross(*cross, sh) : CrossTargets{};
  return shard_step(x_in.narrow(0, sh.begin, sh.size), e_in.narrow(0, sh.begin, sh.size),
                    p_in.narrow(0, sh.begin, sh.size), epoch, b, sh, &local);
}

StepLosses Trainer::shard_step(const torch::Tensor& x_in, const torch::Tensor& e_in, const torch::Tensor& p_in,
                               int64_t epoch, int64_t global_size, Shard shard, const CrossTargets* cross_in,
                               const torch::Tensor& x_cls_in, const torch::Tensor& p_cls_in) {
  auto& m = *model_;
  const auto& L = config_.loss;
  m.train();
  step_global_ = global_size;
  step_shard_ = shard;
  // Dropout masks: independent across ranks, reproducible, and the same after resume.
  if (dist_) torch::manual_seed(mix_seed(config_.seed, 1 + static_cast<uint64_t>(state_.global_step) *
                                                           kMaxWorldSize + static_cast<uint64_t>(rank())));
  // Images in the nets' dtype: float32, or float64 where a caller converted the nets (tests).
  const auto dtype = m.gen->parameters().front().scalar_type();
  auto x = x_in.to(device_, dtype), e = e_in.to(device_), p = p_in.to(device_);
  const bool feedback = config_.train_gan && L.cls_feedback > 0 && epoch >= L.cls_feedback_warmup;
  torch::Tensor fb_images, fb_e, fb_p;
  CrossTargets cross_dev;
  const CrossTargets* cross = nullptr;
  if (cross_in && cross_in->rows.defined() && cross_in->rows.numel() > 0) {
    cross_dev = {cross_in->rows.to(device_), cross_in->x.to(device_, dtype), cross_in->expression.to(device_),
                 cross_in->pose.to(device_), cross_in->global_count};
    cross = &cross_dev;
  }
  StepLosses s;
  if (config_.train_gan) {
    s = generator_step(x, e, p, cross, feedback, true, &fb_images, &fb_e, &fb_p);
    // Extra steps balance G against D (CAAE); the classifier feedback is left out of them,
    // since it costs a second decoder and classifier pass and only needs to act once per batch.
    for (int i = 0; i < config_.extra_g_steps; ++i) {
      generator_step(x, e, p, cross, false, false, nullptr, nullptr, nullptr);
    }
  }

  // Classifier on real + k*B generated faces in one forward (shared batch-norm statistics).
  const bool use_gen = config_.gen_k > 0 && epoch >= config_.gen_warmup;
  // C_exp's real faces: the augmented copies when the caller made them (G trains on x itself).
  std::vector<torch::Tensor> xs{x_cls_in.defined() ? x_cls_in.to(device_, dtype) : x}, es{e},
      ps{p_cls_in.defined() ? p_cls_in.to(device_) : p};
  if (use_gen) {
    torch::NoGradGuard no_grad;
    for (int k = 0; k < config_.gen_k; ++k) {
      if (k == 0 && fb_images.defined()) {
        xs.push_back(fb_images);
        es.push_back(fb_e);
        ps.push_back(fb_p);
        continue;
      }
      auto e2 = draw_labels(config_.model.num_expressions);
      auto p2 = draw_labels(config_.model.num_poses);
      xs.push_back(m.gen->forward(x, e2, p2));
      es.push_back(e2);
      ps.push_back(p2);
    }
  }
  if (cls_pose_mask_.defined()) {
    // The unseen-poses protocol: C_exp's real faces only at the poses it may see.
    const auto keep = cls_pose_mask_.to(ps[0].device()).index_select(0, ps[0]).nonzero().squeeze(1);
    xs[0] = xs[0].index_select(0, keep.to(xs[0].device()));
    es[0] = es[0].index_select(0, keep.to(es[0].device()));
    ps[0] = ps[0].index_select(0, keep);
  }
  const int64_t b = es[0].size(0);  // C_exp's real faces in this step
  if (b == 0 && !use_gen) return s;  // none at an allowed pose, nothing generated: no C_exp step
  m.opt_cls->zero_grad();
  auto forward_cls = [&](const torch::Tensor& in) {
    if (in.dim() != 2) return m.cls->forward(in);
    return m.cls->heads(in);  // cached features of a frozen backbone (fit): only the heads run
  };
  auto all_e = torch::cat(es, 0), all_p = torch::cat(ps, 0);
  const int64_t n_gen = all_e.size(0) - b;
  const double ls = L.label_smoothing;
  // Mean CE of the rows [start, start + len) of the labels, given their logits `o`.
  auto ce = [&](const ClassifierOutput& o, int64_t start, int64_t len) {
    auto c = classification_ce(o.expression, all_e.narrow(0, start, len), ls);
    if (o.pose.defined()) c = c + L.pose_cls * classification_ce(o.pose, all_p.narrow(0, start, len), ls);
    return c;
  };
  // No real face at an allowed pose in this batch: the generated faces alone.
  const auto [w_real, w_gen] = b > 0 ? classifier_loss_weights(L.gen_share, b, std::max<int64_t>(n_gen, 0))
                                     : std::pair<double, double>{0.0, 1.0};
  torch::Tensor real_logits;
  if (use_gen && L.cls_bn == "real") {
    // Generated faces in their own pass: their batch statistics normalise them, but the running
    // statistics C_exp is tested with come from the real faces alone. Batch norm updates its
    // running statistics in place, which the first pass's backward needs unchanged: each pass
    // is differentiated before the next, the gradients summed (and all-reduced once).
    const double share = static_cast<double>(shard.size) / static_cast<double>(global_size);
    if (b > 0) {
      const auto out_r = forward_cls(xs[0]);
      const auto c_real = ce(out_r, 0, b);
      (c_real * (w_real * share)).backward();
      real_logits = out_r.expression.detach();
      s.c_real = c_real.item<double>();
    }
    std::vector<torch::Tensor> kept;
    for (const auto& buf : m.cls->buffers()) kept.push_back(buf.clone());
    const auto out_g = forward_cls(torch::cat(std::vector<torch::Tensor>(xs.begin() + 1, xs.end()), 0));
    const auto c_gen = ce(out_g, b, n_gen);
    (c_gen * (w_gen * share)).backward();
    {
      torch::NoGradGuard no_grad;
      auto bufs = m.cls->buffers();
      for (size_t i = 0; i < bufs.size(); ++i) bufs[i].copy_(kept[i]);
    }
    if (dist_) {
      std::vector<torch::Tensor> grads;
      for (const auto& q : m.cls->parameters()) {
        if (q.requires_grad()) grads.push_back(q.grad());
      }
      dist_->all_reduce_sum(grads);
    }
    s.c_gen = c_gen.item<double>();
  } else {
    // Real and generated faces in one batch (shared batch-norm statistics).
    const auto out = forward_cls(xs.size() == 1 ? xs[0] : torch::cat(xs, 0));
    auto part = [&](int64_t start, int64_t len) {
      ClassifierOutput o{out.expression.narrow(0, start, len),
                         out.pose.defined() ? out.pose.narrow(0, start, len) : torch::Tensor()};
      return ce(o, start, len);
    };
    const auto c_real = b > 0 ? part(0, b) : torch::zeros({}, out.expression.options());
    auto c_loss = c_real;
    if (use_gen) {
      const auto c_gen = part(b, n_gen);
      c_loss = w_real * c_real + w_gen * c_gen;
      s.c_gen = c_gen.item<double>();
    }
    backward_synced(c_loss, *m.cls);
    if (b > 0) real_logits = out.expression.narrow(0, 0, b).detach();
    s.c_real = c_real.item<double>();
  }
  m.opt_cls->step();
  if (b > 0) s.c_acc = argmax_accuracy(real_logits, es[0]).item<double>();
  if (!dist_) return s;
  // The cross term is a mean over partner rows, not over the batch: weight it by this rank's
  // share of the partner rows instead (undoing the batch share applied below).
  if (cross && cross->global_count > 0) {
    s.cross_l1 *= static_cast<double>(cross->rows.size(0)) / static_cast<double>(cross->global_count) *
                  static_cast<double>(global_size) / static_cast<double>(shard.size);
  }
  // The global batch's losses: this rank's means weighted by its share, summed over the ranks.
  auto v = torch::tensor(s.values(), torch::kDouble) *
           (static_cast<double>(shard.size) / static_cast<double>(global_size));
  dist_->all_reduce_sum({v});
  return StepLosses::from_values(std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + v.numel()));
}

double Trainer::evaluate_accuracy(const ImageSet& set) {
  torch::NoGradGuard no_grad;
  model_->cls->eval();
  int64_t correct = 0;
  for (int64_t start = 0; start < set.size(); start += 256) {
    const int64_t len = std::min<int64_t>(256, set.size() - start);
    auto rows = torch::arange(start, start + len, torch::kInt64);
    auto x = set.batch_images(rows).to(device_);
    auto pred = classifier_probabilities(*model_->cls, x, config_.tta_flip, cls_pose_mirror_).expression.argmax(1).cpu();
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
    spdlog::info("training on {} images, {} steps/epoch, {} epochs, batch {}{}, k = {}, device {}", n,
                 steps_per_epoch, config_.epochs, bs,
                 dist_ ? fmt::format(" ({} processes x {})", world_size(), bs / world_size()) : "",
                 config_.gen_k, device_.str());
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
  int64_t steps_this_run = 0;
  double images_this_run = 0;

  while (state_.epoch < config_.epochs) {
    const int64_t epoch = state_.epoch;
    if (config_.optim.decay_every > 0) {
      model_->set_lr_factor(config_.optim, std::pow(config_.optim.decay_factor,
                                                    static_cast<double>(epoch / config_.optim.decay_every)));
    }
    if (state_.step_in_epoch == 0 || !state_.permutation.defined() || state_.permutation.size(0) != n) {
      // Fisher-Yates with our own engine: std::shuffle's output differs between libraries.
      std::vector<int64_t> perm(n);
      for (int64_t i = 0; i < n; ++i) perm[i] = i;
      for (int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<int64_t>(shuffle_rng_() % static_cast<uint64_t>(i + 1));
        std::swap(perm[i], perm[j]);
      }
      state_.permutation = torch::tensor(perm, torch::kInt64);
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
        append_line(step_log, "step,epoch," + join_csv(names), line);
      }
      std::ostringstream suffix;
      suffix.precision(3);
      suffix << "e" << epoch + 1 << "/" << config_.epochs << " L1 " << s.l1 << " D " << s.d_att
             << " Di " << s.d_i << " C " << s.c_real << " acc " << s.c_acc;
      bar.update(epoch * steps_per_epoch + state_.step_in_epoch, suffix.str(), images_this_run);
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
      append_line(epoch_log, join_csv(epoch_cols), line);
    }
    if (val_acc >= 0) spdlog::info("epoch {}: validation expression accuracy {:.1f}%", state_.epoch, 100 * val_acc);
    if (config_.select_on_val && val_acc > state_.best_val && !run_dir_.empty()) {
      state_.best_val = val_acc;
      state_.best_epoch = state_.epoch;
      save(run_dir_ + "/best.pt");
    }
    if (!ckpt.empty() && (state_.epoch % config_.checkpoint_every == 0 || state_.epoch == config_.epochs)) {
      save(ckpt);
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
