#include "posefer/jobs/pipeline.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "posefer/core/check.h"
#include "posefer/core/csv.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/data/dataset_util.h"
#include "posefer/core/durable_file.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/io/image_io.h"
#include "posefer/render/make_faces.h"
#include "posefer/report/report.h"
#include "posefer/train/run_identity.h"
#include "posefer/core/run_lock.h"
#include "posefer/eval/synthesis_eval.h"
#include "posefer/eval/synthesizer.h"

namespace posefer {

namespace fs = std::filesystem;

void set_threads(int n) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  POSEFER_CHECK_CONFIG(n <= cores, "--threads ", n, ": this machine has ", cores,
                       " core(s); more threads than cores make every step slower");
  torch::set_num_threads(n > 0 ? n : cores);
}

std::string resolve_checkpoint_path(const std::string& path) {
  if (!fs::is_directory(path)) return path;
  const auto last = (fs::path(path) / "checkpoint.pt").string();
  const auto best = (fs::path(path) / "best.pt").string();
  if (fs::exists(best) && fs::exists(last) && read_checkpoint_config(last).select_on_val) return best;
  return last;
}

namespace {

void write_eval(const EvalResult& r, const std::string& dir, const std::string& title) {
  fs::create_directories(dir);
  write_file_atomic(dir + "/eval.json", r.to_json().dump(2) + "\n");
  write_document(r.document(title), dir + "/eval.md", dir + "/eval.html");
  spdlog::info("evaluation written to {}/eval.json, eval.md and eval.html", dir);
}

}  // namespace

LoadedModel load_trained_model(const std::string& checkpoint_arg) {
  const std::string path = resolve_checkpoint_path(checkpoint_arg);
  LoadedModel lm;
  lm.config = read_checkpoint_config(path);
  lm.model = std::make_unique<JointModel>(lm.config.model, lm.config.optim, resolve_device(lm.config.device));
  load_checkpoint(path, *lm.model, lm.state);
  lm.model->eval();
  lm.path = path;
  spdlog::info("model: {} (epoch {})", path, lm.state.epoch);
  return lm;
}

LoadedModel load_trained_models(const std::vector<std::string>& checkpoints) {
  POSEFER_CHECK_CONFIG(!checkpoints.empty(), "no checkpoint given");
  LoadedModel lm = load_trained_model(checkpoints[0]);
  for (size_t i = 1; i < checkpoints.size(); ++i) {
    auto m = std::make_unique<LoadedModel>(load_trained_model(checkpoints[i]));
    const auto differs = [&](const char* what) {
      return ConfigError("ensemble: " + m->path + " differs from " + lm.path + " in its " + what +
                         " (an ensemble's members must label and prepare faces alike)");
    };
    if (m->state.expression_names != lm.state.expression_names) throw differs("expression classes");
    if (m->state.pose_names != lm.state.pose_names) throw differs("pose classes");
    if (m->config.model.image_size != lm.config.model.image_size) throw differs("image size");
    if (m->config.model.channels != lm.config.model.channels) throw differs("channels");
    const DataConfig& a = m->config.data;
    const DataConfig& b = lm.config.data;
    if (a.align != b.align || a.crop != b.crop || a.crop_fraction != b.crop_fraction) {
      throw differs("face preparation (data align / crop / crop fraction)");
    }
    lm.ensemble.push_back(std::move(m));
  }
  return lm;
}

LoadedModel load_trained_models(const std::string& first, const std::vector<std::string>& more) {
  std::vector<std::string> checkpoints{first};
  checkpoints.insert(checkpoints.end(), more.begin(), more.end());
  return load_trained_models(checkpoints);
}

bool votes_on_pose(const LoadedModel& lm) {
  bool every = lm.model->config.pose_head;
  for (const auto& m : lm.ensemble) every = every && m->model->config.pose_head;
  return every;
}

std::vector<ClassifierMember> classifier_members(LoadedModel& lm) {
  std::vector<ClassifierMember> members;
  const auto add = [&](LoadedModel& m) {
    m.model->cls->eval();
    members.push_back(
        {m.model->cls.get(), m.config.tta_flip, classifier_pose_mirror(m.config, m.state.pose_names), m.config.tta_crop});
  };
  add(lm);
  for (auto& m : lm.ensemble) add(*m);
  return members;
}

