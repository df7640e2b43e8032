// posefer align: detect, landmark and align every image of a data set once (aligned PNGs,
// landmarks.csv, summary.json) and print the outcome counts per pose bin.
#include <torch/torch.h>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/face/dataset_align.h"

namespace posefer::cli {

Action add_align(CLI::App& app) {
  auto* cmd = app.add_subcommand("align", "Align the faces of a data set (outcome per image, CSV of landmarks)");
  auto job = std::make_shared<DatasetAlignJob>();
  auto multi = std::make_shared<std::string>("largest");
  auto no_progress = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  job->detector.model_dir = default_faceapi_model_dir();
  auto reader = std::make_shared<DataConfig>();
  cmd->add_option("--data", job->data, data_spec_help())->required();
  cmd->add_option("--out", job->out_dir, "Output folder")->required();
  cmd->add_option("--size", job->align.size, "Side N of the aligned crops")->check(CLI::Range(8, 4096));
  cmd->add_option("--channels", job->align.channels, "Channels of the crops (1 or 3)")->check(CLI::IsMember({1, 3}));
  cmd->add_option("--margin", job->align.margin, "Context around the 5-point template (fraction)")->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--multi-face", *multi, "Several faces in one image: largest, all or skip")
      ->check(CLI::IsMember({"largest", "all", "skip"}));
  cmd->add_option("--models", job->detector.model_dir, "face-api model folder");
  cmd->add_option("--input-size", job->detector.detector.input_size, "Detector input size (multiple of 32)")
      ->check(CLI::Range(32, 4096));
  cmd->add_option("--score", job->detector.detector.score_threshold, "Detector score threshold")
      ->check(CLI::Range(0.0, 0.999));
  cmd->add_flag("--padded-fallback", job->padded_fallback,
                "Where no face is found, detect again on the photo padded with black (tight face crops; as classify does), before --haar-fallback");
  cmd->add_flag("--haar-fallback", job->haar_fallback,
                "Where no face is found, try OpenCV's Haar cascades (frontal + profile, opencv-data)");
  cmd->add_option("--haar-dir", job->haar.cascade_dir, "Folder of the Haar cascade XMLs");
  cmd->add_flag("--whole-image-fallback", job->whole_image_fallback,
                "Where still no face is found, take the whole image as the face box (face crops, e.g. FER2013)");
  cmd->add_option("--center-fallback", job->center_fallback,
                  "Where still no face is found, write the centred square of side F x min(h, w) as the crop (no landmarks; 0 = off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--whole-image", job->whole_image,
                "No detection: the whole image is the face box (face crops such as FER2013's 48x48)");
  add_reader_flags(cmd, *reader);
  cmd->add_option("--limit", job->limit, "Only the first N images (0 = all)")->check(CLI::Range(0, 100000000));
  cmd->add_option("--threads", *threads, "Intra-op threads (0 = all cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  return [=]() {
    if (*threads > 0) torch::set_num_threads(*threads);
    DatasetAlignJob j = *job;
    j.multi = parse_multi_face_policy(*multi);
    j.progress = !*no_progress;
    j.dataset = dataset_options(*reader, *threads, j.progress);
    j.should_stop = stop_requested;
    const auto r = run_dataset_align_job(j);
    if (r.interrupted) {
      std::cerr << "posefer: interrupted: " << r.done << " of " << r.planned << " images aligned, kept in "
                << j.out_dir << "/align.journal.jsonl; run the same command again to continue\n";
      return 130;
    }
    std::cout << r.to_markdown() << "\n";
    if (r.resumed > 0) std::cout << r.resumed << " image(s) were done by an earlier, interrupted run.\n";
    return 0;
  };
}

}  // namespace posefer::cli
