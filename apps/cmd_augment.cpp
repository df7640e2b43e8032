// posefer augment: a trained joint model generates labelled faces for another data set's
// training part (the cross-data-set protocol; train on them with --extra-train).
#include <iostream>
#include <memory>

#include "commands.h"
#include "posefer/jobs/augment.h"

namespace posefer::cli {

Action add_augment(CLI::App& app) {
  auto* cmd = app.add_subcommand("augment", "Generate k labelled faces per training image of a data set");
  auto job = std::make_shared<AugmentJob>();
  auto no_progress = std::make_shared<bool>(false);
  job->data.fold = "official";
  cmd->add_option("--checkpoint", job->checkpoint, "Trained joint model (checkpoint or run directory)")->required();
  cmd->add_option("--data", job->data.spec, "Data set whose training images are the inputs: <kind>:<path>")->required();
  cmd->add_option("--fold", job->data.fold, "Split whose training part is used");
  cmd->add_option("--split-seed", job->data.split_seed, "Seed of the split");
  cmd->add_option("--max-train", job->data.max_train, "At most this many input images (seeded; 0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--k", job->k, "Generated faces per input image")->check(CLI::Range(1, 1000));
  cmd->add_option("--out", job->out, "Output folder (images/ + manifest.csv)")->required();
  cmd->add_option("--seed", job->seed, "Seed of the random targets");
  cmd->add_option("--threads", job->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  return [=]() {
    AugmentJob j = *job;
    j.progress = !*no_progress;
    const AugmentResult r = run_augment_job(j);
    for (const auto& m : r.mapping) std::cout << "class " << m << "\n";
    std::cout << r.generated << " faces from " << r.sources << " images" << (r.reused ? " (reused)" : "")
              << "; train on them with --extra-train manifest:" << r.manifest << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