void override_tta_crop(LoadedModel& lm, double f) {
  if (f < 0) return;
  POSEFER_CHECK_CONFIG(f <= 0.5, "--tta-crop must be in [0, 0.5], got ", f);
  lm.config.tta_crop = f;
  for (auto& m : lm.ensemble) m->config.tta_crop = f;
}

namespace {

// skipped.csv of a run: "part,path,reason" for every image the reader left out (part "dataset":
// missing file, duplicate row, no aligned face, ...) and every one that failed to decode in the
// train / val / test part; and how many rows it has.
std::pair<std::string, size_t> skipped_csv(const PreparedData& data) {
  std::string out = "part,path,reason\n";
  size_t n = 0;
  auto add = [&](const char* part, const std::vector<std::string>& entries) {
    for (const auto& e : entries) {
      const size_t colon = e.find(": ");
      const std::string path = colon == std::string::npos ? e : e.substr(0, colon);
      const std::string reason = colon == std::string::npos ? "" : e.substr(colon + 2);
      out += std::string(part) + "," + csv::escape(path) + "," + csv::escape(reason) + "\n";
      ++n;
    }
  };
  add("dataset", data.dataset.skipped);
  add("train", data.train.skipped);
  add("val", data.val.skipped);
  add("test", data.test.skipped);
  return {out, n};
}

}  // namespace

