// posefer classify: a trained run's expression classifier on one's own photos, folders and
// videos; one CSV row per face (stdout or --out), a one-line summary on stderr.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "posefer/jobs/classify.h"
#include "posefer/face/faceapi_weights.h"
#include "posefer/parallel/launcher.h"

namespace posefer::cli {

Action add_classify(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "classify", "Classify the expressions of faces in photos, folders and videos (CSV)");
  auto job = std::make_shared<ClassifyJob>();
  auto face = std::make_shared<std::string>("auto");
  auto no_progress = std::make_shared<bool>(false);
  job->model_dir = default_faceapi_model_dir();
  auto checkpoints = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--checkpoint", *checkpoints,
                  "Trained run (checkpoint file or run directory); give it several times for an ensemble whose "
                  "members' probabilities are averaged (faces are prepared as the first's run does)")
      ->required();
  cmd->add_option("inputs", job->inputs,
                  "Images, folders (searched recursively, sorted) and videos (.mp4 .avi .mov .mkv .webm)")
      ->required();
  cmd->add_option("--out", job->out, "CSV file (default: stdout)");
  cmd->add_option("--face", *face,
                  "Faces: auto (detect + align when the run trained on aligned faces, else whole), "
                  "detect (always), whole (the whole image, prepared as the run's data)")
      ->check(CLI::IsMember({"auto", "detect", "whole"}));
  cmd->add_option("--fallback", job->fallback,
                  "When detection finds no face, steps tried in order: padded (detect again on the photo padded, "
                  "for tight face crops), crop (a near-square photo is taken as a face crop: the whole image is the "
                  "face), whole (any photo's whole image is the face), or none; the CSV's source column says which "
                  "step found each face")
      ->capture_default_str();
  cmd->add_option("--every", job->every, "Video: classify every n-th frame")->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-frames", job->max_frames, "Video: at most this many classified frames each (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--annotate", job->annotate,
                  "Folder for copies with boxes and the top expression drawn (PNG; videos: MJPG .avi)");
  cmd->add_option("--batch", job->batch, "Faces per forward pass")->check(CLI::Range(1, 4096));
  cmd->add_option("--tta-crop", job->tta_crop,
                  "Test-time crops for every model: also average over the 4 corner and the centre crops of side "
                  "(1 - F) N (0 = off; default: each run's own setting)")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--models", job->model_dir,
                  "face-api model folder (default: $POSEFER_MODELS or the one scripts/setup.sh installs)");
  cmd->add_option("--threads", job->threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  return [=]() {
    ClassifyJob j = *job;
    j.checkpoint = checkpoints->front();
    j.ensemble.assign(checkpoints->begin() + 1, checkpoints->end());
    j.face = parse_face_mode(*face);
    j.progress = !*no_progress;
    j.should_stop = [] { return stop_requested(); };
    if (j.out.empty()) j.stream = &std::cout;  // rows as they come, not all at the end
    const ClassifyResult r = run_classify_job(j);
    spdlog::info("{}{}", r.summary(), j.out.empty() ? "" : "; wrote " + j.out);
    return r.interrupted ? kInterruptedExitStatus : 0;
  };
}

}  // namespace posefer::cli
