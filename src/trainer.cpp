#include "posefer/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "posefer/check.h"
#include "posefer/image_io.h"
#include "posefer/labels.h"
#include "posefer/losses.h"
#include "posefer/progress.h"

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
                                                 const torch::Tensor& pose) {
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
    for (int64_t j : by_subject[sp[i]]) {
      if (ep[j] != ep[i] || pp[j] != pp[i]) out[static_cast<size_t>(i)].push_back(j);
    }
  }
  return out;
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

}  // namespace

Trainer::Trainer(TrainConfig config, std::string run_dir, std::vector<std::string> expression_names,
                 std::vector<std::string> pose_names)
    : config_(std::move(config)), run_dir_(std::move(run_dir)), device_(resolve_device(config_.device)) {
  config_.validate();
  POSEFER_CHECK_CONFIG(static_cast<int>(expression_names.size()) == config_.model.num_expressions &&
                           static_cast<int>(pose_names.size()) == config_.model.num_poses,
                       "label names (", expression_names.size(), " expressions, ", pose_names.size(),
                       " poses) do not match the model config (", config_.model.num_expressions, ", ",
                       config_.model.num_poses, ")");
  torch::manual_seed(config_.seed);
  if (device_.is_cuda()) torch::cuda::manual_seed_all(config_.seed);
  shuffle_rng_.seed(config_.seed);
  model_ = std::make_unique<JointModel>(config_.model, config_.optim, device_);
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
  });
  if (!run_dir_.empty()) truncate_log(run_dir_ + "/log.csv", state_.global_step);
  if (!run_dir_.empty()) truncate_log(run_dir_ + "/epochs.csv", state_.epoch);
  spdlog::info("resumed at epoch {} step {} (global step {})", state_.epoch, state_.step_in_epoch,
               state_.global_step);
}

void Trainer::save(const std::string& path) {
  std::ostringstream os;
  os << shuffle_rng_;
  state_.shuffle_rng = os.str();
  state_.torch_rng = get_torch_rng_state();
  save_checkpoint(path, config_, *model_, state_);
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
  if (update_discriminators) {
    m.opt_d_att->zero_grad();
    auto d_loss = adversarial_bce(m.d_att->forward(x, e, p), true) +
                  adversarial_bce(m.d_att->forward(recon.detach(), e, p), false);
    d_loss.backward();
    m.opt_d_att->step();
    s.d_att = d_loss.item<double>();

    m.opt_d_i->zero_grad();
    auto prior = torch::rand_like(f) * 2 - 1;
    auto i_loss = adversarial_bce(m.d_i->forward(prior), true) +
                  adversarial_bce(m.d_i->forward(f.detach()), false);
    i_loss.backward();
    m.opt_d_i->step();
    s.d_i = i_loss.item<double>();
  }
  m.opt_g->zero_grad();
  auto l1 = content_l1(recon, x);
  auto tv = total_variation(recon);
  auto g_att = adversarial_bce(m.d_att->forward(recon, e, p), true);
  auto g_id = adversarial_bce(m.d_i->forward(f), true);
  auto total = L.alpha * l1 + L.beta * tv + L.adv_att * g_att + L.adv_id * g_id;
  if (cross && L.cross_l1 > 0 && cross->rows.defined() && cross->rows.numel() > 0) {
    auto other = m.gen->decoder->forward(f.index_select(0, cross->rows), cross->expression, cross->pose);
    auto c = content_l1(other, cross->x);
    total = total + L.cross_l1 * c;
    s.cross_l1 = c.item<double>();
  }
  if (feedback) {
    auto e2 = random_labels(x.size(0), config_.model.num_expressions, device_);
    auto p2 = random_labels(x.size(0), config_.model.num_poses, device_);
    auto fake = m.gen->decoder->forward(f, e2, p2);
    auto out = m.cls->forward(fake);
    auto c = classification_ce(out.expression, e2);
    if (out.pose.defined()) c = c + L.pose_cls * classification_ce(out.pose, p2);
    total = total + L.cls_feedback * c;
    s.g_cls = c.item<double>();
    if (generated) {
      *generated = fake.detach();
      *gen_e = e2;
      *gen_p = p2;
    }
  }
  total.backward();
  m.opt_g->step();
  s.l1 = l1.item<double>();
  s.tv = tv.item<double>();
  s.g_adv_att = g_att.item<double>();
  s.g_adv_id = g_id.item<double>();
  s.g_total = total.item<double>();
  return s;
}