TrainJobResult run_train_job(TrainJob job, const TrainHooks& hooks) {
  POSEFER_CHECK_CONFIG(!job.run_dir.empty(), "an output directory (--out) is required");
  // Settings are checked before any data is read or any folder made (the label counts it checks
  // are the defaults here; the trainer checks them again once the data has filled them in).
  if (!job.resume) job.config.validate();
  const std::string ckpt = job.run_dir + "/checkpoint.pt";
  // Rank 0 speaks for a data-parallel run (its workers share the folder by design).
  std::unique_ptr<RunLock> lock;
  if (!job.dist || job.dist->is_main()) lock = std::make_unique<RunLock>(job.run_dir);
  if (const int stale = remove_stale_temp_files(job.run_dir); stale > 0) {
    spdlog::info("{}: removed {} temp file(s) left by an interrupted save", job.run_dir, stale);
  }
  if (job.resume) {
    POSEFER_CHECK_INPUT(fs::exists(ckpt), job.run_dir, ": nothing to resume (no checkpoint.pt)");
    std::vector<std::string> missing;
    auto stored = read_checkpoint_config(ckpt, &missing);
    check_config_migration(ckpt, missing, job.migrate);
    // The run's own config wins; only the length (when asked) and runtime knobs may change.
    const TrainConfig before = stored;
    if (job.resume_epochs > 0) stored.epochs = job.resume_epochs;
    if (job.resume_cls_cycle >= 0) stored.optim.cls_cycle = job.resume_cls_cycle;
    stored.optim.validate();
    if (stored.epochs != before.epochs || stored.optim.cls_cycle != before.optim.cls_cycle) {
      const int begun = read_checkpoint_epochs_begun(ckpt);
      const std::string change =
          classifier_schedule_change(before.optim, before.epochs, stored.optim, stored.epochs, begun);
      POSEFER_CHECK_CONFIG(change.empty(), "--resume ", job.run_dir, ": the new length or cycle changes C_exp's ",
                           "learning rate in the ", begun, " epoch(s) already begun (", change, ")",
                           before.optim.cls_schedule == "cosine" && before.optim.cls_cycle == 0
                               ? "; to go on past a finished cosine, restart it: --cls-cycle " +
                                     std::to_string(before.epochs)
                               : std::string());
    }
    stored.threads = job.config.threads;
    stored.progress = job.config.progress;
    stored.checkpoint_minutes = job.config.checkpoint_minutes;  // a runtime knob, as threads
    job.config = stored;
  } else {
    POSEFER_CHECK_CONFIG(!fs::exists(ckpt), job.run_dir,
                         " already holds a run (checkpoint.pt); use --resume or another --out");
    // A run killed before its first checkpoint left logs only: they are moved aside, so the new
    // run's logs start clean (and nothing of the old one is lost).
    std::vector<std::string> stale_logs;
    for (const char* name : {"log.csv", "epochs.csv", "eval.json", "eval.md", "best.pt"}) {
      if (fs::exists(fs::path(job.run_dir) / name)) stale_logs.push_back(name);
    }
    if (!stale_logs.empty() && (!job.dist || job.dist->is_main())) {
      fs::path aside;
      for (int k = 1; fs::exists(aside = fs::path(job.run_dir) / ("previous-" + std::to_string(k))); ++k) {
      }
      fs::create_directories(aside);
      for (const auto& name : stale_logs) fs::rename(fs::path(job.run_dir) / name, aside / name);
      spdlog::warn("{} held the logs of a run without a checkpoint: moved to {}", job.run_dir, aside.string());
    }
  }
  const int world = job.dist ? job.dist->world_size() : 1;
  const bool main_rank = !job.dist || job.dist->is_main();
  check_data_parallel(job.config.batch_size, world);
  // W processes share the cores: 0 = cores / W threads each.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  set_threads(job.config.threads > 0 ? job.config.threads : std::max(1, cores / world));
  PrepareOptions popt;
  popt.image_size = job.config.model.image_size;
  popt.channels = job.resume ? job.config.model.channels : job.channels;
  popt.progress = job.config.progress && main_rank;
  popt.test = main_rank && (job.evaluate || job.config.data.fold == "official" || job.config.data.val_fraction > 0);
  // Rank 0 prepares the data first (it may fill the --align auto cache), the others then read it.
  if (world > 1 && !main_rank) job.dist->barrier();
  PreparedData data = prepare_data(job.config.data, popt);
  if (world > 1 && main_rank) job.dist->barrier();
  POSEFER_CHECK_INPUT(data.train.size() >= 2, job.config.data.spec, ": the training part has ",
                      data.train.size(), " readable images");
  if (!job.resume && main_rank) {
    // Which subjects went where, so anyone can pick a test face for `synthesize`.
    auto subjects = [&](const std::vector<size_t>& idx) {
      std::set<std::string> out;
      for (size_t i : idx) out.insert(data.dataset.samples[i].subject);
      // Sets without subject ids (each image its own subject) would list every file.
      if (out.size() > 1000) return nlohmann::json(std::to_string(out.size()) + " subjects");
      return nlohmann::json(std::vector<std::string>(out.begin(), out.end()));
    };
    nlohmann::json split;
    split["fold"] = job.config.data.fold;
    split["train_subjects"] = subjects(data.split.train);
    split["val_subjects"] = subjects(data.split.val);
    split["test_subjects"] = subjects(data.split.test);
    fs::create_directories(job.run_dir);
    write_file_atomic(job.run_dir + "/split.json", split.dump(1) + "\n");
  }
  if (main_rank) {
    // Every image gets an outcome: those left out, by the reader or at decoding, are listed.
    fs::create_directories(job.run_dir);
    const auto [csv, count] = skipped_csv(data);
    write_file_atomic(job.run_dir + "/skipped.csv", csv);
    if (count > 0) spdlog::warn("{} image(s) left out: listed in {}/skipped.csv", count, job.run_dir);
  }
  auto& m = job.config.model;
  m.channels = static_cast<int>(data.train.images.size(1));
  m.num_expressions = static_cast<int>(data.dataset.expression_names.size());
  m.num_poses = static_cast<int>(data.dataset.pose_names.size());

  POSEFER_CHECK_CONFIG(!job.config.select_on_val || !main_rank || data.val.size() > 0,
                       "--select-on-val needs a validation part: split ", job.config.data.fold,
                       " has none (add --val-fraction F for k/K and subjects:F splits)");
  Trainer trainer(job.config, job.run_dir, data.dataset.expression_names, data.dataset.pose_names, job.dist);
  const nlohmann::json fingerprint = data_fingerprint(job.config.data, data);
  if (job.resume) {
    trainer.resume(ckpt);
    // Rank 0 checks: the other ranks decode no validation part, so their fingerprint differs.
    const nlohmann::json& stored = trainer.state().data_fingerprint;
    if (main_rank && stored.is_null()) {
      spdlog::warn("{}: the checkpoint predates data fingerprints; the data cannot be checked against the run's",
                   ckpt);
    } else if (const std::string diff = fingerprint_mismatch(stored, fingerprint); main_rank && !diff.empty()) {
      throw InputError(job.run_dir + ": the data differs from the data this run was trained on (" + diff +
                       "); start a new run with --out");
    }
  }
  trainer.set_data_fingerprint(fingerprint);
  if (!job.resume && job.config.model.cls_arch != "vgg19" && job.config.pretrained != "none") {
    const std::string dir = job.config.pretrained.empty() ? default_pretrained_dir(job.config.model.cls_arch)
                                                             : job.config.pretrained;
    load_pretrained_backbone(*trainer.model().cls, dir);
    if (main_rank) spdlog::info("C_exp backbone ({}): pretrained weights from {}", job.config.model.cls_arch, dir);
  }
  TrainJobResult result;
  result.train = trainer.fit(data.train, data.val.size() > 0 ? &data.val : nullptr, hooks);
  if (result.train.interrupted || !job.evaluate || !main_rank) return result;
  const ImageSet& test = data.test.size() > 0 ? data.test : data.val;
  if (test.size() == 0) {
    spdlog::warn("no test images in split {}: skipping evaluation", job.config.data.fold);
    return result;
  }
  if (job.config.select_on_val && trainer.state().best_epoch > 0) {
    // Model selection on the validation part: evaluate the best epoch's nets.
    TrainState best;
    load_checkpoint(job.run_dir + "/best.pt", trainer.model(), best);
    spdlog::info("evaluating the epoch with the best validation accuracy: {} ({:.1f}%)", best.best_epoch,
                 100 * best.best_val);
  }
  result.eval = evaluate_classifier(trainer.model(), test, data.dataset.expression_names,
                                    data.dataset.pose_names, job.config.tta_flip,
                                    classifier_pose_mirror(job.config, data.dataset.pose_names), job.config.tta_crop);
  if (job.eval.disentangle && job.config.train_gan) {
    result.eval.disentanglement = evaluate_disentanglement(trainer.model(), data.train, test, job.eval);
  }
  result.evaluated = true;
  write_eval(result.eval, job.run_dir, job.config.data.spec + " split " + job.config.data.fold);
  return result;
}

