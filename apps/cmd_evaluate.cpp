// posefer evaluate: accuracy tables and disentanglement checks of a trained checkpoint.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "posefer/core/check.h"
#include "posefer/eval/peer_baseline.h"
#include "posefer/jobs/pipeline.h"

namespace posefer::cli {

Action add_evaluate(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate a checkpoint on its test split");
  auto job = std::make_shared<EvaluateJob>();
  auto no_progress = std::make_shared<bool>(false);
  auto no_disentangle = std::make_shared<bool>(false);
  auto peer = std::make_shared<std::string>();
  auto models = std::make_shared<std::string>(default_faceapi_model_dir());
  auto checkpoints = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--checkpoint", *checkpoints,
                  "Checkpoint file or run directory (required unless --peer); give it several times for an "
                  "ensemble whose members' probabilities are averaged (data and split: the first's)");
  cmd->add_option("--part", job->part, "Part scored: test, or val (the validation part, to compare models "
                                       "without touching the test part)")
      ->check(CLI::IsMember({"test", "val"}))
      ->capture_default_str();
  cmd->add_option("--peer", *peer, "Score a pretrained peer instead of a checkpoint: faceapi (needs --data)")
      ->check(CLI::IsMember({"faceapi"}));
  cmd->add_option("--models", *models, "face-api model folder (with --peer faceapi)");
  cmd->add_option("--data", job->data, "Data spec (default: the one it was trained on)");
  cmd->add_option("--fold", job->fold, "Split (default: the one it was trained on)");
  cmd->add_option("--out", job->out_dir, "Output directory for eval.json / eval.md (default: <run>/eval)");
  cmd->add_option("--tta-crop", job->tta_crop,
                  "Test-time crops for every model: also average over the 4 corner and the centre crops of side "
                  "(1 - F) N (0 = off; default: each run's own setting); the default --out gains _crop<F>")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--judge-epochs", job->eval.judge_epochs, "Epochs of the independent judge")->check(CLI::Range(1, 1000));
  cmd->add_option("--probe-steps", job->eval.probe_steps, "Optimisation steps of each linear probe")->check(CLI::Range(1, 100000));
  cmd->add_option("--max-generated", job->eval.max_generated, "Test faces used for generator checks")->check(CLI::Range(1, 1000000));
  cmd->add_option("--seed", job->eval.seed, "Seed of probes, judge and target codes");
  cmd->add_option("--threads", job->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-disentangle", *no_disentangle, "Only the classifier accuracy");
  cmd->add_flag("--synthesis", job->synthesis,
                "Compare generated faces with ground-truth images of the same person (rendered sets: make-faces)");
  cmd->add_option("--synthesis-inputs", job->synthesis_inputs, "Test faces used as inputs for --synthesis (0 = all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  return [=]() {
    if (!peer->empty()) {
      // The peer row of a results table: face-api's expression net on the same split.
      if (job->data.empty()) throw ConfigError("--peer faceapi needs --data (and optionally --fold)");
      PeerEvalJob pj;
      pj.data = job->data;
      if (!job->fold.empty()) pj.fold = job->fold;
      pj.detector.model_dir = *models;
      pj.progress = !*no_progress;
      pj.dataset.cache_dir = default_data_cache_dir();  // bu3dfe / fer2013csv files (made once)
      set_threads(job->threads);
      const auto r = run_peer_eval(pj);
      std::cout << r.to_markdown("face-api FaceExpressionNet on " + pj.data + " (" + pj.fold + ", test)") << "\n";
      return 0;
    }
    if (checkpoints->empty()) throw ConfigError("--checkpoint is required (or --peer faceapi --data ...)");
    EvaluateJob j = *job;
    j.checkpoint = checkpoints->front();
    j.ensemble.assign(checkpoints->begin() + 1, checkpoints->end());
    j.eval.progress = !*no_progress;
    j.eval.disentangle = !*no_disentangle;
    auto r = run_evaluate_job(j);
    std::cout << r.to_markdown("Evaluation of " + j.checkpoint +
                               (j.ensemble.empty() ? "" : " and " + std::to_string(j.ensemble.size()) + " more (ensemble)") +
                               (j.part == "val" ? ", validation part" : ""))
              << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
