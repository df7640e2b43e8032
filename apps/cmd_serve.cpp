// posefer serve: a trained run (or face-api's expression net) over HTTP with a one-page UI
// (serve.h, docs/serve.md). The app only parses flags; the library serves.
#include <memory>
#include <vector>
#include <string>

#include "commands.h"
#include "posefer/core/check.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/api/serve.h"

namespace posefer::cli {

Action add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP: POST /v1/recognize, a page at /, /healthz, /v1/model");
  auto config = std::make_shared<ServeConfig>();
  auto checkpoint = std::make_shared<std::vector<std::string>>();
  auto model = std::make_shared<std::string>();
  config->model_dir = default_faceapi_model_dir();
  auto* ck = cmd->add_option("--checkpoint", *checkpoint, "Trained run (run directory or checkpoint file); give it several times for an ensemble "
                             "(probabilities averaged)");
  auto* mo = cmd->add_option("--model", *model, "A pretrained model instead of a run: faceapi (face-api's expression net)")
                 ->check(CLI::IsMember({"faceapi"}));
  ck->excludes(mo);
  cmd->add_option("--host", config->host, "Address to listen on (0.0.0.0: every interface)");
  cmd->add_option("--port", config->port, "TCP port (0 = any free port, logged)")->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", config->threads, "Requests recognised at once")->check(CLI::Range(1, 64));
  cmd->add_option("--queue", config->queue, "More recognition requests that may wait; beyond them: 503")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--max-bytes", config->max_bytes, "Request body limit in bytes; beyond: 413")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-pixels", config->max_pixels, "Image size limit, width x height pixels; beyond: 413")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sample", config->sample, "Image served at /v1/sample.png (default: a rendered face)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--models", config->model_dir,
                  "face-api model folder (default: $POSEFER_MODELS or the one scripts/setup.sh installs)");
  cmd->add_option("--head-pose-model", config->head_pose_model,
                  "pose.json of `posefer headpose` for yaw/pitch (default: none, yaw/pitch null)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--torch-threads", config->torch_threads, "LibTorch intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  return [=]() {
    ServeConfig c = *config;
    POSEFER_CHECK_CONFIG(!checkpoint->empty() || !model->empty(), "serve: give --checkpoint RUN or --model faceapi");
    c.model = checkpoint->empty() ? *model : checkpoint->front();
    if (!checkpoint->empty()) c.ensemble.assign(checkpoint->begin() + 1, checkpoint->end());
    run_serve(c, [] { return stop_requested(); });
    return 0;
  };
}

}  // namespace posefer::cli
