#include "posefer/jobs/demo.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/io/image_io.h"
#include "posefer/render/make_faces.h"
#include "posefer/jobs/pipeline.h"
#include "posefer/report/document.h"
#include "posefer/report/report.h"
#include "posefer/data/splits.h"
#include "posefer/eval/synthesis_eval.h"

namespace posefer {

namespace fs = std::filesystem;

namespace {

std::string pct(double v) { return std::isfinite(v) ? format_percent(v) + "%" : "-"; }

double json_num(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

// Rows of the accuracy table: overall, per pose, per expression; one column per run.
std::vector<std::vector<std::string>> accuracy_rows(const EvalResult& real_only, const EvalResult& joint) {
  std::vector<std::vector<std::string>> rows;
  const auto& a = real_only.expression;
  const auto& b = joint.expression;
  rows.push_back({"expression, all test faces", std::to_string(b.count), pct(a.accuracy), pct(b.accuracy)});
  for (size_t g = 0; g < b.group_names.size(); ++g) {
    rows.push_back({"expression, pose " + b.group_names[g], std::to_string(b.group_count[g]),
                    pct(g < a.group_accuracy.size() ? a.group_accuracy[g] : NAN), pct(b.group_accuracy[g])});
  }
  for (size_t c = 0; c < b.class_names.size(); ++c) {
    rows.push_back({"expression " + b.class_names[c], std::to_string(b.class_count[c]),
                    pct(c < a.class_accuracy.size() ? a.class_accuracy[c] : NAN), pct(b.class_accuracy[c])});
  }
  if (joint.pose.count > 0) {
    rows.push_back({"pose (pose head), all test faces", std::to_string(joint.pose.count),
                    pct(real_only.pose.count > 0 ? real_only.pose.accuracy : NAN), pct(joint.pose.accuracy)});
  }
  return rows;
}

// The settings that decide the rendered faces; a folder rendered with others is not reused.
nlohmann::json render_key(const MakeFacesJob& f) {
  return {{"identities", f.identities}, {"poses", f.poses}, {"expressions", f.expressions},
          {"size", f.size}, {"intensity", f.intensity}, {"seed", f.seed}, {"supersample", f.supersample}};
}

// Index of the pose whose images have the smallest mean |yaw| (the frontal view).
}  // namespace

void DemoJob::validate() const {
  POSEFER_CHECK_CONFIG(!out.empty(), "demo: --out must not be empty");
  POSEFER_CHECK_CONFIG(identities >= 2 && identities <= 9999, "demo: --identities must be in 2..9999, got ", identities);
  POSEFER_CHECK_CONFIG(image_size >= 32 && image_size % 32 == 0, "demo: --image-size must be a multiple of 32, got ", image_size);
  POSEFER_CHECK_CONFIG(epochs >= 1, "demo: --epochs must be >= 1, got ", epochs);
  POSEFER_CHECK_CONFIG(k >= 1 && k <= 100, "demo: --k must be in 1..100 (the demo compares k generated faces with none), got ", k);
  POSEFER_CHECK_CONFIG(batch >= 2 && batch <= 4096, "demo: --batch must be in 2..4096, got ", batch);
  POSEFER_CHECK_CONFIG(grid_subjects >= 0, "demo: --grid-subjects must be >= 0, got ", grid_subjects);
  POSEFER_CHECK_CONFIG(judge_epochs >= 1, "demo: --judge-epochs must be >= 1, got ", judge_epochs);
  POSEFER_CHECK_CONFIG(adv_att >= 0, "demo: --adv-att must be >= 0, got ", adv_att);
  plot.validate();
}

DemoResult run_demo(const DemoJob& job, const TrainHooks& hooks) {
  job.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path out(job.out);
  fs::create_directories(out);
  DemoResult result;

  // 1. The rendered face set (reused when rendered with the same settings).
  MakeFacesJob fj;
  fj.identities = job.identities;
  fj.poses = job.poses;
  fj.expressions = job.expressions;
  fj.size = job.image_size;
  fj.seed = job.seed;
  fj.out = (out / "faces").string();
  fj.threads = job.threads;
  fj.progress = job.progress;
  const std::string key_path = (out / "faces" / "render.json").string();
  const std::string manifest = (out / "faces" / "manifest.csv").string();
  bool reuse = false;
  if (fs::exists(key_path) && fs::exists(manifest)) {
    try {
      reuse = nlohmann::json::parse(read_text_file(key_path)) == render_key(fj);
    } catch (const nlohmann::json::exception&) {
      reuse = false;
    }
  }
  if (reuse) {
    spdlog::info("demo: reusing the rendered faces in {}", fj.out);
  } else {
    POSEFER_CHECK_CONFIG(!fs::exists(out / "joint") && !fs::exists(out / "baseline"), job.out,
                         " holds runs trained on other rendered faces; use another --out or remove it");
    spdlog::info("demo: rendering {} people x {} poses x {} expressions at {} px", job.identities, job.poses,
                 job.expressions, job.image_size);
    fj.should_stop = hooks.should_stop;
    const auto made = make_faces(fj);
    if (made.interrupted) {
      // The key is written only for a finished set: the next run draws the rest (make_faces resumes).
      spdlog::warn("demo: interrupted while rendering ({} faces so far); run the same command to continue",
                   made.images);
      result.interrupted = true;
      return result;
    }
    write_file_atomic(key_path, render_key(fj).dump(1) + "\n");
    spdlog::info("demo: {} faces rendered in {:.1f} s", made.images, made.seconds);
  }

  // 2. The two runs: joint model (k generated faces per real one) and the real-only classifier.
  TrainConfig base;
  base.data.spec = "manifest:" + manifest;
  base.data.fold = job.fold;
  base.data.split_seed = job.seed;
  base.model.image_size = job.image_size;
  base.model.gen_width = job.gen_width;
  base.model.disc_width = job.disc_width;
  base.model.cls_width = job.cls_width;
  base.optim.cls_lr = job.cls_lr;
  base.loss.adv_att = job.adv_att;
  base.epochs = job.epochs;
  base.batch_size = job.batch;
  // G first learns to reconstruct; its faces reach the classifier (and the classifier's
  // feedback reaches G) after the first third of training.
  base.gen_warmup = std::max(1, job.epochs / 3);
  base.loss.cls_feedback_warmup = base.gen_warmup;
  base.extra_g_steps = 0;
  base.gen_k = job.k;
  base.checkpoint_every = 5;
  base.seed = job.seed;
  base.threads = job.threads;
  base.progress = job.progress;

  auto run = [&](const std::string& name, TrainConfig cfg, bool disentangle) {
    TrainJob tj;
    tj.config = std::move(cfg);
    tj.run_dir = (out / name).string();
    tj.resume = fs::exists(out / name / "checkpoint.pt");
    tj.evaluate = true;
    tj.eval.disentangle = disentangle;
    tj.eval.judge_epochs = job.judge_epochs;
    tj.eval.progress = job.progress;
    tj.eval.seed = job.seed;
    if (tj.resume) spdlog::info("demo: continuing the {} run in {}", name, tj.run_dir);
    return with_context("demo " + name + " run", [&] { return run_train_job(tj, hooks); });
  };
  TrainConfig real_only = base;
  real_only.train_gan = false;
  real_only.gen_k = 0;
  spdlog::info("demo: [1/2] classifier on real faces only (k = 0)");
  const auto r0 = run("baseline", real_only, false);
  if (r0.train.interrupted) {
    result.interrupted = true;
    return result;
  }
  spdlog::info("demo: [2/2] joint model, classifier on real + {} generated face(s) per real face", job.k);
  const auto r1 = run("joint", base, true);
  if (r1.train.interrupted) {
    result.interrupted = true;
    return result;
  }
  POSEFER_CHECK(r0.evaluated && r1.evaluated, "demo: the runs have no test part to evaluate (fold ", job.fold, ")");

  // 3. Synthesis against the true renders, and the sheets.
  auto lm = load_trained_model((out / "joint").string());
  PrepareOptions popt;
  popt.image_size = lm.config.model.image_size;
  popt.channels = lm.config.model.channels;
  popt.train = false;
  popt.test = true;
  popt.progress = job.progress;
  const PreparedData data = prepare_data(lm.config.data, popt);
  SynthesisEvalOptions so;
  so.seed = job.seed;
  so.progress = job.progress;
  const nlohmann::json synthesis = evaluate_synthesis(*lm.model, data.test, data.dataset, so);
  write_file_atomic((out / "synthesis.json").string(), synthesis.dump(2) + "\n");
  std::set<std::string> test_subjects;
  for (size_t i : data.test.sample_index) test_subjects.insert(data.dataset.samples[i].subject);
  std::vector<std::pair<std::string, std::string>> sheets;  // (person, file)
  for (const auto& s : test_subjects) {
    if (static_cast<int>(sheets.size()) >= job.grid_subjects) break;
    sheets.emplace_back(s, write_synthesis_sheet(*lm.model, data.test, data.dataset, s, job.out));
  }

  // 4. Charts.
  write_confusion_chart((out / "confusion_joint.png").string(), r1.eval.expression,
                        "real + generated (k = " + std::to_string(job.k) + ")", job.plot);
  write_confusion_chart((out / "confusion_baseline.png").string(), r0.eval.expression,
                        "real faces only (k = 0)", job.plot);
  const NumericTable ep1 = read_numeric_csv((out / "joint" / "epochs.csv").string());
  const NumericTable ep0 = read_numeric_csv((out / "baseline" / "epochs.csv").string());
  LineChartOptions lo;
  lo.title = "joint run: losses per epoch (log scale)";
  lo.x_label = "epoch";
  lo.y_label = "mean loss";
  lo.log_y = true;
  write_epoch_chart((out / "loss.png").string(), ep1, {"l1", "d_att", "d_i", "c_real", "c_gen", "g_cls"}, lo, job.plot);
  LineChartOptions ao;
  ao.title = "classifier accuracy on its real training batches";
  ao.x_label = "epoch";
  ao.y_label = "accuracy";
  write_line_chart((out / "accuracy.png").string(),
                   {Series{"real + generated (k = " + std::to_string(job.k) + ")", ep1.column("epoch"), ep1.column("c_acc")},
                    Series{"real only (k = 0)", ep0.column("epoch"), ep0.column("c_acc")}},
                   ao, job.plot);

  // 5. Summary, report.md and index.html.
  const auto acc_rows = accuracy_rows(r0.eval, r1.eval);
  const std::vector<std::string> acc_header{"test accuracy", "faces", "real only (k = 0)",
                                            "real + generated (k = " + std::to_string(job.k) + ")"};
  const auto& d = r1.eval.disentanglement;
  const std::vector<std::vector<std::string>> synth_rows{
      {"L1 to the true render (0..1, lower is better)", format_number(json_num(synthesis, "l1"), 4), format_number(json_num(synthesis, "copy_l1"), 4)},
      {"SSIM to the true render (higher is better)", format_number(json_num(synthesis, "ssim"), 3), format_number(json_num(synthesis, "copy_ssim"), 3)},
  };
  const std::vector<std::vector<std::string>> check_rows{
      {"identity kept: nearest test person by f(G(x, e, p))", pct(json_num(synthesis, "identity_accuracy")),
       "real faces " + pct(json_num(synthesis, "identity_accuracy_real")) + ", chance " + pct(json_num(synthesis, "identity_chance"))},
      {"identity by an independent judge CNN (fitted on every other real test face)", pct(json_num(synthesis, "identity_judge_accuracy")),
       "real faces it did not see " + pct(json_num(synthesis, "identity_judge_real")) + ", chance " + pct(json_num(synthesis, "identity_chance"))},
      {"independent judge: target expression of generated faces", pct(json_num(d, "judge_generated_expression_accuracy")),
       "on real test faces " + pct(json_num(d, "judge_real_expression_accuracy"))},
      {"independent judge: target pose of generated faces", pct(json_num(d, "judge_generated_pose_accuracy")),
       "on real test faces " + pct(json_num(d, "judge_real_pose_accuracy"))},
      {"linear probe reads pose from f(x) (leak)", pct(json_num(d, "probe_pose_accuracy")), ""},
      {"linear probe reads expression from f(x) (leak)", pct(json_num(d, "probe_expression_accuracy")), ""},
  };
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t n_train = data.split.train.size(), n_test = data.test.size();
  std::set<std::string> train_subjects;
  for (size_t i : data.split.train) train_subjects.insert(data.dataset.samples[i].subject);
  const std::string setup =
      std::to_string(job.identities) + " rendered people x " + std::to_string(data.dataset.pose_names.size()) +
      " poses x " + std::to_string(data.dataset.expression_names.size()) + " expressions at " +
      std::to_string(job.image_size) + " px; subject-independent split " + job.fold + ": " +
      std::to_string(train_subjects.size()) + " people (" + std::to_string(n_train) + " faces) train, " +
      std::to_string(test_subjects.size()) + " people (" + std::to_string(n_test) + " faces) test. Both runs: " +
      std::to_string(job.epochs) + " epochs, classifier VGG-19-BN x " + format_number(job.cls_width, 3) +
      "; the joint run adds " + std::to_string(job.k) + " generated face(s) per real face from epoch " +
      std::to_string(base.gen_warmup + 1) + " on; G's weight against D_att " + format_number(job.adv_att, 3) +
      ", batch " + std::to_string(job.batch) + ".";

  nlohmann::json summary;
  summary["setup"] = setup;
  summary["accuracy_real_only"] = r0.eval.expression.accuracy;
  summary["accuracy_real_plus_generated"] = r1.eval.expression.accuracy;
  summary["pose_accuracy_real_only"] = r0.eval.pose.count > 0 ? nlohmann::json(r0.eval.pose.accuracy) : nlohmann::json();
  summary["pose_accuracy_real_plus_generated"] = r1.eval.pose.count > 0 ? nlohmann::json(r1.eval.pose.accuracy) : nlohmann::json();
  summary["k"] = job.k;
  summary["epochs"] = job.epochs;
  summary["synthesis"] = synthesis;
  summary["disentanglement"] = d;
  summary["seconds_this_call"] = seconds;
  write_file_atomic((out / "summary.json").string(), summary.dump(2) + "\n");

  Document doc("posefer demo");
  doc.paragraph(setup);
  doc.heading(2, "Expression classifier on held-out people");
  doc.table(acc_header, acc_rows);
  doc.image("confusion_joint.png", "confusion, real + generated (rows: true class)");
  doc.image("confusion_baseline.png", "confusion, real only");
  doc.heading(2, "Synthesis: G(x, e, p) beside the true renders");
  doc.paragraph("Each sheet: the input face, the faces the generator makes from it at every expression "
                "(columns) and pose (rows), and the true renders of the same person.");
  for (const auto& [who, file] : sheets) doc.image(file, "synthesis " + who);
  doc.table({"G(x, e, p) for new expressions and poses", "G", "input unchanged"}, synth_rows);
  doc.table({"check", "value", "reference"}, check_rows);
  doc.heading(2, "Training curves");
  doc.image("loss.png", "losses of the joint run per epoch");
  doc.image("accuracy.png", "classifier accuracy on its training batches per epoch");
  doc.heading(2, "Files");
  doc.paragraph("joint/ and baseline/ hold each run's config.json, log.csv (every step), epochs.csv, "
                "checkpoint.pt and eval.md; faces/ holds the rendered set (manifest.csv, landmarks.csv).");
  doc.files("Figures", {"summary.json", "synthesis.json"});
  write_document(doc, (out / "report.md").string(), (out / "index.html").string());

  result.index_html = (out / "index.html").string();
  result.report_md = (out / "report.md").string();
  result.summary = summary;
  result.summary_markdown = markdown_table(acc_header, acc_rows) + "\n" +
                            markdown_table({"synthesis", "G", "input unchanged"}, synth_rows) + "\n" +
                            markdown_table({"check", "value", "reference"}, check_rows);
  result.seconds = seconds;
  return result;
}

}  // namespace posefer
