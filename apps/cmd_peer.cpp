// posefer peer: face-api's FaceExpressionNet scored on a data set's test split (the peer row of
// every results table).
#include <torch/torch.h>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/io/image_io.h"
#include "posefer/eval/peer_baseline.h"

namespace posefer::cli {

Action add_peer(CLI::App& app) {
  auto* cmd = app.add_subcommand("peer", "Score face-api's pretrained expression net on a data set's test split");
  auto job = std::make_shared<PeerEvalJob>();
  auto no_progress = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto json_out = std::make_shared<std::string>();
  job->detector.model_dir = default_faceapi_model_dir();
  auto reader = std::make_shared<DataConfig>();
  cmd->add_option("--data", job->data, data_spec_help())->required();
  add_reader_flags(cmd, *reader);
  cmd->add_option("--fold", job->fold, "Split whose test part is scored (k/K, official, subjects:F) or all");
  cmd->add_option("--split-seed", job->split_seed, "Seed of the split");
  cmd->add_option("--max-test", job->max_test, "Score at most this many test images (0 = all)")->check(CLI::Range(0, 100000000));
  cmd->add_option("--face", job->face, "Face box: auto, detect (largest face) or whole (whole image)")
      ->check(CLI::IsMember({"auto", "detect", "whole"}));
  cmd->add_option("--models", job->detector.model_dir, "face-api model folder");
  cmd->add_option("--input-size", job->detector.detector.input_size, "Detector input size (multiple of 32)")
      ->check(CLI::Range(32, 4096));
  cmd->add_option("--json", *json_out, "Also write the report as JSON to this file");
  cmd->add_option("--threads", *threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  return [=]() {
    if (*threads > 0) torch::set_num_threads(*threads);
    PeerEvalJob j = *job;
    j.progress = !*no_progress;
    j.dataset = dataset_options(*reader, *threads, j.progress);
    const auto r = run_peer_eval(j);
    std::cout << r.to_markdown("face-api FaceExpressionNet on " + j.data + " (" + j.fold + ", test)") << "\n";
    if (!json_out->empty()) {
      auto js = to_json(r.report);
      js["mapping"] = r.mapping;
      js["no_face"] = r.no_face;
      js["failed"] = r.failed;
      write_file_atomic(*json_out, js.dump(2) + "\n");
    }
    return 0;
  };
}

}  // namespace posefer::cli
