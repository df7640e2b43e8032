#include "posefer/eval/synthesis_eval.h"

#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include <spdlog/spdlog.h>
#include <torch/fft.h>

#include <algorithm>
#include <filesystem>

#include "posefer/core/check.h"
#include "posefer/eval/evaluator.h"
#include "posefer/render/make_faces.h"
#include "posefer/report/report.h"
#include "posefer/metrics/metrics.h"
#include "posefer/report/plot.h"
#include "posefer/core/progress.h"
#include "posefer/data/splits.h"
#include "posefer/eval/synthesizer.h"

namespace posefer {

namespace {

constexpr int64_t kBatch = 64;

torch::Tensor gaussian_window(int64_t size, double sigma, int64_t channels) {
  auto x = torch::arange(size, torch::kFloat) - static_cast<double>(size - 1) / 2;
  auto g = torch::exp(-(x * x) / (2 * sigma * sigma));
  g = g / g.sum();
  auto w = g.unsqueeze(1).mm(g.unsqueeze(0));  // [size, size], sums to 1
  return w.expand({channels, 1, size, size}).contiguous();
}

}  // namespace

torch::Tensor ssim(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  POSEFER_CHECK_SHAPE(a_in.dim() == 4 && a_in.sizes() == b_in.sizes(),
                      "ssim: expected two images [B, C, H, W] of the same shape, got ", a_in.sizes(),
                      " and ", b_in.sizes());
  POSEFER_CHECK_SHAPE(a_in.size(2) >= 11 && a_in.size(3) >= 11,
                      "ssim: images must be at least 11 x 11, got ", a_in.sizes());
  torch::NoGradGuard no_grad;
  const int64_t c = a_in.size(1);
  auto a = (a_in.to(torch::kFloat) + 1) / 2;
  auto b = (b_in.to(torch::kFloat) + 1) / 2;
  auto w = gaussian_window(11, 1.5, c).to(a.device());
  auto filt = [&](const torch::Tensor& t) {
    return torch::nn::functional::conv2d(t, w, torch::nn::functional::Conv2dFuncOptions().groups(c));
  };
  auto mu_a = filt(a), mu_b = filt(b);
  auto saa = filt(a * a) - mu_a * mu_a;
  auto sbb = filt(b * b) - mu_b * mu_b;
  auto sab = filt(a * b) - mu_a * mu_b;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto map = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) /
             ((mu_a * mu_a + mu_b * mu_b + c1) * (saa + sbb + c2));
  return map.flatten(1).mean(1);
}

torch::Tensor checkerboard_energy(const torch::Tensor& x_in) {
  POSEFER_CHECK_SHAPE(x_in.dim() == 4 && x_in.size(2) >= 2 && x_in.size(3) >= 2 && x_in.size(2) % 2 == 0 &&
                          x_in.size(3) % 2 == 0,
                      "checkerboard_energy: expected images [B, C, H, W] with even H, W >= 2, got ", x_in.sizes());
  torch::NoGradGuard no_grad;
  auto x = x_in.to(torch::kDouble);
  x = x - x.mean({2, 3}, /*keepdim=*/true);
  auto power = torch::fft::fft2(x).abs().pow(2);  // [B, C, H, W]
  const int64_t h = x.size(2), w = x.size(3);
  auto at = power.select(2, h / 2).sum({1, 2}) + power.select(3, w / 2).sum({1, 2}) -
            power.select(2, h / 2).select(2, w / 2).sum(1);  // row + column, their crossing once
  auto total = power.sum({1, 2, 3});
  return torch::where(total > 0, at / total.clamp_min(1e-300), torch::zeros_like(total));
}

