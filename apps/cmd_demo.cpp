// posefer demo: render faces, train the joint model and a real-only baseline, evaluate both,
// and write an HTML report (the README's first command).
#include <iostream>
#include <memory>

#include "commands.h"
#include "posefer/jobs/demo.h"
#include "posefer/jobs/pipeline.h"

namespace posefer::cli {

Action add_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "demo", "The main job on rendered faces: train, synthesise, evaluate, report (demo/index.html)");
  auto job = std::make_shared<DemoJob>();
  auto no_progress = std::make_shared<bool>(false);
  cmd->add_option("--out", job->out, "Output folder (rerun with the same folder to continue)");
  cmd->add_option("--identities", job->identities, "Rendered people")->check(CLI::Range(2, 9999));
  cmd->add_option("--poses", job->poses, "Rendered poses: multipie (5 pans), bu3dfe (35 views) or PAN[:TILT],...");
  cmd->add_option("--expressions", job->expressions, "Rendered expressions: basic7, basic6 or a comma list");
  cmd->add_option("--image-size", job->image_size, "Image side N (multiple of 32)")->check(CLI::Range(32, 512));
  cmd->add_option("--epochs", job->epochs, "Epochs of each run")->check(CLI::Range(1, 100000));
  cmd->add_option("--k", job->k, "Generated faces per real face for the classifier")->check(CLI::Range(1, 100));
  cmd->add_option("--batch", job->batch, "Real images per training step")->check(CLI::Range(2, 4096));
  cmd->add_option("--fold", job->fold, "Subject-independent split k/K of the rendered people");
  cmd->add_option("--gen-width", job->gen_width, "Generator width factor")->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--disc-width", job->disc_width, "D_att width factor")->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--cls-width", job->cls_width, "Classifier width factor")->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--cls-lr", job->cls_lr, "Classifier learning rate")->check(CLI::Range(1e-7, 1.0));
  cmd->add_option("--adv-att", job->adv_att, "Weight of G's adversarial loss against D_att")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--judge-epochs", job->judge_epochs, "Epochs of the independent judge")->check(CLI::Range(1, 1000));
  cmd->add_option("--grid-subjects", job->grid_subjects, "Test people shown as synthesis sheets")->check(CLI::Range(0, 100));
  cmd->add_option("--seed", job->seed, "Seed of the faces, the split and the training");
  cmd->add_option("--threads", job->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-progress", *no_progress, "No progress bars");
  add_plot_flags(cmd, job->plot);
  return [=]() {
    DemoJob j = *job;
    j.progress = !*no_progress;
    set_threads(j.threads);
    TrainHooks hooks;
    hooks.should_stop = [] { return stop_requested(); };
    const DemoResult r = run_demo(j, hooks);
    if (r.interrupted) {
      std::cout << "demo interrupted; checkpoints are saved. Run the same command again to continue.\n";
      return 130;
    }
    std::cout << r.summary_markdown << "\n"
              << "demo finished in " << static_cast<int>(r.seconds) << " s. Results: " << r.index_html
              << " (open in a browser) and " << r.report_md << "\n";
    return 0;
  };
}

}  // namespace posefer::cli
