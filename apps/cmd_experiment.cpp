// posefer experiment: one of the paper's protocols end to end (trainings + report folder).
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "posefer/core/check.h"
#include "posefer/jobs/experiment.h"

namespace posefer::cli {

Action add_experiment(CLI::App& app, std::vector<std::string> args) {
  auto* cmd = app.add_subcommand("experiment",
                                 "Run a protocol of the paper (trainings + report.md / report.html in --out)");
  auto job = std::make_shared<ExperimentJob>();
  auto flags = std::make_shared<RunFlags>();
  auto ks = std::make_shared<std::string>("0,1,5,10,15,20");
  auto& c = job->base.config;
  auto preset = add_preset_option(cmd, args, c);  // owned by the action below (CLI11 writes into it)
  cmd->add_option("--protocol", job->protocol, "multipie-5fold | bu3dfe-35 | kn-curve | unseen-poses | cross-dataset")
      ->required()
      ->check(CLI::IsMember(experiment_protocols()));
  cmd->add_option("--data", c.data.spec, "Data set (A for cross-dataset): <kind>:<path>, as for train")->required();
  cmd->add_option("--data-b", job->data_b, "cross-dataset: data set B whose classifier is trained (split official)");
  cmd->add_option("--max-train-b", job->max_train_b, "cross-dataset: at most this many B training images (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--fold", c.data.fold, "cross-dataset: split of A for its joint model");
  cmd->add_option("--split-seed", c.data.split_seed, "Seed of the subject shuffle behind the splits");
  cmd->add_option("--out", job->out, "Experiment folder (rerun with the same folder to continue)")->required();
  cmd->add_option("--folds", job->folds, "multipie-5fold / kn-curve / unseen-poses: number of folds K")->check(CLI::Range(2, 50));
  cmd->add_option("--seeds", job->seeds, "unseen-poses: training seeds per configuration (--seed, --seed + 1, ...)")
      ->check(CLI::Range(1, 20));
  cmd->add_option("--train-fraction", job->train_fraction, "bu3dfe-35: share of people in training")
      ->check(CLI::Range(0.05, 0.95));
  cmd->add_option("--ks", *ks, "kn-curve: comma-separated k values");
  cmd->add_flag("!--no-peer", job->peer, "Leave out face-api's row");
  add_plot_flags(cmd, job->plot);
  cmd->add_option("--grid-subjects", job->grid_subjects, "Test people shown as synthesis sheets")
      ->check(CLI::Range(0, 100));
  add_run_options(cmd, job->base, *flags);
  return [=]() {
    (void)preset;
    ExperimentJob j = *job;
    apply_run_flags(*flags, j.base);
    j.ks.clear();
    std::stringstream ss(*ks);
    for (std::string item; std::getline(ss, item, ',');) {
      try {
        size_t used = 0;
        j.ks.push_back(std::stoi(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw ConfigError("--ks: '" + item + "' is not an integer (e.g. --ks 0,1,5)");
      }
    }
    TrainHooks hooks;
    hooks.should_stop = [] { return stop_requested(); };
    const ExperimentResult r = run_experiment(j, hooks);
    if (r.interrupted) {
      std::cout << "experiment interrupted; checkpoints are saved. Run the same command again to continue.\n";
      return 130;
    }
    for (const auto& row : r.rows) {
      std::cout << row.name << ": " << 100 * row.report.accuracy << "%\n";
    }
    std::cout << "report: " << r.report << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
