// posefer synthesize: a face at a chosen expression and pose, or the expression x pose grid.
#include <iostream>
#include <memory>

#include "commands.h"
#include "posefer/jobs/pipeline.h"

namespace posefer::cli {

Action add_synthesize(CLI::App& app) {
  auto* cmd = app.add_subcommand("synthesize", "Generate faces at other expressions and poses");
  auto job = std::make_shared<SynthesizeJob>();
  cmd->add_option("--checkpoint", job->checkpoint, "Checkpoint file or run directory")->required();
  cmd->add_option("--image", job->image, "Input face image")->required();
  cmd->add_option("--out", job->out, "Output PNG")->required();
  cmd->add_option("--expression", job->expression, "Target expression (name or index); with --pose: one face");
  cmd->add_option("--pose", job->pose, "Target pose (name or index)");
  cmd->add_flag("!--plain", job->labels, "Grid without names or gaps beyond 2 px (input in the top-left tile)");
  cmd->add_option("--changes", job->changes,
                  "Add a panel of |G(x, e, p) - G(x, neutral, p)| times this gain (0 = none; e.g. 4)")
      ->check(CLI::Range(0.0, 1000.0))->capture_default_str();
  cmd->add_option("--zoom", job->zoom, "Enlarge every face by this factor (nearest neighbour)")
      ->check(CLI::Range(1, 16))->capture_default_str();
  cmd->add_option("--threads", job->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  return [=]() {
    const auto [w, h] = run_synthesize_job(*job);
    std::cout << "wrote " << job->out << " (" << w << "x" << h << ")\n";
    return 0;
  };
}

}  // namespace posefer::cli