bool strictly_nearest(const torch::Tensor& candidates, const torch::Tensor& target, int64_t index) {
  POSEFER_CHECK_SHAPE(candidates.dim() == 4 && target.dim() == 3 && candidates.sizes().slice(1) == target.sizes(),
                      "strictly_nearest: expected candidates [K, C, H, W] and a target [C, H, W], got ",
                      candidates.sizes(), " and ", target.sizes());
  POSEFER_CHECK_SHAPE(index >= 0 && index < candidates.size(0), "strictly_nearest: index ", index,
                      " outside the ", candidates.size(0), " candidates");
  torch::NoGradGuard no_grad;
  auto d = (candidates.to(torch::kDouble) - target.to(torch::kDouble).unsqueeze(0)).abs().flatten(1).mean(1);
  const double mine = d[index].item<double>();
  d[index] = std::numeric_limits<double>::infinity();
  return mine < d.min().item<double>();
}

nlohmann::json evaluate_synthesis(JointModel& model, const ImageSet& test, const Dataset& dataset,
                                  const SynthesisEvalOptions& options) {
  POSEFER_CHECK_INPUT(test.size() > 0, "synthesis check: no test images");
  POSEFER_CHECK_SHAPE(test.sample_index.size() == static_cast<size_t>(test.size()),
                      "synthesis check: the image set has ", test.sample_index.size(),
                      " sample indices for ", test.size(), " images");
  const auto& cfg = model.config;
  const auto device = model.device;
  model.eval();
  torch::NoGradGuard no_grad;

  // Test subjects, and where each (subject, expression, pose) image sits.
  std::map<std::string, int64_t> subject_id;
  std::vector<int64_t> row_subject(test.size());
  std::map<std::tuple<int64_t, int64_t, int64_t>, int64_t> where;
  auto e_acc = test.expression.accessor<int64_t, 1>();
  auto p_acc = test.pose.accessor<int64_t, 1>();
  for (int64_t r = 0; r < test.size(); ++r) {
    const size_t si = test.sample_index[r];
    POSEFER_CHECK_SHAPE(si < dataset.samples.size(), "synthesis check: sample index ", si,
                        " outside the data set (", dataset.samples.size(), " samples)");
    const auto it = subject_id.emplace(dataset.samples[si].subject,
                                       static_cast<int64_t>(subject_id.size())).first;
    row_subject[r] = it->second;
    where.emplace(std::make_tuple(it->second, e_acc[r], p_acc[r]), r);  // first image wins
  }
  const int64_t n_subjects = static_cast<int64_t>(subject_id.size());

  // Inputs (seeded subset) and their (input row, target row, e, p) pairs.
  std::vector<size_t> all(test.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto inputs = subsample(all, options.max_inputs, options.seed);
  std::vector<int64_t> in_rows, truth_rows, tgt_e, tgt_p;
  for (size_t r : inputs) {
    for (int64_t e = 0; e < cfg.num_expressions; ++e) {
      for (int64_t p = 0; p < cfg.num_poses; ++p) {
        if (e == e_acc[static_cast<int64_t>(r)] && p == p_acc[static_cast<int64_t>(r)]) continue;  // new views only
        const auto it = where.find(std::make_tuple(row_subject[r], e, p));
        if (it == where.end()) continue;
        in_rows.push_back(static_cast<int64_t>(r));
        truth_rows.push_back(it->second);
        tgt_e.push_back(e);
        tgt_p.push_back(p);
      }
    }
  }
  POSEFER_CHECK_INPUT(!in_rows.empty(),
                      "synthesis check: no test subject has images at other expressions/poses "
                      "(ground truth needs the same person at several labels)");

  // Identity centroids: mean f(x) of each test subject's real faces, unit length.
  std::vector<torch::Tensor> f_parts;
  for (int64_t s = 0; s < test.size(); s += kBatch) {
    auto rows = torch::arange(s, std::min(test.size(), s + kBatch), torch::kInt64);
    f_parts.push_back(model.gen->encoder->forward(test.batch_images(rows).to(device)).cpu());
  }
  auto f_real = torch::cat(f_parts);
  auto subj = torch::tensor(row_subject, torch::kInt64);
  auto centroids = torch::zeros({n_subjects, cfg.id_dim});
  centroids.index_add_(0, subj, f_real);
  centroids = torch::nn::functional::normalize(centroids, torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto nearest = [&](const torch::Tensor& f) {
    auto fn = torch::nn::functional::normalize(f, torch::nn::functional::NormalizeFuncOptions().dim(1));
    return fn.mm(centroids.t()).argmax(1);
  };
  const double id_real = (nearest(f_real) == subj).to(torch::kDouble).mean().item<double>();

  // The independent identity judge: fitted on every other real image of each test person,
  // scored on the rest (its ceiling) and on the generated faces.
  Judge judge{nullptr};
  double judge_real = NAN;
  if (options.identity_judge_epochs > 0 && n_subjects >= 2) {
    std::vector<int64_t> fit_rows, fit_labels, held_rows, held_labels, seen(n_subjects, 0);
    for (int64_t r = 0; r < test.size(); ++r) {
      const bool fit = seen[row_subject[r]]++ % 2 == 0;
      (fit ? fit_rows : held_rows).push_back(r);
      (fit ? fit_labels : held_labels).push_back(row_subject[r]);
    }
    judge = Judge(cfg.channels, n_subjects, 1);
    judge->to(device);
    JudgeTraining jt;
    jt.epochs = options.identity_judge_epochs;
    jt.batch = 32;
    jt.seed = options.seed;
    jt.progress = options.progress;
    jt.label = "identity judge";
    {
      torch::AutoGradMode grad(true);
      train_judge(judge, test, torch::tensor(fit_rows, torch::kInt64), torch::tensor(fit_labels, torch::kInt64),
                  torch::Tensor(), jt, device);
    }
    if (!held_rows.empty()) {
      auto rows = torch::tensor(held_rows, torch::kInt64);
      std::vector<torch::Tensor> pred;
      for (int64_t s = 0; s < rows.size(0); s += kBatch) {
        auto part = rows.narrow(0, s, std::min<int64_t>(kBatch, rows.size(0) - s));
        pred.push_back(judge->forward(test.batch_images(part).to(device)).first.argmax(1).cpu());
      }
      judge_real = (torch::cat(pred) == torch::tensor(held_labels, torch::kInt64)).to(torch::kDouble).mean().item<double>();
    }
  }

  // Generate in batches; accumulate per-pair metrics.
  const int64_t n = static_cast<int64_t>(in_rows.size());
  auto t_in = torch::tensor(in_rows, torch::kInt64), t_truth = torch::tensor(truth_rows, torch::kInt64);
  auto t_e = torch::tensor(tgt_e, torch::kInt64), t_p = torch::tensor(tgt_p, torch::kInt64);
  std::vector<torch::Tensor> l1s, ssims, cl1s, cssims, ids, judged, checker, checker_real;
  ProgressOptions popt;
  popt.enabled = options.progress;
  ProgressBar bar("synthesis", n, popt);
  for (int64_t s = 0; s < n; s += kBatch) {
    const int64_t len = std::min(kBatch, n - s);
    auto x = test.batch_images(t_in.narrow(0, s, len)).to(device);
    auto truth = test.batch_images(t_truth.narrow(0, s, len)).to(device);
    auto g = model.gen->forward(x, t_e.narrow(0, s, len).to(device), t_p.narrow(0, s, len).to(device));
    l1s.push_back(((g - truth).abs().flatten(1).mean(1) / 2).cpu());  // [-1,1] -> [0,1] units
    ssims.push_back(ssim(g, truth).cpu());
    cl1s.push_back(((x - truth).abs().flatten(1).mean(1) / 2).cpu());
    cssims.push_back(ssim(x, truth).cpu());
    checker.push_back(checkerboard_energy(g.cpu()));
    checker_real.push_back(checkerboard_energy(truth.cpu()));
    ids.push_back(nearest(model.gen->encoder->forward(g).cpu()));
    if (judge) judged.push_back(judge->forward(g).first.argmax(1).cpu());
    bar.update(s + len);
  }
  bar.finish();

  // Code matching. Pairs of one input are consecutive, so each input's full grid
  // G(x, e, p) (pose-major, as synthesis_faces) is generated once.
  const int64_t E = cfg.num_expressions, P = cfg.num_poses;
  auto e_hit = torch::zeros({n}, torch::kDouble), p_hit = torch::zeros({n}, torch::kDouble);
  {
    auto grid_e = torch::arange(E, torch::kInt64).repeat({P}).to(device);
    auto grid_p = torch::arange(P, torch::kInt64).repeat_interleave(E).to(device);
    for (int64_t s = 0; s < n;) {
      int64_t end = s;
      while (end < n && in_rows[end] == in_rows[s]) ++end;
      auto x = test.batch_images(torch::tensor({in_rows[s]}, torch::kInt64)).to(device);
      auto f = model.gen->encoder->forward(x).expand({E * P, -1});
      auto grid = model.gen->decoder->forward(f, grid_e, grid_p).cpu().view({P, E, x.size(1), x.size(2), x.size(3)});
      auto truth = test.batch_images(t_truth.narrow(0, s, end - s));
      for (int64_t k = s; k < end; ++k) {
        const auto& t = truth[k - s];
        e_hit[k] = strictly_nearest(grid[tgt_p[k]], t, tgt_e[k]) ? 1.0 : 0.0;
        p_hit[k] = strictly_nearest(grid.select(1, tgt_e[k]), t, tgt_p[k]) ? 1.0 : 0.0;
      }
      s = end;
    }
  }
  auto l1 = torch::cat(l1s).to(torch::kDouble), sim = torch::cat(ssims).to(torch::kDouble);
  auto id_ok = (torch::cat(ids) == subj.index_select(0, t_in)).to(torch::kDouble);

  nlohmann::json out;
  out["inputs"] = inputs.size();
  out["pairs"] = n;
  out["subjects"] = n_subjects;
  out["l1"] = l1.mean().item<double>();
  out["ssim"] = sim.mean().item<double>();
  out["copy_l1"] = torch::cat(cl1s).to(torch::kDouble).mean().item<double>();
  out["copy_ssim"] = torch::cat(cssims).to(torch::kDouble).mean().item<double>();
  out["checkerboard_energy"] = torch::cat(checker).mean().item<double>();
  out["checkerboard_energy_real"] = torch::cat(checker_real).mean().item<double>();
  out["identity_accuracy"] = id_ok.mean().item<double>();
  out["identity_accuracy_real"] = id_real;
  out["identity_chance"] = 1.0 / static_cast<double>(n_subjects);
  out["identity_judge_accuracy"] =
      judge ? nlohmann::json((torch::cat(judged) == subj.index_select(0, t_in)).to(torch::kDouble).mean().item<double>())
            : nlohmann::json();
  out["identity_judge_real"] = std::isfinite(judge_real) ? nlohmann::json(judge_real) : nlohmann::json();
  out["expression_match"] = e_hit.mean().item<double>();
  out["expression_match_chance"] = 1.0 / static_cast<double>(E);
  out["pose_match"] = P > 1 ? nlohmann::json(p_hit.mean().item<double>()) : nlohmann::json();
  out["pose_match_chance"] = 1.0 / static_cast<double>(P);
  auto grouped = [&](const torch::Tensor& label, const std::vector<std::string>& names, const torch::Tensor& hit) {
    nlohmann::json g = nlohmann::json::object();
    for (int64_t k = 0; k < static_cast<int64_t>(names.size()); ++k) {
      auto mask = label == k;
      const int64_t count = mask.sum().item<int64_t>();
      nlohmann::json cell;
      cell["pairs"] = count;
      cell["l1"] = count ? l1.masked_select(mask).mean().item<double>() : NAN;
      cell["ssim"] = count ? sim.masked_select(mask).mean().item<double>() : NAN;
      cell["match"] = count ? hit.masked_select(mask).mean().item<double>() : NAN;
      g[names[k]] = cell;
    }
    return g;
  };
  out["by_pose"] = grouped(t_p, dataset.pose_names, p_hit);
  out["by_expression"] = grouped(t_e, dataset.expression_names, e_hit);
  // Keep label order for readers of the JSON (objects sort their keys).
  out["pose_names"] = dataset.pose_names;
  out["expression_names"] = dataset.expression_names;
  return out;
}

void add_synthesis_section(Document& doc, const nlohmann::json& r, const std::string& who) {
  auto num = [&](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
  doc.heading(3, "Synthesis against ground truth" + (who == "test" ? std::string() : ": " + who + " people"));
  doc.paragraph(std::to_string(r.value("pairs", 0)) + " generated faces from " + std::to_string(r.value("inputs", 0)) +
                " " + who + " inputs (" + std::to_string(r.value("subjects", 0)) + " " + who +
                " subjects), each compared with the true image of the same person at the target "
                "expression and pose. L1 in [0, 1] pixel units; 'input unchanged' scores the input face "
                "itself as the prediction.");
  doc.table({"", "L1 (lower is better)", "SSIM (higher is better)"},
            {{"G(x, e, p)", format_number(num(r["l1"]), 4), format_number(num(r["ssim"]), 3)},
             {"input unchanged", format_number(num(r["copy_l1"]), 4), format_number(num(r["copy_ssim"]), 3)}});
  if (r.contains("checkerboard_energy")) {  // absent in results written before it
    doc.paragraph("Checkerboard texture (share of the image's spectral energy at the period-2 frequencies): "
                  "G(x, e, p) **" + format_number(100 * num(r["checkerboard_energy"]), 2) + "%**, the true images " +
                  format_number(100 * num(r["checkerboard_energy_real"]), 2) + "%");
  }
  doc.paragraph("Identity kept (nearest " + who + " subject by f(G(x, e, p))): **" +
                format_percent(num(r["identity_accuracy"])) + "%** (real " + who + " faces: " +
                format_percent(num(r["identity_accuracy_real"])) + "%, chance " +
                format_percent(num(r["identity_chance"])) + "%)");
  if (r.contains("identity_judge_accuracy") && r["identity_judge_accuracy"].is_number()) {
    doc.paragraph("Identity by an independent judge (a separate CNN fitted on every other real image of each " + who +
                  " person): **" + format_percent(num(r["identity_judge_accuracy"])) +
                  "%** of generated faces named as the input's person (on the real images it did not see: " +
                  format_percent(num(r["identity_judge_real"])) + "%)");
  }
  const bool matched = r.contains("expression_match");  // absent in results written before it
  if (matched) {
    std::string line = "Code matching (the true image is nearer to G(x, e, p) than to G with any other code): "
                       "expression **" + format_percent(num(r["expression_match"])) + "%** of pairs (chance " +
                       format_percent(num(r["expression_match_chance"])) + "%)";
    if (r["pose_match"].is_number()) {
      line += ", pose **" + format_percent(num(r["pose_match"])) + "%** (chance " +
              format_percent(num(r["pose_match_chance"])) + "%)";
    }
    doc.paragraph(line);
  }
  for (const char* key : {"pose", "expression"}) {
    std::vector<std::vector<std::string>> rows;
    const auto& group = r["by_" + std::string(key)];
    const bool with_match = matched && r[std::string(key) + "_match"].is_number();
    for (const auto& name : r[std::string(key) + "_names"]) {
      const auto& cell = group[name.get<std::string>()];
      rows.push_back({name.get<std::string>(), std::to_string(cell.value("pairs", 0)),
                      format_number(num(cell["l1"]), 4), format_number(num(cell["ssim"]), 3)});
      if (with_match) {
        const double m = num(cell.value("match", nlohmann::json()));
        rows.back().push_back(std::isfinite(m) ? format_percent(m) + "%" : "-");
      }
    }
    std::vector<std::string> head{std::string("target ") + key, "pairs", "L1", "SSIM"};
    if (with_match) head.push_back(std::string(key) + " matched");
    doc.table(head, rows);
  }
}

std::string synthesis_markdown(const nlohmann::json& r, const std::string& who) {
  Document doc("synthesis");
  add_synthesis_section(doc, r, who);
  return doc.markdown_body();
}

namespace {

namespace fs = std::filesystem;

int64_t frontal_pose(const Dataset& ds) {
  std::vector<double> sum(ds.pose_names.size(), 0), count(ds.pose_names.size(), 0);
  for (const auto& s : ds.samples) {
    sum[s.pose] += std::abs(s.yaw_deg) + std::abs(s.pitch_deg);
    count[s.pose] += 1;
  }
  int64_t best = 0;
  for (size_t p = 0; p < sum.size(); ++p) {
    if (count[p] > 0 && (count[best] == 0 || sum[p] / count[p] < sum[best] / count[best])) best = static_cast<int64_t>(p);
  }
  return best;
}

}  // namespace

std::string write_synthesis_sheet(JointModel& model, const ImageSet& test, const Dataset& ds,
                            const std::string& subject, const std::string& out_dir) {
  const int64_t E = static_cast<int64_t>(ds.expression_names.size());
  const int64_t P = static_cast<int64_t>(ds.pose_names.size());
  const int64_t e0 = reference_expression(ds.expression_names);
  const int64_t p0 = frontal_pose(ds);
  std::map<std::pair<int64_t, int64_t>, int64_t> rows;  // (e, p) -> test row
  for (int64_t r = 0; r < test.size(); ++r) {
    const auto& s = ds.samples[test.sample_index[r]];
    if (s.subject == subject) rows.emplace(std::make_pair(int64_t{s.expression}, int64_t{s.pose}), r);
  }
  POSEFER_CHECK_INPUT(!rows.empty(), "synthesis sheet: no test image of subject ", subject);
  auto it = rows.find({e0, p0});
  if (it == rows.end()) it = rows.begin();
  auto x = test.batch_images(torch::tensor({it->second}, torch::kInt64)).to(model.device);
  const auto C = x.size(1), N = x.size(2);
  // Generated grid: rows = poses, columns = expressions.
  auto e = torch::arange(E, torch::kInt64).repeat({P});
  auto p = torch::arange(P, torch::kInt64).repeat_interleave(E);
  torch::Tensor gen;
  {
    torch::NoGradGuard no_grad;
    model.eval();
    auto f = model.gen->encoder->forward(x).expand({P * E, -1});
    gen = model.gen->decoder->forward(f, e.to(model.device), p.to(model.device)).cpu();
  }
  // Ground truth in the same layout; cells without a render stay white.
  auto truth = torch::ones({P * E, C, N, N});
  for (int64_t pi = 0; pi < P; ++pi)
    for (int64_t ei = 0; ei < E; ++ei) {
      const auto t = rows.find({ei, pi});
      if (t != rows.end()) truth[pi * E + ei] = test.batch_images(torch::tensor({t->second}, torch::kInt64))[0];
    }
  const std::string input_label = ds.expression_names[it->first.first] + ", " + ds.pose_names[it->first.second];
  const RgbImage input = labelled_grid(x.cpu(), {""}, {""}, "input x (" + subject + ")");
  const RgbImage g = labelled_grid(gen, ds.pose_names, ds.expression_names, "generated G(x, e, p)");
  const RgbImage t = labelled_grid(truth, ds.pose_names, ds.expression_names, "ground truth (true renders)");
  const std::string file = "synthesis_" + subject + ".png";
  write_rgb_png((fs::path(out_dir) / file).string(), hconcat({input, g, t}, 24), 9);
  spdlog::info("synthesis sheet for {} (input: {}) written to {}/{}", subject, input_label, out_dir, file);
  return file;
}


}  // namespace posefer