EvalResult run_evaluate_job(const EvaluateJob& job) {
  set_threads(job.threads);
  POSEFER_CHECK_CONFIG(job.part == "test" || job.part == "val", "evaluate: part must be test or val, got '",
                       job.part, "'");
  auto lm = load_trained_models(job.checkpoint, job.ensemble);
  override_tta_crop(lm, job.tta_crop);
  DataConfig data = lm.config.data;
  if (!job.data.empty()) data.spec = job.data;
  if (!job.fold.empty()) data.fold = job.fold;
  PrepareOptions popt;
  popt.image_size = lm.config.model.image_size;
  popt.channels = lm.config.model.channels;
  popt.progress = job.eval.progress;
  popt.train = job.eval.disentangle;
  PreparedData prepared = prepare_data(data, popt);
  POSEFER_CHECK_CONFIG(prepared.dataset.expression_names == lm.state.expression_names,
                       data.spec, ": its expression classes differ from the checkpoint's");
  const bool val = job.part == "val";
  const ImageSet& test = val ? prepared.val : prepared.test.size() > 0 ? prepared.test : prepared.val;
  POSEFER_CHECK_INPUT(test.size() > 0, data.spec, ": split ", data.fold, " has no ",
                      val ? "validation images (train with --val-fraction, or a split with a validation part)"
                          : "test images");
  auto r = evaluate_classifier(classifier_members(lm), lm.model->device, test, lm.state.expression_names,
                               lm.state.pose_names);
  if (job.eval.disentangle && lm.config.train_gan && prepared.train.size() >= 2 &&
      prepared.dataset.pose_names == lm.state.pose_names) {
    r.disentanglement = evaluate_disentanglement(*lm.model, prepared.train, test, job.eval);
  }
  if (job.synthesis) {
    POSEFER_CHECK_CONFIG(prepared.dataset.pose_names == lm.state.pose_names, data.spec,
                         ": its pose classes differ from the checkpoint's (synthesis check needs them equal)");
    SynthesisEvalOptions so;
    so.max_inputs = job.synthesis_inputs;
    so.seed = job.eval.seed;
    so.progress = job.eval.progress;
    r.synthesis = evaluate_synthesis(*lm.model, test, prepared.dataset, so);
    if (prepared.train.size() > 0) {
      // Training people: whether G learnt the codes on the faces it fitted. A training part
      // without several photos per person has nothing to compare: the held-out check stands alone.
      try {
        r.synthesis_train = evaluate_synthesis(*lm.model, prepared.train, prepared.dataset, so);
      } catch (const InputError& e) {
        spdlog::warn("synthesis check on the training people skipped: {}", e.what());
      }
    }
  }
  std::ostringstream crop;
  if (job.tta_crop >= 0) crop << "_crop" << job.tta_crop;
  const std::string out_dir = job.out_dir.empty()
      ? (fs::path(lm.path).parent_path() /
         (std::string("eval") + (val ? "_val" : "") + (lm.ensemble.empty() ? "" : "_ensemble") +
          crop.str())).string()
      : job.out_dir;
  std::string title = data.spec + " split " + data.fold + (val ? ", validation part" : "");
  if (!lm.ensemble.empty()) title += ", ensemble of " + std::to_string(lm.ensemble.size() + 1) + " models";
  write_eval(r, out_dir, title);
  if (!lm.ensemble.empty()) {
    nlohmann::json members = nlohmann::json::array({lm.path});
    for (const auto& m : lm.ensemble) members.push_back(m->path);
    write_file_atomic(out_dir + "/ensemble.json", nlohmann::json{{"members", members}, {"part", job.part}}.dump(2) + "\n");
  }
  // Every image gets an outcome: n in eval.json counts those scored, skipped.csv names the rest.
  const auto [skipped, count] = skipped_csv(prepared);
  write_file_atomic(out_dir + "/skipped.csv", skipped);
  if (count > 0) spdlog::warn("{} image(s) left out of the evaluation: listed in {}/skipped.csv", count, out_dir);
  return r;
}

