// One optimisation step of the joint model (eq. 7): the discriminators', the generator's and
// C_exp's updates on one global batch, sharded over the ranks (trainer.h).
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
#include "posefer/model/precision.h"
#include "posefer/model/sync_batch_norm.h"
#include "trainer_parts.h"

namespace posefer {

using namespace trainer_detail;

std::vector<std::string> StepLosses::names() {
  return {"l1", "tv", "g_adv_att", "g_adv_id", "g_cls", "cross_l1", "id_cycle", "g_total",
          "d_att", "d_i", "c_real", "c_gen", "c_acc"};
}

std::vector<double> StepLosses::values() const {
  return {l1, tv, g_adv_att, g_adv_id, g_cls, cross_l1, id_cycle, g_total, d_att, d_i, c_real, c_gen, c_acc};
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
  double* fields[] = {&s.l1, &s.tv, &s.g_adv_att, &s.g_adv_id, &s.g_cls, &s.cross_l1, &s.id_cycle, &s.g_total,
                      &s.d_att, &s.d_i, &s.c_real, &s.c_gen, &s.c_acc};
  for (size_t i = 0; i < v.size(); ++i) *fields[i] = v[i];
  return s;
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
  if (L.id_cycle > 0) {
    // G(x, e', p') at random labels, encoded again by G_enc with its weights held (so only the
    // decoder answers for a mismatch; an encoder that learnt to map G's faces onto f would
    // satisfy the term without keeping the person), against f(x) as a fixed target.
    auto e3 = draw_labels(config_.model.num_expressions);
    auto p3 = draw_labels(config_.model.num_poses);
    auto turned = m.gen->decoder->forward(f, e3, p3);
    torch::Tensor f_again;
    {
      const FrozenParameters held({m.gen->encoder.get()}, true);
      f_again = m.gen->encoder->forward(turned);
    }
    auto c = (f_again - f.detach()).abs().mean();
    total = total + L.id_cycle * c;
    s.id_cycle = c.item<double>();
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
  // bf16: the nets' convolutions and products in bfloat16 for this step only (precision.h).
  const PrecisionScope precision(config_.precision, device_);
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
  if (cls_pose_mask_.defined()) {
    // The unseen-poses protocol: C_exp's real faces only at the poses it may see.
    const auto keep = cls_pose_mask_.to(ps[0].device()).index_select(0, ps[0]).nonzero().squeeze(1);
    xs[0] = xs[0].index_select(0, keep.to(xs[0].device()));
    es[0] = es[0].index_select(0, keep.to(es[0].device()));
    ps[0] = ps[0].index_select(0, keep);
  }
  const int64_t b = es[0].size(0);  // C_exp's real faces in this step
  if (use_gen) {
    torch::NoGradGuard no_grad;
    const int64_t rows = generated_rows_per_copy(L.gen_share, cls_pose_mask_.defined(), x.size(0), b);
    // Each copy's input rows: the whole batch, or `rows` of it drawn at random (generated_rows_per_copy).
    auto subset = [&](const torch::Tensor& t, const torch::Tensor& r) {
      return r.defined() ? t.index_select(0, r.to(t.device())) : t;
    };
    for (int k = 0; k < config_.gen_k && rows > 0; ++k) {
      torch::Tensor r;
      if (rows < x.size(0)) r = at::randperm(x.size(0), step_rng_, torch::kInt64).narrow(0, 0, rows);
      if (k == 0 && fb_images.defined()) {
        xs.push_back(subset(fb_images, r));
        es.push_back(subset(fb_e, r));
        ps.push_back(subset(fb_p, r));
        continue;
      }
      auto e2 = subset(draw_labels(config_.model.num_expressions), r);
      auto p2 = subset(draw_labels(config_.model.num_poses), r);
      xs.push_back(m.gen->forward(subset(x, r), e2, p2));
      es.push_back(e2);
      ps.push_back(p2);
    }
  }
  // Generated faces in this step (none when a count-shared mask kept no real face).
  const bool has_gen = xs.size() > 1;
  if (b == 0 && !has_gen) return s;  // none at an allowed pose, nothing generated: no C_exp step
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
  if (has_gen && L.cls_bn == "real") {
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
    if (has_gen) {
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

}  // namespace posefer
