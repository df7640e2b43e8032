#include "posefer/eval/evaluator.h"

#include <spdlog/spdlog.h>

#include <random>

#include "posefer/core/check.h"
#include "posefer/core/shuffle.h"
#include "posefer/core/labels.h"
#include "posefer/model/losses.h"
#include "posefer/core/progress.h"
#include "posefer/data/splits.h"
#include "posefer/eval/synthesis_eval.h"

namespace posefer {

namespace nn = torch::nn;

namespace {

constexpr int64_t kEvalBatch = 128;

// Runs fn(rows, x) over `set` in batches, x on the model's device.
template <class F>
void for_batches(const ImageSet& set, const torch::Tensor& rows_all, const torch::Device& device, F&& fn) {
  const int64_t n = rows_all.size(0);
  for (int64_t start = 0; start < n; start += kEvalBatch) {
    auto rows = rows_all.narrow(0, start, std::min(kEvalBatch, n - start));
    fn(rows, set.batch_images(rows).to(device));
  }
}

torch::Tensor all_rows(const ImageSet& set) { return torch::arange(set.size(), torch::kInt64); }


double accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return (logits.argmax(1).cpu() == labels.cpu()).to(torch::kFloat).mean().item<double>();
}

// Multinomial logistic regression on standardised features; returns test accuracy.
double linear_probe(const torch::Tensor& f_train, const torch::Tensor& y_train,
                    const torch::Tensor& f_test, const torch::Tensor& y_test, int64_t classes,
                    int steps) {
  if (classes < 2) return 1.0;
  auto mean = f_train.mean(0, true);
  auto std = f_train.std(0, true, true) + 1e-6;
  auto a = (f_train - mean) / std, b = (f_test - mean) / std;
  nn::Linear probe(a.size(1), classes);
  torch::optim::Adam opt(probe->parameters(), torch::optim::AdamOptions(0.05));
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    auto loss = classification_ce(probe->forward(a), y_train) +
                1e-3 * probe->weight.pow(2).sum();
    loss.backward();
    opt.step();
  }
  torch::NoGradGuard no_grad;
  return accuracy(probe->forward(b), y_test);
}

}  // namespace

JudgeImpl::JudgeImpl(int64_t channels, int64_t classes_a, int64_t classes_b) {
  features = register_module(
      "features",
      nn::Sequential(nn::Conv2d(nn::Conv2dOptions(channels, 32, 5).stride(2).padding(2)),
                     nn::BatchNorm2d(32), nn::ReLU(),
                     nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1)),
                     nn::BatchNorm2d(64), nn::ReLU(),
                     nn::Conv2d(nn::Conv2dOptions(64, 96, 3).stride(2).padding(1)),
                     nn::BatchNorm2d(96), nn::ReLU(), nn::AdaptiveAvgPool2d(2)));
  // Registered as "expr" / "pose" (their names before the judge became public).
  head_a = register_module("expr", nn::Linear(96 * 4, classes_a));
  head_b = register_module("pose", nn::Linear(96 * 4, classes_b));
}

std::pair<torch::Tensor, torch::Tensor> JudgeImpl::forward(const torch::Tensor& x) {
  auto h = features->forward(x).flatten(1);
  return {head_a->forward(h), head_b->forward(h)};
}