std::pair<int, int> run_synthesize_job(const SynthesizeJob& job) {
  POSEFER_CHECK_CONFIG(job.changes >= 0, "--changes must be >= 0, got ", job.changes);
  POSEFER_CHECK_CONFIG(job.zoom >= 1 && job.zoom <= 16, "--zoom must be in [1, 16], got ", job.zoom);
  {
    std::string ext = fs::path(job.out).extension().string();
    for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    POSEFER_CHECK_CONFIG(ext == ".png", "--out ", job.out, ": synthesize writes PNG images; name the file .png");
  }
  const bool one_face = !job.expression.empty() || !job.pose.empty();
  POSEFER_CHECK_CONFIG(job.changes == 0 || (job.labels && !one_face),
                       "--changes draws a panel beside the labelled grid: not with --plain or --expression/--pose");
  set_threads(job.threads);
  auto lm = load_trained_model(job.checkpoint);
  const auto& mc = lm.config.model;
  const auto kind = parse_data_spec(lm.config.data.spec).kind;
  auto face = to_model_range(with_context("reading " + job.image, [&] {
    return load_face_image(job.image, mc.channels, mc.image_size, resolve_crop(lm.config.data, kind),
                           lm.config.data.crop_fraction);
  }));
  torch::Tensor out;
  if (one_face) {
    POSEFER_CHECK_CONFIG(!job.expression.empty() && !job.pose.empty(),
                         "give both --expression and --pose for a single face (or neither for the grid)");
    const auto e = resolve_label(job.expression, lm.state.expression_names, "expression");
    const auto p = resolve_label(job.pose, lm.state.pose_names, "pose");
    out = synthesize_face(lm.model->gen, face, e, p);
  } else if (job.labels) {
    const auto faces = synthesis_faces(lm.model->gen, face);
    std::vector<RgbImage> panels{
        labelled_grid(zoom_images(face.unsqueeze(0), job.zoom), {""}, {""}, "input x"),
        labelled_grid(zoom_images(faces, job.zoom), lm.state.pose_names, lm.state.expression_names, "G(x, e, p)")};
    if (job.changes > 0) {
      const auto& names = lm.state.expression_names;
      const int64_t ref = reference_expression(names);
      char gain[32];
      std::snprintf(gain, sizeof gain, "%g", job.changes);
      panels.push_back(labelled_grid(zoom_images(change_maps(faces, static_cast<int64_t>(names.size()), ref, job.changes), job.zoom),
                                     lm.state.pose_names, names,
                                     "|G(x, e, p) - G(x, " + names[ref] + ", p)| x " + gain));
    }
    const RgbImage sheet = hconcat(panels, 24);
    write_rgb_png(job.out, sheet, 9);
    return {sheet.width, sheet.height};
  } else {
    out = synthesis_grid(lm.model->gen, face);
    std::string cols;
    for (const auto& n : lm.state.expression_names) cols += " " + n;
    std::string rows;
    for (const auto& n : lm.state.pose_names) rows += " " + n;
    spdlog::info("grid columns: input{}; rows:{}", cols, rows);
  }
  out = zoom_images(out.unsqueeze(0), job.zoom).squeeze(0);
  write_png(job.out, out);
  return {static_cast<int>(out.size(2)), static_cast<int>(out.size(1))};
}

}  // namespace posefer
