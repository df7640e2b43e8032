// posefer evaluate: accuracy tables and disentanglement checks of a trained checkpoint.
#include <iostream>
#include <memory>

#include "commands.h"
#include "posefer/pipeline.h"

namespace posefer::cli {

Action add_evaluate(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate a checkpoint on its test split");
  auto job = std::make_shared<EvaluateJob>();
  auto no_progress = std::make_shared<bool>(false);
  auto no_disentangle = std::make_shared<bool>(false);
  cmd->add_option("--checkpoint", job->checkpoint, "Checkpoint file or run directory")->required();
  cmd->add_option("--data", job->data, "Data spec (default: the one it was trained on)");
  cmd->add_option("--fold", job->fold, "Split (default: the one it was trained on)");
  cmd->add_option("--out", job->out_dir, "Output directory for eval.json / eval.md (default: <run>/eval)");
  cmd->add_option("--judge-epochs", job->eval.judge_epochs, "Epochs of the independent judge")->check(CLI::Range(1, 1000));
  cmd->add_option("--probe-steps", job->eval.probe_steps, "Optimisation steps of each linear probe")->check(CLI::Range(1, 100000));
  cmd->add_option("--max-generated", job->eval.max_generated, "Test faces used for generator checks")->check(CLI::Range(1, 1000000));
  cmd->add_option("--seed", job->eval.seed, "Seed of probes, judge and target codes");
  cmd->add_option("--threads", job->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-disentangle", *no_disentangle, "Only the classifier accuracy");
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  return [=]() {
    EvaluateJob j = *job;
    j.eval.progress = !*no_progress;
    j.eval.disentangle = !*no_disentangle;
    auto r = run_evaluate_job(j);
    std::cout << r.to_markdown("Evaluation of " + j.checkpoint) << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