void train_judge(Judge& judge, const ImageSet& set, const torch::Tensor& rows_all,
                 const torch::Tensor& labels_a, const torch::Tensor& labels_b,
                 const JudgeTraining& options, const torch::Device& device) {
  const int64_t n = rows_all.size(0);
  POSEFER_CHECK_SHAPE(labels_a.dim() == 1 && labels_a.size(0) == n &&
                          (!labels_b.defined() || (labels_b.dim() == 1 && labels_b.size(0) == n)),
                      "train_judge: ", n, " rows but labels ", labels_a.sizes(),
                      labels_b.defined() ? " / " : "", labels_b.defined() ? labels_b.sizes() : c10::IntArrayRef{});
  torch::optim::Adam opt(judge->parameters(), torch::optim::AdamOptions(1e-3));
  std::mt19937_64 rng(options.seed);
  const int64_t bs = options.batch;
  const int64_t steps = std::max<int64_t>(1, n / bs);
  ProgressOptions popt;
  popt.enabled = options.progress;
  ProgressBar bar(options.label, options.epochs * steps, popt);
  for (int ep = 0; ep < options.epochs; ++ep) {
    auto perm_t = torch::tensor(shuffled_indices(n, rng), torch::kInt64);
    judge->train();
    for (int64_t s = 0; s < steps; ++s) {
      auto pos = perm_t.narrow(0, s * bs, std::min(bs, n - s * bs));
      if (pos.size(0) < 2) continue;
      auto x = set.batch_images(rows_all.index_select(0, pos)).to(device);
      // Light augmentation (shift by up to 2 px) so the judge generalises across people.
      const int64_t dx = static_cast<int64_t>(rng() % 5) - 2, dy = static_cast<int64_t>(rng() % 5) - 2;
      x = torch::roll(x, {dy, dx}, {2, 3});
      auto [la, lb] = judge->forward(x);
      auto loss = classification_ce(la, labels_a.index_select(0, pos).to(device));
      if (labels_b.defined()) loss = loss + classification_ce(lb, labels_b.index_select(0, pos).to(device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      bar.update(ep * steps + s + 1);
    }
  }
  bar.finish();
  judge->eval();
}

nlohmann::json EvalResult::to_json() const {
  nlohmann::json j;
  j["expression"] = posefer::to_json(expression);
  if (pose.count > 0) j["pose"] = posefer::to_json(pose);
  j["disentanglement"] = disentanglement;
  if (!synthesis.is_null()) j["synthesis"] = synthesis;
  if (!synthesis_train.is_null()) j["synthesis_train"] = synthesis_train;
  if (!test_time.is_null()) j["test_time"] = test_time;
  return j;
}

namespace {

void add_classification(Document& doc, const ClassificationReport& r, const std::string& heading) {
  doc.heading(3, heading);
  doc.paragraph("**" + accuracy_line(r) + "**");
  for (const TextTable& t : report_tables(r)) doc.table(t.header, t.rows);
}

}  // namespace

std::string EvalResult::to_markdown(const std::string& title) const { return document(title).markdown(); }

Document EvalResult::document(const std::string& title) const {
  Document doc(title);
  add_classification(doc, expression, "Expression (C_exp), grouped by pose");
  if (pose.count > 0) add_classification(doc, pose, "Pose (C_exp pose head)");
  if (!disentanglement.is_null()) {
    doc.heading(3, "Disentanglement checks on generated faces");
    std::vector<std::vector<std::string>> rows;
    auto pct = [](const nlohmann::json& v) { return v.is_number() ? format_percent(v.get<double>()) + "%" : "-"; };
    auto num = [](const nlohmann::json& v) {
      if (!v.is_number()) return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4f", v.get<double>());
      return std::string(buf);
    };
    const auto& d = disentanglement;
    rows.push_back({"reconstruction L1 |G(x,e,p) - x|", num(d.value("reconstruction_l1", nlohmann::json()))});
    rows.push_back({"mean pixel change, pose code swapped", num(d.value("pose_swap_change", nlohmann::json()))});
    rows.push_back({"mean pixel change, expression code swapped", num(d.value("expression_swap_change", nlohmann::json()))});
    rows.push_back({"linear probe on f(x): pose accuracy (leak)", pct(d.value("probe_pose_accuracy", nlohmann::json()))});
    rows.push_back({"linear probe on f(x): expression accuracy (leak)", pct(d.value("probe_expression_accuracy", nlohmann::json()))});
    rows.push_back({"judge on real test faces: expression", pct(d.value("judge_real_expression_accuracy", nlohmann::json()))});
    rows.push_back({"judge on real test faces: pose", pct(d.value("judge_real_pose_accuracy", nlohmann::json()))});
    rows.push_back({"judge on generated faces: target expression", pct(d.value("judge_generated_expression_accuracy", nlohmann::json()))});
    rows.push_back({"judge on generated faces: target pose", pct(d.value("judge_generated_pose_accuracy", nlohmann::json()))});
    doc.table({"check", "value"}, rows);
  }
  if (!synthesis.is_null()) add_synthesis_section(doc, synthesis);
  if (!synthesis_train.is_null()) add_synthesis_section(doc, synthesis_train, "training");
  return doc;
}

EvalResult evaluate_classifier(JointModel& model, const ImageSet& test,
                               const std::vector<std::string>& expression_names,
                               const std::vector<std::string>& pose_names, bool tta_flip,
                               const std::vector<int64_t>& pose_mirror, double tta_crop) {
  model.eval();
  return evaluate_classifier({ClassifierMember{model.cls.get(), tta_flip, pose_mirror, tta_crop}}, model.device, test,
                             expression_names, pose_names);
}

EvalResult evaluate_classifier(const std::vector<ClassifierMember>& members, const torch::Device& device,
                               const ImageSet& test, const std::vector<std::string>& expression_names,
                               const std::vector<std::string>& pose_names) {
  POSEFER_CHECK_INPUT(test.size() > 0, "the test set is empty");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> pe, pp;
  for_batches(test, all_rows(test), device, [&](const torch::Tensor&, const torch::Tensor& x) {
    auto out = ensemble_probabilities(members, x);
    pe.push_back(out.expression.argmax(1).cpu());
    if (out.pose.defined()) pp.push_back(out.pose.argmax(1).cpu());
  });
  EvalResult r;
  r.expression = classification_report(torch::cat(pe), test.expression, expression_names, test.pose,
                                       pose_names);
  if (!pp.empty()) {
    r.pose = classification_report(torch::cat(pp), test.pose, pose_names, test.expression,
                                   expression_names);
  }
  r.test_time = {{"tta_flip", nlohmann::json::array()}, {"tta_crop", nlohmann::json::array()}};
  for (const auto& m : members) {
    r.test_time["tta_flip"].push_back(m.tta_flip);
    r.test_time["tta_crop"].push_back(m.tta_crop);
  }
  return r;
}

nlohmann::json evaluate_disentanglement(JointModel& model, const ImageSet& train,
                                        const ImageSet& test, const EvalOptions& options) {
  POSEFER_CHECK_INPUT(train.size() >= 2 && test.size() >= 1,
                      "disentanglement checks need training and test images");
  const auto& cfg = model.config;
  const auto device = model.device;
  torch::manual_seed(options.seed);
  model.eval();
  nlohmann::json out;

  // Seeded subset of test faces for the generator checks.
  std::vector<size_t> idx(test.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  idx = subsample(idx, options.max_generated, options.seed);
  auto sub_rows = torch::tensor(std::vector<int64_t>(idx.begin(), idx.end()), torch::kInt64);

  // 1. Identity codes for the probes, and code-swap pixel changes.
  torch::Tensor f_train, f_test;
  double recon = 0, pose_change = 0, expr_change = 0;
  int64_t counted = 0;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> ft;
    for_batches(train, all_rows(train), device, [&](const torch::Tensor&, const torch::Tensor& x) {
      ft.push_back(model.gen->encoder->forward(x).cpu());
    });
    f_train = torch::cat(ft);
    std::vector<torch::Tensor> fs;
    for_batches(test, all_rows(test), device, [&](const torch::Tensor&, const torch::Tensor& x) {
      fs.push_back(model.gen->encoder->forward(x).cpu());
    });
    f_test = torch::cat(fs);
    for_batches(test, sub_rows, device, [&](const torch::Tensor& rows, const torch::Tensor& x) {
      auto e = test.expression.index_select(0, rows).to(device);
      auto p = test.pose.index_select(0, rows).to(device);
      auto f = model.gen->encoder->forward(x);
      auto base = model.gen->decoder->forward(f, e, p);
      const auto b = x.size(0);
      recon += (base - x).abs().mean().item<double>() * b;
      if (cfg.num_poses > 1) {
        // Shift every label by a random non-zero offset so the code always changes.
        auto p2 = (p + torch::randint(1, cfg.num_poses, {b}, torch::TensorOptions().dtype(torch::kInt64).device(device))) % cfg.num_poses;
        pose_change += (model.gen->decoder->forward(f, e, p2) - base).abs().mean().item<double>() * b;
      }
      auto e2 = (e + torch::randint(1, cfg.num_expressions, {b}, torch::TensorOptions().dtype(torch::kInt64).device(device))) % cfg.num_expressions;
      expr_change += (model.gen->decoder->forward(f, e2, p) - base).abs().mean().item<double>() * b;
      counted += b;
    });
  }
  out["generated_faces"] = counted;
  out["reconstruction_l1"] = recon / counted;
  out["pose_swap_change"] = cfg.num_poses > 1 ? nlohmann::json(pose_change / counted) : nlohmann::json();
  out["expression_swap_change"] = expr_change / counted;

  // 2. Linear probes on f(x).
  out["probe_pose_accuracy"] =
      cfg.num_poses > 1 ? nlohmann::json(linear_probe(f_train, train.pose, f_test, test.pose,
                                                      cfg.num_poses, options.probe_steps))
                        : nlohmann::json();
  out["probe_expression_accuracy"] = linear_probe(f_train, train.expression, f_test, test.expression,
                                                  cfg.num_expressions, options.probe_steps);

  // 3. The independent judge.
  Judge judge(cfg.channels, cfg.num_expressions, cfg.num_poses);
  judge->to(device);
  JudgeTraining jt;
  jt.epochs = options.judge_epochs;
  jt.batch = options.judge_batch;
  jt.seed = options.seed;
  jt.progress = options.progress;
  train_judge(judge, train, all_rows(train), train.expression, train.pose, jt, device);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> re, rp, ge, gp, te, tp;
  for_batches(test, all_rows(test), device, [&](const torch::Tensor&, const torch::Tensor& x) {
    auto [le, lp] = judge->forward(x);
    re.push_back(le.argmax(1).cpu());
    rp.push_back(lp.argmax(1).cpu());
  });
  for_batches(test, sub_rows, device, [&](const torch::Tensor&, const torch::Tensor& x) {
    auto e2 = random_labels(x.size(0), cfg.num_expressions, device);
    auto p2 = random_labels(x.size(0), cfg.num_poses, device);
    auto [le, lp] = judge->forward(model.gen->forward(x, e2, p2));
    ge.push_back(le.argmax(1).cpu());
    gp.push_back(lp.argmax(1).cpu());
    te.push_back(e2.cpu());
    tp.push_back(p2.cpu());
  });
  auto mean_eq = [](const std::vector<torch::Tensor>& a, const torch::Tensor& b) {
    return (torch::cat(a) == b).to(torch::kFloat).mean().item<double>();
  };
  out["judge_real_expression_accuracy"] = mean_eq(re, test.expression);
  out["judge_real_pose_accuracy"] = mean_eq(rp, test.pose);
  out["judge_generated_expression_accuracy"] = mean_eq(ge, torch::cat(te));
  out["judge_generated_pose_accuracy"] = mean_eq(gp, torch::cat(tp));
  return out;
}

}  // namespace posefer