StepLosses Trainer::train_step(const torch::Tensor& x_in, const torch::Tensor& e_in,
                               const torch::Tensor& p_in, int64_t epoch, const CrossTargets* cross_in) {
  POSEFER_CHECK_SHAPE(x_in.dim() == 4 && x_in.size(0) >= 2, "train_step: need a batch of >= 2 images, got ",
                      x_in.sizes());
  auto& m = *model_;
  const auto& L = config_.loss;
  m.train();
  auto x = x_in.to(device_), e = e_in.to(device_), p = p_in.to(device_);
  const bool feedback = config_.train_gan && L.cls_feedback > 0 && epoch >= L.cls_feedback_warmup;
  torch::Tensor fb_images, fb_e, fb_p;
  CrossTargets cross_dev;
  const CrossTargets* cross = nullptr;
  if (cross_in && cross_in->rows.defined() && cross_in->rows.numel() > 0) {
    cross_dev = {cross_in->rows.to(device_), cross_in->x.to(device_), cross_in->expression.to(device_),
                 cross_in->pose.to(device_)};
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
  std::vector<torch::Tensor> xs{x}, es{e}, ps{p};
  if (use_gen) {
    torch::NoGradGuard no_grad;
    for (int k = 0; k < config_.gen_k; ++k) {
      if (k == 0 && fb_images.defined()) {
        xs.push_back(fb_images);
        es.push_back(fb_e);
        ps.push_back(fb_p);
        continue;
      }
      auto e2 = random_labels(x.size(0), config_.model.num_expressions, device_);
      auto p2 = random_labels(x.size(0), config_.model.num_poses, device_);
      xs.push_back(m.gen->forward(x, e2, p2));
      es.push_back(e2);
      ps.push_back(p2);
    }
  }
  m.opt_cls->zero_grad();
  auto out = m.cls->forward(torch::cat(xs, 0));
  auto all_e = torch::cat(es, 0), all_p = torch::cat(ps, 0);
  const int64_t b = x.size(0);
  auto part_loss = [&](int64_t start, int64_t len) {
    auto c = classification_ce(out.expression.narrow(0, start, len), all_e.narrow(0, start, len));
    if (out.pose.defined()) {
      c = c + L.pose_cls * classification_ce(out.pose.narrow(0, start, len), all_p.narrow(0, start, len));
    }
    return c;
  };
  auto c_real = part_loss(0, b);
  auto c_loss = c_real;
  if (use_gen) {
    auto c_gen = part_loss(b, all_e.size(0) - b);
    c_loss = c_loss + c_gen;
    s.c_gen = c_gen.item<double>();
  }
  c_loss.backward();
  m.opt_cls->step();
  s.c_real = c_real.item<double>();
  s.c_acc = argmax_accuracy(out.expression.narrow(0, 0, b).detach(), e).item<double>();
  return s;
}

double Trainer::evaluate_accuracy(const ImageSet& set) {
  torch::NoGradGuard no_grad;
  model_->cls->eval();
  int64_t correct = 0;
  for (int64_t start = 0; start < set.size(); start += 256) {
    const int64_t len = std::min<int64_t>(256, set.size() - start);
    auto rows = torch::arange(start, start + len, torch::kInt64);
    auto x = set.batch_images(rows).to(device_);
    auto pred = model_->cls->forward(x).expression.argmax(1).cpu();
    correct += (pred == set.expression.index_select(0, rows)).sum().item<int64_t>();
  }
  model_->cls->train();
  return set.size() ? static_cast<double>(correct) / static_cast<double>(set.size()) : 0.0;
}

TrainResult Trainer::fit(const ImageSet& train, const ImageSet* val, const TrainHooks& hooks) {
  const int64_t n = train.size();
  const int64_t bs = config_.batch_size;
  POSEFER_CHECK_INPUT(n >= 2, "training set has ", n, " images; need at least 2");
  // A last batch of one image would break batch norm: drop it.
  const int64_t steps_per_epoch = (n % bs == 1) ? n / bs : (n + bs - 1) / bs;
  const std::string ckpt = run_dir_.empty() ? std::string() : run_dir_ + "/checkpoint.pt";
  const std::string step_log = run_dir_.empty() ? std::string() : run_dir_ + "/log.csv";
  const std::string epoch_log = run_dir_.empty() ? std::string() : run_dir_ + "/epochs.csv";
  const auto names = StepLosses::names();
  std::vector<std::string> epoch_cols{"epoch", "steps", "seconds", "img_per_s"};
  for (const auto& nm : names) epoch_cols.push_back(nm);
  epoch_cols.push_back("val_acc");

  spdlog::info("training on {} images, {} steps/epoch, {} epochs, batch {}, k = {}, device {}", n,
               steps_per_epoch, config_.epochs, bs, config_.gen_k, device_.str());
  spdlog::info("parameters: G {} D_att {} D_i {} C {}", model_->parameter_count(*model_->gen),
               model_->parameter_count(*model_->d_att), model_->parameter_count(*model_->d_i),
               model_->parameter_count(*model_->cls));

  // Cross-reconstruction partners (same person, other labels); empty lists when the set has
  // one photo per person or the term is off.
  std::vector<std::vector<int64_t>> partners;
  if (config_.train_gan && config_.loss.cross_l1 > 0 && train.subject.defined()) {
    partners = cross_partners(train.subject, train.expression, train.pose);
    int64_t with = 0;
    for (const auto& v : partners) with += v.empty() ? 0 : 1;
    spdlog::info("cross-reconstruction: {} of {} training images have a photo of the same person at other labels",
                 with, n);
    if (with == 0) partners.clear();
  }

  ProgressOptions popt;
  popt.enabled = config_.progress;
  popt.unit = "img";
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
      const int64_t start = state_.step_in_epoch * bs;
      const int64_t len = std::min(bs, n - start);
      auto rows = state_.permutation.narrow(0, start, len);
      auto x = train.batch_images(rows);
      auto e = train.expression.index_select(0, rows);
      auto p = train.pose.index_select(0, rows);
      CrossTargets cross;
      if (!partners.empty()) {
        std::vector<int64_t> pos, other;
        const auto rows_c = rows.contiguous();
        const int64_t* rp = rows_c.data_ptr<int64_t>();
        for (int64_t i = 0; i < len; ++i) {
          const auto& cand = partners[static_cast<size_t>(rp[i])];
          if (cand.empty()) continue;
          pos.push_back(i);
          other.push_back(cand[shuffle_rng_() % cand.size()]);
        }
        if (!pos.empty()) {
          auto other_rows = torch::tensor(other, torch::kInt64);
          cross = {torch::tensor(pos, torch::kInt64), train.batch_images(other_rows),
                   train.expression.index_select(0, other_rows), train.pose.index_select(0, other_rows)};
        }
      }
      const StepLosses s = train_step(x, e, p, epoch, &cross);
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
      if (hooks.should_stop && hooks.should_stop()) {
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
    const double val_acc = (val && val->size() > 0) ? evaluate_accuracy(*val) : -1.0;
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
  if (result.interrupted && !ckpt.empty()) {
    save(ckpt);
    spdlog::warn("interrupted at epoch {} step {}: checkpoint written to {} (continue with --resume)",
                 state_.epoch + 1, state_.step_in_epoch, ckpt);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  spdlog::info("{} steps in {:.1f} s ({:.1f} img/s)", steps_this_run, secs,
               secs > 0 ? images_this_run / secs : 0.0);
  result.epochs_done = state_.epoch;
  result.steps_done = state_.global_step;
  result.checkpoint = ckpt;
  return result;
}

}  // namespace posefer
