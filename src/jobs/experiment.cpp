#include "posefer/jobs/experiment.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "posefer/jobs/augment.h"
#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/data/dataset.h"
#include "posefer/io/image_io.h"
#include "posefer/render/make_faces.h"
#include "posefer/eval/peer_baseline.h"
#include "posefer/report/plot.h"
#include "posefer/report/report.h"
#include "posefer/eval/synthesis_eval.h"
#include "experiment_report.h"

namespace posefer {

namespace fs = std::filesystem;
using namespace experiment_detail;

const std::vector<std::string>& experiment_protocols() {
  static const std::vector<std::string> kNames{"multipie-5fold", "bu3dfe-35", "kn-curve", "unseen-poses", "cross-dataset"};
  return kNames;
}

namespace {

struct RunOutcome {
  bool interrupted = false;
  ClassificationReport report;
};

// Trains and evaluates the run in `dir` unless its eval.json is there; resumes a half-done one.
RunOutcome train_or_load(const fs::path& dir, TrainJob job, const TrainHooks& hooks) {
  RunOutcome out;
  const fs::path eval = dir / "eval.json";
  std::error_code ec;
  if (fs::is_regular_file(eval, ec)) {
    out.report = with_context("reading " + eval.string(), [&] {
      return classification_report_from_json(nlohmann::json::parse(read_text_file(eval.string())).at("expression"));
    });
    spdlog::info("experiment: {} is done ({:.1f}%)", dir.string(), 100 * out.report.accuracy);
    return out;
  }
  job.run_dir = dir.string();
  job.resume = fs::exists(dir / "checkpoint.pt", ec);
  job.evaluate = true;
  spdlog::info("experiment: {} {}", job.resume ? "continuing" : "training", dir.string());
  const TrainJobResult r = with_context("run " + dir.string(), [&] { return run_train_job(job, hooks); });
  if (r.train.interrupted) {
    out.interrupted = true;
    return out;
  }
  POSEFER_CHECK_INPUT(r.evaluated, dir.string(), ": the split ", job.config.data.fold, " has no test part");
  out.report = r.eval.expression;
  return out;
}

TrainJob real_only(TrainJob t) {
  t.config.train_gan = false;
  t.config.gen_k = 0;
  t.eval.disentangle = false;
  return t;
}

TrainJob with_k(TrainJob t, int k) {
  if (k == 0) return real_only(std::move(t));
  t.config.gen_k = k;
  return t;
}


// The peer's row on the same test images, or a note why there is none.
void add_peer(const ExperimentJob& job, const std::string& data, const std::string& fold, int64_t max_test,
              std::vector<ExperimentRow>& rows, ReportInputs& in) {
  if (!job.peer) return;
  const fs::path cache = fs::path(job.out) / ("peer_" + std::to_string(std::hash<std::string>{}(data + "|" + fold)) + ".json");
  std::error_code ec;
  try {
    ClassificationReport rep;
    if (fs::is_regular_file(cache, ec)) {
      rep = classification_report_from_json(nlohmann::json::parse(read_text_file(cache.string())));
    } else {
      PeerEvalJob pj;
      pj.data = data;
      pj.fold = fold;
      pj.split_seed = job.base.config.data.split_seed;
      pj.max_test = max_test;
      pj.progress = job.base.config.progress;
      rep = run_peer_eval(pj).report;
      write_file_atomic(cache.string(), to_json(rep).dump(1) + "\n");
    }
    rows.push_back({"face-api FaceExpressionNet (peer, pretrained)", rep, {rep.accuracy}});
    in.notes.push_back("Peer: face-api's pretrained FaceExpressionNet, its 7 classes mapped onto the data set's by "
                       "name, on the test images of split " + fold + " (it was trained on none of them).");
  } catch (const std::exception& e) {
    spdlog::warn("experiment: no peer row: {}", e.what());
    in.notes.push_back(std::string("No peer row: ") + e.what());
  }
}

// Fig. 6 sheets from a trained run on its own test people.
void add_sheets(const ExperimentJob& job, const fs::path& run, ReportInputs& in) {
  if (job.grid_subjects <= 0) return;
  try {
    LoadedModel lm = load_trained_model(run.string());
    PrepareOptions popt;
    popt.image_size = lm.config.model.image_size;
    popt.channels = lm.config.model.channels;
    popt.train = false;
    popt.progress = false;
    PreparedData data = prepare_data(lm.config.data, popt);
    std::set<std::string> people;
    for (size_t i : data.test.sample_index) people.insert(data.dataset.samples[i].subject);
    // Sets with one photo per person have nothing to compare against: show at most one sheet.
    const int limit = people.size() == static_cast<size_t>(data.test.size()) ? 1 : job.grid_subjects;
    for (const auto& who : people) {
      if (static_cast<int>(in.sheets.size()) >= limit) break;
      in.sheets.emplace_back(who, write_synthesis_sheet(*lm.model, data.test, data.dataset, who, job.out));
    }
    // The numbers behind the sheets where people have several images (ground truth).
    if (people.size() < static_cast<size_t>(data.test.size())) {
      SynthesisEvalOptions so;
      so.progress = false;
      in.synthesis = evaluate_synthesis(*lm.model, data.test, data.dataset, so);
    }
  } catch (const std::exception& e) {
    spdlog::warn("experiment: no synthesis sheet from {}: {}", run.string(), e.what());
    in.notes.push_back(std::string("No synthesis sheet: ") + e.what());
  }
}

}  // namespace

double unseen_pose_accuracy(const ClassificationReport& report, const std::string& train_poses) {
  std::vector<std::string> seen;
  std::stringstream list(train_poses);
  for (std::string name; std::getline(list, name, ',');) seen.push_back(name);
  double correct = 0, count = 0;
  for (size_t g = 0; g < report.group_names.size() && g < report.group_count.size(); ++g) {
    if (std::find(seen.begin(), seen.end(), report.group_names[g]) != seen.end() || report.group_count[g] == 0) continue;
    correct += report.group_accuracy[g] * static_cast<double>(report.group_count[g]);
    count += static_cast<double>(report.group_count[g]);
  }
  return count > 0 ? correct / count : std::nan("");
}

ExperimentResult run_experiment(const ExperimentJob& job, const TrainHooks& hooks) {
  const auto& names = experiment_protocols();
  POSEFER_CHECK_CONFIG(std::find(names.begin(), names.end(), job.protocol) != names.end(), "unknown protocol '",
                       job.protocol, "' (multipie-5fold, bu3dfe-35, kn-curve, unseen-poses, cross-dataset)");
  POSEFER_CHECK_CONFIG(!job.out.empty(), "experiment: an output folder (--out) is required");
  job.plot.validate();
  POSEFER_CHECK_CONFIG(!job.base.config.data.spec.empty(), "experiment: --data is required");
  POSEFER_CHECK_CONFIG(job.folds >= 2 && job.folds <= 50, "experiment: folds must be in [2, 50], got ", job.folds);
  POSEFER_CHECK_CONFIG(job.train_fraction > 0 && job.train_fraction < 1,
                       "experiment: train fraction must be in (0, 1), got ", job.train_fraction);
  const bool needs_joint = job.protocol != "kn-curve";
  POSEFER_CHECK_CONFIG(!needs_joint || job.base.config.gen_k >= 1, "experiment ", job.protocol,
                       ": k must be >= 1 (the real-only runs are added by the protocol), got ",
                       job.base.config.gen_k);
  if (job.protocol == "kn-curve") {
    POSEFER_CHECK_CONFIG(!job.ks.empty(), "kn-curve: no k values");
    for (int k : job.ks) POSEFER_CHECK_CONFIG(k >= 0 && k <= 100, "kn-curve: k must be in [0, 100], got ", k);
  }
  POSEFER_CHECK_CONFIG(job.protocol != "unseen-poses" || !job.base.config.cls_train_poses.empty(),
                       "unseen-poses needs --cls-train-poses (the poses of C_exp's real faces, e.g. straight)");
  POSEFER_CHECK_CONFIG(job.seeds >= 1 && job.seeds <= 20, "experiment: seeds must be in [1, 20], got ", job.seeds);
  POSEFER_CHECK_CONFIG(job.protocol != "cross-dataset" || !job.data_b.empty(),
                       "cross-dataset needs --data-b (the data set whose classifier is trained)");
  const fs::path out(job.out);
  fs::create_directories(out);
  ExperimentResult result;
  ReportInputs in;
  std::vector<ExperimentRow> rows;
  const std::string data = job.base.config.data.spec;

  if (job.protocol == "multipie-5fold" || job.protocol == "bu3dfe-35") {
    const bool cv = job.protocol == "multipie-5fold";
    std::vector<std::string> folds;
    if (cv) {
      for (int f = 0; f < job.folds; ++f) folds.push_back(std::to_string(f) + "/" + std::to_string(job.folds));
    } else {
      std::ostringstream f;
      f << "subjects:" << job.train_fraction;
      folds.push_back(f.str());
    }
    std::vector<ClassificationReport> joint, base;
    ExperimentRow jr{k_name(job.base.config.gen_k), {}, {}}, br{k_name(0), {}, {}};
    for (size_t f = 0; f < folds.size(); ++f) {
      TrainJob t = job.base;
      t.config.data.fold = folds[f];
      const std::string stem = cv ? "fold" + std::to_string(f) : "joint";
      const RunOutcome a = train_or_load(out / stem, t, hooks);
      if (a.interrupted) return result.interrupted = true, result;
      const RunOutcome b = train_or_load(out / (cv ? stem + "_k0" : "k0"), real_only(t), hooks);
      if (b.interrupted) return result.interrupted = true, result;
      joint.push_back(a.report);
      base.push_back(b.report);
      jr.fold_accuracy.push_back(a.report.accuracy);
      br.fold_accuracy.push_back(b.report.accuracy);
    }
    jr.report = mean_report(joint);
    br.report = mean_report(base);
    rows = {jr, br};
    in.title = cv ? "Subject-independent " + std::to_string(job.folds) + "-fold cross-validation" :
                    "Subject split " + folds[0];
    in.description = "Data " + data + ". The joint model (G, D_att, D_i, C_exp) with " +
                     std::to_string(job.base.config.gen_k) +
                     " generated face(s) per real face, against the same classifier trained on real faces only; "
                     "no person is in both training and test" + (cv ? "; tables are means over the folds." : ".");
    add_peer(job, data, cv ? "all" : folds[0], 0, rows, in);
    add_sheets(job, out / (cv ? "fold0" : "joint"), in);
  } else if (job.protocol == "kn-curve") {
    const std::string fold = "0/" + std::to_string(job.folds);
    size_t main = 0;
    for (size_t i = 0; i < job.ks.size(); ++i) {
      TrainJob t = with_k(job.base, job.ks[i]);
      t.config.data.fold = fold;
      const RunOutcome r = train_or_load(out / ("k" + std::to_string(job.ks[i])), t, hooks);
      if (r.interrupted) return result.interrupted = true, result;
      rows.push_back({k_name(job.ks[i]), r.report, {r.report.accuracy}});
      in.kn.emplace_back(job.ks[i], r.report.accuracy);
      if (job.ks[i] == job.base.config.gen_k || (job.ks[i] > 0 && job.ks[main] == 0)) main = i;
    }
    std::rotate(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(main), rows.begin() + static_cast<std::ptrdiff_t>(main) + 1);
    in.title = "kN curve: accuracy against generated faces per real face";
    in.description = "Data " + data + ", fold " + fold + " (subject-independent). Each run adds k generated faces per "
                     "real training face from the generator's warm-up on (k = 0: real faces only); same seeds.";
    add_peer(job, data, fold, 0, rows, in);
    int kmax = *std::max_element(job.ks.begin(), job.ks.end());
    if (kmax > 0) add_sheets(job, out / ("k" + std::to_string(kmax)), in);
  } else if (job.protocol == "unseen-poses") {
    const std::string fold = "0/" + std::to_string(job.folds);
    const std::string& seen = job.base.config.cls_train_poses;
    std::vector<ClassificationReport> joint, base;
    ExperimentRow jr{k_name(job.base.config.gen_k), {}, {}}, br{k_name(0), {}, {}};
    std::vector<double> unseen_j, unseen_b, gains;
    for (int s = 0; s < job.seeds; ++s) {
      TrainJob t = job.base;
      t.config.data.fold = fold;
      t.config.seed = job.base.config.seed + static_cast<uint64_t>(s);
      t.config.select_on_val = false;  // no real face at an unseen pose informs any choice
      const std::string stem = "seed" + std::to_string(t.config.seed);
      const RunOutcome a = train_or_load(out / stem, t, hooks);
      if (a.interrupted) return result.interrupted = true, result;
      const RunOutcome b = train_or_load(out / (stem + "_k0"), real_only(t), hooks);
      if (b.interrupted) return result.interrupted = true, result;
      joint.push_back(a.report);
      base.push_back(b.report);
      jr.fold_accuracy.push_back(a.report.accuracy);
      br.fold_accuracy.push_back(b.report.accuracy);
      unseen_j.push_back(unseen_pose_accuracy(a.report, seen));
      unseen_b.push_back(unseen_pose_accuracy(b.report, seen));
      gains.push_back(unseen_j.back() - unseen_b.back());
    }
    jr.report = mean_report(joint);
    br.report = mean_report(base);
    rows = {jr, br};
    const auto [mj, sj] = mean_sd(unseen_j);
    const auto [mb, sb] = mean_sd(unseen_b);
    const auto [mg, sg] = mean_sd(gains);
    in.title = "Unseen poses: C_exp's real faces at " + seen + " only";
    in.description = "Data " + data + ", fold " + fold + " (subject-independent), " + std::to_string(job.seeds) +
                     " training seed(s). C_exp sees real faces only at the pose(s) " + seen +
                     "; G trains on every pose of the training people and adds " +
                     std::to_string(job.base.config.gen_k) +
                     " generated face(s) per real face at random expressions x poses. Against it: the same C_exp "
                     "on the same real faces alone. Fixed epochs (no selection); tables are means over the seeds.";
    in.notes.push_back("Accuracy on the poses C_exp never saw (mean ± sd over " + std::to_string(job.seeds) +
                       " seeds): real + generated " + format_percent(mj) + " ± " + format_percent(sj) + "%, real only " + format_percent(mb) + " ± " +
                       format_percent(sb) + "%; paired gain " + format_percent(mg) + " ± " + format_percent(sg) + " points.");
    in.extra["unseen_poses"] = {{"seeds", job.seeds},          {"train_poses", seen},
                                {"with_generated", 100 * mj},  {"with_generated_sd", 100 * sj},
                                {"real_only", 100 * mb},       {"real_only_sd", 100 * sb},
                                {"gain_mean", 100 * mg},       {"gain_sd", 100 * sg},
                                {"with_generated_per_seed", percent(unseen_j)}, {"real_only_per_seed", percent(unseen_b)}};
    add_peer(job, data, fold, 0, rows, in);
    add_sheets(job, out / ("seed" + std::to_string(job.base.config.seed)), in);
  } else {  // cross-dataset
    const DataSpec spec_b = parse_data_spec(job.data_b);
    TrainJob a = job.base;
    if (a.channels == 0) a.channels = load_dataset(spec_b).native_channels;  // G must take B's images
    const RunOutcome ra = train_or_load(out / "a", a, hooks);
    if (ra.interrupted) return result.interrupted = true, result;
    DataConfig b = job.base.config.data;
    b.spec = job.data_b;
    b.fold = "official";
    b.max_train = job.max_train_b;
    b.align = "";
    b.pose_from_landmarks = 0;
    AugmentJob aj;
    aj.checkpoint = (out / "a").string();
    aj.data = b;
    aj.k = job.base.config.gen_k;
    aj.out = (out / "augment").string();
    aj.seed = job.base.config.seed;
    aj.threads = job.base.config.threads;
    aj.progress = job.base.config.progress;
    const AugmentResult ar = with_context("augmenting " + job.data_b, [&] { return run_augment_job(aj); });
    TrainJob tb = real_only(job.base);
    tb.config.data = b;
    tb.channels = a.channels;
    tb.config.select_on_val = true;
    const RunOutcome real = train_or_load(out / "b_real", tb, hooks);
    if (real.interrupted) return result.interrupted = true, result;
    tb.config.data.extra_train = "manifest:" + ar.manifest;
    const RunOutcome aug = train_or_load(out / "b_augmented", tb, hooks);
    if (aug.interrupted) return result.interrupted = true, result;
    rows = {{"real + generated by A's G (k = " + std::to_string(aj.k) + ")", aug.report, {aug.report.accuracy}},
            {"real only", real.report, {real.report.accuracy}}};
    in.title = "Cross-data-set: generator from " + data + ", classifier on " + job.data_b;
    in.description = "The joint model trained on A = " + data + " generates " + std::to_string(aj.k) +
                     " face(s) per training image of B = " + job.data_b +
                     " at random targets among A's poses x expressions; B's classifier is trained on real + "
                     "generated faces and on real faces only, selected on B's validation part, tested on B's test part.";
    std::string mapping;
    for (const auto& m : ar.mapping) mapping += (mapping.empty() ? "" : "; ") + m;
    in.notes.push_back("A's classifier on A's own test part: " + format_percent(ra.report.accuracy) + "%.");
    in.notes.push_back(std::to_string(ar.generated) + " generated faces from " + std::to_string(ar.sources) +
                       " B training images; class mapping A -> B: " + mapping + ".");
    in.extra["a_accuracy"] = ra.report.accuracy;
    in.extra["generated"] = ar.generated;
    add_peer(job, job.data_b, "official", job.base.config.data.max_test, rows, in);
    add_sheets(job, out / "a", in);
  }
  write_report(job, rows, in, result);
  result.rows = rows;
  return result;
}

}  // namespace posefer
